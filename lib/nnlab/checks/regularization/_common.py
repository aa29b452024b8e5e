"""Helpers shared by every check of 04_regularization.

Used by this package and by :mod:`nnlab.checks.dropout` and :mod:`nnlab.checks.augmentation`.
Statistical parts are judged within 5 standard errors of their expectation
(:func:`within`, :func:`fraction_within`); each message states the standard
error. ``p_drop`` is the probability of dropping a unit (torch's ``p``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import FLOAT64, Tolerance, expect_close
from nnlab.checks.spec import BANDS, CheckFailed, fail  # noqa: F401 - shared with the exercise modules
from nnlab.i18n import Text

NOTEBOOK = "04_regularization"

Functions = Mapping[str, Callable[..., Any]]


# --------------------------------------------------------------------------- helpers


def unpack(value: Any, what: Text, names: tuple[str, ...]) -> tuple[Any, ...]:
    """``value`` as a tuple of ``len(names)`` items, or a failure naming what to return."""
    wanted = ", ".join(names)
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = f"{type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (tuple, list)) else "")
        fail(what, Text(f"should return {len(names)} values ({wanted})",
                        f"应返回 {len(names)} 个值（{wanted}）"),
             detail=Text(f"got {got}", f"得到 {got}"),
             next_step=Text(f"end with `return {wanted}`.", f"以 `return {wanted}` 结尾。"))
    return tuple(value)


def within(statistic: float, expected: float, stderr: float, *, what: Text, name: Text,
           cause: Text | None = None, next_step: Text | None = None,
           extra: Text | None = None) -> None:
    """``|statistic - expected| <= 5 * stderr``, else a failure stating the standard error."""
    if np.isfinite(statistic) and abs(statistic - expected) <= BANDS * stderr:
        return
    detail = Text(
        f"{name.en} = {statistic:.4g}, expected {expected:.4g} ± {BANDS:g}×{stderr:.2g} "
        f"(standard error)",
        f"{name.zh or name.en} = {statistic:.4g}，期望 {expected:.4g} ± {BANDS:g}×{stderr:.2g}（标准误差）",
    )
    if extra is not None:
        detail = detail + Text("; ", "；") + extra
    fail(what, Text("is statistically off", "统计量偏离预期"), detail, cause, next_step)


def fraction_within(count: int, n: int, p: float, *, what: Text, name: Text,
                    cause: Text | None = None, next_step: Text | None = None,
                    extra: Text | None = None) -> None:
    """A binomial fraction ``count / n`` against its probability ``p`` (SE = √(p(1−p)/n))."""
    stderr = math.sqrt(max(p * (1 - p), 1e-12) / n)
    within(count / n, p, stderr, what=what, name=name, cause=cause, next_step=next_step, extra=extra)


def close_to(value: Any, expected: np.ndarray, *, what: Text, cause: Text | None = None,
             alternatives: tuple[tuple[np.ndarray, Text], ...] = (), tol: Tolerance = FLOAT64,
             next_step: Text | None = None) -> np.ndarray:
    """:func:`expect_close` on a value; a matching wrong ``alternative`` names its own cause."""
    expected = np.asarray(expected)
    if isinstance(value, (np.ndarray, float, np.floating)) and np.shape(value) == expected.shape:
        got = np.asarray(value, dtype=np.float64)
        for alternative, alt_cause in alternatives:
            if (np.allclose(got, alternative, rtol=tol.rtol, atol=tol.atol)
                    and not np.allclose(alternative, expected, rtol=tol.rtol, atol=tol.atol)):
                cause = alt_cause
                break
    return expect_close({"value": value}, expected, what=what, tol=tol, cause=cause,
                        next_step=next_step)


def off_zero(x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """``x`` with entries closer than ``margin`` to 0 moved to 0.5 (kinks, and "was it zeroed?")."""
    x = x.copy()
    x[np.abs(x) < margin] = 0.5
    return x


def torch_dropout(x: np.ndarray, p_drop: float, seed: int) -> np.ndarray:
    """``torch.nn.functional.dropout(x, p=p_drop, training=True)`` with its own seed (float64)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(torch.tensor(x, dtype=torch.float64), p=p_drop, training=True).numpy()


def torch_dropout_scale(p_drop: float) -> float:
    """The factor torch's (inverted) dropout multiplies kept entries by, measured on ones."""
    out = torch_dropout(np.ones(64), p_drop, seed=0)
    return float(out[out != 0][0]) if (out != 0).any() else math.inf


def tensor64(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# P_CONFUSION: the cause when the fraction of zeros is 1 - p_drop instead of p_drop.
P_CONFUSION = Text(
    "p_drop was used as the keep probability. Here p_drop is the probability of DROPPING "
    "(zeroing) a unit, as torch's p; the keep probability is p_keep = 1 − p_drop. The "
    "lecture's `p` is the keep probability: mask = rng.random(x.shape) < p_keep.",
    "把 p_drop 当成了保留概率。这里 p_drop 是*丢弃*（置零）一个单元的概率，与 torch 的 p 相同；"
    "保留概率 p_keep = 1 − p_drop。课件里的 `p` 是保留概率：mask = rng.random(x.shape) < p_keep。",
)
