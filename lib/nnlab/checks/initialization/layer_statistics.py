"""layer_statistics: the lecture's activation-statistics experiment, against an ensemble of torch runs.

Bands of 6 standard errors on a log scale, the standard error being the spread of
log(std) (and, after ReLU, log(mean)) across :data:`ENSEMBLE_SIZE` torch runs with
independent seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any

import numpy as np
import torch

from nnlab.checks.codec import TensorValue
from nnlab.checks.compare import value_of
from nnlab.checks.initialization._common import NOTEBOOK, as_scalar, fan_in_std, type_name_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text

# --- layer_statistics(dims, weight_scale, activation, rng, batch_size) ---------------------

#: independent torch runs whose spread gives the standard error of each layer statistic.
ENSEMBLE_SIZE = 50
#: bands of standard errors for the layer statistics (log scale), wider than :data:`BANDS`
#: because the standard error itself is estimated from the ensemble.
LAYER_BANDS = 6.0
#: the seed of the reference ensemble (independent of any check's seed).
ENSEMBLE_SEED = 20_100_701


def _weight_scale(scale: Any) -> float | Callable[[int], float]:
    """A number stays a number; ``"xavier"``/``"kaiming"`` become functions of Din (from torch)."""
    if isinstance(scale, str):
        return partial(fan_in_std, method=scale)
    return float(scale)


def _stats_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    f = functions["function"]
    results = []
    for i, (activation, scale) in enumerate(p["settings"]):
        results.append(call(f, list(p["dims"]), _weight_scale(scale), activation,
                            np.random.default_rng(int(p["seed"]) + i), batch_size=int(p["batch_size"])))
    activation, scale = p["settings"][0]
    again = call(f, list(p["dims"]), _weight_scale(scale), activation,
                 np.random.default_rng(int(p["seed"])), batch_size=int(p["batch_size"]))
    return {"results": results, "again": again}


def torch_layer_statistics(
    dims: Sequence[int], scale: Any, activation: str, batch_size: int, *,
    num_runs: int = ENSEMBLE_SIZE, seed: int = ENSEMBLE_SEED, scale_by: str = "in",
) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's experiment in torch (float64), ``num_runs`` independent times.

    The ensemble depends only on its arguments, so it is computed once per process and
    argument set: a grader judging a class computes each reference once, not once per
    submission. The returned arrays are shared and read-only.

    Args:
        dims: layer widths ``[D0, D1, ..., DL]``.
        scale: a number (std of every weight) or ``"xavier"``/``"kaiming"``: the std torch's
            ``kaiming_normal_`` uses for the layer's fan-in (``nonlinearity`` linear / relu).
        activation: ``"tanh"`` or ``"relu"``.
        batch_size: rows of the input batch.
        scale_by: ``"in"``; ``"out"`` evaluates the std at Dout instead (a mistake, to name it).

    Returns:
        ``(means, stds)``: float64 arrays ``(num_runs, L)`` of each hidden layer's statistics.
    """
    key = (tuple(int(d) for d in dims), scale if isinstance(scale, str) else float(scale), activation,
           int(batch_size), int(num_runs), int(seed), scale_by)
    return torch_layer_ensemble(*key)


@lru_cache(maxsize=64)
def torch_layer_ensemble(dims: tuple[int, ...], scale: str | float, activation: str, batch_size: int,
                         num_runs: int, seed: int, scale_by: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`torch_layer_statistics` on hashable arguments, cached (read-only results)."""
    g = torch.Generator().manual_seed(seed)
    act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    x = torch.randn(num_runs, batch_size, dims[0], dtype=torch.float64, generator=g)
    means, stds = [], []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        std = fan_in_std(d_in if scale_by == "in" else d_out, scale) if isinstance(scale, str) else scale
        # normals drawn in float32 (several times faster), the experiment itself in float64
        w = torch.randn(num_runs, d_in, d_out, generator=g).double().mul_(std)
        x = act(torch.bmm(x, w))
        means.append(x.mean(dim=(1, 2)))
        stds.append(x.std(dim=(1, 2), unbiased=False))
    result = torch.stack(means, 1).numpy(), torch.stack(stds, 1).numpy()
    for array in result:
        array.flags.writeable = False
    return result


def _stat_pairs(value: Any, num_layers: int, what: Text) -> np.ndarray:
    """The returned list of (mean, std) as an array (L, 2), or a failure naming the problem."""
    if isinstance(value, TensorValue) or not isinstance(value, (list, tuple)):
        fail(
            what, Text("should return a list of (mean, std) pairs", "应返回 (mean, std) 二元组的列表"),
            detail=Text(f"got {type_name_of(value)}", f"得到 {type_name_of(value)}"),
            next_step=Text("append (float(x.mean()), float(x.std())) after each layer and return the list.",
                           "每层之后追加 (float(x.mean()), float(x.std()))，最后返回列表。"),
        )
    if len(value) != num_layers:
        fail(
            what, Text("has the wrong number of layers", "层数不对"),
            detail=Text(f"expected {num_layers} (len(dims) − 1), got {len(value)}",
                        f"应为 {num_layers}（len(dims) − 1），得到 {len(value)}"),
            cause=Text("one entry per hidden layer: the input x is not a layer, and each "
                       "(Din, Dout) pair of dims makes one.",
                       "每个隐藏层一项：输入 x 不算一层，dims 中每对相邻的 (Din, Dout) 构成一层。"),
            next_step=Text("loop over zip(dims[:-1], dims[1:]).", "循环 zip(dims[:-1], dims[1:])。"),
        )
    pairs = []
    for layer, entry in enumerate(value, start=1):
        numbers = ([as_scalar(v) for v in entry] if isinstance(entry, (list, tuple)) and len(entry) == 2
                   else None)
        if numbers is None or None in numbers:
            shown = (f"({', '.join(type_name_of(v) for v in entry)})"
                     if isinstance(entry, (list, tuple)) else type_name_of(entry))
            fail(
                what, Text("each entry should be a pair of floats (mean, std)",
                           "每一项应是两个浮点数组成的 (mean, std)"),
                detail=Text(f"layer {layer}: got {shown}", f"第 {layer} 层：得到 {shown}"),
                cause=Text("a statistic over one axis only (x.mean(axis=0)) gives an array; the "
                           "lecture summarises all values of the layer: x.mean(), x.std().",
                           "只沿一个维度统计（x.mean(axis=0)）会得到数组；课上统计该层所有值：x.mean()、x.std()。"),
                next_step=Text("append (float(x.mean()), float(x.std())).",
                               "追加 (float(x.mean()), float(x.std()))。"),
            )
        pairs.append(numbers)
    array = np.asarray(pairs, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        fail(what, Text("contains NaN or infinity", "出现了 NaN 或无穷大"),
             cause=Text("an overflow: check the weight scale you multiply by.",
                        "数值溢出：检查乘上的权重尺度。"))
    return array


def _setting_text(activation: str, scale: Any) -> str:
    shown = f"{scale}(Din)" if isinstance(scale, str) else f"{scale}"
    return f"activation={activation!r}, weight_scale={shown}"


def _stats_judge(record: Record, p: Params) -> None:
    dims, batch_size = [int(d) for d in p["dims"]], int(p["batch_size"])
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(p["settings"]):
        fail(Text("layer_statistics"), Text("produced no results", "没有结果"))
    num_layers = len(dims) - 1
    for (activation, scale), result in zip(p["settings"], results):
        what = Text("layer_statistics")
        error = result.get("error") if isinstance(result, dict) else None
        type_error = isinstance(error, (list, tuple)) and bool(error) and error[0] == "TypeError"
        value = value_of(result, what, next_step=Text(
            "weight_scale may be a number or a function of Din: use "
            "weight_scale(Din) if callable(weight_scale) else weight_scale.",
            "weight_scale 可能是数，也可能是 Din 的函数：callable(weight_scale) 时用 weight_scale(Din)。")
            if type_error else None)
        got = _stat_pairs(value, num_layers, what)
        means, stds = torch_layer_statistics(dims, scale, activation, batch_size)
        setting = _setting_text(activation, scale)
        # std always; the mean only after ReLU (after tanh it is 0 by symmetry and says nothing)
        compared = [(1, ("std", "标准差"), stds)]
        if activation == "relu":
            compared.append((0, ("mean", "均值"), means))
        for column, (name_en, name_zh), ensemble in compared:
            layer, low, high = _outside_band(got[:, column], ensemble)
            if layer is None:
                continue
            fail(
                what,
                Text(f"the {name_en} of the activations differs from torch's runs of the same experiment",
                     f"激活值的{name_zh}与 torch 运行同一实验的结果不符"),
                detail=Text(
                    f"{setting}, dims={dims}, batch_size={batch_size}: layer {layer + 1} {name_en} = "
                    f"{got[layer, column]:.4g}, expected between {low:.4g} and {high:.4g} "
                    f"(log scale: mean of {ENSEMBLE_SIZE} torch runs ± {LAYER_BANDS:g} standard errors, "
                    "their spread)",
                    f"{setting}，dims={dims}，batch_size={batch_size}：第 {layer + 1} 层{name_zh} = "
                    f"{got[layer, column]:.4g}，期望在 {low:.4g} 与 {high:.4g} 之间"
                    f"（对数尺度：{ENSEMBLE_SIZE} 次 torch 运行的均值 ± {LAYER_BANDS:g} 个标准误，"
                    "即其离散程度）"),
                cause=_stats_cause(got, dims, scale, activation, batch_size),
                next_step=Text("run your function with dims=[256]*5 and print each layer's (mean, std); "
                               "compare with the histograms of the init explorer.",
                               "用 dims=[256]*5 运行你的函数，打印每层的 (mean, std)，"
                               "与初始化探索器的直方图对比。"),
            )
    first = _stat_pairs(value_of(results[0], Text("layer_statistics")), num_layers, Text("layer_statistics"))
    again = record.get("again", {})
    again_pairs = _stat_pairs(value_of(again, Text("layer_statistics")), num_layers, Text("layer_statistics"))
    if not np.array_equal(first, again_pairs):
        fail(
            Text("layer_statistics"),
            Text("gives different results for two generators seeded alike",
                 "两个种子相同的生成器给出了不同的结果"),
            cause=Text("drawing x or W from np.random (the global generator) instead of rng.",
                       "x 或 W 用 np.random（全局生成器）抽样，而不是 rng。"),
            next_step=Text("use rng.standard_normal for both the input batch and every W.",
                           "输入 batch 和每个 W 都用 rng.standard_normal 抽样。"),
        )


def _outside_band(got: np.ndarray, ensemble: np.ndarray) -> tuple[int | None, float, float]:
    """The first layer whose positive statistic lies outside the ensemble's band, on a log scale.

    Layer statistics of deep networks are products of random factors per layer, so their
    logarithms are close to normal while the values themselves have heavy tails.

    Returns:
        ``(layer, low, high)``: the layer index (None if all are inside) and its band.
    """
    logs = np.log(ensemble)
    centre, spread = logs.mean(axis=0), logs.std(axis=0, ddof=1)
    low, high = np.exp(centre - LAYER_BANDS * spread), np.exp(centre + LAYER_BANDS * spread)
    with np.errstate(divide="ignore", invalid="ignore"):
        off = ~((got >= low) & (got <= high))
    if not off.any():
        return None, 0.0, 0.0
    layer = int(np.argmax(off))
    return layer, float(low[layer]), float(high[layer])


def _stats_cause(got: np.ndarray, dims: list[int], scale: Any, activation: str, batch_size: int) -> Text:
    if activation == "relu" and np.any(got[:, 0] < 0):
        return Text("ReLU outputs are never negative, yet a layer has a negative mean: is the activation "
                    "applied (np.maximum(0, x @ W))?",
                    "ReLU 的输出不会为负，但某层均值为负：是否应用了激活函数（np.maximum(0, x @ W)）？")
    if activation == "tanh" and np.all(got[:, 0] > 0.1):
        return Text("every layer has a clearly positive mean, as after ReLU: the activation should be "
                    "np.tanh.",
                    "每层均值都明显为正，像 ReLU 之后的结果：激活函数应为 np.tanh。")
    if isinstance(scale, str) and any(a != b for a, b in zip(dims[:-1], dims[1:])):
        _, stds = torch_layer_statistics(dims, scale, activation, batch_size, scale_by="out")
        if _outside_band(got[:, 1], stds)[0] is None:
            return Text("the std was evaluated at Dout: weight_scale is a function of Din, the layer's "
                        "input width.",
                        "标准差是在 Dout 处计算的：weight_scale 是 Din（该层输入宽度）的函数。")
    if isinstance(scale, str):
        return Text("when weight_scale is a function, "
                    "W = rng.standard_normal((Din, Dout)) * weight_scale(Din).",
                    "weight_scale 是函数时，W = rng.standard_normal((Din, Dout)) * weight_scale(Din)。")
    return Text("each layer: x = activation(x @ W) with W = weight_scale * rng.standard_normal((Din, Dout)); "
                "the statistics are x.mean() and x.std() after the activation.",
                "每一层：x = activation(x @ W)，W = weight_scale * rng.standard_normal((Din, Dout))；"
                "统计量是激活之后的 x.mean() 与 x.std()。")


register(Spec(
    "layer_statistics", NOTEBOOK,
    Text("layer_statistics agrees with torch runs of the lecture's experiment (5 standard errors)",
         "layer_statistics 与 torch 运行课上实验的结果一致（5 个标准误内）"),
    ("function",), _stats_run, _stats_judge,
    {"seed": 0, "dims": (256,) * 5, "batch_size": 16,
     "settings": (("tanh", 0.2), ("tanh", "xavier"), ("relu", "xavier"), ("relu", "kaiming"))},
    numpy_only=True,
))
