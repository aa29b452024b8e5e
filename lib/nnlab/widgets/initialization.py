"""The init explorer of 03_initialization: activation, weight scale and depth → per-layer histograms.

The experiment is the lecture's (``x = activation(x @ W)`` layer after layer, starting from a
standard normal batch) computed with torch and ``torch.nn.init``, not with the notebook's
exercise code, so it works before anything is implemented. It uses narrower layers than the
lecture (512 instead of 4096) so that a redraw stays fast.

Only the weights' scale depends on the controls: ``normal_(W, 0, std)`` and ``kaiming_normal_``
both draw ``std · z`` with ``z`` standard normal, so the standard normals are drawn once (in
the generator's order) and scaled on each redraw, which gives the very same numbers.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.fonts import figure_text
from nnlab.i18n import Text
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: weight-scale modes: a fixed std from the slider, or a std computed from the fan-in.
SCALE_MODES = ("fixed", "xavier", "kaiming")
ACTIVATIONS = ("tanh", "relu")


def init_activations(
    activation: str,
    scale_mode: str,
    weight_scale: float,
    depth: int,
    *,
    width: int = 512,
    batch_size: int = 16,
    seed: int = 0,
) -> list[np.ndarray]:
    """The hidden activations of the lecture's experiment, with ``torch.nn.init``'s weights.

    The weights are the numbers ``normal_`` / ``kaiming_normal_`` would draw from a generator
    seeded with ``seed``: one set of standard normals per layer (drawn once and cached),
    times the mode's std.

    Args:
        activation: ``"tanh"`` or ``"relu"``.
        scale_mode: ``"fixed"`` (every weight ~ N(0, weight_scale²): ``normal_``),
            ``"xavier"`` (std 1/√Din: ``kaiming_normal_(nonlinearity="linear")``) or
            ``"kaiming"`` (std √(2/Din): ``kaiming_normal_(nonlinearity="relu")``).
        weight_scale: the std for ``"fixed"``; ignored otherwise.
        depth: the number of layers.
        width: the width of every layer (the lecture uses 4096).
        batch_size: rows of the input batch.
        seed: seeds the torch generator, so a redraw with the same settings is identical.

    Returns:
        ``depth`` float32 arrays of shape ``(batch_size, width)``: the activations after each layer.

    Raises:
        ValueError: for an unknown activation or scale mode.
    """
    import torch

    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if scale_mode not in SCALE_MODES:
        raise ValueError(f"unknown scale mode {scale_mode!r}; choose one of {', '.join(SCALE_MODES)}")
    if scale_mode == "fixed":
        std = float(weight_scale)  # what torch.nn.init.normal_(W, 0.0, weight_scale) draws
    else:  # kaiming_normal_(W, mode="fan_in"): std = gain / √fan_in
        gain = torch.nn.init.calculate_gain("linear" if scale_mode == "xavier" else "relu")
        std = gain / math.sqrt(width)
    act = torch.tanh if activation == "tanh" else torch.relu
    x, normals = _standard_normals(width, batch_size, seed, int(depth))
    hs = []
    with torch.no_grad():
        for z in normals[:int(depth)]:  # torch layout (out, in): the layer computes x @ weight.T
            x = act(x @ (z * std).T)
            hs.append(x.numpy())
    return hs


@lru_cache(maxsize=2)  # 10 layers of 512 × 512 float32: 10 MB each
def _standard_normal_draws(width: int, batch_size: int, seed: int, depth: int) -> tuple[Any, tuple[Any, ...]]:
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, width, generator=g)
    return x, tuple(torch.empty(width, width).normal_(generator=g) for _ in range(depth))


def _standard_normals(width: int, batch_size: int, seed: int, depth: int) -> tuple[Any, tuple[Any, ...]]:
    """The input batch and ``depth`` standard-normal weight draws, in the generator's order (cached).

    The cache holds at least 10 layers (the slider's maximum), so moving the depth slider
    reuses them: the first layers stay the same whatever the depth.
    """
    return _standard_normal_draws(width, batch_size, seed, max(depth, 10))


class _InitView(View):
    """The per-layer histograms of :func:`init_activations`.

    The panels follow the depth: a new depth clears the figure and lays out the panels
    again; any other control only changes each panel's histogram, ticks and title.
    """

    def __init__(self, width: int = 512, batch_size: int = 16) -> None:
        super().__init__()
        self.width, self.batch_size = width, batch_size

    def build(self, figure: Figure, activation: str, scale_mode: str, weight_scale: float,
              depth: int) -> None:
        ncols = depth if depth <= 6 else 5
        nrows = math.ceil(depth / ncols)
        height = 1.9 * nrows + 0.5
        figure.set_size_inches(2.0 * ncols + 0.4, height)
        axes = figure.subplots(nrows, ncols, squeeze=False).flat
        # fixed margins (tight_layout would double the redraw time)
        figure.subplots_adjust(left=0.03, right=0.98, bottom=0.3 / height, top=1 - 0.95 / height,
                               wspace=0.12, hspace=0.75)
        self.depth = depth
        self.panels = [(ax, ax.stairs([0], [0, 1], fill=True, color="C0")) for ax in axes[:depth]]
        for ax, _ in self.panels:
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
        for ax in axes[depth:]:
            ax.set_visible(False)
        self.suptitle = figure.suptitle("", fontsize=9)
        self.update(activation, scale_mode, weight_scale, depth)

    def update(self, activation: str, scale_mode: str, weight_scale: float, depth: int) -> None:
        if int(depth) != self.depth:
            super().update(activation=activation, scale_mode=scale_mode, weight_scale=weight_scale,
                           depth=int(depth))
            return
        hs = init_activations(activation, scale_mode, weight_scale, self.depth, width=self.width,
                              batch_size=self.batch_size)
        edges, ticks = _edges_and_ticks(activation, hs)
        for (ax, stairs), (layer, h) in zip(self.panels, enumerate(hs, start=1), strict=True):
            counts, _ = np.histogram(np.clip(h, edges[0], edges[-1]), bins=edges)
            stairs.set_data(counts, edges)
            span = edges[-1] - edges[0]
            ax.set_xlim(edges[0] - 0.05 * span, edges[-1] + 0.05 * span)  # autoscaling's 5% margins
            ax.set_ylim(0, max(int(counts.max()), 1) * 1.05)
            # a fixed title height and a few fixed ticks: matplotlib need not measure the axes to
            # place the title, nor run a tick locator each time it lays the panel out
            ax.set_title(figure_text(Text(f"Layer {layer}", f"第 {layer} 层")) + f"\nmean={h.mean():.2f}"
                         f"\nstd={h.std():.2f}", fontsize=8, y=1.0)
            ax.set_xticks(ticks)
        self.suptitle.set_text(f"{activation}, {_rule(scale_mode, weight_scale, self.width)}; "
                               + figure_text(Text(f"width {self.width}, batch {self.batch_size}",
                                                  f"宽度 {self.width}，批大小 {self.batch_size}")))


def _edges_and_ticks(activation: str, hs: list[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """Shared histogram bins (tanh: [-1, 1]; relu: up to the 99.9th percentile) and x ticks."""
    from matplotlib.ticker import MaxNLocator

    if activation == "tanh":
        return np.linspace(-1.0, 1.0, 41), [-1.0, 0.0, 1.0]
    top = max(float(np.quantile(h, 0.999)) for h in hs)
    edges = np.linspace(0.0, top if top > 0 else 1.0, 41)
    return edges, [t for t in MaxNLocator(3).tick_values(0.0, edges[-1]) if t <= edges[-1] * 1.001]


def _rule(scale_mode: str, weight_scale: float, width: int) -> str:
    """How the weights are scaled, for the title."""
    if scale_mode == "fixed":
        gain = weight_scale * math.sqrt(width)
        return (f"W = {weight_scale:.3g}·randn: std·√Din = {gain:.2f}"
                + figure_text(Text(f" (like {gain / 64:.3g}·randn at the lecture's width 4096)",
                                   f"（相当于讲义中宽度 4096 时的 {gain / 64:.3g}·randn）")))
    return "Xavier: std = 1/√Din" if scale_mode == "xavier" else "Kaiming: std = √(2/Din)"


def _draw_init(activation: str, scale_mode: str, weight_scale: float, depth: int,
               width: int = 512, batch_size: int = 16) -> Figure:
    """A new figure of the init explorer (what the static explorer shows)."""
    return _InitView(width, batch_size).draw(activation=activation, scale_mode=scale_mode,
                                             weight_scale=weight_scale, depth=int(depth))


def init_explorer(
    activation: str = "tanh",
    scale_mode: str = "fixed",
    weight_scale: float = 0.14,
    depth: int = 6,
    *,
    width: int = 512,
) -> Explorer:
    """Explore weight initialization: activation, weight scale and depth → per-layer histograms.

    Introduced in 03_initialization. The activations come from torch (``torch.nn.init``),
    not from your exercise code, so the explorer works before you implement anything.

    Args:
        activation: the initial activation, ``"tanh"`` or ``"relu"``.
        scale_mode: ``"fixed"`` (use the slider's std), ``"xavier"`` or ``"kaiming"``.
        weight_scale: the initial fixed std (log slider from 0.001 to 1); the default 0.14
            at width 512 behaves like the lecture's 0.05 at width 4096 (std·√Din ≈ 3.2).
        depth: the initial number of layers (1 to 10).
        width: the width of every layer (kept small so a redraw takes well under a second).
    """
    controls = {
        "activation": Choice(activation, ACTIVATIONS, "activation · 激活函数"),
        "scale_mode": Choice(scale_mode, (("fixed std (slider) · 固定标准差", "fixed"),
                                          ("Xavier 1/√Din", "xavier"),
                                          ("Kaiming √(2/Din)", "kaiming")),
                             "weight scale · 权重尺度"),
        "weight_scale": Slider(weight_scale, 0.001, 1.0, 0.05, "fixed std · 固定标准差", log=True),
        "depth": Slider(depth, 1, 10, 1, "depth · 层数", integer=True),
    }

    view = _InitView(width)

    def draw(activation: str, scale_mode: str, weight_scale: float, depth: int) -> Figure:
        return view.draw(activation=activation, scale_mode=scale_mode, weight_scale=weight_scale,
                         depth=int(depth))

    return explorer(draw, controls, name="initialization", ahead=True)
