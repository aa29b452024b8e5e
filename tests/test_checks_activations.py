"""The checks of 01_activations: the solution passes them all; plausible mistakes fail helpfully.

Each wrong implementation below is a mistake students make; the test asserts
that the check fails with a message naming the function and the likely cause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nnlab.checks import check

from tests.notebooks import call_ids, check_calls, one_test_cell_per_check, registered_checks, run_check_call

NOTEBOOK = "01_activations"
CHECKS = (
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward", "selu_forward", "selu_backward",
    "gelu_forward", "gelu_backward", "prelu_forward", "prelu_backward",
    "maxout_forward", "maxout_backward", "dead_relu_fraction",
)


# --- the solution and the notebook's test cells ---------------------------------------------

def test_registered_checks_are_the_notebooks() -> None:
    assert registered_checks(NOTEBOOK) == set(CHECKS)


def test_one_test_cell_per_check_with_visible_and_hidden_calls() -> None:
    calls = one_test_cell_per_check(NOTEBOOK, CHECKS)
    for name in ("gelu_forward", "gelu_backward"):  # both GELU forms, visible and hidden
        for hidden in (False, True):
            forms = {call.params["approximate"] for call in calls[name] if call.hidden == hidden}
            assert forms == {"none", "tanh"}, (name, hidden)


@pytest.mark.parametrize("call", check_calls(NOTEBOOK), ids=call_ids(check_calls(NOTEBOOK)))
def test_solution_passes_every_check_call_of_the_test_cells(ns, call) -> None:
    run_check_call(ns, call)


ELEMENTWISE = ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
               "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
               "elu_forward", "elu_backward", "selu_forward", "selu_backward",
               "gelu_forward", "gelu_backward", "prelu_forward", "prelu_backward")


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE), seed=st.integers(0, 10_000),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple))
def test_solution_passes_on_any_seed_and_shape(ns, name: str, seed: int, shape: tuple) -> None:
    check(name, ns[name], seed=seed, shape=shape, hidden=True)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 8), d=st.integers(1, 6), h=st.integers(1, 5),
       k=st.integers(1, 4))
def test_maxout_solution_passes_on_any_size(ns, seed: int, n: int, d: int, h: int, k: int) -> None:
    for name in ("maxout_forward", "maxout_backward"):
        check(name, ns[name], seed=seed, N=n, D=d, H=h, k=k, hidden=True)


def test_sigmoid_solution_is_quiet_at_extremes(ns) -> None:
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        out = ns["sigmoid_forward"](x)
        grad = ns["sigmoid_backward"](np.ones_like(x), x)
    np.testing.assert_allclose(out, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-12, atol=0)
    assert np.all(np.isfinite(grad))


def test_gelu_solution_agrees_with_torch_on_a_dense_grid(ns) -> None:
    x = np.linspace(-8, 8, 1601)
    for approximate in ("none", "tanh"):
        reference = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate).numpy()
        # same formula in float64 as torch: agreement to rounding (torch float64 default: 1e-7 or better)
        np.testing.assert_allclose(ns["gelu_forward"](x, approximate), reference, rtol=1e-12, atol=1e-14)


# --- plausible wrong implementations ------------------------------------------------------------

_SELU_A, _SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid_naive(x):
    return 1.0 / (1.0 + np.exp(-x))


def _sigmoid_where(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def _sigmoid_backward_naive(dout, x):
    s = 1.0 / (1.0 + np.exp(-x))
    return dout * s * (1.0 - s)


def _sigmoid_backward_plus(dout, x):
    s = 0.5 * (1.0 + np.tanh(0.5 * x))  # a stable sigmoid, then the wrong derivative
    return dout * s * (1.0 + s)


def _tanh_literal(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


def _tanh_backward_no_square(dout, x):
    return dout * (1.0 - np.tanh(x))


def _relu_abs(x):
    return np.abs(x)


def _relu_backward_pass_through(dout, x):
    return dout.copy()


def _leaky_hardcoded(x, negative_slope=0.01):
    return np.where(x > 0, x, 0.01 * x)


def _leaky_backward_zero(dout, x, negative_slope=0.01):
    return dout * (x > 0)


def _prelu_fixed_slope(x, alpha):
    return np.where(x > 0, x, 0.01 * x)


def _prelu_backward_not_summed(dout, x, alpha):
    return dout * np.where(x > 0, 1.0, alpha), dout * np.minimum(x, 0.0)


def _prelu_backward_dx_only(dout, x, alpha):
    return dout * np.where(x > 0, 1.0, alpha)


def _elu_no_minus_one(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0.0)))


def _elu_backward_exp_everywhere(dout, x, alpha=1.0):
    return dout * np.where(x > 0, 1.0, alpha * np.exp(x))


def _selu_rounded(x):
    return 1.05 * np.where(x > 0, x, 1.67 * np.expm1(np.minimum(x, 0.0)))


def _selu_backward_rounded(dout, x):
    return dout * 1.05 * np.where(x > 0, 1.0, 1.67 * np.exp(np.minimum(x, 0.0)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _gelu_swapped(x, approximate="none"):
    return _gelu(x, "none" if approximate == "tanh" else "tanh")


def _gelu_grad(x, approximate):
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * c * (1.0 + 3 * 0.044715 * x**2)
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)


def _gelu_backward_swapped(dout, x, approximate="none"):
    return dout * _gelu_grad(x, "none" if approximate == "tanh" else "tanh")


def _maxout_wrong_axis(x, W, b):
    return (x @ W + b[:, None, :]).max(axis=1)


def _maxout_backward_no_routing(dout, x, W, b):
    dz = np.broadcast_to(dout, (W.shape[0], *dout.shape))  # every piece gets the gradient
    return (dz @ W.transpose(0, 2, 1)).sum(axis=0), x.T @ dz, dz.sum(axis=1)


def _maxout_backward_pair(dout, x, W, b):
    dz = np.ones((W.shape[0], *dout.shape))
    return (dz @ W.transpose(0, 2, 1)).sum(axis=0), x.T @ dz  # db forgotten


def _dead_per_entry(z):
    return float(np.mean(z <= 0))


def _dead_any(z):
    return float(np.mean(np.any(z <= 0, axis=0)))


def _relu_float32(x):
    return np.maximum(x, 0.0).astype(np.float32)


def _relu_torch(x):
    return torch.relu(torch.from_numpy(x))


def _not_implemented(*args):
    raise NotImplementedError()


# (check, wrong function, check parameters, patterns the message must contain)
WRONG: list[tuple[str, Callable[..., Any], dict[str, Any], tuple[str, ...]]] = [
    ("sigmoid_forward", _sigmoid_naive, {},
     (r"^sigmoid_forward: output: is correct but numpy warned", r"overflow encountered in exp",
      r"for x < 0 use e\^x / \(1 \+ e\^x\)")),
    ("sigmoid_forward", _sigmoid_where, {},
     (r"sigmoid_forward: output: is correct but numpy warned", r"invalid value",
      r"np\.where on both branches still computes both")),
    ("sigmoid_backward", _sigmoid_backward_naive, {},
     (r"^sigmoid_backward: dx: is correct but numpy warned", r"overflow")),
    ("sigmoid_backward", _sigmoid_backward_plus, {},
     (r"^sigmoid_backward: dx: values differ from torch", r"σ'\(x\) = σ\(x\)\(1 − σ\(x\)\)")),
    ("tanh_forward", _tanh_literal, {},
     (r"^tanh_forward: output: contains NaN or infinity", r"where \|x\| ≥ 10", r"overflow")),
    ("tanh_backward", _tanh_backward_no_square, {},
     (r"^tanh_backward: dx: values differ", r"1 − tanh²\(x\)")),
    ("relu_forward", _relu_abs, {},
     (r"^relu_forward: output: values differ", r"all where x < 0",
      r"ReLU outputs 0 for negative inputs")),
    ("relu_backward", _relu_backward_pass_through, {},
     (r"^relu_backward: dx: values differ", r"all where x < 0",
      r"multiply dout by \(x > 0\)")),
    ("leaky_relu_forward", _leaky_hardcoded, {"negative_slope": 0.2},
     (r"^leaky_relu_forward: output: values differ", r"where x < 0", r"negative_slope · x")),
    ("leaky_relu_backward", _leaky_backward_zero, {},
     (r"^leaky_relu_backward: dx: values differ", r"all where x < 0",
      r"negative_slope · dout, never 0")),
    ("prelu_forward", _prelu_fixed_slope, {},
     (r"^prelu_forward: output: values differ", r"where x < 0", r"PReLU returns α·x")),
    ("prelu_backward", _prelu_backward_not_summed, {},
     (r"^prelu_backward: dalpha: should be one number, not an array", r"shape \(4, 6\)",
      r"sum of the contributions", r"np\.sum")),
    ("prelu_backward", _prelu_backward_dx_only, {},
     (r"^prelu_backward: should return a pair \(dx, dalpha\)", r"two inputs", r"return dx, dalpha")),
    ("maxout_backward", _maxout_backward_pair, {},
     (r"^maxout_backward: should return a triple \(dx, dW, db\)", r"got a tuple of 2")),
    ("elu_forward", _elu_no_minus_one, {},
     (r"^elu_forward: output: values differ", r"where x < 0", r"α\(eˣ − 1\)")),
    ("elu_backward", _elu_backward_exp_everywhere, {},
     (r"^elu_backward: dx: is correct but numpy warned", r"overflow encountered in exp",
      r"np\.minimum\(x, 0\)")),
    ("selu_forward", _selu_rounded, {},
     (r"^selu_forward: output: values differ", r"look rounded", r"1\.6732632423543772848")),
    ("selu_backward", _selu_backward_rounded, {},
     (r"^selu_backward: dx: values differ", r"look rounded", r"1\.0507009873554804934")),
    ("gelu_forward", _gelu_swapped, {"approximate": "none"},
     (r"^gelu_forward: output: values differ", r"approximate='tanh', but approximate='none'",
      r"swapped")),
    ("gelu_forward", _gelu_swapped, {"approximate": "tanh"},
     (r"approximate='none', but approximate='tanh'", r"swapped")),
    ("gelu_backward", _gelu_backward_swapped, {"approximate": "tanh"},
     (r"^gelu_backward: dx: values differ", r"approximate='none', but approximate='tanh'")),
    ("maxout_forward", _maxout_wrong_axis, {},
     (r"^maxout_forward: output: has the wrong shape", r"expected \(5, 3\), got \(2, 3\)",
      r"max over the pieces \(the k axis\)")),
    ("maxout_backward", _maxout_backward_no_routing, {},
     (r"^maxout_backward: dx: values differ", r"winning piece")),
    ("dead_relu_fraction", _dead_per_entry, {},
     (r"^dead_relu_fraction: differs from the measured fraction", r"expected 0\.275",
      r"inactive entries")),
    ("dead_relu_fraction", _dead_any, {},
     (r"^dead_relu_fraction: differs", r"\(any\)", r"\(all\)")),
    ("relu_forward", _relu_float32, {},
     (r"^relu_forward: output: has the wrong dtype", r"expected float64, got float32")),
    ("relu_forward", _relu_torch, {},
     # a numpy exercise answered with torch: the policy says so before any type mismatch
     (r"^relu_forward: your function calls torch \(torch\.from_numpy, torch\.relu\)",)),
    ("gelu_backward", _not_implemented, {},
     (r"^gelu_backward: dx: not implemented yet", r"replace `raise NotImplementedError`")),
    ("maxout_backward", _not_implemented, {}, (r"^maxout_backward: not implemented yet",)),
]


@pytest.mark.parametrize("name,function,params,patterns", WRONG,
                         ids=[f"{n}-{f.__name__.strip('_')}" for n, f, _, _ in WRONG])
def test_wrong_implementation_fails_with_helpful_message(
    name: str, function: Callable[..., Any], params: dict[str, Any], patterns: tuple[str, ...]
) -> None:
    with pytest.raises(AssertionError) as failure:
        check(name, function, **params)
    message = str(failure.value)
    for pattern in patterns:
        assert re.search(pattern, message, flags=re.MULTILINE), f"{pattern!r} not in:\n{message}"
    assert "Likely cause" in message or "not implemented" in message or "torch.Tensor" in message


def test_hidden_failure_leaves_out_the_numbers() -> None:
    with pytest.raises(AssertionError) as failure:
        check("dead_relu_fraction", _dead_per_entry, seed=11, N=128, H=25, hidden=True)
    message = str(failure.value)
    assert message.startswith("[hidden check dead_relu_fraction] dead_relu_fraction: differs")
    assert "inactive entries" in message
    assert not re.search(r"expected \d", message)


def test_wrong_implementations_fail_in_chinese_too(chinese) -> None:
    with pytest.raises(AssertionError) as failure:
        check("relu_backward", _relu_backward_pass_through)
    message = str(failure.value)
    assert "与 torch 的结果不一致" in message and "可能原因" in message and "x < 0" in message
    with pytest.raises(AssertionError) as failure:
        check("prelu_backward", _prelu_backward_not_summed)
    assert "应是一个数，而不是数组" in str(failure.value)
    with pytest.raises(AssertionError) as failure:
        check("sigmoid_forward", _sigmoid_naive)
    assert "numpy 发出了警告" in str(failure.value) and "溢出" in str(failure.value)


def test_student_cannot_corrupt_later_inputs() -> None:
    """A function that writes into its input must not change what the judge regenerates."""
    def relu_in_place(x):
        np.maximum(x, 0.0, out=x)
        return x

    check("relu_forward", relu_in_place)
