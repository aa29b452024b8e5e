"""Checks of 03_initialization: the solution passes every test cell; plausible mistakes fail with
a message that names the function and the cause."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from nnlab.checks import CheckFailed, check
from nnlab.checks.initialization import (
    ENSEMBLE_SIZE,
    torch_fan_in_fan_out,
    torch_init_std,
    torch_layer_statistics,
)
from nnlab.checks.initialization.layer_statistics import ENSEMBLE_SEED, torch_layer_ensemble

from tests.notebooks import call_ids, check_calls, check_cells, run_check_call

NOTEBOOK = "03_initialization"


def test_every_graded_function_has_visible_and_hidden_checks() -> None:
    by_cell = {cell.grade_id: [call.hidden for call in cell.calls] for cell in check_cells(NOTEBOOK)}
    functions = ("fan_in_fan_out", "xavier_std", "kaiming_std", "init_weights", "layer_statistics")
    assert set(by_cell) == {f"test_{f}" for f in functions}
    for grade_id, hidden in by_cell.items():
        assert any(hidden) and not all(hidden), grade_id


@pytest.mark.parametrize("call", check_calls(NOTEBOOK), ids=call_ids(check_calls(NOTEBOOK)))
def test_solution_passes(ns, call) -> None:
    run_check_call(ns, call)


def _fails(name: str, function: Callable[..., Any], match: str, **options: Any) -> CheckFailed:
    with pytest.raises(CheckFailed, match=match) as info:
        check(name, function, **options)
    return info.value


# --- fan_in_fan_out ------------------------------------------------------------------------------

def test_fan_in_fan_out_reference_is_torch() -> None:
    assert torch_fan_in_fan_out((64, 3, 3, 3)) == (27, 576)
    assert torch_fan_in_fan_out((10, 20)) == (20, 10)


def fan_swapped(shape):
    rf = math.prod(shape[2:])
    return shape[0] * rf, shape[1] * rf


def fan_no_kernel(shape):
    return shape[1], shape[0]


def fan_2d_only(shape):
    rf = shape[2] * shape[3] if len(shape) == 4 else 1
    return shape[1] * rf, shape[0] * rf


def fan_kh_kw(shape):
    rf = shape[-2] * shape[-1] if len(shape) > 2 else 1
    return shape[1] * rf, shape[0] * rf


def fan_float(shape):
    rf = np.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


@pytest.mark.parametrize("wrong, match", [
    (fan_swapped, r"fan_in_fan_out.*differs from torch[\s\S]*swapped"),
    (fan_no_kernel, r"kernel is missing"),
    (fan_2d_only, r"for shape \(16, 8, 5\)[\s\S]*kernel is missing[\s\S]*one kernel dimension for conv1d"),
    (fan_kh_kw, r"\(16, 8, 5\)[\s\S]*1-D kernel: the receptive field is the product of \*all\*"),
    (fan_float, r"two integers[\s\S]*np\.prod\(\(\)\)"),
], ids=["swapped", "no-kernel", "2d-only", "kh-kw-only", "float"])
def test_fan_in_fan_out_wrong(wrong, match) -> None:
    _fails("fan_in_fan_out", wrong, match)


def test_fan_in_fan_out_message_shows_shape_only_when_visible() -> None:
    visible = _fails("fan_in_fan_out", fan_swapped, "swapped")
    assert "for shape (128, 64): expected (64, 128), got (128, 64)" in str(visible)
    hidden = _fails("fan_in_fan_out", fan_swapped, "swapped", shapes=((7, 300),), hidden=True)
    assert "300" not in str(hidden) and str(hidden).startswith("[hidden check fan_in_fan_out]")


# --- xavier_std / kaiming_std --------------------------------------------------------------------

def test_torch_init_std_is_exact() -> None:
    assert torch_init_std((1, 256), "xavier") == pytest.approx(1 / 16, rel=1e-12)
    assert torch_init_std((1, 256), "kaiming") == pytest.approx(math.sqrt(2 / 256), rel=1e-12)
    assert torch_init_std((8, 4, 3, 3), "xavier") == pytest.approx(1 / 6, rel=1e-12)
    assert torch_init_std((30, 10), "torch_xavier_normal") == pytest.approx(math.sqrt(2 / 40), rel=1e-12)


@pytest.mark.parametrize("name, wrong, match", [
    ("xavier_std", lambda n: math.sqrt(2 / n), r"xavier_std.*differs[\s\S]*Kaiming's √\(2/Din\)"),
    ("xavier_std", lambda n: 1 / n, r"variance"),
    ("xavier_std", lambda n: math.sqrt(n), r"multiplied by √Din"),
    ("xavier_std", lambda n: np.array([1 / math.sqrt(n)]), r"one number"),
    ("kaiming_std", lambda n: 1 / math.sqrt(n), r"kaiming_std.*differs[\s\S]*Xavier's 1/√Din"),
    ("kaiming_std", lambda n: 2 / math.sqrt(n), r"√\(2/Din\)"),
], ids=["xavier-is-kaiming", "xavier-variance", "xavier-times", "xavier-array",
        "kaiming-is-xavier", "kaiming-2-outside-root"])
def test_std_wrong(name, wrong, match) -> None:
    failure = _fails(name, wrong, match)
    assert str(failure).startswith(name)


def test_std_accepts_numpy_scalars() -> None:
    check("xavier_std", lambda n: np.float64(1) / np.sqrt(n))


# --- init_weights --------------------------------------------------------------------------------

def make_init(ns, *, fan=None, std=None, draw=None, constant=None, unknown=None, small=0.01):
    """The solution's init_weights with one piece replaced by a plausible mistake."""
    fan = fan or ns["fan_in_fan_out"]

    def init(shape, method, rng):
        shape = tuple(shape)
        sample = draw(rng, shape) if draw else rng.standard_normal(shape)
        if method == "constant":
            return constant(shape, rng) if constant else np.full(shape, 0.1)
        if method == "small":
            return small * sample
        if method in ("xavier", "kaiming"):
            if std is not None:
                return std(shape, method) * sample
            fan_in = fan(shape)[0]
            return (ns["xavier_std"] if method == "xavier" else ns["kaiming_std"])(fan_in) * sample
        if unknown is not None:
            return unknown(method)
        raise ValueError(method)
    return init


def _torch_xavier(shape, method):
    rf = math.prod(shape[2:])
    return math.sqrt(2 / ((shape[0] + shape[1]) * rf)) * (1 if method == "xavier" else math.sqrt(2))


@pytest.mark.parametrize("variant, match", [
    ({"draw": lambda rng, shape: np.random.standard_normal(shape)}, r"seeded alike[\s\S]*np\.random"),
    ({"draw": lambda rng, shape: np.random.default_rng(0).standard_normal(shape)}, r"different seeds"),
    ({"draw": lambda rng, shape: rng.random(shape)}, r"init_weights\(method='small'\).*mean[\s\S]*uniform"),
    ({"fan": lambda shape: (shape[0] * math.prod(shape[2:]), 0)},
     r"xavier.*std[\s\S]*fan_in_fan_out\(shape\)\[0\]"),
    ({"fan": lambda shape: (shape[1], 0)}, r"conv weight Din = in_channels"),
    ({"std": _torch_xavier}, r"torch\.nn\.init\.xavier_normal_"),
    ({"std": lambda shape, m: math.sqrt(2 / math.prod(shape[1:]))}, r"'xavier'.*std[\s\S]*std of kaiming"),
    ({"small": 1.0}, r"'small'.*std[\s\S]*multiply the standard normals by 0\.01"),
    ({"constant": lambda shape, rng: rng.standard_normal(shape)}, r"'constant'.*not all equal"),
    ({"constant": lambda shape, rng: np.full(shape, 1)}, r"'constant'.*dtype[\s\S]*float64"),
    ({"unknown": lambda method: None}, r"'orthogonal'.*should raise ValueError[\s\S]*returned a value"),
    ({"unknown": lambda method: {}[method]}, r"should raise ValueError \(raised KeyError\)"),
], ids=["global-np-random", "own-generator", "uniform", "fan-out", "no-kernel", "torch-xavier-normal",
        "xavier-is-kaiming", "small-no-scale", "constant-random", "constant-int", "unknown-returns",
        "unknown-keyerror"])
def test_init_weights_wrong(ns, variant, match) -> None:
    _fails("init_weights", make_init(ns, **variant), match)


def test_init_weights_stat_message_states_standard_error(ns) -> None:
    failure = _fails("init_weights", make_init(ns, small=0.02), "std")
    assert "standard error σ/√(2n)" in str(failure) and "± 5×" in str(failure)


def test_init_weights_float32_and_tensor(ns) -> None:
    solution = ns["init_weights"]
    _fails("init_weights", lambda s, m, r: solution(s, m, r).astype(np.float32), r"dtype.*float32")

    import torch

    # returning a tensor means calling torch: a numpy exercise fails on that first
    _fails("init_weights", lambda s, m, r: torch.from_numpy(solution(s, m, r)),
           r"calls torch \(torch\.from_numpy\)")


# --- layer_statistics ----------------------------------------------------------------------------

def make_stats(ns, *, transform=None, scale_at="in", activation_map=None, rng_source=None,
               include_input=False, keep_axis=False, use_scale_directly=False):
    """The lecture's experiment with one plausible mistake."""

    def stats(dims, weight_scale, activation, rng, batch_size=16):
        rng = rng_source(rng) if rng_source else rng
        act = (activation_map or {}).get(activation, activation)
        x = rng.standard_normal((batch_size, dims[0]))
        out = [(float(x.mean()), float(x.std()))] if include_input else []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            W = rng.standard_normal((d_in, d_out))
            if use_scale_directly:
                W = W * weight_scale
            else:
                d = d_in if scale_at == "in" else d_out
                W = W * (weight_scale(d) if callable(weight_scale) else weight_scale)
            z = x @ W
            x = np.tanh(z) if act == "tanh" else np.maximum(0, z)
            shown = transform(z, x) if transform else x
            out.append((shown.mean(axis=0), shown.std(axis=0)) if keep_axis
                       else (float(shown.mean()), float(shown.std())))
        return out
    return stats


def test_layer_statistics_solution_helper_matches(ns) -> None:
    hs = ns["hidden_activations"]([64, 32, 16], 0.1, "tanh", np.random.default_rng(0), batch_size=4)
    assert [h.shape for h in hs] == [(4, 32), (4, 16)]
    with pytest.raises(ValueError):
        ns["layer_statistics"]([8, 8], 0.1, "sigmoid", np.random.default_rng(0))


@pytest.mark.parametrize("variant, options, match", [
    ({"include_input": True}, {}, r"wrong number of layers[\s\S]*expected 4 \(len\(dims\) − 1\), got 5"),
    ({"keep_axis": True}, {}, r"pair of floats[\s\S]*x\.mean\(axis=0\)"),
    ({"activation_map": {"tanh": "relu"}}, {}, r"differs from torch[\s\S]*np\.tanh"),
    ({"activation_map": {"relu": "tanh"}}, {}, r"differs from torch[\s\S]*ReLU outputs are never negative"),
    ({"transform": lambda z, x: z}, {}, r"std of the activations differs from torch's runs"),
    ({"scale_at": "out"}, {"seed": 1, "dims": (300, 150, 300, 150),
                           "settings": (("tanh", "xavier"), ("relu", "kaiming"))}, r"evaluated at Dout"),
    ({"use_scale_directly": True}, {}, r"raised TypeError[\s\S]*callable\(weight_scale\)"),
    ({"rng_source": lambda rng: np.random.default_rng()}, {}, r"seeded alike"),
], ids=["includes-input", "per-unit-stats", "relu-for-tanh", "tanh-for-relu", "pre-activation",
        "scale-at-dout", "scale-not-called", "unseeded"])
def test_layer_statistics_wrong(ns, variant, options, match) -> None:
    failure = _fails("layer_statistics", make_stats(ns, **variant), match, **options)
    assert str(failure).startswith("layer_statistics")


def test_layer_statistics_message_states_band() -> None:
    def bad(dims, weight_scale, activation, rng, batch_size=16):
        return [(0.0, 0.5)] * (len(dims) - 1)
    failure = _fails("layer_statistics", bad, "differs")
    assert f"mean of {ENSEMBLE_SIZE} torch runs ± 6 standard errors" in str(failure)
    assert "expected between" in str(failure)


def test_layer_statistics_accepts_tuples_and_numpy_floats(ns) -> None:
    solution = ns["layer_statistics"]
    check("layer_statistics",
          lambda *a, **k: tuple((np.float64(m), np.float64(s)) for m, s in solution(*a, **k)))


def test_not_implemented_message(ns) -> None:
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for name in ("fan_in_fan_out", "xavier_std", "kaiming_std", "init_weights", "layer_statistics"):
        _fails(name, stub, "not implemented yet")


def test_messages_in_chinese(ns, chinese) -> None:
    failure = _fails("fan_in_fan_out", fan_swapped, "颠倒")
    assert "可能原因" in str(failure)
    global_draw = make_init(ns, draw=lambda rng, s: np.random.standard_normal(s))
    _fails("init_weights", global_draw, "全局生成器")
    failure = _fails("layer_statistics", make_stats(ns, include_input=True), "层数不对")
    assert "下一步" in str(failure)


# --- no false alarms, lecture numbers (slow) -----------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 120))
def test_solution_passes_other_seeds(ns, seed) -> None:
    check("init_weights", ns["init_weights"], seed=seed)
    check("layer_statistics", ns["layer_statistics"], seed=seed)


@pytest.mark.slow
def test_full_experiment_reproduces_the_lecture(ns) -> None:
    """dims [4096]*7, batch 16: the slides' numbers to about ±0.02."""
    stats = ns["layer_statistics"]
    lecture = {
        (0.05, "tanh"): [(0.0, 0.87)] + [(0.0, 0.85)] * 5,
        (ns["xavier_std"], "tanh"): [(0.0, s) for s in (0.63, 0.49, 0.41, 0.36, 0.32, 0.30)],
        (ns["xavier_std"], "relu"): [(0.39, 0.58), (0.28, 0.41), (0.20, 0.30), (0.14, 0.21),
                                     (0.10, 0.15), (0.07, 0.10)],
    }
    for (scale, activation), expected in lecture.items():
        got = stats([4096] * 7, scale, activation, np.random.default_rng(0))
        np.testing.assert_allclose(np.array(got), np.array(expected), atol=0.02)
    collapsed = stats([4096] * 7, 0.01, "tanh", np.random.default_rng(0))
    assert collapsed[-1][1] < 0.1 < collapsed[0][1]
    kaiming = stats([4096] * 7, ns["kaiming_std"], "relu", np.random.default_rng(0))
    assert all(0.75 < s < 0.9 for _, s in kaiming)


def test_the_reference_ensemble_is_computed_once_per_argument_set_and_cannot_be_altered() -> None:
    """A grader judges every submission against the same ensemble: cached, shared, read-only."""
    first = torch_layer_statistics([60, 40, 60], "xavier", "tanh", 8)
    again = torch_layer_statistics((60, 40, 60), "xavier", "tanh", 8)
    assert again[0] is first[0] and again[1] is first[1]
    fresh = torch_layer_ensemble.__wrapped__((60, 40, 60), "xavier", "tanh", 8, ENSEMBLE_SIZE,
                                             ENSEMBLE_SEED, "in")
    np.testing.assert_array_equal(first[1], fresh[1])  # the cache returns what a fresh run computes
    with pytest.raises(ValueError, match="read-only"):
        first[1][0, 0] = 0.0
    other = torch_layer_statistics([60, 40, 60], "kaiming", "tanh", 8)
    assert not np.array_equal(other[1], first[1])
