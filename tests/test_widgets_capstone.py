"""The explorer of 06: static under grading, one figure of eight scenes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from nnlab.widgets import hard_shapes_explorer  # noqa: E402
from nnlab.widgets.capstone import draw_scenes  # noqa: E402


def test_static_under_nbgrader_draws_one_figure(monkeypatch) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    explorer = hard_shapes_explorer()
    assert explorer.widget is None and len(explorer.figure.axes) == 8


def test_switching_a_difficulty_off_changes_the_figure() -> None:
    def pixels(figure):
        figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba())
    assert not np.array_equal(pixels(draw_scenes()), pixels(draw_scenes(texture=False)))
