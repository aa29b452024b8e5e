"""mean_image, channel_mean and channel_std: dataset statistics against torch.

The standard deviation is the *population* standard deviation over all
``N·H·W`` values of a channel (numpy's default ``ddof=0``, torch's
``correction=0``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import torch

from nnlab.checks.compare import FLOAT64, expect_close, value_of
from nnlab.checks.preprocessing._common import (
    NOTEBOOK,
    call_recording,
    expect_untouched,
    nchw,
    torch_statistics,
)
from nnlab.checks.preprocessing._diagnosis import POPULATION, REDUCES, Mistake, diagnose, expect_shape
from nnlab.checks.preprocessing.inputs import make_images
from nnlab.checks.spec import Params, Record, Spec, register
from nnlab.i18n import Text


def _std_mistakes(X: np.ndarray) -> list[Mistake]:
    t = nchw(X)
    over_all = Text("compute one std over axis=(0, 1, 2) of X.",
                    "在 X 的 axis=(0, 1, 2) 上一次性计算标准差。")
    return [
        Mistake(Text("uses the sample std (ddof=1)", "用了样本标准差（ddof=1）"), POPULATION,
                torch.std(t, dim=(0, 2, 3), correction=1).numpy(),
                Text("use np.std(..., ddof=0), numpy's default.",
                     "使用 np.std(..., ddof=0)（numpy 的默认值）。")),
        Mistake(Text("returns the variance, not the standard deviation", "返回的是方差，不是标准差"),
                Text("the std is the square root of the mean squared deviation.",
                     "标准差是离差平方均值的平方根。"),
                torch.var(t, dim=(0, 2, 3), correction=0).numpy(),
                Text("take the square root (or use np.std).", "开平方（或直接用 np.std）。")),
        Mistake(Text("averages the stds of single images", "对每张图像的标准差求了平均"),
                Text("the std of each image misses how much images differ from one another; the "
                     "channel's std is over all its N·H·W values at once.",
                     "单张图像的标准差忽略了图像之间的差异；通道的标准差要对它的全部 N·H·W 个值一次性计算。"),
                torch.std(t, dim=(2, 3), correction=0).mean(dim=0).numpy(), over_all),
        Mistake(Text("averages the stds of single pixel positions", "对每个像素位置的标准差求了平均"),
                Text("np.std(X, axis=0) is the spread at each position across images; it misses how "
                     "positions differ from one another.",
                     "np.std(X, axis=0) 只是每个位置在图像之间的离散程度，忽略了位置之间的差异。"),
                torch.std(t, dim=0, correction=0).mean(dim=(1, 2)).numpy(), over_all),
    ]


_STAT_TITLES = {
    "mean_image": Text("mean_image matches torch (mean over the N images, (H, W, C))",
                       "mean_image 与 torch 一致（对 N 张图像求平均，(H, W, C)）"),
    "channel_mean": Text("channel_mean matches torch (mean per channel, (C,))",
                         "channel_mean 与 torch 一致（逐通道均值，(C,)）"),
    "channel_std": Text("channel_std matches torch (population std per channel, (C,))",
                        "channel_std 与 torch 一致（逐通道总体标准差，(C,)）"),
}


def _statistic_run(function: str, functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    return call_recording(functions["function"], make_images(p))


def _statistic_judge(function: str, record: Record, p: Params) -> None:
    X = make_images(p)
    expected = torch_statistics(X)[function]
    what = Text(function)
    value = value_of(record, what)
    expect_shape(value, expected.shape, X.shape, function, what)
    if function == "channel_std":
        diagnose(value, expected, lambda: _std_mistakes(X), what)
    expect_close(record, expected, what=what, tol=FLOAT64,
                 cause=REDUCES[function] + Text(".", "。"))
    expect_untouched(record, ["X"], function)


_STAT_DEFAULTS = {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3)}

for _function in ("mean_image", "channel_mean", "channel_std"):
    register(Spec(_function, NOTEBOOK, _STAT_TITLES[_function], ("function",),
                  partial(_statistic_run, _function), partial(_statistic_judge, _function),
                  dict(_STAT_DEFAULTS), numpy_only=True))
