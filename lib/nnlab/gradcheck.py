"""Numerical gradients by centred differences, and the relative error used to judge them.

A backward pass is checked against the slope of the forward pass measured
numerically::

    dx_num = numerical_gradient(lambda x: np.tanh(x), x, dout)
    rel_error(dx_num, dout * (1 - np.tanh(x) ** 2))   # ~1e-10: correct

``numerical_gradient`` perturbs ``x`` *in place*, so ``f`` may ignore its
argument and close over ``x`` (the CS231n idiom for layers with several
inputs), e.g. ``numerical_gradient(lambda _: affine_forward(x, w, b), w, dout)``.
``x`` is always restored, even when ``f`` raises.

Tolerances: with ``h = 1e-6`` in float64 a correct gradient of a
smooth function gives a relative error of about 1e-10 and at most 1e-6; more
than 1e-2 means the gradient is wrong. Keep inputs off kinks (ReLU at 0, ties
in max), where the two one-sided slopes differ.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ArrayFunction = Callable[[np.ndarray], np.ndarray | float]
"""``f(x)``: float64 array (any shape) -> float64 array (any shape) or a scalar."""

Backward = Callable[[np.ndarray | float, np.ndarray], np.ndarray]
"""``df(dout, x)``: upstream gradient (f(x)'s shape) and input -> gradient (x's shape)."""


def _check_x(x: object, caller: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"{x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(
            f"{caller}: x must be a float64 numpy array (it is perturbed in place), got {got}. "
            "Convert it first with x = np.asarray(x, dtype=np.float64)."
        )
    if not x.flags.writeable:
        raise ValueError(
            f"{caller}: x must be writeable (it is perturbed in place); pass x.copy()."
        )
    return x


def _evaluate(f: ArrayFunction, x: np.ndarray) -> np.ndarray:
    """``f(x)`` as a new float64 array (a copy: f may return a view of x)."""
    return np.array(f(x), dtype=np.float64, copy=True)


def _default_dout(
    out: np.ndarray, dout: np.ndarray | float | None, caller: str
) -> np.ndarray:
    if dout is None:
        return np.ones_like(out)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != out.shape:
        raise ValueError(
            f"{caller}: dout must have the shape of f(x), {out.shape}, got {dout.shape}."
        )
    return dout


def numerical_gradient(
    f: ArrayFunction,
    x: np.ndarray,
    dout: np.ndarray | float | None = None,
    h: float = 1e-6,
) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x`` by centred differences.

    For each entry ``x[i]``: ``(L(x + h e_i) - L(x - h e_i)) / (2 h)`` with
    ``L(x) = sum(f(x) * dout)``. The error is ``O(h**2)`` from truncation plus
    about ``eps * |f| / h`` from rounding; ``h = 1e-6`` balances the two in
    float64. Costs ``2 * x.size`` calls of ``f``.

    Args:
        f: function of ``x`` returning an array (any shape) or a scalar. It is
            called with ``x`` itself, perturbed in place one entry at a time.
        x: ``(...)`` float64 array, the point at which to differentiate. Restored
            exactly on return (also if ``f`` raises).
        dout: upstream gradient, float64 with the shape of ``f(x)``. Default:
            ones (the gradient of ``sum(f(x))``); ``1.0`` for a scalar ``f``.
        h: step size, > 0.

    Returns:
        ``(...)`` float64 array of ``x``'s shape.

    Raises:
        ValueError: if ``x`` is not a writeable float64 ndarray, ``h <= 0``, or
            ``dout``'s shape differs from ``f(x)``'s.
    """
    x = _check_x(x, "numerical_gradient")
    if not h > 0:
        raise ValueError(f"numerical_gradient: h must be positive, got {h}.")
    dout = _default_dout(_evaluate(f, x), dout, "numerical_gradient")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + h
            out_plus = _evaluate(f, x)
            x[index] = old - h
            out_minus = _evaluate(f, x)
        finally:
            x[index] = old
        # Difference the outputs before summing: outputs that do not depend on
        # x[index] cancel exactly instead of adding the rounding of a large sum.
        grad[index] = np.sum((out_plus - out_minus) * dout) / (2 * h)
    return grad


def rel_error(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)`` (CS231n).

    The result lies in ``[0, 1]``: 0 for equal arrays, 1 for opposite signs.
    Entries where both values are tiny (``|a| + |b| < 1e-8``) are compared in
    absolute terms instead. NaN anywhere gives NaN.

    Args:
        a: array (any shape), converted to float64.
        b: array of the same shape.

    Returns:
        The maximum over all entries, a Python float (0.0 for empty arrays).

    Raises:
        ValueError: if the shapes differ (no broadcasting, to catch a ``(N,)``
            versus ``(N, 1)`` mix-up).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradient(
    f: ArrayFunction,
    df: Backward,
    x: np.ndarray,
    dout: np.ndarray | float | None = None,
    h: float = 1e-6,
) -> float:
    """Relative error between an analytic backward pass and the numerical gradient.

    Args:
        f: forward function, as in :func:`numerical_gradient`.
        df: backward function ``df(dout, x)`` returning the gradient of
            ``sum(f(x) * dout)`` with respect to ``x``: float64, ``x``'s shape.
        x: ``(...)`` float64 array; restored on return.
        dout: upstream gradient with ``f(x)``'s shape (default: ones).
        h: step size of the centred differences.

    Returns:
        :func:`rel_error` of the two gradients: below 1e-6 for a correct
        gradient of a smooth function, above 1e-2 for a wrong one.

    Raises:
        ValueError: as :func:`numerical_gradient`, or if ``df`` returns an array
            whose shape differs from ``x``'s.
    """
    x = _check_x(x, "check_gradient")
    dout = _default_dout(_evaluate(f, x), dout, "check_gradient")
    analytic = np.array(df(dout, x), dtype=np.float64, copy=True)
    if analytic.shape != x.shape:
        raise ValueError(
            f"check_gradient: df(dout, x) must have x's shape {x.shape}, got {analytic.shape}."
        )
    return rel_error(analytic, numerical_gradient(f, x, dout, h=h))
