"""The preprocessing viewer of 02_preprocessing: static under grading, live redraws in a notebook."""

from __future__ import annotations

import os

import numpy as np
import pytest
from nnlab.widgets.preprocessing import (
    METHODS,
    apply_method,
    dataset_statistics,
    for_display,
    plot_channel_histograms,
    preprocessing_viewer,
)

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 1.0, size=(12, 8, 10, 3)) * np.array([1.0, 0.8, 0.5])


def test_static_under_nbgrader_draws_one_figure(monkeypatch, images, shown):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    viewer = preprocessing_viewer(images, ("a", "b", "c"), np.arange(12) % 3)
    assert viewer.widget is None and viewer.figure is not None
    assert shown == [viewer.figure]
    assert viewer.figure._suptitle.get_text().startswith("(x − per-channel mean) / per-channel std")
    titles = [ax.get_title() for ax in viewer.figure.axes]
    assert titles[0] == "image 0 (a)"
    assert len(viewer.figure.axes) == 5  # before, subtracted, after, two histograms


def test_live_controls_redraw(images, live):
    viewer = preprocessing_viewer(images)
    assert viewer.widget is not None and set(viewer.controls) == {"index", "method", "histogram"}
    redraws = len(live)

    viewer.controls["method"].value = "mean_image"
    second = live[-1]
    assert len(live) == redraws + 1
    assert second._suptitle.get_text() == "x − mean image [H, W, C]"
    assert second.axes[1].get_title().startswith("subtracted: mean image")

    viewer.controls["index"].value = 7
    assert live[-1].axes[0].get_title() == "image 7"

    viewer.controls["histogram"].value = "dataset"
    assert live[-1].axes[3].get_title() == "before: dataset (12 images)"


def test_method_menu_covers_the_lecture_options():
    assert [value for _, value in METHODS] == ["none", "mean_image", "channel_mean", "channel_mean_std"]


def test_statistics_and_methods_agree_with_numpy(images):
    stats = dataset_statistics(images)
    np.testing.assert_allclose(stats["mean_image"], images.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["channel_mean"], images.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(stats["channel_std"], images.std(axis=(0, 1, 2)), rtol=1e-12)
    standardized = apply_method(images, "channel_mean_std", stats)
    np.testing.assert_allclose(standardized.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(standardized.std(axis=(0, 1, 2)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(apply_method(images, "mean_image", stats).mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_array_equal(apply_method(images, "none", stats), images)
    with pytest.raises(ValueError, match="unknown method"):
        apply_method(images, "whiten", stats)


def test_own_statistics_are_used(monkeypatch, images, shown):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    viewer = preprocessing_viewer(images, stats={"channel_mean": np.array([0.1, 0.2, 0.3])},
                                  method="channel_mean")
    assert "0.10 0.20 0.30" in viewer.figure.axes[1].get_title()


@pytest.mark.parametrize("kwargs,match", [
    ({"X": np.zeros((4, 8, 8, 2))}, "C = 1 or 3"),
    ({"X": np.zeros((8, 8, 3))}, r"\(N, H, W, C\)"),
    ({"class_names": ("a",)}, "needs the labels y"),
    ({"y": np.zeros(3, dtype=int)}, "3 labels for 12 images"),
    ({"stats": {"mean": np.zeros(3)}}, "unknown stats mean"),
    ({"stats": {"channel_std": np.ones(4)}}, r"should have shape \(3,\)"),
    ({"method": "pca"}, "unknown method"),
])
def test_bad_inputs_are_rejected(monkeypatch, images, kwargs, match):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    kwargs = {"X": images, **kwargs}
    with pytest.raises(ValueError, match=match):
        preprocessing_viewer(**kwargs)


def test_for_display_rescales_to_unit_range():
    picture = for_display(np.array([[-2.0, 0.0], [1.0, 2.0]]))
    assert picture.min() == 0.0 and picture.max() == 1.0
    assert np.all(for_display(np.full((2, 2, 3), 3.0)) == 0.5)


def test_channel_histograms_label_each_channel(images):
    figure = plot_channel_histograms(images, title="t")
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert [label[:2] for label in labels] == ["R:", "G:", "B:"]
    assert f"mean {images[..., 2].mean():+.2f}" in labels[2]
    with pytest.raises(ValueError, match="1 or 3 channels"):
        plot_channel_histograms(np.zeros((2, 4)))
