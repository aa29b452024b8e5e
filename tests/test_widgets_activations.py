"""The activation explorer of 01_activations: static under grading, live and reactive otherwise."""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from nnlab.widgets import activation_curve, activation_explorer  # noqa: E402


def _title(figure: Any) -> str:
    return figure.axes[0].get_title()


def test_static_under_nbgrader_draws_one_figure(monkeypatch, shown) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = activation_explorer()
    assert result.widget is None and result.figure is not None
    assert shown == [result.figure]
    left, right = result.figure.axes
    assert left.get_title() == "sigmoid" and "derivative" in right.get_title()
    assert "saturated" in result.figure._suptitle.get_text()


def test_static_with_a_parameterised_activation_shows_its_default(monkeypatch, shown) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    activation_explorer("leaky_relu")
    assert _title(shown[-1]) == "leaky_relu  (negative_slope = 0.01)"


def test_live_controls_are_bilingual_and_redraw(live) -> None:
    result = activation_explorer()
    assert result.widget is not None and set(result.controls) == {"activation", "parameter", "x_range"}
    assert "激活函数" in result.controls["activation"].description
    assert result.controls["parameter"].disabled  # sigmoid has no parameter
    assert _title(live[-1]) == "sigmoid"
    before = len(live)
    result.controls["x_range"].value = 3.0
    assert len(live) == before + 1
    x_max = max(line.get_xdata().max() for line in live[-1].axes[0].lines if len(line.get_xdata()) > 2)
    assert x_max == pytest.approx(3.0)


def test_switching_activation_resets_the_parameter_to_its_default(live) -> None:
    result = activation_explorer()
    menu, slider = result.controls["activation"], result.controls["parameter"]
    menu.value = "elu"
    assert slider.value == 1.0 and not slider.disabled and slider.description.startswith("alpha")
    assert _title(live[-1]) == "elu  (alpha = 1)"
    slider.value = 0.5
    assert _title(live[-1]) == "elu  (alpha = 0.5)"
    menu.value = "leaky_relu"
    assert slider.value == 0.01
    # every figure drawn after the switch already shows the new default, never the stale 0.5
    assert _title(live[-1]) == "leaky_relu  (negative_slope = 0.01)"
    assert all("0.5" not in _title(f) for f in live if _title(f).startswith("leaky"))
    menu.value = "relu"
    assert slider.disabled and _title(live[-1]) == "relu"


def test_unknown_activation_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation_explorer("swish")
    with pytest.raises(ValueError, match="choose one of"):
        activation_curve("swish", 0.0, 5.0)


@pytest.mark.parametrize("name,parameter,reference", [
    ("sigmoid", 0.0, torch.sigmoid),
    ("leaky_relu", 0.2, lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    ("elu", 0.5, lambda x: torch.nn.functional.elu(x, 0.5)),
    ("gelu (tanh)", 0.0, lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
])
def test_activation_curve_gives_f_and_its_derivative(name, parameter, reference) -> None:
    x, y, dy = activation_curve(name, parameter, 4.0, points=81)
    assert x.dtype == y.dtype == dy.dtype == np.float64 and x.shape == (81,)
    np.testing.assert_allclose(y, reference(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-15)
    # the derivative agrees with centred differences of f (h = 1e-6, float64; off the kink at 0)
    h = 1e-6
    slope = (reference(torch.tensor(x + h)) - reference(torch.tensor(x - h))).numpy() / (2 * h)
    off_kink = np.abs(x) > 1e-3
    np.testing.assert_allclose(dy[off_kink], slope[off_kink], rtol=1e-6, atol=1e-8)
