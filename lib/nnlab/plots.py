"""Small matplotlib helpers for the notebooks: image grids, curves, histograms.

Each helper draws with matplotlib's pyplot (so figures show inline in
Jupyter) and returns the :class:`~matplotlib.figure.Figure`. Inline backends
already show every new figure, so end the cell with ``;`` or assign the result
(``fig = show_images(X)``) to avoid seeing it twice. No backend is selected
here: the notebook's (or ``MPLBACKEND``) is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def show_images(
    X: np.ndarray,
    y: np.ndarray | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    fig: Figure | None = None,
) -> Figure:
    """Show images in a grid, each titled with its label.

    Args:
        X: ``(N, H, W, C)`` images with ``C`` = 3 (RGB) or 1 (grey): float
            (clipped to ``[0, 1]``) or uint8 (0..255). ``N >= 1``.
        y: ``(N,)`` integer labels shown as titles, or None for no titles.
        class_names: name of each label (titles show names instead of numbers).
        ncols: images per row, >= 1 (fewer if ``N < ncols``).
        fig: a figure to draw into (its subplots are added); default: a new one.

    Returns:
        The figure, with one axes per grid cell (``ceil(N / ncols) * ncols``);
        cells past ``N`` are blank.

    Raises:
        ValueError: for a wrong ``X`` shape or dtype, a ``y`` of the wrong
            length, ``class_names`` without ``y``, or ``ncols < 1``.
    """
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[-1] not in (1, 3) or len(X) == 0:
        raise ValueError(f"show_images: X must be (N, H, W, C) with N >= 1 and C = 1 or 3, "
                         f"got shape {X.shape}. For one image use X[None].")
    if not (np.issubdtype(X.dtype, np.floating) or X.dtype == np.uint8):
        raise ValueError(f"show_images: X must be float (0..1) or uint8 (0..255), got {X.dtype}")
    if y is not None and len(y) != len(X):
        raise ValueError(f"show_images: y has {len(y)} labels for {len(X)} images")
    if class_names is not None and y is None:
        raise ValueError("show_images: class_names needs the labels y")
    if ncols < 1:
        raise ValueError(f"show_images: ncols must be >= 1, got {ncols}")
    if np.issubdtype(X.dtype, np.floating):
        X = np.clip(X, 0.0, 1.0)
    ncols = min(ncols, len(X))
    nrows = -(-len(X) // ncols)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.3 * ncols, 1.5 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(X):
            continue
        ax.imshow(X[i, ..., 0] if X.shape[-1] == 1 else X[i], cmap="gray",
                  vmin=0, vmax=255 if X.dtype == np.uint8 else 1)
        if y is not None:
            label = int(y[i])
            ax.set_title(class_names[label] if class_names is not None else str(label),
                         fontsize=8)
    return fig


def plot_function_and_gradient(
    x: np.ndarray,
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    title: str,
    ax: Axes | None = None,
) -> Figure:
    """Plot a function and its derivative on the same axes (e.g. an activation).

    Introduced in ``01_activations``.

    Args:
        x: ``(N,)`` points, e.g. ``np.linspace(-5, 5, 201)``.
        f: the function, ``(N,) -> (N,)``.
        df: its derivative, ``(N,) -> (N,)``.
        title: axes title, e.g. ``"tanh"``.
        ax: axes to draw on; default: a new figure.

    Returns:
        The figure; the axes holds two lines, ``f(x)`` then ``f'(x)``.

    Raises:
        ValueError: if ``x`` is not 1-D or ``f``/``df`` return another shape.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"plot_function_and_gradient: x must be 1-D, got shape {x.shape}")
    curves = {}
    for name, func in (("f(x)", f), ("f'(x)", df)):
        values = np.asarray(func(x))
        if values.shape != x.shape:
            raise ValueError(f"plot_function_and_gradient: {name} has shape {values.shape}, "
                             f"expected {x.shape} like x")
        curves[name] = values
    ax = _axes(ax)
    for (name, values), style in zip(curves.items(), ("-", "--"), strict=True):
        ax.plot(x, values, style, label=name)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set(title=title, xlabel="x")
    ax.legend()
    return ax.figure


def plot_histograms(
    arrays: Sequence[np.ndarray],
    titles: Sequence[str],
    bins: int = 50,
    sharex: bool = True,
) -> Figure:
    """One row of histograms, e.g. the activations of each layer.

    Introduced in ``03_initialization``. Non-finite values (inf, NaN, as from
    exploding activations) are left out and counted in the title.

    Args:
        arrays: ``K >= 1`` arrays of any shape (flattened).
        titles: ``K`` titles, e.g. ``["layer 1", "layer 2", ...]``.
        bins: number of bins per histogram, >= 1.
        sharex: share the x axis, to compare spreads across layers.

    Returns:
        The figure, with ``K`` axes.

    Raises:
        ValueError: if ``arrays`` is empty or ``titles`` has another length.
    """
    if len(arrays) == 0:
        raise ValueError("plot_histograms: arrays is empty; pass a list of arrays")
    if len(titles) != len(arrays):
        raise ValueError(f"plot_histograms: {len(arrays)} arrays but {len(titles)} titles")
    if bins < 1:
        raise ValueError(f"plot_histograms: bins must be >= 1, got {bins}")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(arrays), figsize=(2.6 * len(arrays), 2.4),
                             sharex=sharex, squeeze=False)
    for ax, values, title in zip(axes[0], arrays, titles, strict=True):
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=bins)
        skipped = values.size - finite.size
        from nnlab.fonts import figure_text
        from nnlab.i18n import Text

        note = Text(f"\n({skipped} non-finite not shown)", f"\n（{skipped} 个非有限值未显示）")
        ax.set_title(title + (figure_text(note) if skipped else ""),
                     fontsize=9)
    fig.tight_layout()
    return fig


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    ax: Axes | None = None,
) -> Figure:
    """Plot named curves, e.g. training and validation loss per epoch.

    Args:
        curves: name -> values (one line each, x = 0, 1, 2, ...), e.g.
            ``{"train": train_losses, "val": val_losses}``.
        xlabel: e.g. ``"epoch"``.
        ylabel: e.g. ``"loss"``.
        ax: axes to draw on; default: a new figure.

    Returns:
        The figure; the axes holds one line per curve, with a legend.

    Raises:
        ValueError: if ``curves`` is empty or a curve is not 1-D.
    """
    if len(curves) == 0:
        raise ValueError("plot_curves: curves is empty; pass e.g. {'train': losses}")
    for name, values in curves.items():
        if np.ndim(values) != 1:
            raise ValueError(f"plot_curves: curve {name!r} must be a 1-D sequence of numbers, "
                             f"got shape {np.shape(values)}")
    ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(np.arange(len(values)), values, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return ax.figure


def fix_limits_and_ticks(ax: Axes, x_bins: int | None = 8, y_bins: int | None = 5) -> None:
    """Freeze the autoscaled limits of ``ax`` and round ticks like matplotlib's default ones.

    Auto locators place the ticks again, measuring a sample label, every time matplotlib
    lays the axes out (several times per PNG); fixed ticks are computed once.

    Args:
        ax: axes whose artists are all drawn.
        x_bins, y_bins: at most this many intervals between ticks; None leaves that axis alone.
    """
    from matplotlib.ticker import MaxNLocator

    for bins, get_lim, set_lim, set_ticks in ((x_bins, ax.get_xlim, ax.set_xlim, ax.set_xticks),
                                              (y_bins, ax.get_ylim, ax.set_ylim, ax.set_yticks)):
        if bins is None:
            continue
        low, high = get_lim()  # autoscales once
        ticks = MaxNLocator(bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
        set_lim(low, high)
        set_ticks([tick for tick in ticks if low <= tick <= high])


def imshow_data(picture: np.ndarray) -> np.ndarray:
    """What ``imshow`` is given for an ``(H, W, 1 | 3)`` picture in [0, 1], showing the same pixels.

    A grey one: its (H, W) values, for a colour map. A colour one: the RGBA float32 image
    matplotlib makes of it before resampling (its bytes ``(x * 255).astype(uint8)`` over 255, an
    opaque alpha). Given RGB, matplotlib converts and checks the floats on every redraw and adds
    an alpha channel of float64 ones, so the whole image is resampled in float64; this is about
    a fifth of a redraw of the augmentation previewer cheaper.
    """
    if picture.shape[-1] == 1:
        return picture[..., 0]
    rgb = (np.asarray(picture) * 255).astype(np.uint8)
    rgba = np.ones((*rgb.shape[:2], 4), np.float32)
    np.divide(rgb, 0xFF, out=rgba[..., :3], dtype=np.float32)
    return rgba
