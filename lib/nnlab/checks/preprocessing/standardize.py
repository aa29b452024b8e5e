"""standardize: torchvision-style ``Normalize`` on channels-last images, with the usual mistakes named."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from nnlab.checks.compare import FLOAT64, expect_close, value_of
from nnlab.checks.preprocessing._common import (
    NOTEBOOK,
    call_recording,
    expect_untouched,
    nchw,
    nhwc,
    torch_normalize,
)
from nnlab.checks.preprocessing._diagnosis import Mistake, diagnose, expect_shape
from nnlab.checks.preprocessing.inputs import make_images, make_statistics
from nnlab.checks.spec import Params, Record, Spec, fail, register
from nnlab.i18n import Text


def _standardize_run(functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    mean, std = make_statistics(p)
    return call_recording(functions["function"], make_images(p), mean, std)


_WRONG_AXIS = Text(
    "a (C,) vector already lines up with the last (channel) axis of (N, H, W, C). Reshaping it to "
    "(C, 1, 1) — the layout torchvision's Normalize uses for channel-first (C, H, W) tensors — puts "
    "it on the wrong axis (numpy even broadcasts silently when the sizes happen to match).",
    "(C,) 向量本来就与 (N, H, W, C) 的最后一维（通道）对齐。把它 reshape 成 (C, 1, 1)"
    "（torchvision 的 Normalize 对通道在前的 (C, H, W) 张量的写法）会把它放到错误的维度上"
    "（尺寸恰好相同时 numpy 甚至会悄悄地广播，不报错）。",
)
_NO_RESHAPE = Text("use the statistics as they are: X - mean (no reshape).",
                   "直接使用统计量：X - mean（不要 reshape）。")


def _fail_on_known_error(record: Record, p: Params) -> None:
    """A specific message for the errors standardize typically raises (other errors: no failure here)."""
    error = record.get("error")
    if error is None:
        return
    kind, message = (list(error) + ["", ""])[:2]
    message = str(message)
    what = Text("standardize")
    detail = Text(f"{kind}: {message}", f"{kind}：{message}")
    if "NoneType" in message:
        fail(
            what, Text("fails when std is None", "std 为 None 时出错"), detail=detail,
            cause=Text("std=None means subtract only: divide by std only when std is not None.",
                       "std=None 表示只减均值：仅当 std is not None 时才除以 std。"),
            next_step=Text("put the division under `if std is not None:`.",
                           "把除法放在 `if std is not None:` 之下。"))
    if "truth value" in message:
        fail(
            what, Text("tests an array for truth", "对数组做了真值判断"), detail=detail,
            cause=Text("`if std:` is ambiguous for an array.", "对数组写 `if std:` 含义不明确。"),
            next_step=Text("write `if std is not None:`.", "改写为 `if std is not None:`。"))
    if "broadcast" in message:
        cause = _WRONG_AXIS if p["mode"] != "image" else Text(
            "standardize must also accept a mean image (H, W, C): it broadcasts against (N, H, W, C) "
            "as it is, just like a (C,) vector.",
            "standardize 也必须接受平均图像 (H, W, C)：它和 (C,) 向量一样可以直接与 (N, H, W, C) 广播。")
        fail(what, Text("could not broadcast the statistics against X", "统计量无法与 X 广播"),
             detail=detail, cause=cause, next_step=_NO_RESHAPE)


def _standardize_mistakes(X: np.ndarray, mean: np.ndarray, std: np.ndarray | None) -> list[Mistake]:
    t, m = nchw(X), torch.from_numpy(mean)
    m = m.permute(2, 0, 1) if m.ndim == 3 else m[:, None, None]
    mistakes: list[Mistake] = []
    if std is not None:
        s = torch.from_numpy(std)[:, None, None]
        mistakes += [
            Mistake(Text("divides before subtracting", "先除后减"),
                    Text("X / std - mean is not (X - mean) / std.",
                         "X / std - mean 不等于 (X - mean) / std。"),
                    nhwc(t / s - m),
                    Text("subtract the mean first, then divide by std.", "先减均值，再除以标准差。")),
            Mistake(Text("ignores std", "忽略了 std"),
                    Text("when std is given, the centred data is divided by it.",
                         "给出 std 时，要用它去除中心化后的数据。"),
                    nhwc(t - m)),
            Mistake(Text("multiplies by std instead of dividing", "乘以了 std 而不是除以它"),
                    Text("standardizing divides by the std so that each channel ends with spread 1.",
                         "标准化要除以标准差，使每个通道的离散程度变为 1。"),
                    nhwc((t - m) * s)),
            Mistake(Text("does not subtract the mean", "没有减去均值"),
                    Text("standardizing is (X - mean) / std.", "标准化是 (X - mean) / std。"),
                    nhwc(t / s)),
        ]
    own = t.mean(dim=0, keepdim=True) if mean.ndim == 3 else t.mean(dim=(0, 2, 3), keepdim=True)
    recomputed = t - own
    if std is not None:
        recomputed = recomputed / torch.std(t, dim=(0, 2, 3), correction=0, keepdim=True)
    mistakes.append(Mistake(
        Text("uses statistics computed from X, not the ones passed in",
             "使用了从 X 重新计算的统计量，而不是传入的参数"),
        Text("standardize applies the statistics it is given (usually the training split's) to any X.",
             "standardize 用传入的统计量（通常来自训练集）去处理任意 X。"),
        nhwc(recomputed),
        Text("use the arguments mean and std; do not compute new statistics inside.",
             "使用参数 mean 和 std，不要在函数内重新计算统计量。")))
    n, h, w, c = X.shape
    for axis, size, name in ((1, h, "H, rows"), (2, w, "W, columns")):
        if mean.ndim != 1 or size != c:
            continue
        shape = [1, 1, 1, 1]
        shape[axis] = c
        wrong = X - mean.reshape(shape)
        if std is not None:
            wrong = wrong / std.reshape(shape)
        mistakes.append(Mistake(
            Text(f"applies the per-channel statistics along axis {axis} ({name})",
                 f"把逐通道统计量用在了第 {axis} 维（{name}）上"),
            _WRONG_AXIS, wrong, _NO_RESHAPE))
    return mistakes


_FORMS = {"image": "X - mean_image", "channel": "X - mean", "channel_std": "(X - mean) / std"}


def _standardize_judge(record: Record, p: Params) -> None:
    X = make_images(p)
    mean, std = make_statistics(p)
    expected = torch_normalize(X, mean, std)
    what = Text("standardize")
    _fail_on_known_error(record, p)
    value = value_of(record, what)
    expect_shape(value, expected.shape, X.shape, "standardize", what)
    diagnose(value, expected, lambda: _standardize_mistakes(X, mean, std), what)
    form = _FORMS[p["mode"]]
    expect_close(record, expected, what=what, tol=FLOAT64,
                 cause=Text(f"with these arguments the result is {form}, broadcast over (N, H, W, C).",
                            f"对这组参数，结果应为 {form}，并在 (N, H, W, C) 上广播。"))
    expect_untouched(record, ["X", "mean", "std"], "standardize")


register(Spec(
    "standardize", NOTEBOOK,
    Text("standardize matches torchvision-style Normalize", "standardize 与 torchvision 式的 Normalize 一致"),
    ("function",), _standardize_run, _standardize_judge,
    {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3), "mode": "channel_std"},
    numpy_only=True,
))
