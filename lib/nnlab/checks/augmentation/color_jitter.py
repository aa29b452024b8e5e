"""color_jitter: torchvision's brightness, contrast and saturation blends.

For every output image the factor of each blend is recovered (least squares),
the blend is rebuilt with torch and compared, and the factors are checked to be
uniform over their range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nnlab.checks.augmentation._common import FLOAT32_RECOVERED, NOTEBOOK, Functions, random_images, rng_for
from nnlab.checks.compare import as_array, close_to, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_within
from nnlab.i18n import Text

#: Grayscale weights. The notebook's are PIL's (``Image.convert("L")``, ITU-R 601-2 luma);
#: torchvision's tensor ``rgb_to_grayscale`` rounds R's to 0.2989 (as TensorFlow does). The two
#: differ by 1e-4·R, far above float32 rounding (the tolerance is 1e-5), so a check that knew only
#: one would fail a correct jitter written with the other: each run is judged with PIL's weights
#: and, if that fails, with torchvision's; either one passing is a pass.
GRAY_WEIGHTS = {"PIL": (0.299, 0.587, 0.114), "torchvision": (0.2989, 0.587, 0.114)}


def _gray(x: torch.Tensor, weights: tuple[float, float, float] = GRAY_WEIGHTS["PIL"]) -> torch.Tensor:
    """``(N, H, W, 1)`` grayscale of ``(N, H, W, 3)`` images with the given R, G, B weights."""
    return (x * torch.tensor(weights, dtype=x.dtype)).sum(dim=-1, keepdim=True)


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
        return random_images({**p, "C": 3}, 0.02, 0.98, offset=offset), strengths
    strengths = tuple(min(v, _COMBINED_MAX) for v in strengths)
    band = _unclamped_band(strengths)  # mid-range: the three steps are linear (no clamping)
    return random_images({**p, "C": 3}, 0.5 - band, 0.5 + band, offset=offset), strengths


def _jitter_run(functions: Functions, p: Params) -> Record:
    record = {}
    for index, run in enumerate(_JITTER_RUNS):
        X, strengths = _jitter_inputs(p, run)
        record[run] = call(functions["function"], X, *strengths, rng_for(p, 10 + index))
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
    expect_within(float(factors.mean()), (low + high) / 2, stderr=width / math.sqrt(12 * n), what=what,
                  statistic_name=Text(f"mean {name} factor", f"{name} 因子的均值"), cause=rule)
    expect_within(float(factors.var()), width**2 / 12, stderr=width**2 / math.sqrt(180 * n), what=what,
                  statistic_name=Text(f"variance of the {name} factors", f"{name} 因子的方差"), cause=rule)


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
                     "(one number per image, gray = 0.299 R + 0.587 G + 0.114 B, PIL's weights): "
                     "clamp(f·x + (1 − f)·mean(gray), 0, 1) (torchvision adjust_contrast).",
                     "对比度把图像与其灰度图的均值（每张图一个数，gray = 0.299 R + 0.587 G + 0.114 B，"
                     "PIL 的权重）混合："
                     "clamp(f·x + (1 − f)·mean(gray), 0, 1)（torchvision adjust_contrast）。"),
    "saturation": Text("saturation blends each pixel with its grayscale value "
                       "gray = 0.299 R + 0.587 G + 0.114 B (PIL's weights; not the plain channel mean): "
                       "clamp(f·x + (1 − f)·gray, 0, 1) (torchvision adjust_saturation).",
                       "饱和度把每个像素与其灰度值 gray = 0.299 R + 0.587 G + 0.114 B（不是通道平均）混合："
                       "clamp(f·x + (1 − f)·gray, 0, 1)（torchvision adjust_saturation）。"),
}


def _judge_single(run: str, out: np.ndarray, X: np.ndarray, strength: float,
                  weights: tuple[float, float, float]) -> None:
    what = Text(f"color_jitter ({run} only)", f"color_jitter（仅 {run}）")
    x, y = torch.from_numpy(X).double(), torch.from_numpy(out).double()
    if run == "brightness":
        base = torch.zeros_like(x)
    elif run == "contrast":
        base = _gray(x, weights).mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    else:
        base = _gray(x, weights).expand_as(x)
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


def _judge_combined(out: np.ndarray, X: np.ndarray, strengths: tuple[float, float, float],
                    weights: tuple[float, float, float]) -> None:
    what = Text("color_jitter (all three)", "color_jitter（三者同时）")
    x, y = torch.from_numpy(X).double(), torch.from_numpy(out).double()
    n = len(X)
    # unclamped, brightness∘contrast∘saturation = a·x + b·gray + c·mean(gray), in any order
    gray = _gray(x, weights)
    basis = torch.stack([x, gray.expand_as(x),
                         gray.mean(dim=(1, 2, 3), keepdim=True).expand_as(x)], dim=-1).reshape(n, -1, 3)
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


def _with_either_weights(judge: Callable[..., None], *args: Any) -> None:
    """``judge(*args, weights)`` with PIL's grayscale weights, else torchvision's; the first failure."""
    try:
        judge(*args, GRAY_WEIGHTS["PIL"])
    except CheckFailed as first:
        try:
            judge(*args, GRAY_WEIGHTS["torchvision"])
        except CheckFailed:
            raise first from None


def _jitter_judge(record: Record, p: Params) -> None:
    for run in _JITTER_RUNS:
        X, strengths = _jitter_inputs(p, run)
        what = Text(f"color_jitter ({run})")
        out = as_array(value_of(record[run], what), what, X)
        if run == "all three":
            _with_either_weights(_judge_combined, out, X, strengths)
        else:
            _with_either_weights(_judge_single, run, out, X, max(strengths))


register(Spec(
    "color_jitter", NOTEBOOK,
    Text("color_jitter follows torchvision's brightness/contrast/saturation blends",
         "color_jitter 与 torchvision 的亮度/对比度/饱和度混合公式一致"),
    ("function",), _jitter_run, _jitter_judge,
    {"seed": 0, "N": 300, "H": 6, "W": 6, "brightness": 0.4, "contrast": 0.4, "saturation": 0.4},
    numpy_only=True,
))
