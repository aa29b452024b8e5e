"""The checks of 05_tuning: the solution passes them all; plausible mistakes fail helpfully.

Each wrong implementation below is a mistake students make; the test asserts
that the check fails with a message naming the function and the likely cause.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nnlab.checks import check, judge_check, registry, run_check
from nnlab.checks.tuning import GAP_TOL, LABELS, RISE_TOL, make_learning_curves

from tests.notebooks import call_ids, check_calls, one_test_cell_per_check, registered_checks, run_check_call
from tests.notebooks import check_fails as _fails

NOTEBOOK = "05_tuning"
CHECKS = (
    "expected_initial_loss", "measure_initial_loss", "overfit_small_sample", "sample_log_uniform",
    "grid_search_configs", "random_search_configs", "diagnose_learning_curves",
)




# --- the solution and the notebook's test cells ---------------------------------------------

def test_registered_checks_are_the_notebooks() -> None:
    assert registered_checks(NOTEBOOK) == set(CHECKS)


def test_one_test_cell_per_check_with_visible_and_hidden_calls() -> None:
    one_test_cell_per_check(NOTEBOOK, CHECKS)


@pytest.mark.parametrize("call", check_calls(NOTEBOOK), ids=call_ids(check_calls(NOTEBOOK)))
def test_solution_passes_every_check_call_of_the_test_cells(ns, call) -> None:
    run_check_call(ns, call)


@pytest.mark.parametrize("seed", range(1, 9))
def test_statistical_checks_pass_the_solution_on_other_seeds(ns, seed: int) -> None:
    # false alarms would show up here: each band is ~5 standard errors (p ≈ 6e-7 per statistic)
    check("sample_log_uniform", ns["sample_log_uniform"], seed=100 + seed, low=10.0**-seed, high=10.0,
          size=500 * seed, hidden=True)
    check("random_search_configs", ns["random_search_configs"], seed=200 + seed,
          num_params=1 + seed % 4, num_trials=300 * seed, hidden=True)
    check("grid_search_configs", ns["grid_search_configs"], seed=300 + seed, num_params=1 + seed % 5,
          hidden=True)
    check("diagnose_learning_curves", ns["diagnose_learning_curves"], seed=400 + seed,
          cases_per_label=5, hidden=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_overfit_check_passes_the_solution_on_other_subsets(ns, seed: int) -> None:
    check("overfit_small_sample", ns["overfit_small_sample"], seed=seed, num_examples=20 + 15 * seed,
          hidden=True)


def test_generated_curves_are_far_from_the_documented_thresholds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        for label in LABELS:
            train, val = make_learning_curves(label, rng)
            k = max(1, len(val) // 4)
            gain, gap = val[-1] - val[-1 - k], train[-1] - val[-1]
            assert train.shape == val.shape and len(val) >= 12
            assert np.all((0 <= train) & (train <= 1) & (0 <= val) & (val <= 1))
            if label == "keep_training":
                assert gain > 2 * RISE_TOL
            else:
                assert gain < RISE_TOL / 2
                assert (gap > 2 * GAP_TOL) if label == "overfitting" else (gap < GAP_TOL / 2)


def test_rule_thresholds_in_the_docstring_match_the_check(ns) -> None:
    doc = ns["diagnose_learning_curves"].__doc__
    assert f"> {RISE_TOL}" in doc and f"> {GAP_TOL}" in doc and "k = max(1, E // 4)" in doc


# --- step 1 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong,cause", [
    (lambda c: math.log10(c), "base-10"),
    (lambda c: math.log2(c), "base-2"),
    (lambda c: 1.0 / c, "probability of the correct class"),
    (lambda c: -math.log(c), "the sign"),
    (lambda c: math.log(c - 1), "same probability"),
], ids=["log10", "log2", "probability", "negative", "log(C-1)"])
def test_expected_initial_loss_wrong(wrong, cause: str) -> None:
    message = _fails("expected_initial_loss", wrong, "expected_initial_loss\\(6\\): values differ")
    assert cause in message


def test_expected_initial_loss_tensor_is_named() -> None:
    _fails("expected_initial_loss", lambda c: torch.tensor(math.log(c)),
           "torch.Tensor(.|\n)*tensor.item\\(\\)")


def _summed(model, X, y):
    with torch.no_grad():
        return F.cross_entropy(model(X), y, reduction="sum").item()


def _softmax_first(model, X, y):
    with torch.no_grad():
        return F.cross_entropy(model(X).softmax(dim=1), y).item()


def _with_penalty(model, X, y):
    with torch.no_grad():
        penalty = sum((p**2).sum() for p in model.parameters())
        return (F.cross_entropy(model(X), y) + 1e-3 * penalty).item()


def _takes_a_step(model, X, y):
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    return loss.item()


@pytest.mark.parametrize("wrong,match", [
    (_summed, "summed over examples"),
    (_softmax_first, "softmax was applied before F.cross_entropy"),
    (_with_penalty, "no regularization"),
    (_takes_a_step, "changed the model's weights"),
])
def test_measure_initial_loss_wrong(wrong, match: str) -> None:
    _fails("measure_initial_loss", wrong, f"measure_initial_loss: (.|\n)*{match}")


# --- step 2 -----------------------------------------------------------------------------------

def _trains_a_copy(ns):
    def overfit(model, X, y, lr, max_iterations=300):
        return ns["overfit_small_sample"](copy.deepcopy(model), X, y, lr, max_iterations)
    return overfit


def _fixed_few_steps(model, X, y, lr, max_iterations=300):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(3):
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 3, 1.0


def test_overfit_small_sample_trains_a_copy(ns) -> None:
    _fails("overfit_small_sample", _trains_a_copy(ns), "did not reach 100%(.|\n)*not a copy")


def test_overfit_small_sample_stops_early(ns) -> None:
    _fails("overfit_small_sample", _fixed_few_steps, "did not reach 100%(.|\n)*loop until")


def test_overfit_small_sample_too_small_lr(ns) -> None:
    def tiny(model, X, y, lr, max_iterations=300):
        return ns["overfit_small_sample"](model, X, y, lr * 1e-3, max_iterations)
    _fails("overfit_small_sample", tiny, "did not reach 100%(.|\n)*within max_iterations")


def test_overfit_small_sample_reports_wrong_accuracy(ns) -> None:
    def percent(model, X, y, lr, max_iterations=300):
        iterations, acc = ns["overfit_small_sample"](model, X, y, lr, max_iterations)
        return iterations, 100 * acc
    _fails("overfit_small_sample", percent, "looks like a percentage")

    def stale(model, X, y, lr, max_iterations=300):
        return ns["overfit_small_sample"](model, X, y, lr, max_iterations)[0], 0.5
    _fails("overfit_small_sample", stale, "reports a final accuracy the model does not have")


def test_overfit_small_sample_return_shape(ns) -> None:
    _fails("overfit_small_sample", lambda *a, **k: ns["overfit_small_sample"](*a, **k)[0],
           "should return a pair")
    _fails("overfit_small_sample", lambda model, X, y, lr, max_iterations=300: (1000, 1.0),
           "outside \\[0, max_iterations\\]")


def test_overfit_record_is_judged_from_the_weights_not_the_claim(ns) -> None:
    # a record whose weights never changed fails even if it claims success
    params = {"hidden": False, **registry()["overfit_small_sample"].params}
    encoded = run_check("overfit_small_sample", {"function": lambda *a, **k: (0, 1.0)}, params)
    verdict = judge_check("overfit_small_sample", encoded, params)
    assert not verdict.passed and "did not change" in verdict.message


# --- search layouts ---------------------------------------------------------------------------

def _linear(low, high, size, rng):
    return rng.uniform(low, high, size)


def _natural_exp(low, high, size, rng):
    return np.exp(rng.uniform(np.log10(low), np.log10(high), size))


def _global_rng(low, high, size, rng):
    return 10 ** np.random.uniform(np.log10(low), np.log10(high), size)


def _own_rng(low, high, size, rng):
    return 10 ** np.random.default_rng(0).uniform(np.log10(low), np.log10(high), size)


def _integer_exponents(low, high, size, rng):
    return 10.0 ** rng.integers(np.log10(low), np.log10(high), size)


@pytest.mark.parametrize("wrong,match", [
    (_linear, "statistically off(.|\n)*exponent must be uniform"),
    (_natural_exp, "outside \\[low, high\\]"),
    (_global_rng, "different results for the same rng seed"),
    (_own_rng, "same results for different rng seeds"),
    (_integer_exponents, "sample_log_uniform: is statistically off"),
    (lambda low, high, size, rng: list(10 ** rng.uniform(np.log10(low), np.log10(high), size)),
     "float64 array of shape"),
], ids=["linear", "exp", "global-rng", "own-rng", "integer-exponents", "list"])
def test_sample_log_uniform_wrong(wrong, match: str) -> None:
    _fails("sample_log_uniform", wrong, match)


@pytest.mark.parametrize("wrong,match", [
    (lambda space: [dict(zip(space, v)) for v in zip(*space.values())], "wrong number of configurations"),
    (lambda space: [dict(zip(list(space)[::-1], v))
                    for v in itertools.product(*list(space.values())[::-1])],
     "order(.|\n)*last parameter vary fastest"),
    (lambda space: list(itertools.product(*space.values())), "list of dicts"),
], ids=["zip", "first-fastest", "tuples"])
def test_grid_search_configs_wrong(wrong, match: str) -> None:
    _fails("grid_search_configs", wrong, match)


def test_grid_search_configs_missing_combination_is_named() -> None:
    def duplicate_first(space):
        combos = [dict(zip(space, v)) for v in itertools.product(*space.values())]
        return [combos[0]] + combos[:-1]
    _fails("grid_search_configs", duplicate_first,
           "every combination once(.|\n)*1 of 12 combinations missing")


def _random_all_log(ns):
    def configs(space, num_trials, rng):
        return [{name: float(ns["sample_log_uniform"](low, high, 1, rng)[0])
                 for name, (low, high, _) in space.items()} for _ in range(num_trials)]
    return configs


def _random_shared_draw(space, num_trials, rng):
    out = []
    for _ in range(num_trials):
        u = rng.uniform()
        out.append({name: (10 ** (math.log10(low) + u * math.log10(high / low)) if scale == "log"
                           else low + u * (high - low))
                    for name, (low, high, scale) in space.items()})
    return out


def test_random_search_configs_wrong(ns) -> None:
    _fails("random_search_configs", _random_all_log(ns),
           "dropout \\(linear\\)(.|\n)*rng.uniform\\(low, high\\)")
    _fails("random_search_configs", _random_shared_draw, "not independent(.|\n)*reused")
    _fails("random_search_configs",
           lambda space, n, rng: ns["random_search_configs"](space, n, np.random.default_rng()),
           "different results for the same rng seed")
    _fails("random_search_configs",
           lambda space, n, rng: ns["random_search_configs"](space, n, rng)[:-1], "wrong number")


# --- step 6 -----------------------------------------------------------------------------------

def _rule(still_rising, gap_label):
    def diagnose(train_acc, val_acc):
        k = max(1, len(val_acc) // 4)
        if still_rising(train_acc, val_acc, k):
            return "keep_training"
        return gap_label(train_acc[-1] - val_acc[-1])
    return diagnose


_RIGHT_GAP = lambda gap: "overfitting" if gap > 0.1 else "underfitting"  # noqa: E731


@pytest.mark.parametrize("wrong,match", [
    (_rule(lambda t, v, k: t[-1] - t[-1 - k] > 0.02, _RIGHT_GAP), "decide 'still rising' on val_acc"),
    (_rule(lambda t, v, k: v[-1] - v[-1 - k] > 0.02,
           lambda gap: "underfitting" if gap > 0.1 else "overfitting"), "means overfitting"),
    (_rule(lambda t, v, k: v[-1] - v[0] > 0.02, _RIGHT_GAP), "misdiagnosed"),
    (lambda t, v: "train longer", "other than the three labels"),
], ids=["train-curve-rising", "swapped-labels", "first-vs-last", "unknown-label"])
def test_diagnose_learning_curves_wrong(wrong, match: str) -> None:
    _fails("diagnose_learning_curves", wrong, match)


def test_reasonable_variants_of_the_rule_pass() -> None:
    # gap checked first, or a least-squares slope instead of a difference: same labels, by design
    def gap_first(train_acc, val_acc):
        k = max(1, len(val_acc) // 4)
        if train_acc[-1] - val_acc[-1] > 0.1:
            return "overfitting"
        return "keep_training" if val_acc[-1] - val_acc[-1 - k] > 0.02 else "underfitting"

    def slope(train_acc, val_acc):
        k = max(2, len(val_acc) // 4)
        rise = np.polyfit(np.arange(k + 1), val_acc[-k - 1:], 1)[0] * k
        if rise > 0.02:
            return "keep_training"
        return "overfitting" if train_acc[-1] - val_acc[-1] > 0.1 else "underfitting"

    for variant in (gap_first, slope):
        for seed in (0, 7, 2024):
            check("diagnose_learning_curves", variant, seed=seed, cases_per_label=6)


# --- messages ---------------------------------------------------------------------------------

def test_hidden_failures_leave_out_numbers() -> None:
    message = _fails("expected_initial_loss", lambda c: math.log10(c), "hidden check", num_classes=37,
                     seed=11, hidden=True)
    assert "1.568" not in message and "3.61" not in message and "37" not in message.split("\n")[0][30:]


def test_messages_render_in_chinese(chinese, ns) -> None:
    _fails("diagnose_learning_curves", lambda t, v: "underfitting", "学习曲线诊断错误")
    _fails("sample_log_uniform", _linear, "统计量偏离预期(.|\n)*可能原因")
    _fails("overfit_small_sample", _trains_a_copy(ns), "没有达到 100% 训练准确率")
    _fails("grid_search_configs", lambda space: [], "配置个数不对")
