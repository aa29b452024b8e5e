"""A progress bar for long runs: done/total, rate, ETA, failures; plain lines off a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished items and reports on ``stream`` (stderr by default).

    On a terminal it redraws one line; otherwise it writes one log line per item,
    so CI logs and files stay readable.
    """

    def __init__(self, total: int, label: str, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def advance(self, *, failed: bool = False, note: str = "") -> None:
        self.done += 1
        self.failed += int(failed)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        if self.tty:
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            line = (f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                    f"  {rate:.2f}/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
                    f"  not ok: {self.failed}")
            self.stream.write(line.ljust(90))
        else:
            self.stream.write(f"{self.label}: {self.done}/{self.total} {note} "
                              f"({rate:.2f}/s, ETA {eta:.0f}s, not ok so far: {self.failed})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()
