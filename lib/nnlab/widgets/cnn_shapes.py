"""The convolution explorer of 00_cnn_shapes: a sliding window, its output size and receptive field.

Everything drawn is measured with torch, not computed from the formulas the
notebook asks for: output lengths are the lengths ``conv1d`` returns, the
taps of each output are the non-zero entries of the convolution's Jacobian,
and the receptive field is the set of input positions that reach the chosen
output through those Jacobians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nnlab.fonts import figure_text
from nnlab.i18n import Text
from nnlab.widgets import Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass
class Row:
    """One row of the 1-D picture: a layer's input after padding.

    Attributes:
        x: (P,) float64 centre of each position, in network-input units.
        pad: (P,) bool, True where the position is padding.
        in_field: (P,) bool, True where the position feeds the chosen output.
    """

    x: np.ndarray
    pad: np.ndarray
    in_field: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass
class Geometry:
    """A stack of identical 1-D convolutions, measured with torch.

    Attributes:
        rows: the padded input of each layer that torch accepted (row 0 is the network input).
        taps: per layer, a bool (out, P) matrix: output j reads padded position t.
        top_x: (out,) float64 centres of the last layer's outputs.
        top_field: (out,) bool, the chosen output.
        out_sizes: the output length of each layer that torch accepted.
        error: why the stack stops early (an input too short for the kernel), else None.
        receptive_field: span, in input positions (padding included), of the chosen
            output's receptive field on the network input; 0 when no layer ran.
        field_pixels: how many real (non-padding) input positions lie in it.
    """

    rows: list[Row]
    taps: list[np.ndarray]
    top_x: np.ndarray
    top_field: np.ndarray
    out_sizes: list[int]
    error: str | None
    receptive_field: int
    field_pixels: int


def conv_geometry(in_size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                  dilation: int = 1, layers: int = 1, position: int = 0) -> Geometry:
    """Measure a stack of ``layers`` identical 1-D convolutions with torch.

    Args:
        in_size, kernel_size, stride, padding, dilation: each layer's settings.
        layers: how many such layers are stacked.
        position: the output of the last layer whose receptive field is traced
            (clamped to the last output).

    Returns:
        A :class:`Geometry`; ``error`` is set when torch refuses a layer
        (output size < 1), and the stack stops there.
    """
    from nnlab.threads import one_thread

    with one_thread():  # tiny tensors: a thread pool only adds latency
        return _measure(in_size, kernel_size, stride, padding, dilation, layers, position)


def _measure(in_size: int, kernel_size: int, stride: int, padding: int, dilation: int,
             layers: int, position: int) -> Geometry:
    import torch
    import torch.nn.functional as F

    weight = torch.ones(1, 1, kernel_size, dtype=torch.float64)
    rows: list[Row] = []
    taps: list[np.ndarray] = []
    out_sizes: list[int] = []
    units = np.arange(in_size, dtype=np.float64)
    spacing, error = 1.0, None
    for layer in range(layers):
        before = units[0] - spacing * np.arange(padding, 0, -1)
        after = units[-1] + spacing * np.arange(1, padding + 1)
        x = np.concatenate([before, units, after])
        pad = np.ones(len(x), bool)
        pad[padding:padding + len(units)] = False
        padded = torch.ones(1, 1, len(x), dtype=torch.float64)
        try:
            jacobian = torch.autograd.functional.jacobian(
                lambda h: F.conv1d(h, weight, stride=stride, dilation=dilation), padded)
        except RuntimeError:
            error = (f"layer {layer + 1}: output size < 1 — the padded input ({len(x)}) is shorter "
                     "than the dilated kernel; torch raises an error")
            rows.append(Row(x, pad, np.zeros(len(x), bool)))
            break
        reads = jacobian.reshape(-1, len(x)).numpy() != 0
        rows.append(Row(x, pad))
        taps.append(reads)
        out_sizes.append(reads.shape[0])
        units = np.array([x[r].mean() for r in reads])
        spacing = units[1] - units[0] if len(units) > 1 else spacing * stride

    top_field = np.zeros(len(units), bool)
    if taps:
        top_field[min(max(position, 0), len(units) - 1)] = True
    chosen = top_field
    for row, reads in zip(reversed(rows[:len(taps)]), reversed(taps)):
        row.in_field = reads[chosen].any(axis=0)
        chosen = row.in_field[~row.pad]
    if error and taps:  # the last row that ran is drawn as the failing layer's input
        rows[-1].in_field[~rows[-1].pad] = top_field
    receptive_field = field_pixels = 0
    where = np.flatnonzero(rows[0].in_field) if taps else np.zeros(0, int)
    if where.size:  # empty when the traced output reads nothing but a later layer's padding
        receptive_field = int(where.max() - where.min() + 1)
        field_pixels = int((rows[0].in_field & ~rows[0].pad).sum())
    return Geometry(rows, taps, units if taps else np.zeros(0), top_field, out_sizes, error,
                    receptive_field, field_pixels)


#: rows of the 1-D picture are _GAP apart; each position is a square of side _SIZE.
_GAP, _SIZE = 1.8, 0.8
_COLOURS = {"pad": "#d0d7de", "cell": "white", "field": "#f0a030", "chosen": "#1f6feb",
            "unit_field": "#9ec5fe"}


class _ConvView(View):
    """The 1-D stack and the 2-D field. The number of cells, rows and lines follows every
    control, so a redraw removes what the two axes show and draws it again; the axes, their
    titles and the figure's title stay (making new axes was half of a redraw)."""

    figsize = (11.0, 4.4)

    def build(self, figure: Figure, **settings: int) -> None:
        self.axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1]})
        # fixed margins: tight_layout measured every tick and label again on each redraw (half its time)
        figure.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.84, wspace=0.06)
        _draw_conv_into(figure, *self.axes, **settings)

    def update(self, **settings: int) -> None:
        assert self.figure is not None
        for ax in self.axes:
            for artist in [*ax.collections, *ax.texts, *ax.images, *ax.lines]:
                artist.remove()
        _draw_conv_into(self.figure, *self.axes, **settings)


def _draw_conv(in_size: int, kernel_size: int, stride: int, padding: int, dilation: int,
               layers: int, position: int) -> Figure:
    """A new figure of the convolution explorer (what the static explorer shows)."""
    return _ConvView().draw(in_size=in_size, kernel_size=kernel_size, stride=stride, padding=padding,
                            dilation=dilation, layers=layers, position=position)


def _draw_conv_into(figure: Figure, left: Axes, right: Axes, in_size: int, kernel_size: int, stride: int,
                    padding: int, dilation: int, layers: int, position: int) -> None:
    g = conv_geometry(in_size, kernel_size, stride, padding, dilation, layers, position)
    _draw_stack(left, g, padding)
    sizes = " → ".join(str(n) for n in [in_size, *g.out_sizes])
    left.set_title(figure_text(Text(f"1-D: sizes {sizes}", f"一维：尺寸 {sizes}"))
                   + (f"\n{g.error}" if g.error else ""), fontsize=9,
                   color="#cf222e" if g.error else "black")
    _draw_field(right, g, in_size, padding)
    setting = Text(
        f"{layers} layer(s) of kernel {kernel_size}, stride {stride}, padding {padding}, dilation {dilation}",
        f"{layers} 层，卷积核 {kernel_size}，步长 {stride}，填充 {padding}，膨胀率 {dilation}")
    reach = Text(f"  —  receptive field on the input: {g.receptive_field} positions "
                 f"({g.field_pixels} real, {g.receptive_field - g.field_pixels} padding or gaps)",
                 f"  —  对输入的感受野：{g.receptive_field} 个位置"
                 f"（{g.field_pixels} 个真实像素，{g.receptive_field - g.field_pixels} 个填充或空隙）")
    figure.suptitle(figure_text(setting + reach if g.taps else setting), fontsize=10, y=0.99)


def _cells(ax: Axes, xs: np.ndarray, y: float, colours: list[str], hatched: np.ndarray) -> None:
    """One row of squares (padding hatched) as two collections of corners: hundreds of patches
    draw slowly, and even making one Rectangle each took a quarter of a redraw."""
    from matplotlib.collections import PolyCollection

    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]) * (_SIZE / 2)
    for which, hatch in ((~hatched, None), (hatched, "//")):
        if which.any():
            squares = corners + np.column_stack([xs[which], np.full(which.sum(), y)])[:, None, :]
            ax.add_collection(PolyCollection(squares, facecolors=[c for c, w in zip(colours, which) if w],
                                             edgecolors="0.4", linewidths=0.8, hatch=hatch))


def _draw_stack(left: Axes, g: Geometry, padding: int) -> None:
    """The 1-D picture: each layer's padded input, the chosen output and the lines it reads along."""
    from matplotlib.collections import LineCollection

    for r, row in enumerate(g.rows):
        hit_colour = _COLOURS["field"] if r == 0 else _COLOURS["unit_field"]
        colours = [hit_colour if hit else _COLOURS["pad"] if pad else _COLOURS["cell"]
                   for pad, hit in zip(row.pad, row.in_field)]
        _cells(left, row.x, r * _GAP, colours, row.pad)
        label = Text("input", "输入") if r == 0 else Text(f"layer {r}", f"第 {r} 层")
        label += Text(f"\n(pad {padding})", f"\n（填充 {padding}）")
        left.text(row.x.min() - 1.0, r * _GAP, figure_text(label), ha="right", va="center", fontsize=8)
    segments = []
    for layer, reads in enumerate(g.taps):
        lower = g.rows[layer]
        upper_x = g.rows[layer + 1].x[~g.rows[layer + 1].pad] if layer + 1 < len(g.rows) else g.top_x
        upper_hit = (g.rows[layer + 1].in_field[~g.rows[layer + 1].pad]
                     if layer + 1 < len(g.rows) else g.top_field)
        segments += [[(upper_x[j], (layer + 1) * _GAP - _SIZE / 2), (lower.x[t], layer * _GAP + _SIZE / 2)]
                     for j in np.flatnonzero(upper_hit) for t in np.flatnonzero(reads[j])]
    left.add_collection(LineCollection(segments, colors=_COLOURS["chosen"], linewidths=0.8, alpha=0.7))
    if g.taps and len(g.rows) == len(g.taps):
        y = len(g.taps) * _GAP
        _cells(left, g.top_x, y, [_COLOURS["chosen"] if hit else _COLOURS["cell"] for hit in g.top_field],
               np.zeros(len(g.top_x), bool))
        left.text(g.top_x.min() - 1.0, y, figure_text(Text(f"layer {len(g.taps)}\noutput",
                                                           f"第 {len(g.taps)} 层\n输出")),
                  ha="right", va="center", fontsize=8)
    xs = np.concatenate([row.x for row in g.rows])
    left.set_xlim(xs.min() - 4.5, xs.max() + 1)
    left.set_ylim(-1, max(len(g.rows), len(g.taps) + 1) * _GAP - 0.6)
    left.set_aspect("equal")
    left.axis("off")


def _draw_field(right: Axes, g: Geometry, in_size: int, padding: int) -> None:
    """The 2-D picture: the padded square input, the receptive field in orange."""
    row0 = g.rows[0]
    n = len(row0.x)
    grid = np.ones((n, n, 3))
    grid[row0.pad[:, None] | row0.pad[None, :]] = (0.82, 0.84, 0.87)
    grid[row0.in_field[:, None] & row0.in_field[None, :]] = (0.94, 0.63, 0.19)
    right.imshow(grid, extent=(-0.5, n - 0.5, n - 0.5, -0.5))
    right.set_xlim(-0.5, n - 0.5)  # imshow's autoscaling only grows the limits a redraw kept
    right.set_ylim(n - 0.5, -0.5)
    # cell borders as two line sets: as minor ticks' grid lines they cost a tick object each
    edges = np.arange(-0.5, n, 1)
    right.hlines(edges, -0.5, n - 0.5, color="0.6", lw=0.4, zorder=1.5)
    right.vlines(edges, -0.5, n - 0.5, color="0.6", lw=0.4, zorder=1.5)
    right.set_xticks([])
    right.set_yticks([])
    if g.taps:
        top = g.out_sizes[-1]
        chosen = int(np.flatnonzero(g.top_field)[0])
        right.set_title(figure_text(Text(
            f"2-D: input {in_size}×{in_size} + padding {padding}; output {top}×{top}\n"
            f"receptive field of output ({chosen}, {chosen}): {g.receptive_field}×{g.receptive_field}",
            f"二维：输入 {in_size}×{in_size} + 填充 {padding}；输出 {top}×{top}\n"
            f"输出 ({chosen}, {chosen}) 的感受野：{g.receptive_field}×{g.receptive_field}")), fontsize=9)
    else:
        right.set_title(figure_text(Text(f"2-D: input {in_size}×{in_size} + padding {padding}",
                                         f"二维：输入 {in_size}×{in_size} + 填充 {padding}")), fontsize=9)


def conv_explorer(in_size: int = 11, kernel_size: int = 3, stride: int = 2, padding: int = 1,
                  dilation: int = 1, layers: int = 2) -> Explorer:
    """Slide a convolution over a 1-D and a 2-D input; see output sizes and the receptive field.

    Introduced in 00_cnn_shapes. The left panel stacks ``layers`` identical
    convolutions: padding is hatched, lines join the chosen output to the
    positions it reads, and the orange input positions are its receptive
    field. The right panel shows the same field on a square input. All
    numbers come from torch (conv1d and its Jacobian), not from your
    exercise code, so the explorer works before you implement anything.
    """
    controls = {
        "in_size": Slider(in_size, 1, 32, 1, "input size · 输入大小", integer=True),
        "kernel_size": Slider(kernel_size, 1, 9, 1, "kernel size · 卷积核大小", integer=True),
        "stride": Slider(stride, 1, 4, 1, "stride · 步长", integer=True),
        "padding": Slider(padding, 0, 4, 1, "padding · 填充", integer=True),
        "dilation": Slider(dilation, 1, 4, 1, "dilation · 膨胀率", integer=True),
        "layers": Slider(layers, 1, 3, 1, "layers · 层数", integer=True),
        "position": Slider(1, 0, 31, 1, "output position · 输出位置", integer=True),
    }
    return explorer(_ConvView().draw, controls, name="conv", ahead=True)
