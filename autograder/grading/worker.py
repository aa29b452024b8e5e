"""A grading worker as the grader sees it: a sandboxed zygote and the files it may see.

``Worker.run(job, files)`` places one submission's files in the worker's
inbox, sends the job and collects the events. The zygote enforces the
per-cell and per-notebook budgets; the worker adds a watchdog of its own
in case the sandbox itself stops answering, and then starts a fresh one.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course.safefs import copy_plain_files
from autograder.grading import isolation
from autograder.sandbox import protocol

#: seconds a zygote may take to start (imports torch, numpy, matplotlib, IPython).
START_TIMEOUT = 120.0
#: seconds beyond the notebook budget before the watchdog gives up on a sandbox.
WATCHDOG_MARGIN = 30.0


class WorkerError(RuntimeError):
    """The sandbox could not be started or stopped answering."""


@dataclass
class JobResult:
    """Everything a worker reported for one submission."""

    events: list[protocol.Message] = field(default_factory=list)
    watchdog: bool = False
    seconds: float = 0.0
    failure: str = ""  # why the watchdog gave up on the sandbox, in words


class Worker:
    """One sandboxed zygote, started on first use and restarted when it fails."""

    def __init__(self, index: int, mode: isolation.Isolation) -> None:
        self.index = index
        self.isolation = mode
        self.root = Path(tempfile.mkdtemp(prefix=f"nnlab-worker{index}-"))
        os.chmod(self.root, 0o755)
        self.inbox = self.root / "inbox"
        self.host_work = self.root / "work"
        self.host_tmp = self.root / "tmp"
        self.private = self.root / "private"
        for folder in (self.inbox, self.host_work, self.host_tmp, self.private):
            folder.mkdir()
        os.chmod(self.host_tmp, 0o1777)
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.uid = isolation.submission_uid(index) if mode.drop_privileges else None

    def start(self) -> None:
        env = isolation.environment(self.isolation.kind, self.private)
        cmd = isolation.command(self.isolation.kind, self.inbox)
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env, start_new_session=True,
            cwd=str(self.host_work) if self.isolation.kind != "bwrap" else None,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process, self.lines), daemon=True).start()
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._drain_stderr, args=(self.process,), daemon=True).start()
        message = self._next(time.monotonic() + START_TIMEOUT)
        if not isinstance(message, protocol.Ready):
            self.stop()
            tail = "".join(self.stderr_tail[-20:])
            raise WorkerError(f"grading worker {self.index} did not start: {tail.strip() or message}")

    @staticmethod
    def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def _drain_stderr(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.stderr_tail = (self.stderr_tail + [line])[-50:]

    def _next(self, deadline: float) -> protocol.Message | None:
        """The zygote's next message (a line it should not have sent becomes a Violation)."""
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if line is None:
            return None
        try:
            return protocol.decode(line, protocol.FROM_ZYGOTE)
        except protocol.ProtocolError as error:
            return protocol.Violation(f"the sandbox sent {error}"[:protocol.MAX_TEXT], None)

    def _send(self, message: protocol.Message) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(protocol.encode(message).decode())
        self.process.stdin.flush()

    def run(self, job: dict[str, Any], files: Path) -> JobResult:
        """Grade-run one submission folder; never raises for anything the submission does.

        ``job`` holds ``cells``, ``limits`` and ``probes``; the probes are sent only when the
        sandbox asks for them, after the cells of each attempt have run.
        """
        if self.process is None or self.process.poll() is not None:
            self.start()
        for entry in self.inbox.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        skipped = copy_plain_files(files, self.inbox)
        where = isolation.paths(self.isolation.kind, self.inbox, self.host_work, self.host_tmp)
        started = time.monotonic()
        result = JobResult()
        if skipped:
            result.events.append(protocol.SkippedFiles(skipped))
        self._send(protocol.Job(job["cells"], job["limits"], uid=self.uid, **where))
        deadline = started + float(job["limits"]["notebook_timeout"]) + WATCHDOG_MARGIN
        while True:
            message = self._next(deadline)
            if message is None:
                result.watchdog = True
                result.failure = self._failure(deadline)
                self.stop()
                break
            if isinstance(message, protocol.ProbesWanted):
                self._send(protocol.Probes(job["probes"]))
                continue
            result.events.append(message)
            if isinstance(message, protocol.JobEnd):
                break
        result.seconds = time.monotonic() - started
        return result

    def _failure(self, deadline: float) -> str:
        """Why the sandbox stopped answering: it ended (how), or it overran the watchdog."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return (f"it did not answer within {WATCHDOG_MARGIN:g} s after the notebook's time "
                    "budget")
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        tail = "".join(self.stderr_tail[-3:]).strip().splitlines()
        return f"its process ended ({how})" + (f": {tail[-1][:200]}" if tail else "")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            if self.process.poll() is None and self.process.stdin:
                self._send(protocol.Quit())
                self.process.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
