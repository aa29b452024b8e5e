"""The explorers of 04_regularization: static under grading, live and reactive otherwise."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nnlab.widgets import augmentation_previewer, dropout_explorer  # noqa: E402
from nnlab.widgets.augmentation import AUGMENTATIONS, augment_samples  # noqa: E402
from nnlab.widgets.regularization import DROPOUT_MODES, dropout_activations  # noqa: E402


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.1, 1.0, size=(6, 12, 10, 3)).astype(np.float32)


# --- dropout explorer ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", DROPOUT_MODES)
def test_dropout_activations_test_time_matches_the_expectation_only_when_scaled(mode: str) -> None:
    p_drop = 0.4
    values = dropout_activations(p_drop, mode)
    ratio = values["train_mean"].sum() / values["test_mean"].sum()
    expected = 1.0 - p_drop if mode.startswith("no test-time") else 1.0
    assert ratio == pytest.approx(expected, rel=0.02)
    zeros = np.mean(values["train"] == 0) - np.mean(values["test"] == 0)
    assert zeros > 0.2  # dropout zeroes about p_drop of the (non-zero) activations in training


def test_dropout_activations_scale_kept_units_by_the_keep_probability() -> None:
    inverted = dropout_activations(0.5, "inverted")
    kept = inverted["train"] != 0
    ratio = inverted["train"][kept] / inverted["test"][kept]
    np.testing.assert_allclose(ratio, 2.0)
    vanilla = dropout_activations(0.5, "vanilla")
    np.testing.assert_allclose(vanilla["train"][kept] / vanilla["test"][kept], 2.0)  # test = x·p_keep


def test_dropout_activations_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown dropout mode"):
        dropout_activations(0.5, "gaussian")
    with pytest.raises(ValueError, match=r"p_drop must be in \[0, 1\)"):
        dropout_activations(1.0, "inverted")


def test_dropout_explorer_static_under_nbgrader(monkeypatch, shown) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = dropout_explorer()
    assert result.widget is None and result.figure is not None and shown == [result.figure]
    left, right = result.figure.axes
    assert left.get_title().startswith("inverted, p_drop = 0.50")
    assert right.get_title().startswith("E[train] / test = ") and "mismatch" not in right.get_title()


def test_dropout_explorer_live_controls_redraw(live) -> None:
    result = dropout_explorer()
    assert set(result.controls) == {"p_drop", "mode"}
    assert "丢弃概率" in result.controls["p_drop"].description
    assert "dropout 类型" in result.controls["mode"].description
    before = len(live)
    result.controls["p_drop"].value = 0.2
    assert len(live) == before + 1 and "p_drop = 0.20" in live[-1].axes[0].get_title()
    result.controls["mode"].value = "no test-time scaling (wrong)"
    assert len(live) == before + 2 and "mismatch" in live[-1].axes[1].get_title()



def test_slider_values_that_differ_in_the_last_bit_share_one_computation() -> None:
    from nnlab.widgets import regularization

    regularization._inverted_dropout_passes.cache_clear()
    first = dropout_activations(0.15, "inverted")
    again = dropout_activations(0.15000000000000002, "inverted")  # as the slider sends it
    assert regularization._inverted_dropout_passes.cache_info().hits == 1
    np.testing.assert_array_equal(first["train"], again["train"])

# --- augmentation previewer ----------------------------------------------------------------------

def test_augment_samples_follow_each_augmentation(images: np.ndarray) -> None:
    image = images[2].astype(np.float64)
    flips, captions = augment_samples(images, 2, "horizontal flip", 0.5, num_samples=40)
    mirrored = np.array([np.array_equal(s, image[:, ::-1]) for s in flips])
    same = np.array([np.array_equal(s, image) for s in flips])
    assert (mirrored | same).all() and 5 < mirrored.sum() < 35
    assert set(captions) == {"flipped", "kept"}
    crops, _ = augment_samples(images, 2, "random crop", 1.0)
    assert crops.shape == (11, 12, 10, 3)
    cut, _ = augment_samples(images, 2, "cutout", 0.5)
    assert all(((s == 0).all(axis=-1)).sum() > 0 for s in cut)
    jitter, _ = augment_samples(images, 2, "color jitter", 0.0)
    np.testing.assert_allclose(jitter, np.broadcast_to(image, jitter.shape), atol=1e-12)
    mixed, captions = augment_samples(images, 2, "mixup", 0.5)
    assert all(c.startswith("λ = ") for c in captions)
    assert mixed.min() >= 0.1 - 1e-9 and mixed.max() <= 1.0


def test_augmentation_previewer_rejects_bad_images() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        augmentation_previewer(np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="float in"):
        augmentation_previewer(np.zeros((4, 8, 8, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_samples(np.zeros((4, 8, 8, 3)), 0, "rotate", 0.5)


def test_augmentation_previewer_static_under_nbgrader(monkeypatch, shown, images) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = augmentation_previewer(images)
    assert result.widget is None and shown == [result.figure]
    assert result.figure.axes[0].get_title().startswith("random crop: padding = ")


def test_augmentation_previewer_live_controls_redraw(live, images) -> None:
    result = augmentation_previewer((images * 255).astype(np.uint8))
    assert set(result.controls) == {"index", "augmentation", "parameter"}
    assert result.controls["index"].max == len(images) - 1
    assert "数据增强" in result.controls["augmentation"].description
    titles = []
    for augmentation in AUGMENTATIONS:
        result.controls["augmentation"].value = augmentation
        titles.append(live[-1].axes[0].get_title())
    assert [t.split(":")[0] for t in titles] == list(AUGMENTATIONS)
    before = live[-1].axes[0].get_images()[0].get_array().copy()
    result.controls["index"].value = 3
    after = live[-1].axes[0].get_images()[0].get_array()
    assert not np.array_equal(before, after)
    result.controls["parameter"].value = 1.0
    assert live[-1].axes[0].get_title() == "mixup: alpha = 2.00"


def test_the_mean_over_masks_has_the_distribution_of_averaging_that_many_dropout_passes() -> None:
    """Per unit, the explorer's mean over 100 masks (one Binomial count per activation) against
    the mean of 100 real ``F.dropout`` passes: their differences, in units of their standard
    deviation, are standard normal over 3 × 96 units — a spread near 1, not the 0.71 of a mean
    without noise or the 1.22 of twice the noise (the bounds are 4–5 standard errors away)."""
    import torch
    import torch.nn.functional as F
    from nnlab.widgets import regularization

    z_scores = []
    for p_drop in (0.2, 0.5, 0.8):
        passes = regularization._inverted_dropout_passes(p_drop, 100, 0)
        a, ours = torch.tensor(passes[0]), torch.tensor(passes[2])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)
            theirs = F.dropout(a.expand(100, -1, -1), p=p_drop, training=True).mean(dim=(0, 1))
        keep = 1 - p_drop
        variance = (a ** 2).sum(dim=0) * (1 - keep) / (100 * a.shape[0] ** 2 * keep)
        z_scores.append((ours - theirs) / (2 * variance).sqrt())
    z = torch.cat(z_scores)
    assert z.abs().max() < 5
    assert 0.85 < float(z.std()) < 1.15, float(z.std())
