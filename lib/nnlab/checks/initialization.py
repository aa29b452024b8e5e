"""Checks for 03_initialization: fan-in/fan-out, Xavier/Kaiming scales, initializers, the
lecture's activation-statistics experiment.

References come from torch at check time:

* fan-in and fan-out: ``torch.nn.init._calculate_fan_in_and_fan_out`` on an empty tensor;
* the standard deviation an initializer uses: *measured* from ``torch.nn.init``
  (:func:`torch_init_std` draws a weight with a seeded generator and the plain standard
  normals with an identically seeded one; their ratio is the std torch used). The lecture's
  Xavier, std = 1/√Din, is ``kaiming_normal_(mode="fan_in", nonlinearity="linear")``; Kaiming,
  std = √(2/Din), is ``nonlinearity="relu"``. (``torch.nn.init.xavier_normal_`` is another
  variant: √(2/(fan_in + fan_out)).)
* random weights are checked statistically with bands of 5 standard errors: the standard
  error of the sample std of n normal draws is σ/√(2n), of their mean σ/√n;
* the layer statistics with bands of 6 standard errors on a log scale, the standard error
  being the spread of log(std) (and, after ReLU, log(mean)) across an ensemble of torch runs
  with independent seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any

import numpy as np
import torch

from nnlab.checks.codec import Foreign, TensorValue
from nnlab.checks.compare import expect_within, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "03_initialization"

#: bands of standard errors for every statistical check in this module.
BANDS = 5.0

#: the methods of ``init_weights`` that draw random numbers.
RANDOM_METHODS = ("small", "xavier", "kaiming")

#: torch initializers, by the name the notebook uses (applied in place with a generator).
_INITIALIZERS: dict[str, Callable[[torch.Tensor, torch.Generator], Any]] = {
    "small": lambda w, g: torch.nn.init.normal_(w, 0.0, 0.01, generator=g),
    "xavier": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_in", nonlinearity="linear", generator=g),
    "kaiming": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_in", nonlinearity="relu", generator=g),
    # variants that plausible mistakes produce (used only to name the cause)
    "torch_xavier_normal": lambda w, g: torch.nn.init.xavier_normal_(w, generator=g),
    "xavier_fan_out": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_out", nonlinearity="linear", generator=g),
    "kaiming_fan_out": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_out", nonlinearity="relu", generator=g),
}


@lru_cache(maxsize=512)
def torch_init_std(shape: tuple[int, ...], method: str) -> float:
    """The standard deviation ``torch.nn.init`` draws a weight of ``shape`` with, measured.

    Args:
        shape: a torch-layout weight shape, ``(out, in, *kernel)``.
        method: ``"small"`` (``normal_(std=0.01)``), ``"xavier"`` (``kaiming_normal_``,
            fan-in, ``nonlinearity="linear"``: the lecture's 1/√Din) or ``"kaiming"``
            (``nonlinearity="relu"``), or one of the variants in ``_INITIALIZERS``.

    Returns:
        The std as a float: the median ratio of the initialized weight to the standard
        normals an identically seeded generator gives (exact up to rounding).
    """
    weight = torch.empty(shape, dtype=torch.float64)
    _INITIALIZERS[method](weight, torch.Generator().manual_seed(0))
    normals = torch.empty(shape, dtype=torch.float64).normal_(generator=torch.Generator().manual_seed(0))
    return float((weight / normals).abs().median())


def fan_in_std(fan_in: int, method: str) -> float:
    """``torch_init_std`` for a linear layer with ``fan_in`` inputs (``weight_scale(Din)``)."""
    return torch_init_std((1, int(fan_in)), method)


def torch_fan_in_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """torch's fan-in and fan-out of a weight of ``shape`` (at least 2-D)."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    return int(fan_in), int(fan_out)


def _scalar(value: Any) -> float | None:
    """A real number returned by student code as a float, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    return None


def _type_name(value: Any) -> str:
    if isinstance(value, TensorValue):
        return f"torch.Tensor of shape {tuple(value.array.shape)}"
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape}"
    if isinstance(value, Foreign):
        return value.type_name
    return type(value).__name__


# --- fan_in_fan_out(shape) -> (fan_in, fan_out) --------------------------------------------

def _fan_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], tuple(shape)) for shape in p["shapes"]]}


def _fan_judge(record: Record, p: Params) -> None:
    what = Text("fan_in_fan_out")
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(p["shapes"]):
        raise CheckFailed(what, Text("produced no results", "没有结果"))
    for shape, result in zip(p["shapes"], results):
        shape = tuple(shape)
        expected = torch_fan_in_fan_out(shape)
        shown = Text(f"for shape {shape}", f"形状 {shape}")
        value = value_of(result, what)
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise CheckFailed(
                what, Text("should return a pair (fan_in, fan_out)", "应返回二元组 (fan_in, fan_out)"),
                detail=Text(f"{shown.en}: got {_type_name(value)}", f"{shown.zh}：得到 {_type_name(value)}"),
                next_step=Text("end with `return fan_in, fan_out`.", "最后写 `return fan_in, fan_out`。"),
            )
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            floats = [_scalar(v) for v in value]
            integral = all(f is not None and f == int(f) for f in floats)
            raise CheckFailed(
                what, Text("should return two integers", "应返回两个整数"),
                detail=Text(f"{shown.en}: got ({', '.join(_type_name(v) for v in value)})",
                            f"{shown.zh}：得到 ({', '.join(_type_name(v) for v in value)})"),
                cause=Text("np.prod(()) of an empty kernel shape is the float 1.0."
                           if integral else "a division instead of a product.",
                           "对空的卷积核形状求 np.prod(()) 得到浮点数 1.0。"
                           if integral else "用了除法而不是乘法。"),
                next_step=Text("use math.prod(shape[2:]) (which gives the int 1 for ()), or int(...).",
                               "用 math.prod(shape[2:])（空元组得到整数 1），或 int(...)。"),
            )
        got = (int(value[0]), int(value[1]))
        if got == expected:
            continue
        if got == expected[::-1]:
            cause = Text("fan_in and fan_out are swapped: torch stores weights as (out, in, *kernel), "
                         "so fan_in counts shape[1], fan_out counts shape[0].",
                         "fan_in 与 fan_out 颠倒了：torch 的权重布局是 (out, in, *kernel)，"
                         "fan_in 对应 shape[1]，fan_out 对应 shape[0]。")
        elif len(shape) > 2 and got in ((shape[1], shape[0]), (shape[0], shape[1])):
            cause = Text("the kernel is missing: each output of a convolution sees in_channels × "
                         "kernel elements, so multiply both fans by the product of all of shape[2:] "
                         "(one kernel dimension for conv1d, two for conv2d, three for conv3d).",
                         "漏掉了卷积核：卷积的每个输出看到 in_channels × 卷积核 个输入，"
                         "两个 fan 都要乘以 shape[2:] 所有维度的乘积"
                         "（conv1d 一维、conv2d 二维、conv3d 三维）。")
        elif len(shape) != 4 and len(shape) > 2:
            cause = Text(f"a {len(shape) - 2}-D kernel: the receptive field is the product of *all* "
                         "of shape[2:], not only kh·kw.",
                         f"{len(shape) - 2} 维卷积核：感受野是 shape[2:] *所有*维度的乘积，不只是 kh·kw。")
        else:
            cause = Text("fan_in = shape[1] · prod(shape[2:]), fan_out = shape[0] · prod(shape[2:]).",
                         "fan_in = shape[1] · prod(shape[2:])，fan_out = shape[0] · prod(shape[2:])。")
        raise CheckFailed(
            what, Text("differs from torch", "与 torch 的结果不同"),
            detail=Text(f"{shown.en}: expected {expected}, got {got}",
                        f"{shown.zh}：应为 {expected}，得到 {got}"),
            cause=cause,
            next_step=Text("compare with torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)).",
                           "与 torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)) 对比。"),
        )


register(Spec(
    "fan_in_fan_out", NOTEBOOK,
    Text("fan_in_fan_out matches torch for linear and conv1d/2d/3d weights",
         "fan_in_fan_out 与 torch 一致（全连接、一维/二维/三维卷积）"),
    ("function",), _fan_run, _fan_judge,
    {"shapes": ((128, 64), (10, 1), (64, 3, 3, 3), (96, 3, 11, 11), (16, 8, 5), (8, 4, 3, 3, 3))},
))


# --- xavier_std(fan_in), kaiming_std(fan_in) -> float -------------------------------------

_STD_RTOL = 1e-7  # same formula in float64 as torch: agrees to rounding


def _std_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], int(n)) for n in p["fan_ins"]]}


def _std_judge(name: str, method: str, record: Record, p: Params) -> None:
    what = Text(name)
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(p["fan_ins"]):
        raise CheckFailed(what, Text("produced no results", "没有结果"))
    other = "kaiming" if method == "xavier" else "xavier"
    for fan_in, result in zip(p["fan_ins"], results):
        value = value_of(result, what)
        got = _scalar(value)
        if got is None:
            raise CheckFailed(
                what, Text("should return one number (a float)", "应返回一个数（浮点数）"),
                detail=Text(f"got {_type_name(value)}", f"得到 {_type_name(value)}"),
                next_step=Text("return e.g. float(...) of a math.sqrt or np.sqrt expression.",
                               "返回一个数，例如 float(...) 包住 math.sqrt 或 np.sqrt 的表达式。"),
            )
        expected = fan_in_std(fan_in, method)
        if math.isclose(got, expected, rel_tol=_STD_RTOL, abs_tol=0.0):
            continue
        ratio = got / expected if expected else float("nan")
        if math.isclose(got, fan_in_std(fan_in, other), rel_tol=1e-6):
            cause = (Text("that is Kaiming's √(2/Din): the lecture's Xavier has no factor 2 (gain 1).",
                          "这是 Kaiming 的 √(2/Din)：课上的 Xavier 没有因子 2（增益为 1）。")
                     if method == "xavier" else
                     Text("that is Xavier's 1/√Din: ReLU zeroes half of its inputs, so Kaiming "
                          "doubles the variance: √(2/Din).",
                          "这是 Xavier 的 1/√Din：ReLU 把一半输入置零，Kaiming 把方差加倍：√(2/Din)。"))
        elif math.isclose(got, expected**2, rel_tol=1e-6):
            cause = Text("you returned the variance; the standard deviation is its square root.",
                         "返回的是方差；标准差要再开平方根。")
        elif fan_in > 1 and math.isclose(ratio, fan_in, rel_tol=1e-6):
            cause = Text("you multiplied by √Din instead of dividing.", "乘了 √Din 而不是除以它。")
        else:
            cause = (Text("the lecture's Xavier is std = 1/√Din (torch: kaiming_normal_ with "
                          "nonlinearity='linear'; not xavier_normal_, which also uses fan_out).",
                          "课上的 Xavier 是 std = 1/√Din（torch 中是 nonlinearity='linear' 的 "
                          "kaiming_normal_；不是同时用到 fan_out 的 xavier_normal_）。")
                     if method == "xavier" else
                     Text("Kaiming for ReLU is std = √(2/Din).", "ReLU 的 Kaiming 初始化是 std = √(2/Din)。"))
        raise CheckFailed(
            what, Text("differs from the std torch.nn.init uses", "与 torch.nn.init 使用的标准差不同"),
            detail=Text(f"{name}({fan_in}): expected {expected:.6g}, got {got:.6g} (ratio {ratio:.4g})",
                        f"{name}({fan_in})：应为 {expected:.6g}，得到 {got:.6g}（比值 {ratio:.4g}）"),
            cause=cause,
            next_step=Text("evaluate your formula for Din = 4 by hand and compare.",
                           "手算 Din = 4 时的结果并对比。"),
        )


for _name, _method, _torch in (
    ("xavier_std", "xavier", "kaiming_normal_(nonlinearity='linear')"),
    ("kaiming_std", "kaiming", "kaiming_normal_(nonlinearity='relu')"),
):
    register(Spec(
        _name, NOTEBOOK,
        Text(f"{_name} matches the std of torch.nn.init.{_torch}",
             f"{_name} 与 torch.nn.init.{_torch} 的标准差一致"),
        ("function",), _std_run, partial(_std_judge, _name, _method),
        {"fan_ins": (64, 3, 27, 256, 4096, 1)},
    ))


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
        raise CheckFailed(
            what, Text("should return a numpy array", "应返回 numpy 数组"),
            detail=Text(f"got {_type_name(value)}", f"得到 {_type_name(value)}"),
            next_step=Text("draw with rng.standard_normal(shape) (or np.full for constants).",
                           "用 rng.standard_normal(shape) 抽样（常数用 np.full）。"),
        )
    if value.shape != shape:
        raise CheckFailed(
            what, Text("has the wrong shape", "形状错误"),
            detail=Text(f"expected {shape}, got {value.shape}", f"应为 {shape}，得到 {value.shape}"),
            cause=Text("the weight keeps the shape it is given, in torch layout (out, in, *kernel); "
                       "do not transpose it.",
                       "权重保持传入的形状（torch 布局 (out, in, *kernel)），不要转置。"),
        )
    if value.dtype != np.float64:
        raise CheckFailed(
            what, Text("has the wrong dtype", "数据类型错误"),
            detail=Text(f"expected float64, got {value.dtype}", f"应为 float64，得到 {value.dtype}"),
            cause=Text("an integer constant (np.full(shape, 1)) or a float32 conversion.",
                       "整数常量（np.full(shape, 1)）或转换成了 float32。"),
            next_step=Text("pass dtype=np.float64 (or use a float constant).",
                           "指定 dtype=np.float64（或用浮点常数）。"),
        )
    if not np.all(np.isfinite(value)):
        raise CheckFailed(what, Text("contains NaN or infinity", "出现了 NaN 或无穷大"),
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
        raise CheckFailed(Text("init_weights"), Text("produced no results", "没有结果"))
    for i, shape in enumerate(p["shapes"]):
        shape = tuple(shape)
        n = math.prod(shape)
        constant = _weights(results.get(f"{i}:constant", {}), shape, "constant")
        spread = float(np.ptp(constant))
        if spread != 0.0:
            raise CheckFailed(
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
                statistic_name=shown + Text("mean (standard error std/√n)", "均值（标准误差 std/√n）"),
                cause=Text("the weights must be centred at 0: draw standard normals "
                           "(rng.standard_normal), not uniform numbers in [0, 1).",
                           "权重应以 0 为中心：用标准正态分布（rng.standard_normal），"
                           "不要用 [0, 1) 上的均匀分布。"),
                next_step=Text("check which rng method you call.", "检查调用的是 rng 的哪个方法。"),
            )
            expect_within(
                std, sigma, stderr=sigma / math.sqrt(2 * n), what=what,
                statistic_name=shown + Text("std (standard error σ/√(2n))", "标准差（标准误差 σ/√(2n)）"),
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
        raise CheckFailed(
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
        raise CheckFailed(
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
    raise CheckFailed(
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
         "init_weights 的权重标准差与 torch.nn.init 一致（5 个标准误差内）"),
    ("function",), _init_run, _init_judge,
    {"seed": 0, "shapes": ((256, 128), (32, 16, 3, 3), (64, 8, 5))},
))


# --- layer_statistics(dims, weight_scale, activation, rng, batch_size) ---------------------

#: independent torch runs whose spread gives the standard error of each layer statistic.
ENSEMBLE_SIZE = 50
#: bands of standard errors for the layer statistics (log scale), wider than :data:`BANDS`
#: because the standard error itself is estimated from the ensemble.
LAYER_BANDS = 6.0
_ENSEMBLE_SEED = 20_100_701


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
    num_runs: int = ENSEMBLE_SIZE, seed: int = _ENSEMBLE_SEED, scale_by: str = "in",
) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's experiment in torch (float64), ``num_runs`` independent times.

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
    return torch.stack(means, 1).numpy(), torch.stack(stds, 1).numpy()


def _stat_pairs(value: Any, num_layers: int, what: Text) -> np.ndarray:
    """The returned list of (mean, std) as an array (L, 2), or a failure naming the problem."""
    if isinstance(value, TensorValue) or not isinstance(value, (list, tuple)):
        raise CheckFailed(
            what, Text("should return a list of (mean, std) pairs", "应返回 (mean, std) 二元组的列表"),
            detail=Text(f"got {_type_name(value)}", f"得到 {_type_name(value)}"),
            next_step=Text("append (float(x.mean()), float(x.std())) after each layer and return the list.",
                           "每层之后追加 (float(x.mean()), float(x.std()))，最后返回列表。"),
        )
    if len(value) != num_layers:
        raise CheckFailed(
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
        numbers = ([_scalar(v) for v in entry] if isinstance(entry, (list, tuple)) and len(entry) == 2
                   else None)
        if numbers is None or None in numbers:
            shown = (f"({', '.join(_type_name(v) for v in entry)})"
                     if isinstance(entry, (list, tuple)) else _type_name(entry))
            raise CheckFailed(
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
        raise CheckFailed(what, Text("contains NaN or infinity", "出现了 NaN 或无穷大"),
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
        raise CheckFailed(Text("layer_statistics"), Text("produced no results", "没有结果"))
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
            raise CheckFailed(
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
                    f"（对数尺度：{ENSEMBLE_SIZE} 次 torch 运行的均值 ± {LAYER_BANDS:g} 个标准误差，"
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
        raise CheckFailed(
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
         "layer_statistics 与 torch 运行课上实验的结果一致（5 个标准误差内）"),
    ("function",), _stats_run, _stats_judge,
    {"seed": 0, "dims": (256,) * 5, "batch_size": 16,
     "settings": (("tanh", 0.2), ("tanh", "xavier"), ("relu", "xavier"), ("relu", "kaiming"))},
))
