"""The preprocessing viewer of 02_preprocessing: one image before and after each option.

Pick an image and a method (none, the mean image of AlexNet, the per-channel mean of VGG,
per-channel mean and std), and see the image, what is subtracted, the result (rescaled for
display) and per-channel histograms before and after, for that image or for the whole dataset.

The statistics come from torch (or from ``stats``, e.g. your own results),
so the viewer works before you implement the exercises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.fonts import figure_text
from nnlab.fonts import figure_words as _t
from nnlab.i18n import Text
from nnlab.plots import fix_limits_and_ticks, imshow_data
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: (menu label, value) of each preprocessing method, in the lecture's order.
METHODS = (
    ("none · 不处理", "none"),
    ("mean image (AlexNet) · 减平均图像", "mean_image"),
    ("per-channel mean (VGG) · 减逐通道均值", "channel_mean"),
    ("per-channel mean/std · 逐通道均值/标准差", "channel_mean_std"),
)
_FORMULAS = {
    "none": Text("x (no preprocessing)", "x（不处理）"),
    "mean_image": Text("x − mean image [H, W, C]", "x − 平均图像 [H, W, C]"),
    "channel_mean": Text("x − per-channel mean [1, 1, C]", "x − 逐通道均值 [1, 1, C]"),
    "channel_mean_std": Text("(x − per-channel mean) / per-channel std [1, 1, C]",
                             "(x − 逐通道均值) / 逐通道标准差 [1, 1, C]"),
}


_STAT_KEYS = ("mean_image", "channel_mean", "channel_std")
_MAX_DATASET_IMAGES = 256  # images drawn from for the "whole dataset" histograms


def dataset_statistics(X: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics each method uses, computed with torch in float64.

    Args:
        X: ``(N, H, W, C)`` float images.

    Returns:
        ``{"mean_image": (H, W, C), "channel_mean": (C,), "channel_std": (C,)}``
        float64 arrays; the std is the population std (``correction=0``).
    """
    import torch

    t = torch.from_numpy(np.asarray(X, dtype=np.float64))
    return {
        "mean_image": t.mean(dim=0).numpy(),
        "channel_mean": t.mean(dim=(0, 1, 2)).numpy(),
        "channel_std": torch.std(t, dim=(0, 1, 2), correction=0).numpy(),
    }


def apply_method(X: np.ndarray, method: str, stats: Mapping[str, np.ndarray]) -> np.ndarray:
    """Preprocess images ``(..., H, W, C)`` with one of :data:`METHODS` (torch ops, float64).

    Raises:
        ValueError: for an unknown method.
    """
    import torch

    t = torch.from_numpy(np.asarray(X, dtype=np.float64))
    if method == "none":
        return t.numpy()
    if method == "mean_image":
        return (t - torch.from_numpy(stats["mean_image"])).numpy()
    if method == "channel_mean":
        return (t - torch.from_numpy(stats["channel_mean"])).numpy()
    if method == "channel_mean_std":
        return ((t - torch.from_numpy(stats["channel_mean"]))
                / torch.from_numpy(stats["channel_std"])).numpy()
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(v for _, v in METHODS)}")


def for_display(image: np.ndarray) -> np.ndarray:
    """An image rescaled to ``[0, 1]`` for ``imshow`` (min → 0, max → 1; constant → 0.5)."""
    image = np.asarray(image, dtype=np.float64)
    low, high = float(image.min()), float(image.max())
    if high - low < 1e-12:
        return np.full_like(image, 0.5)
    return (image - low) / (high - low)


def _channel_colours(c: int) -> list[str]:
    return ["0.3"] if c == 1 else ["tab:red", "tab:green", "tab:blue"]


def _channel_histograms(X: np.ndarray, bins: int = 60) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-channel histograms on shared bin edges, and a legend label for each channel.

    Args:
        X: ``(..., C)`` values with ``C`` = 1 or 3.
        bins: number of bins, shared by the channels.

    Returns:
        ``(counts (C, bins) int64, edges (bins + 1,) float64, labels)``; each label gives the
        channel's name, mean and std, e.g. ``"R: mean +0.12, std 0.25"``.

    Raises:
        ValueError: when the last axis is not 1 or 3 channels.
    """
    X = np.asarray(X)
    if X.shape[-1] not in (1, 3):
        raise ValueError(f"plot_channel_histograms: the last axis must be 1 or 3 channels, got {X.shape}")
    channels = np.moveaxis(X.reshape(-1, X.shape[-1]), -1, 0).astype(np.float64)  # (C, M), rows contiguous
    edges = np.histogram_bin_edges(channels, bins=bins)
    names = ["grey"] if len(channels) == 1 else ["R", "G", "B"]
    counts = np.stack([np.histogram(channel, bins=edges)[0] for channel in channels])
    labels = [f"{name}: " + _t(f"mean {channel.mean():+.2f}, std {channel.std():.2f}",
                               f"均值 {channel.mean():+.2f}，标准差 {channel.std():.2f}")
              for channel, name in zip(channels, names)]
    return counts, edges, labels


def _draw_channel_histograms(ax: Axes, counts: np.ndarray, edges: np.ndarray, labels: list[str],
                             title: str | None) -> None:
    for channel_counts, label, colour in zip(counts, labels, _channel_colours(len(counts))):
        ax.stairs(channel_counts, edges, color=colour, lw=1.4, label=label)
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel(_t("value", "取值"))
    ax.set_ylabel(_t("count", "计数"))
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10, y=1.0)  # a fixed y: matplotlib need not measure the axes


def plot_channel_histograms(X: np.ndarray, ax: Axes | None = None, title: str | None = None,
                            bins: int = 60) -> Figure:
    """Histogram of each channel's values (R, G, B as red, green, blue step lines).

    Args:
        X: ``(..., C)`` values with ``C`` = 1 or 3 (an image, a batch, a dataset).
        ax: axes to draw on; default: a new figure.
        title: axes title.
        bins: number of bins, shared by the channels.

    Returns:
        The figure. The legend gives each channel's mean and std.

    Raises:
        ValueError: when the last axis is not 1 or 3 channels.
    """
    import matplotlib.pyplot as plt

    histograms = _channel_histograms(X, bins)
    if ax is None:
        ax = plt.subplots(figsize=(5, 3))[1]
    _draw_channel_histograms(ax, *histograms, title)
    return ax.figure


def _check_inputs(X: np.ndarray, class_names: Sequence[str] | None, y: np.ndarray | None,
                  stats: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    if X.ndim != 4 or X.shape[-1] not in (1, 3) or len(X) == 0:
        raise ValueError(f"preprocessing_viewer: X must be (N, H, W, C) with N >= 1 and C = 1 or 3, "
                         f"got shape {X.shape}")
    if y is not None and len(y) != len(X):
        raise ValueError(f"preprocessing_viewer: y has {len(y)} labels for {len(X)} images")
    if class_names is not None and y is None:
        raise ValueError("preprocessing_viewer: class_names needs the labels y")
    computed = dataset_statistics(X)
    given = dict(stats or {})
    unknown = sorted(set(given) - set(_STAT_KEYS))
    if unknown:
        raise ValueError(f"preprocessing_viewer: unknown stats {', '.join(unknown)} "
                         f"(allowed: {', '.join(_STAT_KEYS)})")
    for key, value in given.items():
        value = np.asarray(value, dtype=np.float64)
        if value.shape != computed[key].shape:
            raise ValueError(f"preprocessing_viewer: stats[{key!r}] should have shape "
                             f"{computed[key].shape}, got {value.shape}")
        computed[key] = value
    return computed


class _ViewerData:
    """What the viewer draws from: the images, their statistics, and cached dataset histograms.

    The "whole dataset" histograms depend only on the method, so each is computed once
    (at most 4 of them); a redraw then costs one image's worth of numbers.
    """

    def __init__(self, X: np.ndarray, stats: Mapping[str, np.ndarray], labels: list[str] | None) -> None:
        self.X, self.stats, self.labels = X, stats, labels
        step = max(1, len(X) // _MAX_DATASET_IMAGES)
        self.sample = X[::step]
        self._histograms: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}

    def dataset_histograms(self, method: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Histograms of the dataset sample after ``method`` (``"none"``: before), cached."""
        if method not in self._histograms:
            values = apply_method(self.sample, method, self.stats)
            self._histograms[method] = _channel_histograms(values)
        return self._histograms[method]


class _ViewerView(View):
    """The viewer's five panels: the image, what is subtracted, the result, two histograms.

    A new method clears the figure and draws it again (the middle panel changes kind); a new
    image or histogram scope changes the two pictures, the histograms and the titles in place.
    """

    figsize = (10.0, 6.2)

    def __init__(self, data: _ViewerData) -> None:
        super().__init__()
        self.data = data

    def build(self, figure: Figure, index: int, method: str, histogram: str) -> None:
        self.method, content = method, _content(self.data, index, method, histogram)
        # fixed margins (tight_layout would lay every label out once more on each redraw)
        grid = figure.add_gridspec(2, 6, height_ratios=(1.1, 1.0), left=0.065, right=0.985, bottom=0.08,
                                   top=0.84, hspace=0.22, wspace=0.9)
        panels = [figure.add_subplot(grid[0, 2 * i:2 * i + 2]) for i in range(3)]
        for ax, picture, title in ((panels[0], *content["image"]), (panels[2], *content["after"])):
            _show(ax, picture, title)
        _show_subtracted(panels[1], self.data.stats, method, content["image"][0].shape)
        self.pictures = (panels[0], panels[2])
        self.histograms = [figure.add_subplot(grid[1, column]) for column in (slice(0, 3), slice(3, 6))]
        for ax, (histograms, title) in zip(self.histograms, content["histograms"], strict=True):
            _draw_channel_histograms(ax, *histograms, title)
            fix_limits_and_ticks(ax)
        figure.suptitle(figure_text(_FORMULAS[method]), fontsize=11)

    def update(self, index: int, method: str, histogram: str) -> None:
        if method != self.method:
            super().update(index=index, method=method, histogram=histogram)
            return
        content = _content(self.data, index, method, histogram)
        for ax, (picture, title) in zip(self.pictures, (content["image"], content["after"]), strict=True):
            ax.images[0].set_data(imshow_data(picture))
            ax.set_title(title, fontsize=9, y=1.0)
        for ax, ((counts, edges, labels), title) in zip(self.histograms, content["histograms"], strict=True):
            for steps, channel_counts in zip(ax.patches, counts, strict=True):
                steps.set_data(channel_counts, edges)
            for text, label in zip(ax.get_legend().get_texts(), labels, strict=True):
                text.set_text(label)
            ax.set_title(title, fontsize=10, y=1.0)
            # relim()'s data limits (steps from 0 up, the line at 0) without its walk along each step
            ax.dataLim.set_points(np.array([[min(edges[0], 0.0), 0.0], [max(edges[-1], 0.0), counts.max()]]))
            ax.autoscale()  # the previous redraw froze the limits
            ax.autoscale_view()
            fix_limits_and_ticks(ax)


def _content(data: _ViewerData, index: int, method: str, histogram: str) -> dict[str, Any]:
    """What the viewer shows for these controls: pictures and histograms, each with its title."""
    index = int(np.clip(index, 0, len(data.X) - 1))
    image = np.asarray(data.X[index], dtype=np.float64)
    after = apply_method(image, method, data.stats)
    if histogram == "dataset":
        before, after_histograms = data.dataset_histograms("none"), data.dataset_histograms(method)
        scope = _t(f"dataset ({len(data.sample)} images)", f"数据集（{len(data.sample)} 张图像）")
    else:
        before, after_histograms = _channel_histograms(image), _channel_histograms(after)
        scope = _t(f"image {index}", f"图像 {index}")
    name = f" ({data.labels[index]})" if data.labels else ""
    return {"image": (np.clip(image, 0.0, 1.0), _t(f"image {index}", f"图像 {index}") + name),
            "after": (for_display(after), _t("after, rescaled to [0, 1]\nfor display",
                                             "处理后\n（缩放到 [0, 1] 显示）")),
            "histograms": ((before, _t("before: ", "处理前：") + scope),
                           (after_histograms, _t("after: ", "处理后：") + scope))}


def _show(ax: Axes, picture: np.ndarray, title: str) -> None:
    grey = {"cmap": "gray"} if picture.shape[-1] == 1 else {}
    ax.imshow(imshow_data(picture), vmin=0, vmax=1, **grey)
    ax.set_title(title, fontsize=9, y=1.0)
    ax.axis("off")


def _show_subtracted(ax: Axes, stats: Mapping[str, np.ndarray], method: str, shape: tuple[int, ...]) -> None:
    """The middle panel: what ``method`` subtracts (and divides by)."""
    if method == "none":
        ax.text(0.5, 0.5, _t("nothing subtracted", "未减去任何值"), ha="center", va="center")
        ax.axis("off")
    elif method == "mean_image":
        _show(ax, for_display(stats["mean_image"]), _t("subtracted: mean image\n(rescaled)",
                                                       "减去：平均图像\n（已缩放）"))
    else:
        title = _t("subtracted: per-channel mean\n", "减去：逐通道均值\n") + " ".join(
            f"{v:.2f}" for v in stats["channel_mean"])
        if method == "channel_mean_std":
            title += _t("\ndivided by std ", "\n除以标准差 ") + " ".join(
                f"{v:.2f}" for v in stats["channel_std"])
        _show(ax, np.clip(np.broadcast_to(stats["channel_mean"], shape), 0.0, 1.0), title)


def _draw_viewer(data: _ViewerData, index: int, method: str, histogram: str) -> Figure:
    """A new figure of the viewer (what the static viewer shows)."""
    return _ViewerView(data).draw(index=index, method=method, histogram=histogram)


def preprocessing_viewer(
    X: np.ndarray,
    class_names: Sequence[str] | None = None,
    y: np.ndarray | None = None,
    stats: Mapping[str, np.ndarray] | None = None,
    *,
    index: int = 0,
    method: str = "channel_mean_std",
) -> Explorer:
    """See one image before and after each preprocessing option of the lecture.

    Introduced in 02_preprocessing. The figure shows the image, what is
    subtracted, the result rescaled to ``[0, 1]`` for display, and
    per-channel histograms before and after (of that image, or of the
    whole dataset).

    Args:
        X: ``(N, H, W, C)`` float images in ``[0, 1]``, ``C`` = 1 or 3.
        class_names: name of each label (shown in the image's title); needs ``y``.
        y: ``(N,)`` integer labels.
        stats: statistics to use instead of torch's, any of ``"mean_image"``
            ``(H, W, C)``, ``"channel_mean"`` ``(C,)``, ``"channel_std"`` ``(C,)``
            (e.g. the results of your own functions).
        index: the image shown first.
        method: the method shown first, one of the values of :data:`METHODS`.

    Returns:
        The :class:`~nnlab.widgets.Explorer` (a static figure under nbgrader).

    Raises:
        ValueError: for inputs of the wrong shape, unknown statistics or method.
    """
    X = np.asarray(X)
    statistics = _check_inputs(X, class_names, y, stats)
    if method not in {value for _, value in METHODS}:
        raise ValueError(f"preprocessing_viewer: unknown method {method!r}; choose one of "
                         f"{', '.join(v for _, v in METHODS)}")
    labels = None
    if y is not None:
        labels = [class_names[int(label)] if class_names is not None else str(int(label)) for label in y]

    view = _ViewerView(_ViewerData(X, statistics, labels))
    controls = {
        "index": Slider(int(np.clip(index, 0, len(X) - 1)), 0, len(X) - 1, 1, "image · 图像编号",
                        integer=True),
        "method": Choice(method, METHODS, "method · 预处理方法"),
        "histogram": Choice("image", (("this image · 当前图像", "image"),
                                      ("whole dataset · 整个数据集", "dataset")),
                            "histograms of · 直方图范围"),
    }
    return explorer(view.draw, controls, name="preprocessing", ahead=True)
