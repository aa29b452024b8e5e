"""Hyperparameter search: ``sample_log_uniform``, ``grid_search_configs`` and ``random_search_configs``.

The samples are judged statistically: on the right scale they map to ``u`` in
``[0, 1]``, which must be uniform (mean, variance and Kolmogorov–Smirnov
distance, see :func:`_expect_uniform`), drawn from ``rng`` only. The grid must be
``torch.cartesian_prod`` of the value lists, in its order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from nnlab.checks.codec import Foreign, TensorValue
from nnlab.checks.compare import FLOAT64, expect_close, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_within
from nnlab.checks.tuning._common import NOTEBOOK, NUMBER_TYPES, Functions
from nnlab.i18n import Text

#: bands of standard errors for every statistical check in this module.
BANDS = 5.0
#: Kolmogorov–Smirnov threshold on √n·D (false alarm ≈ 2·exp(−2·2.75²) ≈ 5e-7).
KS_LIMIT = 2.75


def _t64(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# --------------------------------------------------------------------------- uniformity tools

def _expect_uniform(u: np.ndarray, what: Text, name: Text, cause: Text) -> None:
    """``u`` (n,) must look like n independent uniform draws on [0, 1]."""
    n = u.size
    uniform = torch.distributions.Uniform(torch.tensor(0.0, dtype=torch.float64),
                                          torch.tensor(1.0, dtype=torch.float64))
    next_step = Text("plot a histogram of the samples on the axis of the scale (log10 for 'log').",
                     "在相应刻度上画样本直方图（'log' 用 log10）。")
    expect_within(float(u.mean()), float(uniform.mean), stderr=math.sqrt(1 / 12 / n), what=what,
                  bands=BANDS, statistic_name=Text(f"mean of {name.en}", f"{name.zh or name.en} 的均值"),
                  cause=cause, next_step=next_step)
    expect_within(float(u.var()), float(uniform.variance), stderr=math.sqrt(1 / 180 / n), what=what,
                  bands=BANDS,
                  statistic_name=Text(f"variance of {name.en}", f"{name.zh or name.en} 的方差"),
                  cause=cause, next_step=next_step)
    ordered = _t64(np.sort(u))
    cdf = uniform.cdf(ordered.clamp(0.0, 1.0 - 1e-16))
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n
    distance = float(torch.maximum(steps - cdf, cdf - (steps - 1 / n)).max())
    if math.sqrt(n) * distance > KS_LIMIT:
        fail(
            what, Text("is not spread uniformly", "分布不均匀"),
            detail=Text(f"largest gap between the empirical and uniform CDF of {name.en}: {distance:.3f}, "
                        f"allowed {KS_LIMIT / math.sqrt(n):.3f}",
                        f"{name.zh or name.en} 的经验分布函数与均匀分布的最大差距 {distance:.3f}，"
                        f"允许 {KS_LIMIT / math.sqrt(n):.3f}"),
            cause=cause, next_step=next_step)


def _expect_in_range(x: np.ndarray, low: float, high: float, what: Text) -> None:
    slack = 1e-12 * max(abs(low), abs(high))  # 10 ** log10(high) may round one ulp past high
    outside = ~((x >= low - slack) & (x <= high + slack))
    if outside.any():
        fail(
            what, Text("has samples outside [low, high]", "有样本落在 [low, high] 之外"),
            detail=Text(f"{int(outside.sum())} of {x.size} samples outside [{low:g}, {high:g}]; "
                        f"smallest {np.nanmin(x):.3g}, largest {np.nanmax(x):.3g}",
                        f"{x.size} 个样本中有 {int(outside.sum())} 个在 [{low:g}, {high:g}] 之外；"
                        f"最小 {np.nanmin(x):.3g}，最大 {np.nanmax(x):.3g}"),
            cause=Text("exponent and base do not match: 10 ** uniform(log10(low), log10(high)) stays in "
                       "range; e ** uniform(log10(...)) does not.",
                       "指数与底数不匹配：10 ** uniform(log10(low), log10(high)) 才落在范围内。"),
            next_step=Text("print the smallest and largest sample.", "打印最小和最大的样本。"))


def _expect_uses_rng(first: Any, again: Any, other: Any, what: Text) -> None:
    if not _same(first, again):
        fail(
            what, Text("gives different results for the same rng seed", "相同的 rng 种子给出不同结果"),
            cause=Text("it draws from a global generator (np.random.uniform, random.random) instead of rng.",
                       "使用了全局随机数生成器（np.random.uniform、random.random），而不是 rng。"),
            next_step=Text("draw every random number with rng, e.g. rng.uniform(a, b, size=n).",
                           "所有随机数都用 rng 生成，例如 rng.uniform(a, b, size=n)。"))
    if _same(first, other):
        fail(
            what, Text("gives the same results for different rng seeds", "不同的 rng 种子给出相同结果"),
            cause=Text("it creates its own generator with a fixed seed instead of using rng.",
                       "函数内部用固定种子创建了自己的生成器，而没有用 rng。"),
            next_step=Text("draw every random number with the rng you are given.",
                           "用传入的 rng 生成所有随机数。"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=True)))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------- sample_log_uniform

def _log_uniform_run(functions: Functions, p: Params) -> Record:
    args = (float(p["low"]), float(p["high"]), int(p["size"]))
    seed = int(p["seed"])
    return {
        "first": call(functions["function"], *args, np.random.default_rng(seed)),
        "again": call(functions["function"], *args, np.random.default_rng(seed)),
        "other": call(functions["function"], *args, np.random.default_rng(seed + 1)),
    }


def _log_uniform_judge(record: Record, p: Params) -> None:
    low, high, size = float(p["low"]), float(p["high"]), int(p["size"])
    what = Text("sample_log_uniform")
    results = [value_of(record.get(key, {}), what) for key in ("first", "again", "other")]
    x = results[0]
    if isinstance(x, TensorValue) or not isinstance(x, np.ndarray) or x.shape != (size,):
        got = f"ndarray {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        fail(what, Text("should return a float64 array of shape (size,)",
                        "应返回形状为 (size,) 的 float64 数组"),
             detail=Text(f"expected ({size},), got {got}", f"应为 ({size},)，得到 {got}"),
             next_step=Text("return rng.uniform(..., size=size) transformed back.",
                            "返回用 rng.uniform(..., size=size) 变换后的结果。"))
    if x.dtype != np.float64:
        fail(what, Text("has the wrong dtype", "数据类型错误"),
             detail=Text(f"expected float64, got {x.dtype}", f"应为 float64，得到 {x.dtype}"),
             next_step=Text("keep float64 (rng.uniform's default).",
                            "保持 float64（rng.uniform 的默认类型）。"))
    _expect_in_range(x, low, high, what)
    u = ((_t64(x).log10() - math.log10(low)) / (math.log10(high) - math.log10(low))).numpy()
    _expect_uniform(u, what, Text("log10(samples), rescaled to [0, 1]", "log10(样本) 缩放到 [0, 1]"),
                    Text("the exponent must be uniform: draw e = rng.uniform(log10(low), log10(high)) and "
                         "return 10 ** e (uniform samples of x itself crowd near high).",
                         "指数应均匀分布：先取 e = rng.uniform(log10(low), log10(high))，再返回 10 ** e"
                         "（直接对 x 均匀采样会挤在 high 附近）。"))
    _expect_uses_rng(*results, what)


register(Spec(
    "sample_log_uniform", NOTEBOOK,
    Text("sample_log_uniform draws uniformly on a log scale", "sample_log_uniform 在对数尺度上均匀采样"),
    ("function",), _log_uniform_run, _log_uniform_judge,
    {"seed": 0, "low": 1e-4, "high": 1e-1, "size": 2000},
))


# --------------------------------------------------------------------------- grid search

_GRID_NAMES = ("lr", "weight_decay", "hidden_dim", "momentum", "batch_size")


def make_grid_space(seed: int, num_params: int) -> dict[str, list[float | int]]:
    """A grid-search space: name -> list of 2..4 values (1..4 when ``num_params`` > 2), seeded."""
    rng = np.random.default_rng(seed)
    space: dict[str, list[float | int]] = {}
    for name in _GRID_NAMES[:num_params]:
        count = int(rng.integers(2 if num_params <= 2 else 1, 5))
        if name in ("hidden_dim", "batch_size"):
            drawn = rng.choice(np.arange(8, 513, 8), count, replace=False)
            values: list[float | int] = sorted(int(v) for v in drawn)
        elif name == "momentum":
            values = sorted({round(float(v), 3) for v in rng.uniform(0.5, 0.99, count)})
        else:
            values = sorted({float(10 ** round(float(v), 2)) for v in rng.uniform(-6, -1, count)})
        space[name] = values
    return space


def _grid_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], make_grid_space(int(p["seed"]), int(p["num_params"])))


def _configs_table(value: Any, names: list[str], count: int | None, what: Text) -> np.ndarray:
    """A returned list of configuration dicts as a (num_configs, num_params) float64 table."""
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        got = value.type_name if isinstance(value, Foreign) else type(value).__name__
        fail(what, Text("should return a list of dicts (one per configuration)",
                        "应返回字典的列表（每个配置一个字典）"),
             detail=Text(f"got {got}", f"得到 {got}"),
             next_step=Text("build each configuration as dict(zip(names, values)).",
                            "用 dict(zip(names, values)) 构造每个配置。"))
    if count is not None and len(value) != count:
        fail(what, Text("returned the wrong number of configurations", "配置个数不对"),
             detail=Text(f"expected {count}, got {len(value)}",
                         f"应为 {count}，得到 {len(value)}"),
             cause=Text("every combination of values must appear once: the number of "
                        "configurations is the product of the list lengths.",
                        "每种取值组合恰好出现一次：配置数等于各列表长度之积。"),
             next_step=Text("use itertools.product over the value lists.",
                            "对各取值列表使用 itertools.product。"))
    for config in value:
        if sorted(config) != sorted(names):
            fail(what, Text("has configurations with the wrong keys", "配置的键不对"),
                 detail=Text(f"expected keys {sorted(names)}, got {sorted(config)}",
                             f"应为 {sorted(names)}，得到 {sorted(config)}"),
                 next_step=Text("use the space's parameter names as keys.",
                                "用搜索空间中的参数名作为键。"))
        for name in names:
            item = config[name]
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, NUMBER_TYPES):
                kind = type(item).__name__
                fail(what, Text("has a value that is not a number", "有一个值不是数字"),
                     detail=Text(f"{name}: got {kind}", f"{name}：得到 {kind}"),
                     next_step=Text("store plain numbers in each configuration.",
                                    "每个配置里存放普通数字。"))
    return np.array([[float(c[name]) for name in names] for c in value], dtype=np.float64).reshape(
        len(value), len(names))


def _grid_judge(record: Record, p: Params) -> None:
    space = make_grid_space(int(p["seed"]), int(p["num_params"]))
    names = list(space)
    reference = torch.cartesian_prod(*[_t64(np.array(v, dtype=np.float64)) for v in space.values()])
    reference = reference.reshape(-1, len(names)).numpy()
    what = Text("grid_search_configs")
    got = _configs_table(value_of(record, what), names, len(reference), what)
    as_rows = lambda table: sorted(map(tuple, table.tolist()))  # noqa: E731
    if as_rows(got) != as_rows(reference):
        missing = len(set(as_rows(reference)) - set(as_rows(got)))
        fail(what, Text("does not contain every combination once", "没有恰好包含每种组合一次"),
             detail=Text(f"{missing} of {len(reference)} combinations missing",
                         f"{len(reference)} 种组合中缺少 {missing} 种"),
             cause=Text("zip pairs the lists element by element; the grid needs the "
                        "Cartesian product.",
                        "zip 只是逐个配对；网格需要笛卡尔积。"),
             next_step=Text("use itertools.product(*space.values()).",
                            "使用 itertools.product(*space.values())。"))
    expect_close({"value": got}, reference,
                 what=Text("grid_search_configs: order", "grid_search_configs：顺序"), tol=FLOAT64,
                 cause=Text("the right configurations in another order: keep the space's key order and "
                            "let the last parameter vary fastest, as itertools.product does.",
                            "配置正确但顺序不同：保持空间中键的顺序，"
                            "让最后一个参数变化最快（同 itertools.product）。"),
                 next_step=Text("loop with itertools.product(*space.values()), keys in the space's order.",
                                "按键的顺序用 itertools.product(*space.values()) 循环。"))


register(Spec(
    "grid_search_configs", NOTEBOOK,
    Text("grid_search_configs lists the full grid in torch.cartesian_prod order",
         "grid_search_configs 按 torch.cartesian_prod 的顺序列出完整网格"),
    ("function",), _grid_run, _grid_judge, {"seed": 0, "num_params": 2},
))


# --------------------------------------------------------------------------- random search

_RANDOM_CATALOG = (("lr", "log"), ("dropout", "linear"), ("weight_decay", "log"), ("momentum", "linear"))


def make_random_space(seed: int, num_params: int) -> dict[str, tuple[float, float, str]]:
    """A random-search space: name -> (low, high, "log" | "linear"), with seeded ranges."""
    rng = np.random.default_rng(seed)
    space: dict[str, tuple[float, float, str]] = {}
    for name, scale in _RANDOM_CATALOG[:num_params]:
        if scale == "log":
            low = float(10 ** round(float(rng.uniform(-7, -4)), 2))
            space[name] = (low, float(low * 10 ** round(float(rng.uniform(2, 4)), 2)), "log")
        else:
            low = round(float(rng.uniform(0.0, 0.3)), 3)
            space[name] = (low, round(low + float(rng.uniform(0.3, 0.6)), 3), "linear")
    return space


def _random_run(functions: Functions, p: Params) -> Record:
    seed, num_params, trials = int(p["seed"]), int(p["num_params"]), int(p["num_trials"])
    return {
        key: call(functions["function"], make_random_space(seed, num_params), trials,
                  np.random.default_rng(seed + offset))
        for key, offset in (("first", 0), ("again", 0), ("other", 1))
    }


def _random_judge(record: Record, p: Params) -> None:
    seed, num_params, trials = int(p["seed"]), int(p["num_params"]), int(p["num_trials"])
    space = make_random_space(seed, num_params)
    names = list(space)
    what = Text("random_search_configs")
    results = [value_of(record.get(key, {}), what) for key in ("first", "again", "other")]
    table = _configs_table(results[0], names, trials, what)
    units = []
    for column, (name, (low, high, scale)) in zip(table.T, space.items()):
        dimension = Text(f"random_search_configs: {name} ({scale})")
        _expect_in_range(column, low, high, dimension)
        if scale == "log":
            u = (_t64(column).log10() - math.log10(low)) / (math.log10(high) - math.log10(low))
            cause = Text(f"'{name}' has scale 'log': its log10 must be uniform (use sample_log_uniform).",
                         f"'{name}' 的刻度是 'log'：它的 log10 应均匀分布（用 sample_log_uniform）。")
        else:
            u = (_t64(column) - low) / (high - low)
            cause = Text(f"'{name}' has scale 'linear': draw it with rng.uniform(low, high).",
                         f"'{name}' 的刻度是 'linear'：用 rng.uniform(low, high) 采样。")
        _expect_uniform(u.numpy(), dimension, Text(f"{name} on its scale, rescaled to [0, 1]",
                                                   f"{name} 在其刻度上缩放到 [0, 1]"), cause)
        units.append(u)
    for i in range(len(units)):
        for j in range(i + 1, len(units)):
            r = float(torch.corrcoef(torch.stack([units[i], units[j]]))[0, 1])
            if abs(r) > BANDS / math.sqrt(trials):
                fail(
                    what, Text("draws parameters that are not independent", "各参数的采样不独立"),
                    detail=Text(f"correlation of {names[i]} and {names[j]} on their scales: {r:.3f}, "
                                f"allowed ±{BANDS / math.sqrt(trials):.3f}",
                                f"{names[i]} 与 {names[j]} 在各自刻度上的相关系数为 {r:.3f}，"
                                f"允许 ±{BANDS / math.sqrt(trials):.3f}"),
                    cause=Text("one random number was reused for several parameters.",
                               "同一个随机数被用于多个参数。"),
                    next_step=Text("draw a fresh random number for every parameter of every trial.",
                                   "每次试验的每个参数都要重新抽一个随机数。"))
    _expect_uses_rng(*results, what)


register(Spec(
    "random_search_configs", NOTEBOOK,
    Text("random_search_configs samples each parameter independently on its scale",
         "random_search_configs 在各自刻度上独立地采样每个参数"),
    ("function",), _random_run, _random_judge, {"seed": 0, "num_params": 2, "num_trials": 2000},
))
