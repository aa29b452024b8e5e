"""The activation explorer of 01_activations: pick a function, slide its parameter, see f and f′."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnlab.fonts import figure_text
from nnlab.i18n import Text
from nnlab.plots import fix_limits_and_ticks
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: a parameter-free activation's slider value (the slider is disabled for it).
_NO_PARAMETER = 0.0


#: activation name -> (torch function of (x, parameter), parameter label or None, default)
def _activation_table() -> dict[str, tuple[Callable[[Any, float], Any], str | None, float]]:
    import torch
    import torch.nn.functional as F

    return {
        "sigmoid": (lambda x, a: torch.sigmoid(x), None, _NO_PARAMETER),
        "tanh": (lambda x, a: torch.tanh(x), None, _NO_PARAMETER),
        "relu": (lambda x, a: F.relu(x), None, _NO_PARAMETER),
        "leaky_relu": (lambda x, a: F.leaky_relu(x, a), "negative_slope", 0.01),
        "prelu": (lambda x, a: F.prelu(x, torch.tensor([a], dtype=x.dtype)), "alpha", 0.25),
        "elu": (lambda x, a: F.elu(x, a), "alpha", 1.0),
        "selu": (lambda x, a: F.selu(x), None, _NO_PARAMETER),
        "gelu": (lambda x, a: F.gelu(x), None, _NO_PARAMETER),
        "gelu (tanh)": (lambda x, a: F.gelu(x, approximate="tanh"), None, _NO_PARAMETER),
        "softplus": (lambda x, a: F.softplus(x, beta=max(a, 1e-3)), "beta", 1.0),
    }


def activation_curve(name: str, parameter: float, x_range: float, points: int = 401):
    """``(x, f(x), f'(x))`` of a built-in activation, computed with torch autograd.

    Args:
        name: one of the names in the activation explorer's menu.
        parameter: its parameter (negative slope, α, β), ignored by parameter-free ones.
        x_range: x goes from -x_range to x_range.

    Returns:
        three float64 numpy arrays of length ``points``.

    Raises:
        ValueError: for a name that is not in the menu.
    """
    import torch

    table = _activation_table()
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(table)}")
    function = table[name][0]
    x = torch.linspace(-x_range, x_range, points, dtype=torch.float64, requires_grad=True)
    y = function(x, parameter)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return x.detach().numpy(), y.detach().numpy(), grad.numpy()


class _ActivationView(View):
    """f (left) and f′ (right) of one activation; a redraw moves the two curves and retitles."""

    figsize = (9.0, 3.2)

    def build(self, figure: Figure, activation: str, parameter: float, x_range: float) -> None:
        left, right = self.axes = figure.subplots(1, 2)
        self.curves = (left.plot([], [], color="C0")[0], right.plot([], [], color="C1")[0])
        right.set_title(figure_text(Text("derivative f′(x)", "导数 f′(x)")), y=1.0)
        for ax in (left, right):
            ax.axhline(0, color="0.7", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)
            ax.grid(alpha=0.3)
            ax.set_xlabel("x")
        self.suptitle = figure.suptitle("", fontsize=10)
        self.update(activation, parameter, x_range)
        figure.tight_layout()  # once: the margins stay for every later redraw

    def update(self, activation: str, parameter: float, x_range: float) -> None:
        x, y, dy = activation_curve(activation, parameter, x_range)
        label = _activation_table()[activation][1]
        for ax, curve, values in zip(self.axes, self.curves, (y, dy), strict=True):
            curve.set_data(x, values)
            ax.autoscale()  # the previous redraw froze the limits
            ax.relim()
            ax.autoscale_view()
            fix_limits_and_ticks(ax)  # fixed ticks: no tick locator on each layout pass
        # a fixed title height: matplotlib need not measure the axes to place the title
        self.axes[0].set_title(f"{activation}" + (f"  ({label} = {parameter:.3g})" if label else ""), y=1.0)
        saturated = float((abs(dy) < 1e-3).mean())
        self.suptitle.set_text(figure_text(Text(f"saturated (|f′| < 0.001) on {saturated:.0%} of the range",
                                                f"饱和（|f′| < 0.001）的区间占 {saturated:.0%}")))


def _draw_activation(activation: str, parameter: float, x_range: float) -> Figure:
    """A new figure of f and f′ (what the static explorer shows)."""
    return _ActivationView().draw(activation=activation, parameter=parameter, x_range=x_range)


def _parameter_label(label: str | None) -> str:
    from nnlab.i18n import get_language

    if label is None:
        return "(no parameter) · 无参数"
    return f"参数 {label}" if get_language() == "zh" else f"{label} · 参数"


def activation_explorer(activation: str = "sigmoid") -> Explorer:
    """Explore an activation: pick it, slide its parameter and the x range, see f and f′.

    Introduced in 01_activations. The curves come from torch, not from your
    exercise code, so the explorer works before you implement anything.
    Choosing another activation resets the parameter slider to that
    activation's default (Leaky ReLU 0.01, PReLU 0.25, ELU 1, softplus 1) and
    disables it for activations without a parameter.

    Args:
        activation: the activation shown first (a name of the menu).

    Raises:
        ValueError: for a name that is not in the menu.
    """
    table = _activation_table()
    if activation not in table:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(table)}")
    shown = {"activation": activation}
    view = _ActivationView()

    def draw(activation: str, parameter: float, x_range: float) -> Figure:
        if activation != shown["activation"]:
            # A new activation starts from its default; the slider is reset to it right after.
            shown["activation"] = activation
            parameter = table[activation][2]
        return view.draw(activation=activation, parameter=parameter, x_range=x_range)

    _, label, default = table[activation]
    controls = {
        "activation": Choice(activation, tuple(table), "activation · 激活函数"),
        "parameter": Slider(default, 0.0, 2.0, 0.01, _parameter_label(label)),
        "x_range": Slider(10.0, 1.0, 20.0, 0.5, "x range · 取值范围"),
    }
    result = explorer(draw, controls, name="activations")
    if result.widget is not None:
        menu, slider = result.controls["activation"], result.controls["parameter"]

        def reset_parameter(change: dict[str, Any]) -> None:
            _, label, default = table[change["new"]]
            slider.value = default
            slider.description = _parameter_label(label)
            slider.disabled = label is None

        slider.disabled = label is None
        menu.observe(reset_parameter, names="value")
    return result
