"""Checks of 02_preprocessing: the solution passes every check; plausible mistakes fail clearly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from nnlab.checks import check

from tests.notebooks import call_ids, check_calls, run_check_call
from tests.notebooks import check_fails as _fails

NOTEBOOK = "02_preprocessing"
RANDOM = {"source": "random", "shape": (6, 5, 7, 3), "seed": 1}
CALLS = check_calls(NOTEBOOK)


def test_every_graded_function_has_visible_and_hidden_checks():
    by_name: dict[str, list[bool]] = {}
    for call in CALLS:
        by_name.setdefault(call.name, []).append(call.hidden)
    assert set(by_name) == {"mean_image", "channel_mean", "channel_std", "standardize",
                            "merge_channel_stats", "streaming_channel_stats", "fit_transform_splits"}
    for name, hidden in by_name.items():
        assert any(hidden) and not all(hidden), name


@pytest.mark.parametrize("call", CALLS, ids=call_ids(CALLS))
def test_solution_passes_every_check(ns, call):
    run_check_call(ns, call)




def _not_implemented(*args: Any) -> Any:
    raise NotImplementedError


@pytest.mark.parametrize("name", ["mean_image", "channel_mean", "channel_std", "standardize",
                                  "merge_channel_stats", "streaming_channel_stats", "fit_transform_splits"])
def test_release_stub_says_not_implemented(name):
    message = _fails(name, _not_implemented, "not implemented yet")
    assert message.startswith(name)


# --------------------------------------------------------------------------- statistics


def test_mean_image_over_all_axes_names_the_reduction():
    message = _fails("mean_image", lambda X: X.mean(axis=(0, 1, 2)), "mean_image: has the wrong shape",
                     **RANDOM)
    assert "np.mean(X, axis=(0, 1, 2))" in message and "axis=0" in message
    assert "expected (5, 7, 3), got (3,)" in message


def test_channel_mean_over_images_only_is_the_mean_image():
    message = _fails("channel_mean", lambda X: X.mean(axis=0), "channel_mean: has the wrong shape",
                     **RANDOM)
    assert "np.mean(X, axis=0)" in message and "axis=(0, 1, 2)" in message


def test_channel_mean_keepdims_is_named():
    _fails("channel_mean", lambda X: X.mean(axis=(0, 1, 2), keepdims=True), "keepdims=True", **RANDOM)


def test_channel_mean_over_wrong_axes_is_named():
    _fails("channel_mean", lambda X: X.mean(axis=(0, 1)), r"axis=\(0, 1\)", **RANDOM)


def test_channel_std_with_ddof_1_names_the_convention():
    message = _fails("channel_std", lambda X: X.std(axis=(0, 1, 2), ddof=1),
                     r"channel_std: uses the sample std \(ddof=1\)", **RANDOM)
    assert "population std" in message and "correction=0" in message


def test_channel_std_from_per_image_stds_is_named():
    _fails("channel_std", lambda X: X.std(axis=(1, 2)).mean(axis=0), "averages the stds of single images")


def test_channel_std_variance_is_named():
    _fails("channel_std", lambda X: X.var(axis=(0, 1, 2)), "returns the variance", **RANDOM)


def test_channel_mean_wrong_values_fail_with_torch_comparison():
    _fails("channel_mean", lambda X: X.mean(axis=(0, 1, 2)) + 1e-3, "values differ from torch", **RANDOM)


# --------------------------------------------------------------------------- standardize


def _divide_first(X, mean, std=None):
    return X / std - mean if std is not None else X - mean


def _in_place(X, mean, std=None):
    X -= mean
    if std is not None:
        X /= std
    return X


def _always_divides(X, mean, std=None):
    return (X - mean) / std


def _channel_first_mean(X, mean, std=None):
    out = X - mean[:, None, None]
    return out / std[:, None, None] if std is not None else out


def _transposed(X, mean, std=None):
    out = np.transpose(X, (0, 3, 1, 2)) - np.reshape(mean, (-1, 1, 1))
    return out / np.reshape(std, (-1, 1, 1)) if std is not None else out


def _recomputes(X, mean, std=None):
    return (X - X.mean(axis=(0, 1, 2))) / X.std(axis=(0, 1, 2))


def test_standardize_divide_before_subtract():
    _fails("standardize", _divide_first, "standardize: divides before subtracting")


def test_standardize_in_place_is_detected():
    message = _fails("standardize", _in_place, "changed its input X in place")
    assert "X = X - mean" in message


def test_standardize_without_std_fails_with_a_hint():
    _fails("standardize", _always_divides, "fails when std is None", mode="channel")


def test_standardize_channel_first_mean_raises_broadcast_hint():
    message = _fails("standardize", _channel_first_mean, "could not broadcast")
    assert "(C, 1, 1)" in message


def test_standardize_channel_first_mean_silently_broadcast_is_named():
    _fails("standardize", _channel_first_mean, r"along axis 1 \(H, rows\)", mode="channel_std",
           source="random", shape=(6, 3, 5, 3), seed=4)


def test_standardize_channel_first_result_is_named():
    _fails("standardize", _transposed, "channel-first")


def test_standardize_must_use_the_given_statistics():
    _fails("standardize", _recomputes, "uses statistics computed from X")


def test_standardize_must_accept_a_mean_image():
    _fails("standardize", lambda X, mean, std=None: X - mean.reshape(1, 1, -1), "mean image",
           mode="image")


def test_standardize_ignoring_std_is_named():
    _fails("standardize", lambda X, mean, std=None: X - mean, "ignores std")


# --------------------------------------------------------------------------- statistics in batches


def _merge_without_between_term(stats_a, stats_b):
    (n_a, mean_a, m2_a), (n_b, mean_b, m2_b) = stats_a, stats_b
    return n_a + n_b, (n_a * mean_a + n_b * mean_b) / (n_a + n_b), m2_a + m2_b


def _merge_equal_weights(stats_a, stats_b):
    (n_a, mean_a, m2_a), (n_b, mean_b, m2_b) = stats_a, stats_b
    n = n_a + n_b
    return n, (mean_a + mean_b) / 2, m2_a + m2_b + (mean_b - mean_a) ** 2 * n_a * n_b / n


def _merge_between_term_unweighted(stats_a, stats_b):
    (n_a, mean_a, m2_a), (n_b, mean_b, m2_b) = stats_a, stats_b
    n = n_a + n_b
    return n, (n_a * mean_a + n_b * mean_b) / n, m2_a + m2_b + (mean_b - mean_a) ** 2


def test_merge_without_the_between_term_is_named():
    message = _fails("merge_channel_stats", _merge_without_between_term, r"merge_channel_stats: m2")
    assert "exactly m2_a + m2_b" in message and "(mean_b − mean_a)²" in message


def test_merge_with_equal_weights_is_named():
    message = _fails("merge_channel_stats", _merge_equal_weights, r"merge_channel_stats: mean")
    assert "averaged the two means as equals" in message


def test_merge_with_an_unweighted_between_term_fails():
    message = _fails("merge_channel_stats", _merge_between_term_unweighted, r"merge_channel_stats: m2",
                     seed=5, max_batch=9, H=3, W=2, C=4)
    assert "Likely cause" in message and "both counts" in message


def _stream_sum_of_squares(batches):
    n = total = total_sq = 0
    for X in batches:
        n += X.shape[0] * X.shape[1] * X.shape[2]
        total = total + X.sum(axis=(0, 1, 2))
        total_sq = total_sq + (X**2).sum(axis=(0, 1, 2))
    mean = total / n
    return mean, np.sqrt(total_sq / n - mean**2)


def _stream_mean_of_stds(batches):
    means, stds, sizes = [], [], []
    for X in batches:
        means.append(X.mean(axis=(0, 1, 2)))
        stds.append(X.std(axis=(0, 1, 2)))
        sizes.append(len(X))
    return np.average(means, axis=0, weights=sizes), np.mean(stds, axis=0)


def _stream_two_passes(batches):
    mean = np.mean([X.mean(axis=(0, 1, 2)) for X in batches], axis=0)
    return mean, np.sqrt(np.mean([((X - mean) ** 2).mean(axis=(0, 1, 2)) for X in batches], axis=0))


def test_stream_with_sum_of_squares_names_the_cancellation():
    message = _fails("streaming_channel_stats", _stream_sum_of_squares,
                     r"streaming_channel_stats \(values around 1e5, spread 0\.01\): std")
    assert "cancels catastrophically" in message


def test_stream_mean_of_batch_stds_is_named():
    message = _fails("streaming_channel_stats", _stream_mean_of_stds, r"streaming_channel_stats .*: std")
    assert "misses the spread between batch means" in message


def test_stream_read_twice_fails():
    """The batches arrive once; a second pass sees nothing, so a two-pass std cannot pass."""
    _fails("streaming_channel_stats", _stream_two_passes, r"streaming_channel_stats")


def test_solution_stream_passes_on_any_seed(ns):
    for seed in range(20):
        check("streaming_channel_stats", ns["streaming_channel_stats"], seed=seed, hidden=True)
        check("merge_channel_stats", ns["merge_channel_stats"], seed=seed, hidden=True)


# --------------------------------------------------------------------------- fit_transform_splits


def _own_statistics(ns):
    def fit(X_train, X_val, X_test):
        return tuple(ns["standardize"](X, ns["channel_mean"](X), ns["channel_std"](X))
                     for X in (X_train, X_val, X_test))
    return fit


def _all_statistics(ns):
    def fit(X_train, X_val, X_test):
        everything = np.concatenate([X_train, X_val, X_test])
        mean, std = ns["channel_mean"](everything), ns["channel_std"](everything)
        return tuple(ns["standardize"](X, mean, std) for X in (X_train, X_val, X_test))
    return fit


def _train_val_statistics(ns):
    def fit(X_train, X_val, X_test):
        both = np.concatenate([X_train, X_val])
        mean, std = ns["channel_mean"](both), ns["channel_std"](both)
        return tuple(ns["standardize"](X, mean, std) for X in (X_train, X_val, X_test))
    return fit


def _in_place_splits(X_train, X_val, X_test):
    mean, std = X_train.mean(axis=(0, 1, 2)), X_train.std(axis=(0, 1, 2))
    for X in (X_val, X_test, X_train):
        X -= mean
        X /= std
    return X_train, X_val, X_test


def test_splits_each_with_own_statistics_is_named(ns):
    _fails("fit_transform_splits", _own_statistics(ns), "standardizes each split with its own statistics")


def test_splits_fitted_on_all_data_is_leakage(ns):
    message = _fails("fit_transform_splits", _all_statistics(ns), r"all three splits together \(leakage\)",
                     source="random", shape=(8, 5, 6, 3), n_val=5, n_test=4, seed=3)
    assert "X_train only" in message


def test_splits_fitted_on_train_and_val_is_leakage(ns):
    _fails("fit_transform_splits", _train_val_statistics(ns), "train and val together")


def test_splits_in_place_is_detected():
    _fails("fit_transform_splits", _in_place_splits, "changed its input X_train, X_val, X_test in place")


def test_splits_must_return_three_arrays(ns):
    _fails("fit_transform_splits", lambda a, b, c: ns["standardize"](a, a.mean(axis=(0, 1, 2))),
           "should return three arrays")


def test_splits_subtract_only_is_named():
    _fails("fit_transform_splits",
           lambda a, b, c: tuple(X - a.mean(axis=(0, 1, 2)) for X in (a, b, c)), "only subtracts the mean")


# --------------------------------------------------------------------------- messages


def test_hidden_message_leaves_out_numbers():
    message = _fails("mean_image", lambda X: X.mean(axis=(0, 1, 2)), "hidden check mean_image",
                     source="random", shape=(9, 4, 6, 4), seed=11, hidden=True)
    assert "(9, 4, 6, 4)" not in message and "got (4,)" not in message


def test_messages_render_in_chinese(ns, chinese):
    message = _fails("channel_std", lambda X: X.std(axis=(0, 1, 2), ddof=1), "样本标准差")
    assert "可能原因" in message and "总体标准差" in message
    message = _fails("fit_transform_splits", _own_statistics(ns), "每个划分用了它自己的统计量")
    assert "下一步" in message
    message = _fails("standardize", _in_place, "原地修改")
    assert "X = X - mean" in message
