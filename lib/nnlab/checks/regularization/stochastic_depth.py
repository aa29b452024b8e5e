"""stochastic_depth in both of torchvision's modes, checked structurally and statistically.

Huang et al. (2016, "Deep Networks with Stochastic Depth") drop a residual
block for the whole mini-batch: one Bernoulli(p_survive) draw per block and
training step. That is ``mode="batch"`` (the paper's, and the notebook's
default); ``mode="row"`` draws one per sample, as torchvision's
``stochastic_depth(..., mode="row")`` does. Both follow the paper's
formulation: training ``x + b·F(x)`` with b ∈ {0, 1}, test
``x + p_survive·F(x)``. torchvision instead rescales surviving branches by
``1/p_survive`` during training (inverted, like inverted dropout) and uses
``x + F(x)`` at test time; the check names that variant when it sees it.

One draw per batch cannot be judged from one call, so the batch mode is
called ``calls`` times on a small batch: the fraction of calls that kept
the branch must lie within 5 standard errors of p_survive
(SE = √(p(1−p)/calls), 0.02 for p = 0.8 and 400 calls).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nnlab.checks.compare import as_array, close_to, tensor64, value_of
from nnlab.checks.regularization._common import NOTEBOOK, Functions, off_zero
from nnlab.checks.spec import BANDS, Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_fraction
from nnlab.i18n import Text

BATCH_ROWS = 4  # samples per call in the batch-mode part (small: the record holds every call)

PAPER = Text(
    "mode='batch' is the paper's (Huang et al. 2016: one draw per block for the whole mini-batch); "
    "mode='row' draws one per sample, as torchvision's mode='row'.",
    "mode='batch' 是原论文的做法（Huang 等，2016：每个块对整个 mini-batch 只抽一次）；"
    "mode='row' 对每个样本各抽一次，与 torchvision 的 mode='row' 相同。",
)


def _inputs(p: Params) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(p["seed"])
    shape = tuple(p["shape"])
    return rng.standard_normal(shape), off_zero(rng.standard_normal(shape), margin=0.05)


def _run(functions: Functions, p: Params) -> Record:
    x, residual = _inputs(p)
    function, p_survive = functions["function"], p["p_survive"]
    batch_rng = np.random.default_rng(p["seed"] + 3)
    return {
        "row": call(function, x, residual, p_survive, True, np.random.default_rng(p["seed"] + 1),
                    mode="row"),
        "batch": [call(function, x[:BATCH_ROWS], residual[:BATCH_ROWS], p_survive, True, batch_rng,
                       mode="batch") for _ in range(p["calls"])],
        "test": call(function, x, residual, p_survive, False, np.random.default_rng(p["seed"] + 2),
                     mode="batch"),
    }


def _per_sample(out: np.ndarray, x: np.ndarray, residual: np.ndarray,
                p_survive: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample: (skipped, kept, kept but scaled by 1/p_survive) as boolean vectors."""
    n = x.shape[0]
    delta = (tensor64(out) - tensor64(x)).reshape(n, -1).numpy()  # what was added to x
    flat = residual.reshape(n, -1)
    skipped = np.all(np.isclose(delta, 0.0, rtol=0, atol=1e-9), axis=1)
    kept = np.all(np.isclose(delta, flat, rtol=1e-7, atol=1e-9), axis=1)
    scaled = np.all(np.isclose(delta, flat / p_survive, rtol=1e-7, atol=1e-9), axis=1) & ~kept
    return skipped, kept, scaled


def _fail_scaled(what: Text, count: int, unit: Text) -> None:
    fail(what, Text("scales the kept residual branch", "对保留的残差分支做了缩放"),
         detail=Text(f"{count} {unit.en} got x + residual / p_survive",
                     f"{count} 个{unit.zh}得到 x + residual / p_survive"),
         cause=Text("this notebook follows the stochastic depth paper (Huang et al. 2016): in "
                    "training out = x + b·residual with b ∈ {0, 1} (no scaling); the expectation "
                    "p_survive·residual is taken at test time. torchvision's StochasticDepth "
                    "rescales during training instead (divides by p_survive, inverted like "
                    "inverted dropout) and uses x + residual at test time.",
                    "本 notebook 遵循随机深度原论文（Huang 等，2016）：训练时 out = x + b·residual，"
                    "b ∈ {0, 1}，不缩放；测试时取期望 p_survive·residual。torchvision 的 "
                    "StochasticDepth 则在训练时缩放（除以 p_survive，与倒置 dropout 一样），"
                    "测试时用 x + residual。"))


def _judge_row(record: Record, x: np.ndarray, residual: np.ndarray, p_survive: float) -> None:
    what = Text("stochastic_depth (train=True, mode='row')")
    out = as_array(value_of(record, what), what, x)
    n = x.shape[0]
    skipped, kept, scaled = _per_sample(out, x, residual, p_survive)
    if scaled.any() and (skipped | kept | scaled).all():
        _fail_scaled(what, int(scaled.sum()), Text("samples", "样本"))
    mixed = ~(skipped | kept)
    if mixed.any():
        fail(what, Text("is not all-or-nothing per sample", "没有按样本整体保留或跳过"),
             detail=Text(f"{int(mixed.sum())} of {n} samples got only part of their residual "
                         "(or a changed one)",
                         f"{n} 个样本中有 {int(mixed.sum())} 个只加了部分残差（或残差被改变）"),
             cause=Text("mode='row' skips the whole residual branch of a sample: draw one "
                        "Bernoulli(p_survive) per sample, shape (N, 1, ..., 1), and broadcast it.",
                        "mode='row' 对一个样本整体跳过残差分支：每个样本抽一个 Bernoulli(p_survive)，"
                        "形状 (N, 1, ..., 1)，再广播。"),
             next_step=Text("b = rng.random((N,) + (1,) * (x.ndim - 1)) < p_survive"))
    survived = int(kept.sum())
    stderr = math.sqrt(p_survive * (1 - p_survive) / n)
    near_flip = abs(survived / n - (1 - p_survive)) <= BANDS * stderr
    all_or_none = survived in (0, n) and 0 < p_survive < 1
    cause = (Text("p_survive is the probability of KEEPING the residual branch, not of dropping it.",
                  "p_survive 是*保留*残差分支的概率，而不是丢弃的概率。") if near_flip else
             Text("mode='row' draws one b per sample (each survives independently with probability "
                  "p_survive), not one for the whole batch. ",
                  "mode='row' 每个样本各抽一个 b（各自以概率 p_survive 独立保留），"
                  "而不是整个批次抽一次。") + PAPER if all_or_none else
             Text("each sample survives independently with probability p_survive.",
                  "每个样本以概率 p_survive 独立保留。"))
    expect_fraction(survived, n, p_survive, what=what + Text(": survival", "：保留比例"),
                    statistic_name=Text(
                        f"fraction of samples that kept the residual (p_survive = {p_survive:g})",
                        f"保留残差的样本比例（p_survive = {p_survive:g}）"), cause=cause)


def _judge_batch(records: list[Record], x: np.ndarray, residual: np.ndarray, p_survive: float) -> None:
    what = Text("stochastic_depth (train=True, mode='batch')")
    x, residual = x[:BATCH_ROWS], residual[:BATCH_ROWS]
    kept_calls = mixed_calls = scaled_calls = 0
    for record in records:
        skipped, kept, scaled = _per_sample(as_array(value_of(record, what), what, x), x, residual,
                                            p_survive)
        kept_calls += bool(kept.all())
        scaled_calls += bool(scaled.all())
        mixed_calls += not (skipped.all() or kept.all() or scaled.all())
    if scaled_calls and not mixed_calls:
        _fail_scaled(what, scaled_calls, Text("calls", "次调用"))
    if mixed_calls:
        fail(what, Text("treats the samples of one batch differently", "对同一批次的样本处理不同"),
             detail=Text(f"in {mixed_calls} of {len(records)} calls on a batch of {len(x)} some "
                         "samples kept the residual and others did not",
                         f"在 {len(records)} 次（每批 {len(x)} 个样本）调用中有 {mixed_calls} 次，"
                         "部分样本保留了残差、部分没有"),
             cause=Text("mode='batch' keeps or skips the block for the whole mini-batch: draw one "
                        "b = rng.random() < p_survive per call. ", "mode='batch' 对整个 mini-batch "
                        "一起保留或跳过：每次调用只抽一个 b = rng.random() < p_survive。") + PAPER)
    expect_fraction(kept_calls, len(records), p_survive,
                    what=what + Text(": survival", "：保留比例"),
                    statistic_name=Text(
                        f"fraction of calls that kept the residual (p_survive = {p_survive:g})",
                        f"保留残差的调用比例（p_survive = {p_survive:g}）"),
                    cause=Text("each call keeps the residual branch with probability p_survive "
                               "(the probability of KEEPING it, not of dropping it).",
                               "每次调用以概率 p_survive 保留残差分支（是*保留*的概率，不是丢弃的概率）。"))


def _judge(record: Record, p: Params) -> None:
    x, residual = _inputs(p)
    p_survive = p["p_survive"]
    _judge_batch(record["batch"], x, residual, p_survive)
    _judge_row(record["row"], x, residual, p_survive)
    test_what = Text("stochastic_depth (train=False)")
    expected = torch.add(tensor64(x), tensor64(residual), alpha=p_survive).numpy()
    close_to(value_of(record["test"], test_what), expected, what=test_what,
             alternatives=((x + residual, Text(
                 "at test time use the expectation of the training output, out = x + p_survive · "
                 "residual (this notebook does not scale at train time; torchvision's inverted "
                 "version, which rescales during training, is the one that uses x + residual).",
                 "测试时取训练输出的期望 out = x + p_survive · residual（本 notebook 训练时不缩放；"
                 "在训练时缩放的 torchvision 倒置版本才在测试时用 x + residual）。")),),
             cause=Text("at test time every layer is used and the residual is weighted by its "
                        "survival probability: out = x + p_survive · residual, in both modes.",
                        "测试时使用所有层，残差按保留概率加权：out = x + p_survive · residual，"
                        "两种模式相同。"))


register(Spec(
    "stochastic_depth", NOTEBOOK,
    Text("stochastic_depth: whole-batch (paper) or per-sample skips in training, expectation at test",
         "stochastic_depth：训练时整批（论文）或按样本跳过，测试时取期望"),
    ("function",), _run, _judge,
    {"seed": 0, "shape": (500, 4), "p_survive": 0.8, "calls": 400},
    numpy_only=True,
))
