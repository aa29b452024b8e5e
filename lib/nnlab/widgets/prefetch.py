"""Computing ahead: what the next move of a control will ask for, while the student looks.

An explorer whose redraw needs an expensive, cached computation (the lr explorer's training
runs) hands the settings a next move may ask for to a :class:`Prefetcher` after each draw.
Its background thread computes them one at a time, nearest first, so the move usually finds
its result cached and only redraws. Each new list replaces the settings still wanted.

:class:`RenderAhead` does the same for a whole redraw: after a slider move it renders the
figure one notch further, so the next step of the same slider only sends a PNG.

Background work never delays an answer by more than the one computation in progress: none
starts while a move is being answered (:data:`MOVES`, entered by every explorer's redraw).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class _Moves:
    """How many moves the kernel is answering now (process-wide: every explorer's redraws)."""

    def __init__(self) -> None:
        self._answering = 0
        self._condition = threading.Condition()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to a move: no background computation starts meanwhile."""
        with self._condition:
            self._answering += 1
        try:
            yield
        finally:
            with self._condition:
                self._answering -= 1
                self._condition.notify_all()

    def wait_quiet(self) -> None:
        """Wait until no move is being answered: before each background computation."""
        with self._condition:
            self._condition.wait_for(lambda: self._answering == 0)


#: the moves being answered. A background thread starts each computation only when none is, so
#: an answer waits for at most the one computation in progress and has the cores to itself. A
#: lock alone would not do that: a thread working through a queue takes it again as soon as it
#: releases it, and a move waited for the whole queue (measured: lr p90 ≈ 350 ms).
MOVES = _Moves()


class Prefetcher:
    """Calls ``compute(*arguments)`` in a background thread for each wanted argument tuple.

    ``compute`` must cache its results (``functools.lru_cache``) and use no global random
    state. Each computation starts only while no move is being answered (:data:`MOVES`); one
    that shares a lock with redraws takes it itself, so a redraw waits for at most the one
    computation in progress.
    """

    def __init__(self, compute: Callable[..., Any], name: str) -> None:
        self.compute = compute
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
                MOVES.wait_quiet()
                self.compute(*arguments)
            except Exception:  # noqa: BLE001 - the same call fails again, visibly, when it is drawn
                pass
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()


#: rendered settings an explorer keeps (PNGs of a few dozen KB): the one shown, those a move
#: one notch away asks for, and a few the student came from.
RENDERED_KEPT = 8


class RenderAhead:
    """An explorer's PNGs, rendered one slider notch ahead while the student looks.

    After each move of a slider, a :class:`Prefetcher` renders the setting one notch further in
    the same direction (one back is usually the setting just shown, kept with the last few). A
    move that asks for a rendered setting (arrow keys, stepping through images) is answered with
    its PNG at once; any other (a drag, a typed value) waits for at most the one rendering in
    progress, then renders. ``render(values) -> bytes``
    must be a pure function of the values (no global random state): it runs in a background
    thread, always under one lock, so the explorer's figure is never drawn twice at once.

    Attributes:
        prepare: ``prepare(values) -> bool``, if set, runs in the background thread before the
            rendering ahead takes the figure's lock: the cached computation a rendering needs
            (the lr explorer trains its run there), so that a move waiting for the lock waits
            for at most one rendering, not for that computation as well. False (the computation
            gave way to a move): nothing is rendered.
    """

    prepare: Callable[[dict[str, Any]], bool] | None = None

    def __init__(self, render: Callable[[dict[str, Any]], bytes], controls: dict[str, Any],
                 name: str) -> None:
        self.render, self.controls = render, controls
        self.lock = threading.Lock()
        self._rendered: OrderedDict[tuple, bytes] = OrderedDict()
        self._rendered_lock = threading.Lock()  # the dict only, never held while rendering
        self._prefetcher = Prefetcher(self._render_ahead, name=f"nnlab-{name}-ahead")

    def png(self, values: dict[str, Any]) -> bytes:
        """The PNG of these values: rendered ahead, or rendered now."""
        key = self._key(values)
        cached = self._kept(key)
        if cached is not None:
            return cached
        with self.lock:  # the rendering in progress may be this very setting: look again after it
            cached = self._kept(key)
            return cached if cached is not None else self._keep(key, self.render(values))

    def moved(self, values: dict[str, Any], previous: dict[str, Any]) -> None:
        """After showing ``values`` (``previous`` before): render ahead what the next move may ask for."""
        wanted = []
        for name, control in self.controls.items():
            if getattr(control, "step", None) is None or values[name] == previous.get(name, values[name]):
                continue
            # onwards only: one notch back is usually the setting just shown, which is kept
            value = _notch_away(control, values[name], 1 if values[name] > previous[name] else -1)
            if value is not None:
                wanted.append(({**values, name: value},))
        self._prefetcher.want(wanted)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until everything wanted is rendered; False after ``timeout`` seconds."""
        return self._prefetcher.wait_idle(timeout)

    def _render_ahead(self, values: dict[str, Any]) -> None:
        key = self._key(values)
        if self._kept(key) is not None:
            return
        if self.prepare is not None and not self.prepare(values):
            return
        MOVES.wait_quiet()  # again: a move may have come while preparing
        with self.lock:
            if self._kept(key) is None:
                self._keep(key, self.render(values))

    def _kept(self, key: tuple) -> bytes | None:
        with self._rendered_lock:
            if key not in self._rendered:
                return None
            self._rendered.move_to_end(key)
            return self._rendered[key]

    def _keep(self, key: tuple, png: bytes) -> bytes:
        with self._rendered_lock:
            self._rendered[key] = png
            self._rendered.move_to_end(key)
            while len(self._rendered) > RENDERED_KEPT:
                self._rendered.popitem(last=False)
        return png

    def _key(self, values: dict[str, Any]) -> tuple:
        """The values, floats to 9 significant digits: the browser's value of a notch and the one
        computed here may differ in the last bit (0.6000000000000001 is 0.6), a typed value off
        the notches (0.37) is a setting of its own."""
        return tuple((name, f"{value:.9g}" if isinstance(value, float) else value)
                     for name, value in sorted(values.items()))


def _notch_of(slider: Any, value: float) -> int:
    """Which notch of ``slider`` (an :class:`nnlab.widgets.Slider`) ``value`` is on."""
    if slider.log:
        return round((math.log10(value) - math.log10(slider.min)) / slider.step)
    return round((value - slider.min) / slider.step)


def _notch_away(slider: Any, value: float, direction: int) -> float | None:
    """The value one notch from ``value`` (up for +1, down for -1), or None past either end."""
    notch = _notch_of(slider, value) + direction
    if slider.log:
        last = round((math.log10(slider.max) - math.log10(slider.min)) / slider.step)
        return 10 ** (math.log10(slider.min) + notch * slider.step) if 0 <= notch <= last else None
    last = round((slider.max - slider.min) / slider.step)
    if not 0 <= notch <= last:
        return None
    stepped = slider.min + notch * slider.step
    return int(round(stepped)) if slider.integer else stepped
