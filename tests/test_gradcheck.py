"""Tests for nnlab.gradcheck, with torch autograd in float64 as the reference.

Tolerance: centred differences with h = 1e-6 in float64 agree with
the exact gradient of a smooth function to a relative error <= 1e-6 (typically
1e-9..1e-11). The elementwise relative error is ill-conditioned where the exact
gradient is 0 (only the O(h**2) truncation term is left), so inputs of x**3
stay at |x| >= 0.1, like inputs of ReLU stay off its kink.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nnlab.gradcheck import check_gradient, numerical_gradient, rel_error

SMOOTH = 1e-6  # central differences, h=1e-6, float64, smooth function
WRONG = 1e-2  # CS231n: a relative error above 1e-2 means the gradient is wrong

ELEMENTWISE = {
    "tanh": (np.tanh, torch.tanh),
    "cube": (lambda x: x**3, lambda t: t**3),
}


def torch_gradient(
    f_torch: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, dout: np.ndarray
) -> np.ndarray:
    """Gradient of sum(f(x) * dout) w.r.t. x by torch autograd in float64."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (f_torch(t) * torch.tensor(dout, dtype=torch.float64)).sum().backward()
    return t.grad.numpy()


# --- hypothesis strategies: bounded floats, no NaN/inf -----------------------

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
bounded = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
off_zero = st.one_of(st.floats(-2.0, -0.1), st.floats(0.1, 2.0))


@st.composite
def x_and_dout(draw, elements=bounded):
    shape = draw(shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=elements))
    dout = draw(hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0)))
    return x, dout


# --- against torch, fixed seed -------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_torch(name):
    f_np, f_torch = ELEMENTWISE[name]
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 2.0, size=(4, 5)) * rng.choice([-1.0, 1.0], size=(4, 5))
    dout = rng.normal(size=(4, 5))
    got = numerical_gradient(f_np, x, dout)
    assert got.shape == x.shape and got.dtype == np.float64
    assert rel_error(got, torch_gradient(f_torch, x, dout)) <= SMOOTH


def test_matrix_product_matches_torch_for_both_inputs():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    dout = rng.normal(size=(4, 3))
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ((tx @ tw) * torch.tensor(dout)).sum().backward()
    # f ignores its argument and closes over x and w: numerical_gradient
    # perturbs the array in place, so both gradients come from one forward.
    dx = numerical_gradient(lambda _: x @ w, x, dout)
    dw = numerical_gradient(lambda _: x @ w, w, dout)
    assert rel_error(dx, tx.grad.numpy()) <= SMOOTH
    assert rel_error(dw, tw.grad.numpy()) <= SMOOTH


def test_scalar_function_and_default_dout():
    x = np.random.default_rng(2).normal(size=(3, 2))
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v**2)), x), 2 * x,
                               rtol=SMOOTH, atol=0)
    # dout defaults to ones: the gradient of sum(tanh(x))
    ones = np.ones_like(x)
    assert rel_error(numerical_gradient(np.tanh, x), torch_gradient(torch.tanh, x, ones)) <= SMOOTH


def test_function_returning_its_input_is_copied():
    # f returns x itself: without copying, f(x + h) and f(x - h) would be the same
    # array, restored to x, and the gradient would come out as 0 instead of 1.
    x = np.linspace(-1.0, 1.0, 6)
    np.testing.assert_allclose(numerical_gradient(lambda v: v, x), np.ones(6), rtol=SMOOTH)


# --- x is restored -------------------------------------------------------------


def test_x_restored_bitwise_including_non_contiguous_views():
    base = np.random.default_rng(3).normal(size=(3, 4))
    x = base.T  # a non-contiguous view, perturbed through the view
    before = base.copy()
    numerical_gradient(lambda v: np.sin(v) * v, x)
    np.testing.assert_array_equal(base, before)


def test_x_restored_when_f_raises():
    x = np.arange(4, dtype=np.float64)
    before = x.copy()
    calls = {"n": 0}

    def flaky(v: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 3:  # the second perturbed evaluation
            raise RuntimeError("boom")
        return v * 2

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(flaky, x)
    np.testing.assert_array_equal(x, before)


# --- properties ------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(x_and_dout())
def test_property_tanh_matches_torch_and_restores_x(case):
    x, dout = case
    before = x.copy()
    got = numerical_gradient(np.tanh, x, dout)
    np.testing.assert_array_equal(x, before)
    assert rel_error(got, torch_gradient(torch.tanh, x, dout)) <= SMOOTH


@settings(max_examples=50, deadline=None)
@given(x_and_dout(elements=off_zero))
def test_property_cube_matches_torch(case):
    x, dout = case
    assert rel_error(numerical_gradient(lambda v: v**3, x, dout),
                     torch_gradient(lambda t: t**3, x, dout)) <= SMOOTH


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_property_matrix_product_matches_torch(data):
    n, d, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    x = data.draw(hnp.arrays(np.float64, (n, d), elements=bounded))
    w = data.draw(hnp.arrays(np.float64, (d, m), elements=bounded))
    dout = data.draw(hnp.arrays(np.float64, (n, m), elements=bounded))
    tx = torch.tensor(x, requires_grad=True)
    ((tx @ torch.tensor(w)) * torch.tensor(dout)).sum().backward()
    # x @ w is linear, so only rounding is left: each of the m outputs of a row
    # is ~d*3*3 <= 36 with rounding ~36*eps, so the error is at most about
    # m * |dout| * 2 * 36 * eps / (2h) ~ 1e-7. Entries of the exact gradient
    # can cancel to ~0, where a relative error is meaningless; hence an atol.
    np.testing.assert_allclose(numerical_gradient(lambda _: x @ w, x, dout), tx.grad.numpy(),
                               rtol=SMOOTH, atol=1e-6)


@settings(deadline=None)  # no timing: a busy machine must not fail a property
@given(hnp.arrays(np.float64, shapes, elements=bounded), st.data())
def test_property_rel_error_symmetric_and_bounded(a, data):
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=bounded))
    assert rel_error(a, b) == rel_error(b, a)
    assert 0.0 <= rel_error(a, b) <= 1.0
    assert rel_error(a, a) == 0.0


# --- rel_error -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0, 2.0], [1.0, 2.0], 0.0),
        ([1.0], [-1.0], 1.0),
        ([1.0, 100.0], [1.1, 100.0], 0.1 / 2.1),
        ([0.0], [1e-9], 0.1),  # |a| + |b| < 1e-8: compared against 1e-8
        ([], [], 0.0),
    ],
    ids=["equal", "opposite", "max-over-entries", "tiny-values", "empty"],
)
def test_rel_error_values(a, b, expected):
    assert rel_error(np.array(a), np.array(b)) == pytest.approx(expected, rel=1e-12)


def test_rel_error_rejects_broadcasting():
    with pytest.raises(ValueError, match=r"rel_error: shapes differ, \(3,\) vs \(3, 1\)"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


# --- check_gradient ----------------------------------------------------------------


def _x(seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))


W = np.random.default_rng(5).normal(size=(4, 2))


@pytest.mark.parametrize(
    ("f", "df"),
    [
        (np.tanh, lambda dout, x: dout * (1 - np.tanh(x) ** 2)),
        (lambda x: x**3, lambda dout, x: 3 * x**2 * dout),
        (lambda x: x @ W, lambda dout, x: dout @ W.T),
    ],
    ids=["tanh", "cube", "matmul"],
)
def test_check_gradient_accepts_correct_gradient(f, df):
    x = _x()
    dout = np.random.default_rng(6).normal(size=f(x).shape)
    assert check_gradient(f, df, x, dout=dout) <= SMOOTH


@pytest.mark.parametrize(
    ("f", "df"),
    [
        (np.tanh, lambda dout, x: dout * (1 + np.tanh(x) ** 2)),
        (np.tanh, lambda dout, x: 1 - np.tanh(x) ** 2),
        (lambda x: x**3, lambda dout, x: -3 * x**2 * dout),
        (lambda x: x**3, lambda dout, x: x**2 * dout),
        (lambda x: x @ W, lambda dout, x: dout @ W[::-1].T),
    ],
    ids=["tanh-sign-in-derivative", "tanh-forgot-dout", "cube-sign", "cube-forgot-3",
         "matmul-wrong-weights"],
)
def test_check_gradient_flags_wrong_gradient(f, df):
    x = _x()
    dout = np.random.default_rng(7).normal(size=f(x).shape)
    assert check_gradient(f, df, x, dout=dout) > WRONG


def test_check_gradient_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"df\(dout, x\) must have x's shape \(3, 4\), got \(4,\)"):
        check_gradient(np.tanh, lambda dout, x: np.zeros(4), _x())


# --- input errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (np.zeros(3, dtype=np.float32), {}, "x must be a float64 numpy array .* got float32 array"),
        ([0.0, 1.0], {}, "x must be a float64 numpy array .* got list"),
        (np.zeros(3), {"h": 0.0}, "h must be positive, got 0.0"),
        (np.zeros(3), {"dout": np.ones(2)},
         r"dout must have the shape of f\(x\), \(3,\), got \(2,\)"),
    ],
    ids=["float32", "list", "zero-step", "dout-shape"],
)
def test_numerical_gradient_input_errors(x, kwargs, message):
    with pytest.raises(ValueError, match="numerical_gradient: " + message):
        numerical_gradient(np.tanh, x, **kwargs)


def test_numerical_gradient_rejects_read_only_x():
    x = np.zeros(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="must be writeable"):
        numerical_gradient(np.tanh, x)
