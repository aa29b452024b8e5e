"""The checks of dropout (04_regularization): forward (inverted and vanilla, train and test) and backward.

Your layer draws its own random numbers, so outputs cannot be compared with
torch value by value. Each check is *structural* (every output entry is one
a correct layer could produce: 0 or x / p_keep), compared with torch where
torch has the layer (``torch.nn.functional.dropout``: the same fraction of
zeros and the same scale on the same x), and *statistical*: fractions and
means within 5 standard errors of their expectation, with a fixed seed
(:mod:`nnlab.checks.statistics`).

``p_drop`` is the probability of dropping a unit (torch's ``p``); the
lecture's ``p`` is the keep probability ``p_keep = 1 - p_drop``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch.nn.functional as F

from nnlab.checks.compare import as_array, close_to, tensor64, unpack, value_of
from nnlab.checks.regularization._common import NOTEBOOK, P_CONFUSION, Functions, off_zero, torch_dropout
from nnlab.checks.spec import BANDS, Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_fraction, expect_within
from nnlab.i18n import Text


def _dropout_x(p: Params) -> np.ndarray:
    # off 0, so "this entry was dropped" is exactly "out == 0"
    return off_zero(np.random.default_rng(p["seed"]).standard_normal(tuple(p["shape"])))


def _dropout_calls(function: Callable[..., Any], x: np.ndarray, p: Params) -> Record:
    record: Record = {}
    for inverted in (True, False):
        mode = "inverted" if inverted else "vanilla"
        for train in (True, False):
            rng = np.random.default_rng(p["seed"] + (1 if train else 2))
            record[f"{mode}_{'train' if train else 'test'}"] = call(
                function, x, p["p_drop"], train, rng, inverted=inverted)
    return record


def _dropout_run(functions: Functions, p: Params) -> Record:
    return _dropout_calls(functions["forward"], _dropout_x(p), p)


def _mode_text(mode: str, train: bool) -> Text:
    flag = "True" if mode == "inverted" else "False"
    return Text(f"dropout_forward (inverted={flag}, train={train})")


def _judge_dropout_train(record: Record, x: np.ndarray, p: Params, mode: str) -> None:
    what = _mode_text(mode, True)
    out, mask = unpack(value_of(record, what), what, ("out", "mask"))
    out = as_array(out, what + Text(": out", "：out"), x)
    torch_out = torch_dropout(x, p["p_drop"], seed=p["seed"])
    _judge_zeros(out, torch_out, p["p_drop"], what)
    _judge_scale(out, x, torch_out, p["p_drop"], what, mode)
    _judge_mean(out, x, p["p_drop"], what, mode)
    _judge_mask(mask, out, x, what + Text(": mask", "：mask"))


def _judge_zeros(out: np.ndarray, torch_out: np.ndarray, p_drop: float, what: Text) -> None:
    """The fraction of zeroed entries is p_drop, within 5 standard errors (torch's shown for scale)."""
    n, p_keep = out.size, 1.0 - p_drop
    dropped = int((out == 0).sum())
    torch_frac = float((torch_out == 0).mean())
    cause = P_CONFUSION if abs(dropped / n - p_keep) <= BANDS * math.sqrt(p_drop * p_keep / n) else Text(
        "each entry must be zeroed independently with probability p_drop (not the keep probability).",
        "每个元素应独立地以概率 p_drop 被置零（不是保留概率）。")
    expect_fraction(
        dropped, n, p_drop, what=what + Text(": fraction of zeros", "：置零比例"),
        statistic_name=Text(f"fraction of zeroed entries (p_drop = {p_drop:g})",
                            f"被置零的比例（p_drop = {p_drop:g}）"),
        extra=Text(f"torch.nn.functional.dropout(x, p={p_drop:g}) zeroes {torch_frac:.4g} of the same x",
                   f"torch.nn.functional.dropout(x, p={p_drop:g}) 对同一 x 置零 {torch_frac:.4g}"),
        cause=cause,
        next_step=Text("draw a keep mask: rng.random(x.shape) < 1 - p_drop.",
                       "生成保留掩码：rng.random(x.shape) < 1 - p_drop。"),
    )


def _judge_scale(out: np.ndarray, x: np.ndarray, torch_out: np.ndarray, p_drop: float, what: Text,
                 mode: str) -> None:
    """Kept entries are x times torch's factor (inverted) or x itself (vanilla)."""
    kept = out != 0
    ratio = out[kept] / x[kept]
    # torch's kept entries on the same x are x / p_keep: its factor, measured
    torch_kept = torch_out != 0
    scale = float(np.median(torch_out[torch_kept] / x[torch_kept])) if mode == "inverted" else 1.0
    if np.allclose(ratio, scale, rtol=1e-7, atol=1e-7):
        return
    typical = float(np.median(ratio)) if ratio.size else float("nan")
    if mode == "inverted":
        cause = Text(
            "inverted dropout divides the kept entries by p_keep = 1 − p_drop at train time, as "
            "torch.nn.functional.dropout does (kept x becomes x / p_keep); "
            + ("you divided by p_drop." if np.isclose(typical, 1 / p_drop) else
               "the kept entries were not scaled." if np.isclose(typical, 1) else ""),
            "倒置（inverted）dropout 在训练时把保留的元素除以 p_keep = 1 − p_drop，与 "
            "torch.nn.functional.dropout 相同（保留的 x 变为 x / p_keep）；"
            + ("你除以了 p_drop。" if np.isclose(typical, 1 / p_drop) else
               "保留的元素没有缩放。" if np.isclose(typical, 1) else ""))
    else:
        cause = Text("vanilla dropout (inverted=False) keeps entries unchanged at train time and "
                     "scales by p_keep at test time instead.",
                     "普通 dropout（inverted=False）训练时保留的元素不变，改为测试时乘以 p_keep。")
    fail(what + Text(": kept entries", "：保留的元素"),
         Text("are scaled by the wrong factor", "缩放因子错误"),
         detail=Text(f"kept entries are x·{typical:.4g} (median), expected x·{scale:.4g}",
                     f"保留的元素为 x·{typical:.4g}（中位数），应为 x·{scale:.4g}"),
         cause=cause)


def _judge_mean(out: np.ndarray, x: np.ndarray, p_drop: float, what: Text, mode: str) -> None:
    """The expected train-time output is x (inverted) or p_keep·x (vanilla), within 5 standard errors."""
    p_keep = 1.0 - p_drop
    target = 1.0 if mode == "inverted" else p_keep
    var_factor = p_drop / p_keep if mode == "inverted" else p_keep * p_drop
    expect_within(float(np.mean(out - target * x)), 0.0,
                  stderr=math.sqrt(var_factor * np.sum(x**2)) / x.size,
                  what=what + Text(": mean", "：均值"),
                  statistic_name=Text(f"mean(out − {target:g}·x)", f"mean(out − {target:g}·x)"),
                  cause=Text("the expected train-time output must be x for inverted dropout and p_keep·x "
                             "for vanilla dropout.",
                             "训练时输出的期望：inverted dropout 应为 x，普通 dropout 应为 p_keep·x。"))


def _judge_mask(mask: Any, out: np.ndarray, x: np.ndarray, mask_what: Text) -> None:
    """The returned mask is a float array of x's shape with out == x * mask."""
    if not isinstance(mask, np.ndarray) or mask.shape != x.shape or mask.dtype == bool:
        got = type(mask).__name__
        if isinstance(mask, np.ndarray):
            got += f" {mask.shape} {mask.dtype}"
        fail(mask_what, Text("is not the array out was multiplied by", "不是 out 所乘的数组"),
             detail=Text(f"got {got}, expected a float array of x's shape {x.shape}",
                         f"得到 {got}，应为与 x 形状 {x.shape} 相同的浮点数组"),
             cause=Text("mask holds the factor each entry was multiplied by (0 or the scale), so that "
                        "out == x * mask and dropout_backward can reuse it.",
                        "mask 保存每个元素所乘的因子（0 或缩放系数），使 out == x * mask，"
                        "dropout_backward 可以直接复用。"),
             next_step=Text("return mask = (rng.random(x.shape) < p_keep) / p_keep for inverted dropout.",
                            "inverted dropout 返回 mask = (rng.random(x.shape) < p_keep) / p_keep。"))
    if not np.allclose(out, x * mask, rtol=1e-7, atol=1e-7):
        n = x.size
        fail(mask_what, Text("does not match out", "与 out 不一致"),
             detail=Text(f"out != x * mask at {int((~np.isclose(out, x * mask)).sum())} of {n} positions",
                         f"{n} 个位置中有 {int((~np.isclose(out, x * mask)).sum())} 处 out != x * mask"),
             cause=Text("the returned mask is not the one used (or not scaled like out).",
                        "返回的 mask 不是实际使用的那个（或缩放与 out 不同）。"),
             next_step=Text("compute out = x * mask with the mask you return.",
                            "用返回的那个 mask 计算 out = x * mask。"))


def _judge_dropout_test(record: Record, x: np.ndarray, p: Params, mode: str) -> None:
    what = _mode_text(mode, False)
    out, _mask = unpack(value_of(record, what), what, ("out", "mask"))
    p_keep = 1.0 - p["p_drop"]
    unchanged = F.dropout(tensor64(x), p=p["p_drop"], training=False).numpy()  # torch at test time: x
    if mode == "inverted":
        expected, cause = unchanged, Text(
            "inverted dropout already scaled at train time, so at test time out = x (no mask, no "
            "scaling), like torch.nn.functional.dropout(x, training=False).",
            "inverted dropout 已在训练时缩放，测试时 out = x（不丢弃、不缩放），与 "
            "torch.nn.functional.dropout(x, training=False) 相同。")
    else:
        expected, cause = unchanged * p_keep, Text(
            "vanilla dropout approximates the expectation at test time: every unit is on and "
            "out = p_keep · x (the lecture's predict() multiplies by p, the keep probability).",
            "普通 dropout 在测试时近似期望：所有单元都保留，out = p_keep · x"
            "（课件 predict() 中乘以保留概率 p）。")
    alternatives = ((unchanged * p["p_drop"], P_CONFUSION),)
    close_to(out, expected, what=what + Text(": out", "：out"), cause=cause, alternatives=alternatives)


def _dropout_judge(record: Record, p: Params) -> None:
    x = _dropout_x(p)
    for mode in ("inverted", "vanilla"):
        _judge_dropout_train(record[f"{mode}_train"], x, p, mode)
        _judge_dropout_test(record[f"{mode}_test"], x, p, mode)


register(Spec(
    "dropout_forward", NOTEBOOK,
    Text("dropout_forward: inverted and vanilla dropout, train and test, agree with torch",
         "dropout_forward：inverted 与普通 dropout 的训练/测试输出与 torch 一致"),
    ("forward",), _dropout_run, _dropout_judge, {"seed": 0, "shape": (100, 50), "p_drop": 0.2},
    numpy_only=True,
))


def _dropout_backward_run(functions: Functions, p: Params) -> Record:
    x = _dropout_x(p)
    dout = np.random.default_rng(p["seed"] + 7919).standard_normal(x.shape)
    record: Record = {}
    for inverted in (True, False):
        mode = "inverted" if inverted else "vanilla"
        forward = call(functions["forward"], x, p["p_drop"], True,
                       np.random.default_rng(p["seed"] + 1), inverted=inverted)
        value = forward.get("value")
        if "error" in forward or not isinstance(value, (tuple, list)) or len(value) != 2:
            record[mode] = {"forward": forward}
            continue
        out, mask = value  # the mask stays in this process; only out and dx are recorded
        record[mode] = {"out": out, "dx": call(functions["backward"], dout, mask)}
    return record


def _dropout_backward_judge(record: Record, p: Params) -> None:
    x = _dropout_x(p)
    dout = np.random.default_rng(p["seed"] + 7919).standard_normal(x.shape)
    for mode in ("inverted", "vanilla"):
        entry = record[mode]
        if "forward" in entry:
            what = _mode_text(mode, True)
            unpack(value_of(entry["forward"], what), what, ("out", "mask"))
        out = as_array(entry["out"], _mode_text(mode, True) + Text(": out"), x)
        # the Jacobian of your forward pass is diagonal: d out / d x = out / x, measured by autograd
        xt = tensor64(x, grad=True)
        (xt * tensor64(out / x)).backward(tensor64(dout))
        flag = "True" if mode == "inverted" else "False"
        close_to(value_of(entry["dx"], Text("dropout_backward")), xt.grad.numpy(),
                 what=Text(f"dropout_backward (after inverted={flag}): dx",
                           f"dropout_backward（inverted={flag} 之后）：dx"),
                 cause=Text("dx = dout * mask: the gradient flows only through kept entries, scaled "
                            "exactly as the forward pass scaled them.",
                            "dx = dout * mask：梯度只流经保留的元素，缩放方式与前向传播完全相同。"))


register(Spec(
    "dropout_backward", NOTEBOOK,
    Text("dropout_backward routes dout through the mask (autograd)",
         "dropout_backward 让 dout 按掩码回传（与 autograd 一致）"),
    ("forward", "backward"), _dropout_backward_run, _dropout_backward_judge,
    {"seed": 0, "shape": (40, 30), "p_drop": 0.3},
    numpy_only=True,
))
