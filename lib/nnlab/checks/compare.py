"""Judging helpers: turn a recorded call and a torch reference into a verdict.

Every helper raises :class:`~nnlab.checks.spec.CheckFailed` with a message
that names the function, says what went wrong with numbers (shape, dtype,
counts, a statistic, where the differences are) but never prints the
reference array, and gives the likely cause and one next step.

Tolerances follow dtype and method: a float64 implementation of the same
formula as torch agrees to rounding, so :data:`FLOAT64` uses torch's own
float64 defaults for ``assert_close`` (rtol 1e-7, atol 1e-7); float32 work
uses :data:`FLOAT32` (rtol 1.3e-6, atol 1e-5). Random outputs are judged
statistically instead, by :mod:`nnlab.checks.statistics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nnlab.checks.codec import Foreign, TensorValue
from nnlab.checks.spec import Record, fail
from nnlab.i18n import Text


@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= atol + rtol * |expected|``, elementwise."""

    rtol: float
    atol: float


FLOAT64 = Tolerance(rtol=1e-7, atol=1e-7)
FLOAT32 = Tolerance(rtol=1.3e-6, atol=1e-5)


@dataclass(frozen=True)
class Region:
    """A named part of the input, used to say *where* results differ.

    Attributes:
        label: e.g. ``Text("where x < 0", "x < 0 处")``.
        mask: boolean array of the expected output's shape.
        cause: the likely cause when the differences sit in this region.
    """

    label: Text
    mask: np.ndarray
    cause: Text | None = None


NOT_IMPLEMENTED_NEXT = Text(
    "replace `raise NotImplementedError` with your implementation and run the cell again.",
    "把 `raise NotImplementedError` 换成你的实现，然后重新运行该单元格。",
)


def value_of(result: Record, what: Text, next_step: Text | None = None) -> Any:
    """The value a recorded call returned, or a failure saying what it raised."""
    error = result.get("error")
    if error is None:
        return result.get("value")
    kind, message, where = (list(error) + ["", "", ""])[:3]
    if kind == "NotImplementedError":
        fail(
            what,
            Text("not implemented yet", "尚未实现"),
            next_step=NOT_IMPLEMENTED_NEXT,
        )
    detail = Text(f"{kind}: {message}" + (f" at {where}" if where else ""),
                  f"{kind}：{message}" + (f"，位置 {where}" if where else ""))
    fail(
        what,
        Text(f"raised {kind}", f"抛出了 {kind}"),
        detail=detail,
        cause=Text("an error inside your function.", "函数内部出错。"),
        next_step=next_step
        or Text("call the function yourself on a small array and read the traceback.",
                "自己用一个小数组调用该函数，阅读报错信息。"),
    )


def describe(value: Any) -> str:
    """A value's type in words for a message (shape and dtype of an array, never its values)."""
    if isinstance(value, Foreign):
        return value.type_name
    if isinstance(value, TensorValue):
        return f"torch.Tensor {tuple(value.array.shape)}"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.shape} {value.dtype}"
    return type(value).__name__


def as_array(
    value: Any, what: Text, expected: np.ndarray, *, allow_scalar: bool = False
) -> np.ndarray:
    """Check that a returned value is a numpy array of the expected shape and dtype."""
    if isinstance(value, TensorValue):
        fail(
            what,
            Text("returned a torch.Tensor, expected a numpy array",
                 "返回了 torch.Tensor，应返回 numpy 数组"),
            cause=Text("the exercise is in numpy; torch is only the reference.",
                       "本练习使用 numpy，torch 只用来做参考答案。"),
            next_step=Text("compute with numpy operations (or return tensor.numpy()).",
                           "用 numpy 运算（或返回 tensor.numpy()）。"),
        )
    if allow_scalar and np.ndim(expected) == 0 and isinstance(value, (int, float, np.generic)):
        value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        fail(
            what,
            Text("returned the wrong type", "返回类型错误"),
            detail=Text(f"got {describe(value)}, expected a numpy array",
                        f"得到 {describe(value)}，应为 numpy 数组"),
            cause=Text("a missing or misplaced return statement.", "缺少 return 或返回了别的变量。"),
            next_step=Text("return the array your function computes.", "返回函数计算出的数组。"),
        )
    if value.shape != expected.shape:
        fail(
            what,
            Text("has the wrong shape", "形状错误"),
            detail=Text(f"expected {expected.shape}, got {value.shape}",
                        f"应为 {expected.shape}，得到 {value.shape}"),
            cause=Text("a reduction or broadcast over the wrong axis, or a transposed result.",
                       "在错误的维度上求和/广播，或结果被转置。"),
            next_step=Text("print the shape of each intermediate array.",
                           "打印每个中间数组的形状。"),
        )
    if value.dtype != expected.dtype:
        fail(
            what,
            Text("has the wrong dtype", "数据类型错误"),
            detail=Text(f"expected {expected.dtype}, got {value.dtype}",
                        f"应为 {expected.dtype}，得到 {value.dtype}"),
            cause=Text("a constant or array of another dtype (e.g. float32, int) mixed in.",
                       "混入了其他类型（如 float32 或整数）的常量或数组。"),
            next_step=Text("keep the input's dtype: build arrays with np.zeros_like / x.dtype.",
                           "保持输入的数据类型：用 np.zeros_like 或 x.dtype 创建数组。"),
        )
    return value


def expect_close(
    result: Record,
    expected: np.ndarray,
    *,
    what: Text,
    tol: Tolerance = FLOAT64,
    regions: Sequence[Region] = (),
    cause: Text | None = None,
    next_step: Text | None = None,
    allow_warnings: bool = False,
) -> np.ndarray:
    """Check one recorded call against a reference array.

    Args:
        result: a record from :func:`~nnlab.checks.spec.call`.
        expected: the torch reference, as a numpy array.
        what: the function and output, e.g. ``Text("relu_backward: dx")``.
        tol: elementwise tolerance.
        regions: named parts of the input for the "where" of a message.
        cause: the likely cause when values differ (a region's own cause wins).
        next_step: one thing to try when values differ.
        allow_warnings: accept numpy warnings (overflow, invalid value) during the call.

    Returns:
        The student's array (for further checks).
    """
    expected = np.asarray(expected)
    got = as_array(value_of(result, what), what, expected, allow_scalar=True)
    _expect_finite(got, expected, what, regions)
    _expect_values(got, expected, what, tol=tol, regions=regions, cause=cause, next_step=next_step)
    warned = result.get("warnings") or []
    if warned and not allow_warnings:
        fail(
            what,
            Text("is correct but numpy warned while computing it",
                 "结果正确，但计算时 numpy 发出了警告"),
            detail=Text("; ".join(warned), "；".join(warned)),
            cause=Text("an intermediate value overflowed or was invalid (e.g. exp of a large number).",
                       "中间结果溢出或无效（例如对很大的数求 exp）。"),
            next_step=Text("only evaluate each formula where it is numerically safe (np.where on "
                           "both branches still computes both: split the input instead).",
                           "只在数值安全的区域计算每个公式（np.where 仍会计算两个分支，应先拆分输入）。"),
        )
    return got


def _expect_finite(got: np.ndarray, expected: np.ndarray, what: Text, regions: Sequence[Region]) -> None:
    """Fail where the reference is finite and the student's value is not."""
    bad_finite = np.isfinite(expected) & ~np.isfinite(got)
    if bad_finite.any():
        where = _where(bad_finite, regions)
        fail(
            what,
            Text("contains NaN or infinity", "出现了 NaN 或无穷大"),
            detail=Text(f"{int(bad_finite.sum())} of {bad_finite.size} values{where.en}",
                        f"{bad_finite.size} 个值中有 {int(bad_finite.sum())} 个{where.zh}"),
            cause=Text("overflow, e.g. np.exp of a large number, or 0/0.",
                       "数值溢出（例如对很大的数求 np.exp）或 0/0。"),
            next_step=Text("rewrite the formula so no intermediate value overflows for large |x|.",
                           "改写公式，使 |x| 很大时中间结果也不会溢出。"),
        )


def _expect_values(got: np.ndarray, expected: np.ndarray, what: Text, *, tol: Tolerance,
                   regions: Sequence[Region], cause: Text | None, next_step: Text | None) -> None:
    """Fail where values differ beyond ``tol``: how many, where, the largest error, the means."""
    wrong = ~np.isclose(got, expected, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    if not wrong.any():
        return
    err = np.abs(np.where(wrong, got - expected, 0.0))
    where = _where(wrong, regions)
    stats = (
        f"expected mean {float(np.mean(expected)):.4g}, got mean {float(np.mean(got)):.4g}"
        if np.all(np.isfinite(expected)) and np.all(np.isfinite(got)) else ""
    )
    detail = Text(
        f"{int(wrong.sum())} of {wrong.size} values differ{where.en}; largest |error| "
        f"{float(err.max()):.3g} (tolerance {tol.atol:g} + {tol.rtol:g}·|expected|)"
        + (f"; {stats}" if stats else ""),
        f"{wrong.size} 个值中有 {int(wrong.sum())} 个不同{where.zh}；最大误差 "
        f"{float(err.max()):.3g}（容差 {tol.atol:g} + {tol.rtol:g}·|期望值|）"
        + (f"；{stats.replace('expected mean', '期望均值').replace('got mean', '实际均值')}"
           if stats else ""),
    )
    fail(
        what,
        Text("values differ from torch", "与 torch 的结果不一致"),
        detail=detail,
        cause=_region_cause(wrong, regions) or cause,
        next_step=next_step
        or Text("compare your formula with the one in the lesson, term by term.",
                "对照课上的公式逐项检查。"),
    )


def close_to(value: Any, expected: np.ndarray, *, what: Text, cause: Text | None = None,
             alternatives: tuple[tuple[np.ndarray, Text], ...] = (), tol: Tolerance = FLOAT64,
             next_step: Text | None = None) -> np.ndarray:
    """:func:`expect_close` on a value; a matching wrong ``alternative`` names its own cause.

    Args:
        value: what the student's function returned (or one part of it).
        alternatives: ``(array, cause)`` pairs: a typical wrong answer (e.g. the keep and
            drop probabilities swapped) and the cause to name when the value matches it.
    """
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


def tensor64(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    """``a`` as a float64 torch tensor: the dtype every reference is computed in."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _where(mask: np.ndarray, regions: Sequence[Region]) -> Text:
    """' where x < 0 (48 of 48)' for the region holding most of ``mask``, if any."""
    best = None
    total = int(mask.sum())
    for region in regions:
        inside = int((mask & np.broadcast_to(region.mask, mask.shape)).sum())
        if inside and (best is None or inside > best[1]):
            best = (region, inside)
    if best is None:
        return Text("", "")
    region, inside = best
    size = int(np.broadcast_to(region.mask, mask.shape).sum())
    share = "all" if inside == total else f"{inside} of these"
    return Text(
        f" — {share} {region.label.en} ({inside} of {size} positions there)",
        f"——{'全部' if inside == total else f'其中 {inside} 个'}位于{region.label.zh or region.label.en}"
        f"（该处共 {size} 个位置）",
    )


def _region_cause(mask: np.ndarray, regions: Sequence[Region]) -> Text | None:
    total = int(mask.sum())
    for region in regions:
        if region.cause is not None:
            inside = int((mask & np.broadcast_to(region.mask, mask.shape)).sum())
            if inside == total:
                return region.cause
    return None
