"""Computing ahead: what the next move of a control will ask for, while the student looks.

An explorer whose redraw needs an expensive, cached computation (the lr explorer's training
runs) hands the settings a next move may ask for to a :class:`Prefetcher` after each draw.
Its background thread computes them one at a time, nearest first, so the move usually finds
its result cached and only redraws. Each new list replaces the settings still wanted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any


class Prefetcher:
    """Calls ``compute(*arguments)`` in a background thread for each wanted argument tuple.

    ``compute`` must cache its results (``functools.lru_cache``) and use no global random
    state. It runs under ``lock``; a redraw that computes takes the same lock, so it waits
    for at most the one computation in progress.
    """

    def __init__(self, compute: Callable[..., Any], lock: threading.Lock, name: str) -> None:
        self.compute, self.lock = compute, lock
        self._wanted: list[tuple] = []
        self._busy = False
        self._condition = threading.Condition()
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def want(self, arguments: Iterable[tuple]) -> None:
        """Compute these next, in this order, instead of those still wanted."""
        with self._condition:
            self._wanted = list(arguments)
            self._condition.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every wanted result is computed; False after ``timeout`` seconds."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._wanted and not self._busy, timeout)

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._wanted)
                arguments, self._busy = self._wanted.pop(0), True
            try:
                with self.lock:
                    self.compute(*arguments)
            except Exception:  # noqa: BLE001 - the same call fails again, visibly, when it is drawn
                pass
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()
