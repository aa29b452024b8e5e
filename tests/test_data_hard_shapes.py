"""The harder embedded dataset of 06 (load_hard_shapes) and the grader's hidden split."""

from __future__ import annotations

import time

import numpy as np
import pytest
from nnlab.data import SHAPE_CLASSES, hidden_test_split, load_hard_shapes, load_shapes
from nnlab.data.hard_shapes import draw_hard_shapes


@pytest.fixture(scope="module")
def hard():
    return load_hard_shapes(num_train=60, num_val=30, num_test=24, seed=0)


def test_same_seed_gives_identical_arrays(hard) -> None:
    again = load_hard_shapes(num_train=60, num_val=30, num_test=24, seed=0)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        assert np.array_equal(getattr(hard, name), getattr(again, name)), name


def test_other_seed_and_the_easy_dataset_differ(hard) -> None:
    assert not np.array_equal(hard.X_train, load_hard_shapes(num_train=60, num_val=0, seed=1).X_train)
    assert not np.array_equal(hard.X_train, load_shapes(num_train=60, num_val=0, num_test=0, seed=0).X_train)


def test_splits_have_independent_streams(hard) -> None:
    # the check of predict regenerates the validation split without the training split
    assert np.array_equal(hard.X_val, load_hard_shapes(num_train=0, num_val=30, seed=0).X_val)


@pytest.mark.parametrize("sizes", [(300, 600, 0), (7, 0, 13)], ids=str)
def test_shapes_dtypes_and_ranges(sizes) -> None:
    data = load_hard_shapes(*sizes, seed=3)
    for X, y, n in ((data.X_train, data.y_train, sizes[0]), (data.X_val, data.y_val, sizes[1]),
                    (data.X_test, data.y_test, sizes[2])):
        assert X.shape == (n, 32, 32, 3) and X.dtype == np.float32 and y.shape == (n,) and y.dtype == np.int64
        assert n == 0 or (X.min() >= 0.0 and X.max() <= 1.0)
    assert data.class_names == SHAPE_CLASSES


@pytest.mark.parametrize("n", [300, 600, 601])
def test_classes_are_balanced(n: int) -> None:
    counts = np.bincount(load_hard_shapes(num_train=n, num_val=0, seed=0).y_train, minlength=6)
    assert counts.min() >= n // 6 and counts.max() <= n // 6 + 1


def test_the_default_training_split_is_small() -> None:
    data = load_hard_shapes(num_val=0)
    assert len(data.y_train) == 300


def test_difficulties_each_change_the_images() -> None:
    y = np.arange(12) % 6
    plain = dict(texture=False, occlusion=0.0, colour_shift=False, noise_std=0.0)
    reference = draw_hard_shapes(y, np.random.default_rng(0), **plain)
    for key, value in (("texture", True), ("occlusion", 1.0), ("colour_shift", True), ("noise_std", 0.1)):
        changed = draw_hard_shapes(y, np.random.default_rng(0), **{**plain, key: value})
        assert not np.array_equal(changed, reference), key
    # without any difficulty a scene is two colours: the shape's and the (flat) background's
    assert all(len(np.unique(np.round(image.reshape(-1, 3), 4), axis=0)) == 2 for image in reference)


def test_hidden_split_depends_on_the_secret_seed_only() -> None:
    X, y = hidden_test_split(123, num_test=60)
    X2, y2 = hidden_test_split(123, num_test=60)
    X3, _ = hidden_test_split(124, num_test=60)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and not np.array_equal(X, X3)
    assert not np.array_equal(X, load_hard_shapes(num_train=0, num_val=60, seed=123).X_val)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_arguments_say_which(bad) -> None:
    with pytest.raises(ValueError, match="num_train must be a non-negative integer"):
        load_hard_shapes(num_train=bad)


def test_generation_is_fast() -> None:
    start = time.perf_counter()
    load_hard_shapes(num_train=300, num_val=600, seed=0)
    assert time.perf_counter() - start < 3.0  # ~0.4 s on a loaded 2-core machine
