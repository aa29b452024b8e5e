"""Checks for the data augmentation exercises of 04_regularization.

Images are ``(N, H, W, C)`` float arrays. Your augmentation draws its own
random numbers, so a check cannot predict the output image by image.
Instead it finds, for every output image, *which* allowed transformation
produced it (flipped or not, which crop window, which jitter factor, where
the Cutout square is, which partner and λ Mixup used), verifies that
transformation exactly with torch ops, and then checks the distribution of
the recovered choices statistically: within 5 standard errors of its
expectation, with a fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import Tolerance, as_array, value_of
from nnlab.checks.regularization import close_to, fail, fraction_within, unpack, within
from nnlab.checks.spec import Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "04_regularization"
Functions = Mapping[str, Callable[..., Any]]

# float32 images: the recovered factor carries ~1e-7 relative error into the reconstruction.
FLOAT32_RECOVERED = Tolerance(rtol=1e-5, atol=1e-5)


def _images(p: Params, low: float = 0.1, high: float = 1.0, offset: int = 0) -> np.ndarray:
    """Random ``(N, H, W, C)`` images in ``[low, high]`` (no exact zeros), dtype ``p["dtype"]``."""
    rng = np.random.default_rng(p["seed"] + offset)
    shape = (p["N"], p["H"], p["W"], p["C"])
    return rng.uniform(low, high, size=shape).astype(p.get("dtype", "float32"))


def _rng(p: Params, offset: int = 1) -> np.random.Generator:
    return np.random.default_rng(p["seed"] + offset)


def _per_image_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.all(a.reshape(len(a), -1) == b.reshape(len(b), -1), axis=1)


# --------------------------------------------------------------------------- horizontal flip

def _flip_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], _images(p), _rng(p), p=p["p_flip"])


def _flip_judge(record: Record, p: Params) -> None:
    X = _images(p)
    what = Text("horizontal_flip")
    out = as_array(value_of(record, what), what, X)
    Xt = torch.from_numpy(X)
    mirrored = torch.flip(Xt, dims=[2]).numpy()  # axis 2 is W in (N, H, W, C)
    same, flipped = _per_image_equal(out, X), _per_image_equal(out, mirrored)
    neither = ~(same | flipped)
    if neither.any():
        upside_down = _per_image_equal(out[neither], torch.flip(Xt, dims=[1]).numpy()[neither])
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
    fraction_within(
        count, n, p_flip, what=what,
        name=Text(f"fraction of flipped images (p = {p_flip:g})", f"被翻转图像的比例（p = {p_flip:g}）"),
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
))


# --------------------------------------------------------------------------- random crop

def _crop_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], _images(p), p["size"], p["padding"], _rng(p))


def _crop_judge(record: Record, p: Params) -> None:
    X = _images(p)
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
        within(float(values.mean()), (count - 1) / 2, math.sqrt((count**2 - 1) / 12 / n), what=what,
               name=Text(f"mean {name} offset", f"{name} 偏移的均值"),
               cause=Text("offsets should be uniform over their range, independently per image.",
                          "偏移应在取值范围内均匀分布，且每张图像独立。"))


register(Spec(
    "random_crop", NOTEBOOK,
    Text("random_crop cuts a window of the zero-padded image (torch pad), offsets uniform",
         "random_crop 从补零后的图像中裁剪窗口（torch pad），偏移均匀分布"),
    ("function",), _crop_run, _crop_judge,
    {"seed": 0, "N": 400, "H": 8, "W": 8, "C": 3, "size": 8, "padding": 2},
))


# --------------------------------------------------------------------------- color jitter

_GRAY = (0.299, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights (ITU-R 601-2 luma)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, 1)`` grayscale of ``(N, H, W, 3)`` images, as torchvision's rgb_to_grayscale."""
    return (x * torch.tensor(_GRAY, dtype=x.dtype)).sum(dim=-1, keepdim=True)


def _blend(img1: torch.Tensor, img2: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """torchvision's ``_blend`` for float images: ratio·img1 + (1 − ratio)·img2, clamped to [0, 1]."""
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0.0, 1.0)


#: run name -> which of (brightness, contrast, saturation) it switches on
_JITTER_RUNS = {
    "brightness": (1, 0, 0),
    "contrast": (0, 1, 0),
    "saturation": (0, 0, 1),
    "all three": (1, 1, 1),
}
_COMBINED_MAX = 0.5  # the combined run caps each strength, so its images can stay unclamped


def _unclamped_band(strengths: tuple[float, float, float]) -> float:
    """Half-width d such that images in [0.5 − d, 0.5 + d] are never clamped by any factors.

    After brightness f₁ the values lie in f₁·[0.5 − d, 0.5 + d]; contrast f₂ keeps them within
    2d·f₁f₂ of their mean, saturation f₃ within a further 4d·f₁f₂f₃ (grayscale is a convex
    combination of the channels), so they stay in [0, 1] when f₁(0.5 + d·k) ≤ 1 and
    0.5 − d·k ≥ 0 with k = 1 + 2f₂ + 4f₂f₃ at the largest factors.
    """
    b, c, s = (1 + v for v in strengths)
    k = 1 + 2 * c + 4 * c * s
    return 0.9 * min((1 / b - 0.5) / k, 0.5 / k)


def _jitter_inputs(p: Params, run: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    on = _JITTER_RUNS[run]
    strengths = tuple(float(k * p[name]) for k, name in zip(on, ("brightness", "contrast", "saturation")))
    offset = list(_JITTER_RUNS).index(run)
    if run != "all three":  # full range: clamping happens and is checked
        return _images({**p, "C": 3}, 0.02, 0.98, offset=offset), strengths
    strengths = tuple(min(v, _COMBINED_MAX) for v in strengths)
    band = _unclamped_band(strengths)  # mid-range: the three steps are linear (no clamping)
    return _images({**p, "C": 3}, 0.5 - band, 0.5 + band, offset=offset), strengths


def _jitter_run(functions: Functions, p: Params) -> Record:
    record = {}
    for index, run in enumerate(_JITTER_RUNS):
        X, strengths = _jitter_inputs(p, run)
        record[run] = call(functions["function"], X, *strengths, _rng(p, 10 + index))
    return record


def _factor_range(strength: float) -> tuple[float, float]:
    return max(0.0, 1.0 - strength), 1.0 + strength


def _range_detail(factors: np.ndarray, low: float, high: float) -> Text:
    lo, hi = float(factors.min()), float(factors.max())
    return Text(f"factors from {lo:.3g} to {hi:.3g}, allowed [{low:.3g}, {high:.3g}]",
                f"因子从 {lo:.3g} 到 {hi:.3g}，允许范围 [{low:.3g}, {high:.3g}]")


def _check_factors(factors: np.ndarray, strength: float, name: str, what: Text) -> None:
    low, high = _factor_range(strength)
    rule = Text(f"torchvision's ColorJitter draws the {name} factor uniformly from "
                f"[max(0, 1 − {name}), 1 + {name}], one per image.",
                f"torchvision 的 ColorJitter 对每张图像从 [max(0, 1 − {name}), 1 + {name}] 中均匀抽取 "
                f"{name} 因子。")
    if factors.min() < low - 1e-3 or factors.max() > high + 1e-3:
        fail(what, Text(f"uses {name} factors outside the allowed range", f"{name} 因子超出允许范围"),
             detail=_range_detail(factors, low, high),
             cause=rule)
    width, n = high - low, len(factors)
    within(float(factors.mean()), (low + high) / 2, width / math.sqrt(12 * n), what=what,
           name=Text(f"mean {name} factor", f"{name} 因子的均值"), cause=rule)
    within(float(factors.var()), width**2 / 12, width**2 / math.sqrt(180 * n), what=what,
           name=Text(f"variance of the {name} factors", f"{name} 因子的方差"), cause=rule)


def _least_squares_factor(y: torch.Tensor, x: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Per image, the f with y ≈ base + f·(x − base) on pixels that were not clamped."""
    free = ((y > 1e-6) & (y < 1 - 1e-6)).to(y.dtype)
    d = (x - base) * free
    return (d * (y - base)).sum(dim=(1, 2, 3)) / (d * d).sum(dim=(1, 2, 3)).clamp_min(1e-12)


_SINGLE_CAUSE = {
    "brightness": Text("brightness multiplies the whole image by one factor f: clamp(f·x, 0, 1) "
                       "(torchvision adjust_brightness).",
                       "亮度把整张图像乘以一个因子 f：clamp(f·x, 0, 1)（torchvision adjust_brightness）。"),
    "contrast": Text("contrast blends the image with the mean of its grayscale version "
                     "(one number per image, gray = 0.299 R + 0.587 G + 0.114 B): "
                     "clamp(f·x + (1 − f)·mean(gray), 0, 1) (torchvision adjust_contrast).",
                     "对比度把图像与其灰度图的均值（每张图一个数，gray = 0.299 R + 0.587 G + 0.114 B）混合："
                     "clamp(f·x + (1 − f)·mean(gray), 0, 1)（torchvision adjust_contrast）。"),
    "saturation": Text("saturation blends each pixel with its grayscale value "
                       "gray = 0.299 R + 0.587 G + 0.114 B (not the plain channel mean): "
                       "clamp(f·x + (1 − f)·gray, 0, 1) (torchvision adjust_saturation).",
                       "饱和度把每个像素与其灰度值 gray = 0.299 R + 0.587 G + 0.114 B（不是通道平均）混合："
                       "clamp(f·x + (1 − f)·gray, 0, 1)（torchvision adjust_saturation）。"),
}


def _judge_single(run: str, out: np.ndarray, X: np.ndarray, strength: float) -> None:
    what = Text(f"color_jitter ({run} only)", f"color_jitter（仅 {run}）")
    x, y = torch.from_numpy(X).double(), torch.from_numpy(out).double()
    if run == "brightness":
        base = torch.zeros_like(x)
    elif run == "contrast":
        base = _gray(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    else:
        base = _gray(x).expand_as(x)
    factors = _least_squares_factor(y, x, base)
    expected = _blend(x, base, factors[:, None, None, None]).numpy()
    if (out > 1 + 1e-6).any() or (out < -1e-6).any():
        fail(what, Text("has values outside [0, 1]", "有超出 [0, 1] 的值"),
             detail=Text(f"min {out.min():.3g}, max {out.max():.3g}",
                         f"最小 {out.min():.3g}，最大 {out.max():.3g}"),
             cause=Text("clamp to [0, 1] after each adjustment, as torchvision does for float images.",
                        "每一步调整之后都要裁剪到 [0, 1]，与 torchvision 对浮点图像的处理相同。"))
    close_to(out.astype(np.float64), expected, what=what, tol=FLOAT32_RECOVERED,
             cause=_SINGLE_CAUSE[run] + Text(" Each output must be that blend for some factor f of its own.",
                                             " 每张输出图像都应是某个（它自己的）因子 f 下的这种混合。"))
    _check_factors(factors.numpy(), strength, run, what)


def _judge_combined(out: np.ndarray, X: np.ndarray, strengths: tuple[float, float, float]) -> None:
    what = Text("color_jitter (all three)", "color_jitter（三者同时）")
    x, y = torch.from_numpy(X).double(), torch.from_numpy(out).double()
    n = len(X)
    # unclamped, brightness∘contrast∘saturation = a·x + b·gray + c·mean(gray), in any order
    basis = torch.stack([x, _gray(x).expand_as(x),
                         _gray(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x)], dim=-1).reshape(n, -1, 3)
    coef = torch.linalg.lstsq(basis, y.reshape(n, -1, 1)).solution[..., 0]  # (N, 3)
    expected = (basis @ coef[..., None]).reshape(x.shape).numpy()
    close_to(out.astype(np.float64), expected, what=what, tol=FLOAT32_RECOVERED,
             cause=Text("apply brightness, then contrast, then saturation, each with its own factor "
                        "per image, to the same image.",
                        "对同一张图像依次做亮度、对比度、饱和度调整，每张图像各自抽取因子。"))
    a, b, c = coef.T.numpy()
    f_brightness = a + b + c
    f_contrast = (a + b) / f_brightness
    f_saturation = a / np.where(a + b == 0, 1, a + b)
    for factors, strength, name in zip((f_brightness, f_contrast, f_saturation), strengths,
                                       ("brightness", "contrast", "saturation")):
        low, high = _factor_range(strength)
        if factors.min() < low - 1e-3 or factors.max() > high + 1e-3:
            fail(what, Text(f"uses {name} factors outside the allowed range", f"{name} 因子超出允许范围"),
                 detail=_range_detail(factors, low, high),
                 cause=Text("each of the three factors is drawn from its own range "
                            "[max(0, 1 − strength), 1 + strength]; apply each adjustment once.",
                            "三个因子各自从 [max(0, 1 − strength), 1 + strength] 抽取；每种调整只做一次。"))


def _jitter_judge(record: Record, p: Params) -> None:
    for run in _JITTER_RUNS:
        X, strengths = _jitter_inputs(p, run)
        what = Text(f"color_jitter ({run})")
        out = as_array(value_of(record[run], what), what, X)
        if run == "all three":
            _judge_combined(out, X, strengths)
        else:
            _judge_single(run, out, X, max(strengths))


register(Spec(
    "color_jitter", NOTEBOOK,
    Text("color_jitter follows torchvision's brightness/contrast/saturation blends",
         "color_jitter 与 torchvision 的亮度/对比度/饱和度混合公式一致"),
    ("function",), _jitter_run, _jitter_judge,
    {"seed": 0, "N": 300, "H": 6, "W": 6, "brightness": 0.4, "contrast": 0.4, "saturation": 0.4},
))


# --------------------------------------------------------------------------- cutout

def _cutout_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], _images(p), p["size"], _rng(p))


def _cutout_judge(record: Record, p: Params) -> None:
    X = _images(p)
    size = p["size"]
    what = Text("cutout")
    out = as_array(value_of(record, what), what, X)
    n, h, w, _ = X.shape
    changed = np.any(out != X, axis=-1)  # (N, H, W); X has no zeros
    not_zero = changed & np.any(out != 0, axis=-1)
    if not_zero.any():
        fail(what, Text("changed pixels without setting them to 0", "改变了像素却没有置为 0"),
             detail=Text(f"{int(not_zero.sum())} pixels in {int(not_zero.any(axis=(1, 2)).sum())} images",
                         f"{int(not_zero.any(axis=(1, 2)).sum())} 张图像中的 {int(not_zero.sum())} 个像素"),
             cause=Text("Cutout sets every channel of the square to 0 and leaves all other pixels "
                        "unchanged.",
                        "Cutout 把方块内所有通道置为 0，其他像素保持不变。"))
    clipped = np.zeros(n, dtype=bool)
    for i in range(n):
        rows, cols = np.flatnonzero(changed[i].any(axis=1)), np.flatnonzero(changed[i].any(axis=0))
        if rows.size == 0:
            fail(what, Text("left an image without a square", "有图像没有被遮挡"),
                 detail=Text(f"image {i} is unchanged", f"第 {i} 张图像没有变化"),
                 cause=Text("every image gets exactly one square; its centre lies inside the image, "
                            "so it is never empty.",
                            "每张图像恰好一个方块；方块中心在图像内，所以不会为空。"))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        area = (bottom - top) * (right - left)
        filled = changed[i, top:bottom, left:right].all() and changed[i].sum() == area
        height_ok = (bottom - top == size) or ((top == 0 or bottom == h) and bottom - top < size)
        width_ok = (right - left == size) or ((left == 0 or right == w) and right - left < size)
        if not (filled and height_ok and width_ok):
            fail(what, Text("zeroed something other than one size×size square",
                            "置零的区域不是一个 size×size 的方块"),
                 detail=Text(f"image {i}: zeroed {int(changed[i].sum())} pixels spanning "
                             f"rows {top}..{bottom - 1}, "
                             f"columns {left}..{right - 1}, size = {size}",
                             f"第 {i} 张：置零 {int(changed[i].sum())} 个像素，行 {top}..{bottom - 1}，"
                             f"列 {left}..{right - 1}，size = {size}"),
                 cause=Text("one square per image: rows cy − size//2 … cy − size//2 + size − 1 (same for "
                            "columns), clipped only where it crosses the border.",
                            "每张图一个方块：行 cy − size//2 … cy − size//2 + size − 1（列同理），"
                            "只在越过边界时被截断。"))
        clipped[i] = bottom - top < size or right - left < size
    p_clipped = 1 - (h - size + 1) * (w - size + 1) / (h * w)
    fraction_within(
        int(clipped.sum()), n, p_clipped, what=what,
        name=Text("fraction of squares clipped by the border", "被边界截断的方块比例"),
        cause=Text("the square's centre (cy, cx) is uniform over ALL pixels of the image (as in the "
                   "Cutout paper), so squares near the border are partly outside and get clipped.",
                   "方块中心 (cy, cx) 在图像的*所有*像素上均匀分布（与 Cutout 论文相同），"
                   "因此靠近边界的方块会有一部分在图外而被截断。"),
        next_step=Text("cy = rng.integers(0, H); cx = rng.integers(0, W); then clip the square's "
                       "rows and columns to the image.",
                       "cy = rng.integers(0, H)；cx = rng.integers(0, W)；再把方块的行列截断到图像范围内。"))


register(Spec(
    "cutout", NOTEBOOK,
    Text("cutout zeroes one size×size square per image (clipped at the border)",
         "cutout 每张图像置零一个 size×size 方块（在边界处截断）"),
    ("function",), _cutout_run, _cutout_judge,
    {"seed": 0, "N": 300, "H": 10, "W": 10, "C": 3, "size": 4},
))


# --------------------------------------------------------------------------- mixup

def _mixup_inputs(p: Params) -> tuple[np.ndarray, np.ndarray]:
    X = _images({**p, "dtype": "float64"})
    labels = np.random.default_rng(p["seed"] + 5).integers(0, p["num_classes"], p["N"])
    return X, F.one_hot(torch.from_numpy(labels), p["num_classes"]).double().numpy()


def _mixup_run(functions: Functions, p: Params) -> Record:
    X, Y = _mixup_inputs(p)
    return call(functions["function"], X, Y, p["alpha"], _rng(p))


def _beta_moments(alpha: float) -> tuple[float, float, float]:
    """Variance of Beta(α, α), and the standard errors of a sample's mean and variance (per √n)."""
    raw = [1.0]
    for k in range(1, 5):
        raw.append(raw[-1] * (alpha + k - 1) / (2 * alpha + k - 1))
    mean = raw[1]
    var = raw[2] - mean**2
    mu4 = raw[4] - 4 * mean * raw[3] + 6 * mean**2 * raw[2] - 3 * mean**4
    return var, math.sqrt(var), math.sqrt(max(mu4 - var**2, 0.0))


def _mixup_judge(record: Record, p: Params) -> None:
    X, Y = _mixup_inputs(p)
    what = Text("mixup")
    X_mixed, Y_mixed = unpack(value_of(record, what), what, ("X_mixed", "Y_mixed"))
    X_mixed = as_array(X_mixed, what + Text(": X_mixed"), X)
    Y_mixed = as_array(Y_mixed, what + Text(": Y_mixed"), Y)
    n = len(X)
    x, e = X.reshape(n, -1), (X_mixed - X).reshape(n, -1)
    # m_i = λ·x_i + (1 − λ)·x_j  ⇔  e_i = m_i − x_i = (1 − λ)·(x_j − x_i): find the j whose
    # direction x_j − x_i is parallel to e_i, then 1 − λ = e_i·(x_j − x_i) / |x_j − x_i|²
    xt, et = torch.from_numpy(x), torch.from_numpy(e)
    xx, ex = (xt @ xt.T).numpy(), (et @ xt.T).numpy()
    dd = np.diag(xx)[:, None] - 2 * xx + np.diag(xx)[None, :]
    ed = ex - np.diag(ex)[:, None]
    ee = np.sum(e * e, axis=1)[:, None]
    np.fill_diagonal(dd, np.inf)
    misfit = 1 - ed**2 / (np.maximum(ee, 1e-300) * dd)  # 1 − cos², 0 for the true partner
    partner = np.argmin(misfit, axis=1)
    lam = 1 - ed[np.arange(n), partner] / dd[np.arange(n), partner]
    # λ within ~1e-9 of 1 (or a sample that is its own partner): nothing to identify
    unmixed = np.max(np.abs(e), axis=1) < 1e-9
    lam[unmixed], partner[unmixed] = 1.0, np.arange(n)[unmixed]
    weight = torch.from_numpy(lam)
    rebuilt = torch.lerp(torch.from_numpy(X[partner]), torch.from_numpy(X), weight[:, None, None, None])
    close_to(X_mixed, rebuilt.numpy(), what=what + Text(": X_mixed"),
             cause=Text("each mixed image must be λ·X[i] + (1 − λ)·X[perm[i]] with another image of the "
                        "batch (perm a random permutation) and 0 ≤ λ ≤ 1.",
                        "每张混合图像应为 λ·X[i] + (1 − λ)·X[perm[i]]，与本批次的另一张图像混合"
                        "（perm 为随机排列），0 ≤ λ ≤ 1。"))
    if lam.min() < -1e-9 or lam.max() > 1 + 1e-9:
        fail(what, Text("uses mixing weights outside [0, 1]", "混合权重超出 [0, 1]"),
             detail=Text(f"λ from {lam.min():.3g} to {lam.max():.3g}",
                         f"λ 从 {lam.min():.3g} 到 {lam.max():.3g}"),
             cause=Text("λ ~ Beta(alpha, alpha) lies in [0, 1].", "λ ~ Beta(alpha, alpha)，取值在 [0, 1]。"))
    expected_Y = torch.lerp(torch.from_numpy(Y[partner]), torch.from_numpy(Y), weight[:, None])
    close_to(Y_mixed, expected_Y.numpy(), what=what + Text(": Y_mixed"),
             cause=Text("mix the labels with the same λ and the same partner as the images: "
                        "Y_mixed = λ·Y + (1 − λ)·Y[perm].",
                        "标签要用与图像相同的 λ 和相同的配对来混合：Y_mixed = λ·Y + (1 − λ)·Y[perm]。"))
    mixed = ~unmixed
    distinct, count = len(set(partner[mixed].tolist())), int(mixed.sum())
    if distinct != count:
        fail(what, Text("pairs images with repeated partners", "配对中有重复的图像"),
             detail=Text(f"{count} mixed images use {distinct} distinct partners",
                         f"{count} 张混合图像只用了 {distinct} 个不同的配对图像"),
             cause=Text("partners come from a permutation of the batch (perm = rng.permutation(N)): "
                        "every image is used exactly once as a partner.",
                        "配对来自批次的一个排列（perm = rng.permutation(N)）：每张图像恰好作为配对用一次。"))
    alpha = float(p["alpha"])
    var, sd, sd_var = _beta_moments(alpha)
    sample = lam  # λ ≈ 1 where nothing could be identified (a self-partner adds at most 1/N bias)
    k = len(sample)
    rule = Text(f"draw one λ per sample from Beta(alpha, alpha) (mean 0.5, variance "
                f"1/(4(2α+1)) = {var:.3g}).",
                f"每个样本从 Beta(alpha, alpha) 抽取一个 λ（均值 0.5，方差 1/(4(2α+1)) = {var:.3g}）。")
    if mixed.sum() > 1 and np.ptp(lam[mixed]) < 1e-9:
        fail(what, Text("uses the same λ for every sample", "所有样本使用了同一个 λ"), cause=rule,
             next_step=Text("lam = rng.beta(alpha, alpha, size=N)", "lam = rng.beta(alpha, alpha, size=N)"))
    within(float(sample.mean()), 0.5, sd / math.sqrt(k), what=what,
           name=Text("mean of the recovered λ", "恢复出的 λ 的均值"), cause=rule)
    within(float(sample.var()), var, sd_var / math.sqrt(k), what=what,
           name=Text(f"variance of the recovered λ (alpha = {alpha:g})",
                     f"恢复出的 λ 的方差（alpha = {alpha:g}）"),
           cause=rule)


register(Spec(
    "mixup", NOTEBOOK,
    Text("mixup blends image pairs and their labels with λ ~ Beta(α, α)",
         "mixup 以 λ ~ Beta(α, α) 混合图像对及其标签"),
    ("function",), _mixup_run, _mixup_judge,
    {"seed": 0, "N": 300, "H": 4, "W": 4, "C": 3, "num_classes": 5, "alpha": 0.4},
))
