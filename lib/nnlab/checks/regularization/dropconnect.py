"""The check of DropConnect (04_regularization): a mask over the weights, not the activations.

The mask is judged structurally (W's shape, torch's inverted scale on every kept
weight) and statistically (the fraction of dropped weights within 5 standard errors
of ``p_drop``, :mod:`nnlab.checks.statistics`); the output is compared with torch's
matrix product on the mask the student returns, in float64.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import close_to, tensor64, unpack, value_of
from nnlab.checks.regularization._common import (
    NOTEBOOK,
    P_CONFUSION,
    Functions,
    off_zero,
    torch_dropout_scale,
)
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_fraction
from nnlab.i18n import Text


def _dropconnect_inputs(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(p["seed"])
    n, d, h = p["N"], p["D"], p["H"]
    return (rng.standard_normal((n, d)), off_zero(rng.standard_normal((d, h))),
            rng.standard_normal(h))


def _dropconnect_run(functions: Functions, p: Params) -> Record:
    x, W, b = _dropconnect_inputs(p)
    return {
        "train": call(functions["function"], x, W, b, p["p_drop"], True,
                      np.random.default_rng(p["seed"] + 1)),
        "test": call(functions["function"], x, W, b, p["p_drop"], False,
                     np.random.default_rng(p["seed"] + 2)),
    }


def _dropconnect_judge(record: Record, p: Params) -> None:
    x, W, b = _dropconnect_inputs(p)
    p_drop = p["p_drop"]
    what = Text("dropconnect_forward (train=True)")
    out, mask = unpack(value_of(record["train"], what), what, ("out", "mask"))
    mask_what = what + Text(": mask", "：mask")
    if not isinstance(mask, np.ndarray) or mask.shape != W.shape:
        got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
        fail(mask_what, Text("should have W's shape", "形状应与 W 相同"),
             detail=Text(f"expected {W.shape}, got {got}", f"应为 {W.shape}，得到 {got}"),
             cause=Text("DropConnect drops weights, not activations: one mask entry per weight "
                        "(shared by the whole batch); a mask of x's or out's shape is dropout.",
                        "DropConnect 丢弃的是权重而不是激活：每个权重一个掩码元素（整个批次共享）；"
                        "与 x 或 out 同形状的掩码是 dropout。"),
             next_step=Text("draw mask = (rng.random(W.shape) < p_keep) / p_keep.",
                            "生成 mask = (rng.random(W.shape) < p_keep) / p_keep。"))
    mask = np.asarray(mask, dtype=np.float64)
    dropped = int((mask == 0).sum())
    expect_fraction(
        dropped, mask.size, p_drop, what=mask_what,
        statistic_name=Text(f"fraction of dropped weights (p_drop = {p_drop:g})",
                            f"被丢弃权重的比例（p_drop = {p_drop:g}）"),
        cause=P_CONFUSION if abs(dropped / mask.size - (1 - p_drop)) < 0.05 else None)
    scale = torch_dropout_scale(p_drop)
    values = mask[mask != 0]
    if not np.allclose(values, scale, rtol=1e-7, atol=1e-7):
        typical = float(np.median(values)) if values.size else float("nan")
        fail(mask_what, Text("has the wrong scale", "缩放错误"),
             detail=Text(f"kept weights are multiplied by {typical:.4g}, expected {scale:.4g}",
                         f"保留的权重乘以 {typical:.4g}，应为 {scale:.4g}"),
             cause=Text("this notebook's DropConnect is inverted like inverted dropout: kept weights "
                        "are divided by p_keep = 1 − p_drop at train time, so test time is plain "
                        "x @ W + b.",
                        "本 notebook 的 DropConnect 与倒置 dropout 一样做倒置缩放：训练时保留的权重"
                        "除以 p_keep = 1 − p_drop，因此测试时就是 x @ W + b。"))
    reference = torch.addmm(tensor64(b), tensor64(x), tensor64(W) * tensor64(mask)).numpy()
    close_to(out, reference, what=what + Text(": out", "：out"),
             cause=Text("out = x @ (W * mask) + b with the mask you return (mask already holds the "
                        "scale); the bias is not dropped.",
                        "out = x @ (W * mask) + b，使用你返回的 mask（已含缩放）；偏置不丢弃。"))
    test_what = Text("dropconnect_forward (train=False)")
    test_out, _ = unpack(value_of(record["test"], test_what), test_what, ("out", "mask"))
    plain = F.linear(tensor64(x), tensor64(W).T, tensor64(b)).numpy()
    close_to(test_out, plain, what=test_what + Text(": out", "：out"),
             cause=Text("at test time every weight is used, unscaled: out = x @ W + b.",
                        "测试时使用全部权重且不缩放：out = x @ W + b。"))


register(Spec(
    "dropconnect_forward", NOTEBOOK,
    Text("dropconnect_forward drops weights (mask of W's shape), matches torch matmul",
         "dropconnect_forward 丢弃权重（掩码与 W 同形状），与 torch 矩阵乘法一致"),
    ("function",), _dropconnect_run, _dropconnect_judge,
    {"seed": 0, "N": 8, "D": 60, "H": 50, "p_drop": 0.3},
    numpy_only=True,
))
