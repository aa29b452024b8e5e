"""Tests for nnlab.plots on the non-interactive Agg backend: what is drawn, and bad input."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no window, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from nnlab.plots import (  # noqa: E402
    fix_limits_and_ticks,
    imshow_data,
    plot_curves,
    plot_function_and_gradient,
    plot_histograms,
    show_images,
)


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _images(n: int, channels: int = 3, dtype: type = np.float32) -> np.ndarray:
    X = np.random.default_rng(0).uniform(-0.5, 1.5, size=(n, 8, 8, channels))
    return (X * 100).clip(0, 255).astype(np.uint8) if dtype == np.uint8 else X.astype(dtype)


def _drawn(fig: Figure) -> list:
    """Axes of ``fig`` that show an image."""
    return [ax for ax in fig.axes if ax.images]


@pytest.mark.parametrize(
    ("n", "ncols", "grid"),
    [(10, 4, 12), (3, 8, 3), (16, 8, 16), (1, 8, 1)],
    ids=["partial-last-row", "fewer-than-ncols", "full-rows", "single"],
)
def test_show_images_grid(n, ncols, grid):
    fig = show_images(_images(n), ncols=ncols)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == grid
    assert len(_drawn(fig)) == n
    assert all(len(ax.images) <= 1 for ax in fig.axes)


def test_show_images_titles_with_class_names():
    fig = show_images(_images(3), y=np.array([2, 0, 1]), class_names=["cat", "dog", "frog"])
    assert [ax.get_title() for ax in _drawn(fig)] == ["frog", "cat", "dog"]
    fig = show_images(_images(2), y=[1, 0])
    assert [ax.get_title() for ax in _drawn(fig)] == ["1", "0"]


def test_show_images_clips_floats_and_accepts_uint8_and_grey(caplog):
    fig = show_images(_images(4))  # values from -0.5 to 1.5
    shown = np.stack([ax.images[0].get_array() for ax in _drawn(fig)])
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    # clipped before imshow, which would otherwise log "Clipping input data" per image
    assert not [r for r in caplog.records if "Clipping" in r.getMessage()]
    fig = show_images(_images(4, dtype=np.uint8))
    assert _drawn(fig)[0].images[0].get_array().dtype == np.uint8
    fig = show_images(_images(4, channels=1))
    assert _drawn(fig)[0].images[0].get_array().shape == (8, 8)


def test_show_images_into_given_figure():
    fig = plt.figure()
    assert show_images(_images(5), ncols=5, fig=fig) is fig
    assert len(_drawn(fig)) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((8, 8, 3))}, r"X must be \(N, H, W, C\) .* got shape \(8, 8, 3\)"),
        ({"X": np.zeros((2, 8, 8, 4))}, r"C = 1 or 3, got shape \(2, 8, 8, 4\)"),
        ({"X": np.zeros((0, 8, 8, 3))}, "N >= 1"),
        ({"X": np.zeros((2, 8, 8, 3), dtype=np.int64)}, "float .* or uint8 .*, got int64"),
        ({"X": np.zeros((2, 8, 8, 3)), "y": [0]}, "y has 1 labels for 2 images"),
        ({"X": np.zeros((2, 8, 8, 3)), "class_names": ["a"]}, "class_names needs the labels y"),
        ({"X": np.zeros((2, 8, 8, 3)), "ncols": 0}, "ncols must be >= 1, got 0"),
    ],
    ids=["3-d", "4-channels", "empty", "int64", "y-length", "names-without-y", "ncols"],
)
def test_show_images_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match="show_images: .*" + message):
        show_images(**kwargs)


def test_plot_function_and_gradient_draws_two_curves():
    x = np.linspace(-3, 3, 61)
    fig = plot_function_and_gradient(x, np.tanh, lambda v: 1 - np.tanh(v) ** 2, "tanh")
    (ax,) = fig.axes
    curves = [line for line in ax.get_lines() if line.get_label() in ("f(x)", "f'(x)")]
    assert len(curves) == 2
    np.testing.assert_allclose(curves[0].get_ydata(), np.tanh(x))
    np.testing.assert_allclose(curves[1].get_ydata(), 1 - np.tanh(x) ** 2)
    assert ax.get_title() == "tanh"


def test_plot_function_and_gradient_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    x = np.linspace(-1, 1, 5)
    assert plot_function_and_gradient(x, np.abs, np.sign, "abs", ax=axes[1]) is fig
    assert len(axes[0].get_lines()) == 0 and len(axes[1].get_lines()) >= 2


@pytest.mark.parametrize(
    ("x", "f", "message"),
    [
        (np.zeros((3, 2)), np.tanh, r"x must be 1-D, got shape \(3, 2\)"),
        (np.zeros(3), lambda v: v[:2], r"f\(x\) has shape \(2,\), expected \(3,\)"),
    ],
    ids=["2-d-x", "wrong-output"],
)
def test_plot_function_and_gradient_rejects_bad_input(x, f, message):
    with pytest.raises(ValueError, match="plot_function_and_gradient: " + message):
        plot_function_and_gradient(x, f, np.tanh, "t")


def test_plot_histograms_one_axes_per_array():
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(20, 5)) * scale for scale in (1.0, 0.5, 0.1)]
    fig = plot_histograms(arrays, ["layer 1", "layer 2", "layer 3"], bins=10)
    assert len(fig.axes) == 3
    assert [len(ax.patches) for ax in fig.axes] == [10, 10, 10]
    assert [ax.get_title() for ax in fig.axes] == ["layer 1", "layer 2", "layer 3"]
    assert sum(p.get_height() for p in fig.axes[0].patches) == 100  # all values counted
    assert fig.axes[0].get_shared_x_axes().joined(fig.axes[0], fig.axes[2])


def test_plot_histograms_unshared_and_non_finite():
    values = np.array([0.0, 1.0, np.inf, np.nan, 2.0])
    fig = plot_histograms([values, np.arange(4.0)], ["a", "b"], bins=3, sharex=False)
    assert not fig.axes[0].get_shared_x_axes().joined(fig.axes[0], fig.axes[1])
    assert sum(p.get_height() for p in fig.axes[0].patches) == 3
    assert "2 non-finite not shown" in fig.axes[0].get_title()


@pytest.mark.parametrize(
    ("arrays", "titles", "message"),
    [
        ([], [], "arrays is empty"),
        ([np.zeros(3)], ["a", "b"], "1 arrays but 2 titles"),
    ],
    ids=["empty", "title-count"],
)
def test_plot_histograms_rejects_bad_input(arrays, titles, message):
    with pytest.raises(ValueError, match="plot_histograms: " + message):
        plot_histograms(arrays, titles)


def test_plot_curves_one_line_per_curve():
    curves = {"train": [1.0, 0.5, 0.25], "val": [1.2, 0.9, 0.8, 0.85]}
    fig = plot_curves(curves, "epoch", "loss")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["train", "val"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), curves["val"])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "val"]


def test_plot_curves_on_given_axes():
    fig, ax = plt.subplots()
    assert plot_curves({"acc": [0.1, 0.2]}, "epoch", "accuracy", ax=ax) is fig
    assert len(ax.get_lines()) == 1


@pytest.mark.parametrize(
    ("curves", "message"),
    [({}, "curves is empty"), ({"loss": [[1.0, 2.0]]}, "curve 'loss' must be a 1-D sequence")],
    ids=["empty", "2-d-curve"],
)
def test_plot_curves_rejects_bad_input(curves, message):
    with pytest.raises(ValueError, match="plot_curves: " + message):
        plot_curves(curves, "x", "y")


def test_fixed_limits_hold_and_ticks_stay_inside_them() -> None:
    _, ax = plt.subplots()
    ax.plot([0.0, 7.3], [-1.2, 4.9])
    fix_limits_and_ticks(ax, x_bins=4, y_bins=None)
    x_limits, y_locator = ax.get_xlim(), type(ax.yaxis.get_major_locator())
    ax.plot([0.0, 50.0], [0.0, 50.0])  # later artists no longer move the frozen axis
    assert ax.get_xlim() == x_limits
    ticks = ax.get_xticks()
    assert 2 <= len(ticks) <= 5 and all(x_limits[0] <= t <= x_limits[1] for t in ticks)
    assert type(ax.yaxis.get_major_locator()) is y_locator  # y_bins=None leaves that axis alone
    assert ax.get_ylim()[1] >= 50.0


@pytest.mark.parametrize("size", [(7, 5), (32, 32)])
def test_imshow_data_shows_what_imshow_shows_of_the_floats(size: tuple[int, int]) -> None:
    """Colour pictures as bytes, grey ones as values: the pixels of imshow given the [0, 1] floats."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(0)
    for picture, options in ((rng.random((*size, 3)), {}), (rng.random((*size, 1)), {"cmap": "gray"})):
        pixels = []
        for data in (picture[..., 0] if picture.shape[-1] == 1 else picture, imshow_data(picture)):
            figure = Figure(figsize=(3.0, 3.0))
            FigureCanvasAgg(figure)
            figure.add_subplot().imshow(data, vmin=0, vmax=1, **options)
            figure.canvas.draw()
            pixels.append(np.asarray(figure.canvas.buffer_rgba()).copy())
        np.testing.assert_array_equal(*pixels)
