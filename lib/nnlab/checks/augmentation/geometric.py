"""horizontal_flip and random_crop: each output is recognised as the original, its mirror or a crop.

The flips and crop offsets found are then checked statistically: their fraction or
mean within 5 standard errors of its expectation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.augmentation._common import NOTEBOOK, Functions, per_image_equal, random_images, rng_for
from nnlab.checks.compare import as_array, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_fraction, expect_within
from nnlab.i18n import Text

# --------------------------------------------------------------------------- horizontal flip

def _flip_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], random_images(p), rng_for(p), p=p["p_flip"])


def _flip_judge(record: Record, p: Params) -> None:
    X = random_images(p)
    what = Text("horizontal_flip")
    out = as_array(value_of(record, what), what, X)
    Xt = torch.from_numpy(X)
    mirrored = torch.flip(Xt, dims=[2]).numpy()  # axis 2 is W in (N, H, W, C)
    same, flipped = per_image_equal(out, X), per_image_equal(out, mirrored)
    neither = ~(same | flipped)
    if neither.any():
        upside_down = per_image_equal(out[neither], torch.flip(Xt, dims=[1]).numpy()[neither])
        fail(what, Text("produced images that are neither the original nor its mirror image",
                        "输出的图像既不是原图也不是它的镜像"),
             detail=Text(f"{int(neither.sum())} of {len(X)} images",
                         f"{len(X)} 张中有 {int(neither.sum())} 张"),
             cause=Text("that is a vertical flip: a horizontal flip reverses the W axis (axis 2 of "
                        "(N, H, W, C)), i.e. X[i, :, ::-1, :].",
                        "这是上下翻转：水平翻转是把 W 轴（(N, H, W, C) 的第 2 轴）倒序，"
                        "即 X[i, :, ::-1, :]。")
             if upside_down.all() else
             Text("each image must be returned either unchanged or mirrored left–right "
                  "(X[i, :, ::-1, :]), nothing else.",
                  "每张图像要么原样返回，要么左右镜像（X[i, :, ::-1, :]），不能有其他变化。"))
    p_flip = p["p_flip"]
    count = int(flipped.sum())
    n = len(X)
    confused = abs(count / n - (1 - p_flip)) < 5 * math.sqrt(p_flip * (1 - p_flip) / n)
    expect_fraction(
        count, n, p_flip, what=what,
        statistic_name=Text(f"fraction of flipped images (p = {p_flip:g})",
                            f"被翻转图像的比例（p = {p_flip:g}）"),
        cause=Text("p is the probability of FLIPPING an image (as in torchvision's RandomHorizontalFlip)."
                   if confused else
                   "flip each image independently with probability p: one coin per image, not one "
                   "for the whole batch.",
                   "p 是*翻转*一张图像的概率（与 torchvision 的 RandomHorizontalFlip 相同）。"
                   if confused else "每张图像独立地以概率 p 翻转：每张图抛一次硬币，而不是整批抛一次。"),
        next_step=Text("flip = rng.random(N) < p; out[flip] = X[flip, :, ::-1, :]",
                       "flip = rng.random(N) < p；out[flip] = X[flip, :, ::-1, :]"))


register(Spec(
    "horizontal_flip", NOTEBOOK,
    Text("horizontal_flip mirrors images (torch.flip) with probability p",
         "horizontal_flip 以概率 p 镜像图像（与 torch.flip 一致）"),
    ("function",), _flip_run, _flip_judge,
    {"seed": 0, "N": 400, "H": 5, "W": 6, "C": 3, "p_flip": 0.3},
    numpy_only=True,
))


# --------------------------------------------------------------------------- random crop

def _crop_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], random_images(p), p["size"], p["padding"], rng_for(p))


def _crop_judge(record: Record, p: Params) -> None:
    X = random_images(p)
    size, padding = p["size"], p["padding"]
    what = Text("random_crop")
    n, h, w, c = X.shape
    expected_shape = np.empty((n, size, size, c), dtype=X.dtype)
    out = as_array(value_of(record, what), what, expected_shape)
    # zero padding of H and W only, with torch
    padded = F.pad(torch.from_numpy(X).permute(0, 3, 1, 2), (padding,) * 4).permute(0, 2, 3, 1).numpy()
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(1, 2))
    # windows: (N, rows, cols, C, size, size); compare with out as (N, 1, 1, C, size, size)
    match = np.all(windows == out.transpose(0, 3, 1, 2)[:, None, None], axis=(3, 4, 5))
    found = match.reshape(n, -1).any(axis=1)
    if not found.all():
        fail(what, Text("produced images that are not a crop of the zero-padded image",
                        "输出的图像不是补零后图像的裁剪"),
             detail=Text(f"{int((~found).sum())} of {n} outputs match no {size}×{size} window of the image "
                         f"padded with {padding} zeros on each side",
                         f"{n} 张中有 {int((~found).sum())} 张与四周各补 {padding} 个零的图像中任何 "
                         f"{size}×{size} 窗口都不一致"),
             cause=Text("pad H and W (not N or C) with zeros — np.pad(X, ((0, 0), (padding, padding), "
                        "(padding, padding), (0, 0))) — then cut a size×size window at a random "
                        "(top, left).",
                        "只在 H 和 W 上补零（不是 N 或 C）：np.pad(X, ((0, 0), (padding, padding), "
                        "(padding, padding), (0, 0)))，再在随机 (top, left) 处切出 size×size 的窗口。"))
    rows, cols = match.shape[1], match.shape[2]
    first = match.reshape(n, -1).argmax(axis=1)
    offsets = {"top": first // cols, "left": first % cols}
    for name, values, count in (("top", offsets["top"], rows), ("left", offsets["left"], cols)):
        if values.min() != 0 or values.max() != count - 1:
            fail(what, Text(f"never uses some {name} offsets", f"有些 {name} 偏移从未出现"),
                 detail=Text(f"{name} offsets seen: {values.min()}..{values.max()}, "
                             f"possible: 0..{count - 1}",
                             f"出现的 {name} 偏移：{values.min()}..{values.max()}，"
                             f"可能的范围：0..{count - 1}"),
                 cause=Text("draw each image's offset uniformly from 0 to H + 2·padding − size inclusive "
                            "(rng.integers(0, H + 2*padding - size + 1)), per image.",
                            "每张图像的偏移应在 0 到 H + 2·padding − size（含）之间均匀抽取"
                            "（rng.integers(0, H + 2*padding - size + 1)），每张图单独抽取。"))
        expect_within(float(values.mean()), (count - 1) / 2,
                      stderr=math.sqrt((count**2 - 1) / 12 / n), what=what,
                      statistic_name=Text(f"mean {name} offset", f"{name} 偏移的均值"),
                      cause=Text("offsets should be uniform over their range, independently per image.",
                                 "偏移应在取值范围内均匀分布，且每张图像独立。"))


register(Spec(
    "random_crop", NOTEBOOK,
    Text("random_crop cuts a window of the zero-padded image (torch pad), offsets uniform",
         "random_crop 从补零后的图像中裁剪窗口（torch pad），偏移均匀分布"),
    ("function",), _crop_run, _crop_judge,
    {"seed": 0, "N": 400, "H": 8, "W": 8, "C": 3, "size": 8, "padding": 2},
    numpy_only=True,
))
