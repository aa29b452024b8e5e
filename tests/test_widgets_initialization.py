"""The init explorer of 03_initialization: static under grading, live and reactive otherwise, fast."""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nnlab.widgets import init_explorer  # noqa: E402
from nnlab.widgets.initialization import init_activations  # noqa: E402


def _layer_titles(figure: Any) -> list[str]:
    return [ax.get_title() for ax in figure.axes if ax.get_visible()]


def test_static_under_nbgrader_draws_the_lecture_default(monkeypatch, shown) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = init_explorer()
    assert result.widget is None and result.figure is not None and shown == [result.figure]
    titles = _layer_titles(result.figure)
    assert len(titles) == 6 and titles[0].startswith("Layer 1\nmean=")
    # the default (0.14 at width 512 ≈ the lecture's 0.05 at 4096) saturates tanh: std ≈ 0.85
    assert all(0.8 < float(t.split("std=")[1]) < 0.9 for t in titles)
    assert "tanh" in result.figure._suptitle.get_text()


def test_live_controls_are_bilingual_and_redraw(live) -> None:
    result = init_explorer()
    assert set(result.controls) == {"activation", "scale_mode", "weight_scale", "depth"}
    assert "激活函数" in result.controls["activation"].description
    assert "层数" in result.controls["depth"].description
    assert type(result.controls["weight_scale"]).__name__ == "FloatLogSlider"
    assert len(_layer_titles(live[-1])) == 6
    result.controls["depth"].value = 3
    assert len(_layer_titles(live[-1])) == 3
    result.controls["activation"].value = "relu"
    result.controls["scale_mode"].value = "kaiming"
    assert "Kaiming" in live[-1]._suptitle.get_text() and "relu" in live[-1]._suptitle.get_text()
    redraws = len(live)
    result.controls["scale_mode"].value = "xavier"
    assert len(live) == redraws + 1 and "Xavier" in live[-1]._suptitle.get_text()
    stds = [float(t.split("std=")[1]) for t in _layer_titles(live[-1])]
    assert stds[0] > stds[1] > stds[2]  # Xavier with ReLU shrinks layer by layer


def test_fixed_scale_title_names_the_lecture_equivalent(live) -> None:
    result = init_explorer()
    result.controls["weight_scale"].value = 0.01
    assert "like 0.00354·randn at the lecture's width 4096" in live[-1]._suptitle.get_text()


@pytest.mark.parametrize("activation, mode, expected", [
    ("tanh", "xavier", (0.63, 0.49, 0.41)),  # the lecture's numbers at width 4096
    ("relu", "xavier", (0.58, 0.41, 0.30)),
    ("relu", "kaiming", (0.82, 0.82, 0.82)),
])
def test_init_activations_follow_the_lecture(activation, mode, expected) -> None:
    hs = init_activations(activation, mode, 0.0, 3, width=512, batch_size=64)
    assert [h.shape for h in hs] == [(64, 512)] * 3
    np.testing.assert_allclose([h.std() for h in hs], expected, atol=0.04)


def test_init_activations_fixed_scale_and_seed() -> None:
    small = init_activations("tanh", "fixed", 0.01, 4)
    assert small[-1].std() < small[0].std() / 10  # 0.01·√512 ≈ 0.23 per layer: collapse
    again = init_activations("tanh", "fixed", 0.01, 4)
    assert all(np.array_equal(a, b) for a, b in zip(small, again))


def test_unknown_options_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'"):
        init_activations("sigmoid", "xavier", 0.1, 2)
    with pytest.raises(ValueError, match="unknown scale mode 'lecun'"):
        init_activations("tanh", "lecun", 0.1, 2)


