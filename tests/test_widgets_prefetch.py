"""Rendering ahead (nnlab.widgets.prefetch.RenderAhead): the next notch of a moved slider is
rendered in the background, a move to it is answered with those bytes, and nothing is ever
drawn twice at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from nnlab.widgets import Choice, Slider, explorer  # noqa: E402
from nnlab.widgets.prefetch import (  # noqa: E402
    MOVES,
    RENDERED_KEPT,
    Prefetcher,
    RenderAhead,
    _notch_away,
    _notch_of,
)

CONTROLS = {
    "p": Slider(0.5, 0.0, 0.9, 0.05, "p"),
    "lr": Slider(1e-2, 1e-4, 1.0, 0.25, "lr", log=True),
    "depth": Slider(6, 1, 10, 1, "depth", integer=True),
    "mode": Choice("a", ("a", "b"), "mode"),
}


class Renders:
    """A pure render: the values as bytes, to 9 digits (as a figure would show them, not telling
    0.6 from 0.6000000000000001). Counts calls and notes whether two ever overlapped."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.seconds, self.running, self.overlapped = seconds, 0, False
        self._lock = threading.Lock()

    def __call__(self, values: dict[str, Any]) -> bytes:
        with self._lock:
            self.running += 1
            self.overlapped |= self.running > 1
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
            self.calls.append(dict(values))
        return repr([(key, f"{value:.9g}" if isinstance(value, float) else value)
                     for key, value in sorted(values.items())]).encode()


def _values(**changes: Any) -> dict[str, Any]:
    return {"p": 0.5, "lr": 1e-2, "depth": 6, "mode": "a", **changes}


def test_a_step_of_a_slider_is_rendered_ahead_and_answered_without_rendering() -> None:
    render = Renders()
    ahead = RenderAhead(render, CONTROLS, "test")
    first, second = _values(), _values(p=0.5 + 0.05)  # 0.55, as the browser adds
    assert ahead.png(first) == render(first)
    ahead.png(second)
    ahead.moved(second, first)
    assert ahead.wait_idle(timeout=30)
    assert [call["p"] for call in render.calls[-1:]] == [pytest.approx(0.6)]  # onwards; back is kept
    calls = len(render.calls)
    third = _values(p=0.55 + 0.05)  # 0.6000000000000001 in the browser: the same notch
    assert ahead.png(third) == render(_values(p=0.6))
    assert len(render.calls) == calls + 1  # only the comparison above rendered
    assert ahead.png(first) == render(first)  # moving back: still kept
    calls = len(render.calls)
    assert ahead.png(_values(p=0.61)) == render(_values(p=0.61))  # typed between notches: its own
    assert len(render.calls) == calls + 2


def test_a_move_elsewhere_waits_for_the_rendering_in_progress_and_never_overlaps_it() -> None:
    render = Renders(seconds=0.2)
    ahead = RenderAhead(render, CONTROLS, "test")
    ahead.png(_values(depth=7))
    ahead.moved(_values(depth=7), _values(depth=6))  # renders depth 8 for 0.2 s
    time.sleep(0.05)
    assert ahead.png(_values(depth=2)) == render(_values(depth=2))
    assert ahead.wait_idle(timeout=30)
    assert not render.overlapped
    assert {call["depth"] for call in render.calls} >= {2, 7, 8}


def test_a_choice_or_the_end_of_a_slider_renders_nothing_ahead() -> None:
    render = Renders()
    ahead = RenderAhead(render, CONTROLS, "test")
    ahead.moved(_values(mode="b"), _values())
    ahead.moved(_values(depth=10), _values(depth=9))  # up is past the end (and 9 was just shown)
    ahead.moved(_values(depth=4), _values(depth=9))  # a jump down: onwards is 3
    assert ahead.wait_idle(timeout=30)
    assert [call["depth"] for call in render.calls] == [3]


def test_only_the_last_few_renderings_are_kept() -> None:
    render = Renders()
    ahead = RenderAhead(render, CONTROLS, "test")
    for depth in range(1, 11):
        ahead.png(_values(depth=depth))
    assert len(ahead._rendered) == RENDERED_KEPT
    ahead.png(_values(depth=10))
    ahead.png(_values(depth=1))
    assert [call["depth"] for call in render.calls] == [*range(1, 11), 1]


@pytest.mark.parametrize("name, value, up, down", [
    ("p", 0.5, 0.55, 0.45), ("p", 0.9, None, 0.85), ("p", 0.0, 0.05, None),
    ("lr", 1e-2, 10 ** -1.75, 10 ** -2.25), ("lr", 1.0, None, 10 ** -0.25),
    ("depth", 6, 7, 5), ("depth", 1, 2, None)])
def test_one_notch_away_is_what_the_slider_sends_one_key_press_away(name: str, value: float, up: Any,
                                                                    down: Any) -> None:
    slider = CONTROLS[name]
    for direction, expected in ((1, up), (-1, down)):
        got = _notch_away(slider, value, direction)
        if expected is None:
            assert got is None
        else:
            assert got == pytest.approx(expected, rel=1e-12)
            notch = _notch_of(slider, value) + direction
            assert _notch_of(slider, got) == _notch_of(slider, expected) == notch
            assert type(got) is type(expected)


def test_a_live_explorer_answers_a_step_with_the_png_rendered_ahead(monkeypatch) -> None:
    """Through ``explorer(..., ahead=True)``: after the first move, each step of the slider is
    answered with the PNG rendered ahead, which is the figure of the values shown."""
    import nnlab.widgets
    import nnlab.widgets.live
    from matplotlib.figure import Figure

    monkeypatch.setattr(nnlab.widgets, "is_static", lambda: False)
    rendered: list[tuple[str, bool]] = []

    def render_png(figure: Figure) -> bytes:  # the figure's text, and which thread drew it
        in_main = threading.current_thread() is threading.main_thread()
        assert in_main == (MOVES._answering > 0)  # a move's answer holds background work back
        rendered.append((figure.texts[0].get_text(), in_main))
        return figure.texts[0].get_text().encode()

    monkeypatch.setattr(nnlab.widgets.live, "render_png", render_png)

    def draw(p: float, mode: str) -> Figure:
        figure = Figure(figsize=(1.0, 1.0))
        figure.text(0.5, 0.5, f"{mode} {p:.2f}")
        return figure

    result = explorer(draw, {"p": CONTROLS["p"], "mode": CONTROLS["mode"]}, name="ahead-test", ahead=True)
    slider = result.controls["p"]
    for expected in ("0.55", "0.60", "0.65", "0.70"):
        slider.value += 0.05
        assert result.image.value == f"a {expected}".encode()
        assert result.ahead.wait_idle(timeout=30)
    in_main = [text for text, main in rendered if main]
    assert in_main == ["a 0.50", "a 0.55"]  # the first draw and the first move; the rest ahead
    assert ("a 0.75", False) in rendered


def test_a_move_waits_for_the_computation_in_progress_not_for_the_queue() -> None:
    """Background work queued after the one in progress starts only once the move is answered.
    With the lock alone the background thread takes it again at once, run after run (it fails
    so: the move gets the lock after all five)."""
    lock, done = threading.Lock(), []

    def compute(number: int) -> None:
        with lock:
            time.sleep(0.1)
            done.append(number)

    prefetcher = Prefetcher(compute, name="test-foreground")
    prefetcher.want([(number,) for number in range(5)])
    time.sleep(0.03)  # the first computation is under way
    with MOVES.answering(), lock:
        finished_before = list(done)
    assert finished_before == [0]
    assert prefetcher.wait_idle(timeout=30) and done == [0, 1, 2, 3, 4]


def test_rendering_ahead_prepares_outside_the_figure_lock() -> None:
    """A move that is not rendered ahead waits for at most a rendering in progress, never for
    the computation a rendering ahead prepares (the lr explorer's training run)."""
    render, prepared = Renders(), threading.Event()
    ahead = RenderAhead(render, CONTROLS, "test")
    ahead.prepare = lambda values: (prepared.set(), time.sleep(0.5), True)[-1]
    ahead.moved(_values(depth=7), _values(depth=6))
    assert prepared.wait(timeout=10)
    start = time.perf_counter()
    ahead.png(_values(depth=2))
    assert time.perf_counter() - start < 0.25  # not the 0.5 s of preparing
    assert ahead.wait_idle(timeout=30)
    assert [call["depth"] for call in render.calls] == [2, 8]


def test_no_background_computation_starts_while_a_move_is_answered() -> None:
    """Not even one that needs no lock: the answer has the cores to itself."""
    started = threading.Event()
    prefetcher = Prefetcher(lambda: started.set(), name="test-quiet")
    with MOVES.answering():
        prefetcher.want([()])
        assert not started.wait(timeout=0.3)
    assert started.wait(timeout=10)
