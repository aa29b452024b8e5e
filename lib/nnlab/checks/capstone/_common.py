"""Helpers shared by the checks of 06_putting_it_together.

The ``run`` steps here drive student *modules* (classes), not plain functions, so a
whole scenario (construct, train a few steps, switch to eval) runs as one recorded call
through :func:`probe`: the record holds only numpy arrays, numbers, strings and lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnlab.checks.compare import value_of
from nnlab.checks.spec import Record, call, fail
from nnlab.i18n import Text

NOTEBOOK = "06_putting_it_together"

Functions = Mapping[str, Callable[..., Any]]



def probe(scenario: Callable[[], Record]) -> Record:
    """Run a scenario that calls student code; ``{"value": ...}`` or ``{"error": ...}``.

    The scenario may seed torch: it runs inside ``fork_rng``, so the student's own random
    state is the same afterwards.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        return call(scenario)


def numpy_of(value: Any) -> Any:
    """A tensor's values as a float64 numpy array (anything else: its type name)."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().to(dtype=torch.float64).cpu().numpy().copy()
    except Exception:  # an exotic tensor subclass: report its type
        pass
    return f"<{type(value).__name__}>"


def scenario_value(record: Record, what: Text) -> dict[str, Any]:
    """The dict a scenario returned, or the failure its error explains."""
    value = value_of(record, what)
    if not isinstance(value, dict):
        fail(what, Text("could not be run", "无法运行"),
             detail=Text(f"got {type(value).__name__}", f"得到 {type(value).__name__}"))
    return value


def array_close(got: Any, expected: np.ndarray, *, what: Text, cause: Text,
                rtol: float = 1e-7, atol: float = 1e-7, next_step: Text | None = None) -> None:
    """``got`` (a recorded array) equals ``expected`` within tolerance, else a failure.

    The default tolerance is torch's float64 ``assert_close`` one: the module runs in
    float64 (``.double()``) and computes what torch computes.
    """
    if isinstance(got, str):
        fail(what, Text("is not a tensor", "不是张量"),
             detail=Text(f"got {got}", f"得到 {got}"), cause=cause, next_step=next_step)
    if got is None:
        fail(what, Text("is missing", "缺失"), cause=cause, next_step=next_step)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        fail(what, Text("has the wrong shape", "形状错误"),
             detail=Text(f"expected {expected.shape}, got {got.shape}",
                         f"应为 {expected.shape}，得到 {got.shape}"), cause=cause, next_step=next_step)
    bad = ~(np.abs(got - expected) <= atol + rtol * np.abs(expected))
    if bad.any():
        worst = float(np.nanmax(np.where(bad, np.abs(got - expected), 0.0))) if np.isfinite(got).all() \
            else float("nan")
        fail(what, Text("differs from torch", "与 torch 不一致"),
             detail=Text(f"{int(bad.sum())} of {bad.size} values differ, largest difference {worst:.3g}",
                         f"{bad.size} 个值中有 {int(bad.sum())} 个不同，最大差 {worst:.3g}"),
             cause=cause, next_step=next_step)
