"""init_weights: random weights checked statistically against the std torch.nn.init uses.

Bands of 5 standard errors: the standard error of the sample std of n normal draws
is σ/√(2n), of their mean σ/√n. Also checks that the weights come from ``rng`` and
that an unknown method raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.checks.codec import TensorValue
from nnlab.checks.compare import value_of
from nnlab.checks.initialization._common import NOTEBOOK, torch_init_std, type_name_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_within
from nnlab.i18n import Text

#: bands of standard errors for every statistical check in this module.
BANDS = 5.0

#: the methods of ``init_weights`` that draw random numbers.
RANDOM_METHODS = ("small", "xavier", "kaiming")


# --- init_weights(shape, method, rng) -> float64 array --------------------------------------

_UNKNOWN_METHOD = "orthogonal"


def _init_seed(p: Params, i: int, k: int) -> int:
    return int(p["seed"]) + 1000 * i + k


def _init_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    f = functions["function"]
    results = {}
    for i, shape in enumerate(p["shapes"]):
        for k, method in enumerate(("constant", *RANDOM_METHODS)):
            rng = np.random.default_rng(_init_seed(p, i, k))
            results[f"{i}:{method}"] = call(f, tuple(shape), method, rng)
    shape = tuple(p["shapes"][0])
    return {
        "results": results,
        "again": call(f, shape, "xavier", np.random.default_rng(_init_seed(p, 0, 2))),
        "other": call(f, shape, "xavier", np.random.default_rng(_init_seed(p, 0, 2) + 1)),
        "unknown": call(f, shape, _UNKNOWN_METHOD, np.random.default_rng(p["seed"])),
    }


def _weights(result: Record, shape: tuple[int, ...], method: str) -> np.ndarray:
    what = Text(f"init_weights(method={method!r})")
    value = value_of(result, what)
    if isinstance(value, TensorValue) or not isinstance(value, np.ndarray):
        fail(
            what, Text("should return a numpy array", "应返回 numpy 数组"),
            detail=Text(f"got {type_name_of(value)}", f"得到 {type_name_of(value)}"),
            next_step=Text("draw with rng.standard_normal(shape) (or np.full for constants).",
                           "用 rng.standard_normal(shape) 抽样（常数用 np.full）。"),
        )
    if value.shape != shape:
        fail(
            what, Text("has the wrong shape", "形状错误"),
            detail=Text(f"expected {shape}, got {value.shape}", f"应为 {shape}，得到 {value.shape}"),
            cause=Text("the weight keeps the shape it is given, in torch layout (out, in, *kernel); "
                       "do not transpose it.",
                       "权重保持传入的形状（torch 布局 (out, in, *kernel)），不要转置。"),
        )
    if value.dtype != np.float64:
        fail(
            what, Text("has the wrong dtype", "数据类型错误"),
            detail=Text(f"expected float64, got {value.dtype}", f"应为 float64，得到 {value.dtype}"),
            cause=Text("an integer constant (np.full(shape, 1)) or a float32 conversion.",
                       "整数常量（np.full(shape, 1)）或转换成了 float32。"),
            next_step=Text("pass dtype=np.float64 (or use a float constant).",
                           "指定 dtype=np.float64（或用浮点常数）。"),
        )
    if not np.all(np.isfinite(value)):
        fail(what, Text("contains NaN or infinity", "出现了 NaN 或无穷大"),
             cause=Text("a division by zero.", "除以了零。"))
    return value


def _std_cause(method: str, shape: tuple[int, ...], got: float, stderr_of: Callable[[float], float]) -> Text:
    """Name the likely mistake when the std of the weights is off (compares torch variants)."""
    def near(sigma: float) -> bool:
        return abs(got - sigma) <= BANDS * stderr_of(sigma)

    if method == "small":
        if near(1.0):
            return Text("the std is 1: multiply the standard normals by 0.01.",
                        "标准差为 1：要把标准正态样本乘以 0.01。")
        return Text("'small' is 0.01 · standard normal.", "'small' 是 0.01 乘标准正态样本。")
    other = "kaiming" if method == "xavier" else "xavier"
    candidates = [
        (other, Text(f"this is the std of {other}: Xavier is 1/√Din, Kaiming √(2/Din) "
                     "(the factor 2 compensates for ReLU zeroing half of the inputs).",
                     f"这是 {other} 的标准差：Xavier 是 1/√Din，Kaiming 是 √(2/Din)"
                     "（因子 2 补偿 ReLU 把一半输入置零）。")),
        (f"{method}_fan_out", Text("Din is the fan-in: with weights in torch layout (out, in, *kernel), "
                                   "use fan_in_fan_out(shape)[0], not shape[0].",
                                   "Din 是 fan-in：torch 布局 (out, in, *kernel) 下用 "
                                   "fan_in_fan_out(shape)[0]，不是 shape[0]。")),
    ]
    if method == "xavier":
        candidates.append(("torch_xavier_normal", Text(
            "this is torch.nn.init.xavier_normal_ (√(2/(fan_in + fan_out))); the lecture's Xavier "
            "uses fan_in only: 1/√Din.",
            "这是 torch.nn.init.xavier_normal_（√(2/(fan_in + fan_out))）；"
            "课上的 Xavier 只用 fan_in：1/√Din。")))
    for variant, cause in candidates:
        if near(torch_init_std(shape, variant)):
            return cause
    if len(shape) > 2 and near(torch_init_std(shape[:2], method)):
        return Text("for a conv weight Din = in_channels · kernel size (shape[1] · prod(shape[2:])), "
                    "as fan_in_fan_out computes.",
                    "卷积权重的 Din = 输入通道数 · 卷积核大小（shape[1] · prod(shape[2:])），"
                    "即 fan_in_fan_out 的结果。")
    return Text("draw rng.standard_normal(shape) and multiply by the std of the method "
                "(xavier_std / kaiming_std of the fan-in).",
                "用 rng.standard_normal(shape) 抽样，再乘以该方法的标准差"
                "（对 fan-in 求 xavier_std / kaiming_std）。")


def _init_judge(record: Record, p: Params) -> None:
    results = record.get("results")
    if not isinstance(results, dict):
        fail(Text("init_weights"), Text("produced no results", "没有结果"))
    for i, shape in enumerate(p["shapes"]):
        shape = tuple(shape)
        n = math.prod(shape)
        constant = _weights(results.get(f"{i}:constant", {}), shape, "constant")
        spread = float(np.ptp(constant))
        if spread != 0.0:
            fail(
                Text("init_weights(method='constant')"),
                Text("values are not all equal", "值并不全相同"),
                detail=Text(f"shape {shape}: max − min = {spread:.3g}",
                            f"形状 {shape}：最大值 − 最小值 = {spread:.3g}"),
                cause=Text("'constant' must give every weight the same value (that is the point of the "
                           "symmetry experiment).",
                           "'constant' 要让所有权重取同一个值（这正是对称性实验要演示的）。"),
                next_step=Text("use np.full(shape, c) with a float c.", "用 np.full(shape, c)，c 为浮点数。"),
            )
        for method in RANDOM_METHODS:
            w = _weights(results.get(f"{i}:{method}", {}), shape, method)
            sigma = torch_init_std(shape, method)
            what = Text(f"init_weights(method={method!r})")
            shown = Text(f"shape {shape}, {n} weights: ", f"形状 {shape}，{n} 个权重：")
            mean, std = float(w.mean()), float(w.std())
            # the mean against the weights' own spread (a t-test), so a wrong scale is reported
            # by the std check below, with its cause
            expect_within(
                mean, 0.0, stderr=max(std, 1e-300) / math.sqrt(n), what=what,
                statistic_name=shown + Text("mean (standard error std/√n)", "均值（标准误 std/√n）"),
                cause=Text("the weights must be centred at 0: draw standard normals "
                           "(rng.standard_normal), not uniform numbers in [0, 1).",
                           "权重应以 0 为中心：用标准正态分布（rng.standard_normal），"
                           "不要用 [0, 1) 上的均匀分布。"),
                next_step=Text("check which rng method you call.", "检查调用的是 rng 的哪个方法。"),
            )
            expect_within(
                std, sigma, stderr=sigma / math.sqrt(2 * n), what=what,
                statistic_name=shown + Text("std (standard error σ/√(2n))", "标准差（标准误 σ/√(2n)）"),
                cause=_std_cause(method, shape, std, lambda s, n=n: s / math.sqrt(2 * n)),
                next_step=Text("print w.std() next to xavier_std / kaiming_std of fan_in_fan_out(shape)[0].",
                               "打印 w.std()，与 fan_in_fan_out(shape)[0] 对应的 "
                               "xavier_std / kaiming_std 对比。"),
            )
    _check_uses_rng(record, p)
    _check_unknown_method(record)


def _check_uses_rng(record: Record, p: Params) -> None:
    shape = tuple(p["shapes"][0])
    first = _weights(record["results"].get("0:xavier", {}), shape, "xavier")
    again = _weights(record.get("again", {}), shape, "xavier")
    if not np.array_equal(first, again):
        fail(
            Text("init_weights"),
            Text("gives different weights for two generators seeded alike",
                 "两个种子相同的生成器给出了不同的权重"),
            cause=Text("drawing from np.random (numpy's global generator) instead of the rng argument.",
                       "用了 np.random（numpy 的全局生成器），而不是参数 rng。"),
            next_step=Text("draw every random number with rng, e.g. rng.standard_normal(shape).",
                           "所有随机数都用 rng 抽取，例如 rng.standard_normal(shape)。"),
        )
    other = _weights(record.get("other", {}), shape, "xavier")
    if np.array_equal(first, other):
        fail(
            Text("init_weights"),
            Text("gives the same random numbers for generators with different seeds",
                 "不同种子的生成器给出了相同的随机数"),
            cause=Text("a generator created inside the function (np.random.default_rng(0)) instead of "
                       "the rng argument.",
                       "在函数内部新建了生成器（np.random.default_rng(0)），没有用参数 rng。"),
            next_step=Text("use the rng you are given.", "使用传入的 rng。"),
        )


def _check_unknown_method(record: Record) -> None:
    what = Text(f"init_weights(method={_UNKNOWN_METHOD!r})")
    result = record.get("unknown", {})
    error = result.get("error") if isinstance(result, dict) else None
    kind = error[0] if isinstance(error, (list, tuple)) and error else None
    if kind == "ValueError":
        return
    if kind == "NotImplementedError":
        value_of(result, what)
    got = (Text(f"raised {kind}", f"抛出了 {kind}") if kind
           else Text("returned a value", "返回了一个值"))
    fail(
        what, Text("an unknown method should raise ValueError", "未知方法应抛出 ValueError"),
        detail=got,
        cause=Text("a missing final else, or a dict lookup that raises KeyError.",
                   "缺少最后的 else 分支，或字典查找抛出了 KeyError。"),
        next_step=Text("end with: raise ValueError(f\"unknown method {method!r}\").",
                       "最后写：raise ValueError(f\"unknown method {method!r}\")。"),
    )


register(Spec(
    "init_weights", NOTEBOOK,
    Text("init_weights draws weights with the std torch.nn.init uses (5 standard errors)",
         "init_weights 的权重标准差与 torch.nn.init 一致（5 个标准误内）"),
    ("function",), _init_run, _init_judge,
    {"seed": 0, "shapes": ((256, 128), (32, 16, 3, 3), (64, 8, 5))},
    numpy_only=True,
))
