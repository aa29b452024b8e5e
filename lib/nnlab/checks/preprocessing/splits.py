"""fit_transform_splits: every split standardized with the training split's statistics.

The splits' distributions deliberately differ, so statistics fitted on anything
but the training split (leakage, or each split its own) are recognised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from nnlab.checks.compare import FLOAT64, describe, expect_close, value_of
from nnlab.checks.preprocessing._common import (
    NOTEBOOK,
    call_recording,
    expect_untouched,
    nchw,
    nhwc,
    torch_normalize,
    torch_statistics,
)
from nnlab.checks.preprocessing._diagnosis import POPULATION, Mistake, diagnose, expect_shape
from nnlab.checks.preprocessing.inputs import make_splits
from nnlab.checks.spec import Params, Record, Spec, fail, register
from nnlab.i18n import Text


def _fitted(*splits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std (torch) of the splits taken together."""
    stats = torch_statistics(np.concatenate(splits))
    return stats["channel_mean"], stats["channel_std"]


_TRAIN_ONLY = Text("compute mean and std once, from X_train only, and standardize all three splits "
                   "with them.",
                   "只用 X_train 计算一次均值和标准差，再用它们标准化全部三个划分。")


def _splits_mistakes(splits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[Mistake]:
    def each(mean: np.ndarray, std: np.ndarray | None) -> tuple[np.ndarray, ...]:
        return tuple(torch_normalize(x, mean, std) for x in splits)

    t = nchw(splits[0])
    pixel_mean, pixel_std = t.mean(dim=0), torch.std(t, dim=0, correction=0)
    leak = Text(
        "statistics fitted on val/test let them leak into preprocessing, so they no longer measure "
        "performance on unseen data (a new image arrives alone: only the training statistics exist).",
        "在验证/测试集上计算统计量会让它们泄漏进预处理，它们就不再能衡量模型在未见数据上的表现"
        "（新图像是单独到来的：只有训练集的统计量可用）。")
    return [
        Mistake(Text("fits the statistics on all three splits together (leakage)",
                     "在三个划分合并后的数据上计算统计量（数据泄漏）"), leak,
                each(*_fitted(*splits)), _TRAIN_ONLY),
        Mistake(Text("fits the statistics on train and val together (leakage)",
                     "在训练集和验证集合并后的数据上计算统计量（数据泄漏）"), leak,
                each(*_fitted(splits[0], splits[1])), _TRAIN_ONLY),
        Mistake(Text("standardizes each split with its own statistics", "每个划分用了它自己的统计量"),
                Text("every split must go through the same transform as train. With their own statistics "
                     "all splits look centred, the model gets differently transformed inputs than it was "
                     "trained on, and a real shift between the splits is hidden.",
                     "每个划分都必须经过与训练集相同的变换。用各自的统计量时，每个划分看起来都已中心化，"
                     "模型得到的输入与训练时的变换不同，划分之间真实存在的分布偏移也被掩盖。"),
                tuple(torch_normalize(x, *_fitted(x)) for x in splits), _TRAIN_ONLY),
        Mistake(Text("uses the sample std (ddof=1)", "用了样本标准差（ddof=1）"), POPULATION,
                each(t.mean(dim=(0, 2, 3)).numpy(), torch.std(t, dim=(0, 2, 3), correction=1).numpy())),
        Mistake(Text("standardizes per pixel position (mean image, per-pixel std), not per channel",
                     "按像素位置（平均图像、逐像素标准差）做了标准化，而不是逐通道"),
                Text("this exercise uses the per-channel statistics, the most common choice today.",
                     "本练习使用逐通道统计量，这是当今最常用的做法。"),
                tuple(nhwc((nchw(x) - pixel_mean) / pixel_std) for x in splits),
                Text("use channel_mean(X_train) and channel_std(X_train).",
                     "使用 channel_mean(X_train) 和 channel_std(X_train)。")),
        Mistake(Text("only subtracts the mean", "只减去了均值"),
                Text("standardizing also divides by the training split's per-channel std.",
                     "标准化还要除以训练集的逐通道标准差。"),
                each(_fitted(splits[0])[0], None)),
    ]


def _splits_run(functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    return call_recording(functions["function"], *make_splits(p))


def _splits_judge(record: Record, p: Params) -> None:
    splits = make_splits(p)
    mean, std = _fitted(splits[0])
    expected = tuple(torch_normalize(x, mean, std) for x in splits)
    what = Text("fit_transform_splits")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        fail(
            what, Text("should return three arrays (train, val, test)", "应返回三个数组 (train, val, test)"),
            detail=Text(f"got {describe(value)}{length}", f"得到 {describe(value)}{length}"),
            next_step=Text("end with: return train, val, test", "最后写：return train, val, test"))
    diagnose(value, expected, lambda: _splits_mistakes(splits), what)
    for name, got, ref, x in zip(("train", "val", "test"), value, expected, splits):
        split_what = Text(f"fit_transform_splits: {name}", f"fit_transform_splits：{name}")
        expect_shape(got, ref.shape, x.shape, "standardize", split_what)
        expect_close({"value": got}, ref, what=split_what, tol=FLOAT64,
                     cause=Text("every split is (X - mean) / std with the per-channel mean and "
                                "population std of X_train.",
                                "每个划分都应为 (X - mean) / std，其中 mean 和 std 是 X_train 的逐通道均值与"
                                "总体标准差。"))
    expect_untouched(record, ["X_train", "X_val", "X_test"], "fit_transform_splits")


register(Spec(
    "fit_transform_splits", NOTEBOOK,
    Text("fit_transform_splits uses the training statistics for every split",
         "fit_transform_splits 对每个划分都使用训练集的统计量"),
    ("function",), _splits_run, _splits_judge,
    {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3), "n_val": 24, "n_test": 16},
    numpy_only=True,
))
