"""Naming the mistake behind a wrong result of a 02_preprocessing check.

A wrong shape is traced back to the reduction that produces it; a wrong value
is compared with what known mistakes (:class:`Mistake`) produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from nnlab.checks.compare import FLOAT64
from nnlab.checks.spec import fail
from nnlab.i18n import Text


def _axes_text(axes: tuple[int, ...] | None) -> str:
    if axes is None:
        return "None"
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _reduction_hint(x_shape: tuple[int, ...], got_shape: tuple[int, ...]) -> str | None:
    """``"np.mean(X, axis=(0, 1))"``-style description of a reduction giving ``got_shape``."""
    if got_shape == ():
        return "np.mean(X) (axis=None: one number for all values)"
    for r in range(1, len(x_shape)):
        for axes in combinations(range(len(x_shape)), r):
            kept = tuple(n for i, n in enumerate(x_shape) if i not in axes)
            kept_dims = tuple(1 if i in axes else n for i, n in enumerate(x_shape))
            if got_shape == kept:
                return f"np.mean(X, axis={_axes_text(axes)})"
            if got_shape == kept_dims:
                return f"np.mean(X, axis={_axes_text(axes)}, keepdims=True)"
    return None


REDUCES = {
    "mean_image": Text("the mean image averages over the N images only: axis=0, giving (H, W, C)",
                       "平均图像只对 N 张图像求平均：axis=0，结果为 (H, W, C)"),
    "channel_mean": Text("the per-channel mean averages over images, rows and columns: "
                         "axis=(0, 1, 2), giving (C,)",
                         "逐通道均值要对图像、行、列一起求平均：axis=(0, 1, 2)，结果为 (C,)"),
    "channel_std": Text("the per-channel std is over images, rows and columns together: "
                        "axis=(0, 1, 2), giving (C,)",
                        "逐通道标准差要对图像、行、列一起计算：axis=(0, 1, 2)，结果为 (C,)"),
}


def expect_shape(value: Any, expected_shape: tuple[int, ...], x_shape: tuple[int, ...],
                  function: str, what: Text) -> None:
    """A shape failure that says which reduction the student's shape comes from."""
    if not isinstance(value, np.ndarray) or value.shape == tuple(expected_shape):
        return  # other problems (type, values) are for expect_close
    hint = _reduction_hint(x_shape, value.shape)
    n, h, w, c = x_shape
    if function == "standardize" and value.shape == (n, c, h, w):
        cause = Text("the result is channel-first (N, C, H, W), torch's layout; the images here are "
                     "channels-last (N, H, W, C) and the result must keep X's layout.",
                     "结果是通道在前的 (N, C, H, W)（torch 的布局）；这里的图像是通道在后的 "
                     "(N, H, W, C)，结果必须与 X 的布局相同。")
    elif function == "standardize":
        cause = Text("standardize changes values, not the shape: (X - mean) / std broadcasts to X's shape.",
                     "standardize 只改变数值，不改变形状：(X - mean) / std 会广播成 X 的形状。")
    elif hint is not None:
        reduces = REDUCES[function]
        cause = Text(f"your result has the shape of {hint}; {reduces.en}.",
                     f"你的结果形状相当于 {hint}；{reduces.zh}。")
    else:
        cause = REDUCES[function] + Text(".", "。")
    fail(
        what, Text("has the wrong shape", "形状错误"),
        detail=Text(f"X has shape {x_shape}; expected {tuple(expected_shape)}, got {value.shape}",
                    f"X 的形状为 {x_shape}；应为 {tuple(expected_shape)}，得到 {value.shape}"),
        cause=cause,
        next_step=Text("print X.shape and your result's shape, and name each axis (N, H, W, C).",
                       "打印 X.shape 和结果的形状，写出每个维度的含义（N, H, W, C）。"),
    )


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong computation, recognised by the result it produces.

    Attributes:
        kind: what the student's function does, e.g. "divides before subtracting".
        cause: why that is wrong.
        result: the value the mistake produces on the check's inputs.
        next_step: one thing to do instead (default: compare with the text).
    """

    kind: Text
    cause: Text
    result: Any
    next_step: Text | None = None


_COMPARE = Text("compare your code with the formula in the text above the exercise.",
                "对照练习上方文字中的公式检查代码。")


def _is_close(value: Any, reference: Any) -> bool:
    if isinstance(reference, tuple):
        return (isinstance(value, (tuple, list)) and len(value) == len(reference)
                and all(_is_close(v, r) for v, r in zip(value, reference)))
    return (isinstance(value, np.ndarray) and value.shape == np.shape(reference)
            and value.dtype.kind == "f"
            and bool(np.allclose(value, reference, rtol=FLOAT64.rtol, atol=FLOAT64.atol)))


def diagnose(value: Any, expected: Any, mistakes: Callable[[], list[Mistake]], what: Text) -> None:
    """Name the mistake when a wrong result equals what a known mistake produces.

    ``mistakes`` is only called when ``value`` differs from ``expected``.
    """
    if _is_close(value, expected):
        return
    for mistake in mistakes():
        if _is_close(value, mistake.result):
            fail(what, mistake.kind, cause=mistake.cause,
                 next_step=mistake.next_step or _COMPARE)


POPULATION = Text(
    "this course uses the population std over all N·H·W values of a channel: divide by M, not "
    "M − 1 (np.std's default ddof=0; torch.std(..., correction=0), i.e. unbiased=False).",
    "本课程使用总体标准差：对每个通道的全部 N·H·W 个值，除以 M 而不是 M − 1（np.std 默认的 "
    "ddof=0；torch.std(..., correction=0)，即 unbiased=False）。",
)
