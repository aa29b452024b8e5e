"""fan_in_fan_out, xavier_std and kaiming_std: exact comparisons with torch.

Fan-in and fan-out come from ``torch.nn.init._calculate_fan_in_and_fan_out`` on an empty
tensor; the lecture's Xavier (1/√Din) and Kaiming (√(2/Din)) from :func:`fan_in_std`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from nnlab.checks.compare import value_of
from nnlab.checks.initialization._common import (
    NOTEBOOK,
    as_scalar,
    fan_in_std,
    torch_fan_in_fan_out,
    type_name_of,
)
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text

# --- fan_in_fan_out(shape) -> (fan_in, fan_out) --------------------------------------------

def _fan_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], tuple(shape)) for shape in p["shapes"]]}


def _fan_judge(record: Record, p: Params) -> None:
    what = Text("fan_in_fan_out")
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(p["shapes"]):
        fail(what, Text("produced no results", "没有结果"))
    for shape, result in zip(p["shapes"], results):
        shape = tuple(shape)
        expected = torch_fan_in_fan_out(shape)
        shown = Text(f"for shape {shape}", f"形状 {shape}")
        value = value_of(result, what)
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            fail(
                what, Text("should return a pair (fan_in, fan_out)", "应返回二元组 (fan_in, fan_out)"),
                detail=Text(f"{shown.en}: got {type_name_of(value)}",
                            f"{shown.zh}：得到 {type_name_of(value)}"),
                next_step=Text("end with `return fan_in, fan_out`.", "最后写 `return fan_in, fan_out`。"),
            )
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            floats = [as_scalar(v) for v in value]
            integral = all(f is not None and f == int(f) for f in floats)
            fail(
                what, Text("should return two integers", "应返回两个整数"),
                detail=Text(f"{shown.en}: got ({', '.join(type_name_of(v) for v in value)})",
                            f"{shown.zh}：得到 ({', '.join(type_name_of(v) for v in value)})"),
                cause=Text("np.prod(()) of an empty kernel shape is the float 1.0."
                           if integral else "a division instead of a product.",
                           "对空的卷积核形状求 np.prod(()) 得到浮点数 1.0。"
                           if integral else "用了除法而不是乘法。"),
                next_step=Text("use math.prod(shape[2:]) (which gives the int 1 for ()), or int(...).",
                               "用 math.prod(shape[2:])（空元组得到整数 1），或 int(...)。"),
            )
        got = (int(value[0]), int(value[1]))
        if got != expected:
            fail(
                what, Text("differs from torch", "与 torch 的结果不同"),
                detail=Text(f"{shown.en}: expected {expected}, got {got}",
                            f"{shown.zh}：应为 {expected}，得到 {got}"),
                cause=_fan_cause(shape, got, expected),
                next_step=Text(
                    "compare with torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)).",
                    "与 torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)) 对比。"),
            )


def _fan_cause(shape: tuple[int, ...], got: tuple[int, int], expected: tuple[int, int]) -> Text:
    """The likely mistake behind wrong fans: swapped, kernel left out, only two kernel dimensions."""
    if got == expected[::-1]:
        return Text("fan_in and fan_out are swapped: torch stores weights as (out, in, *kernel), "
                    "so fan_in counts shape[1], fan_out counts shape[0].",
                    "fan_in 与 fan_out 颠倒了：torch 的权重布局是 (out, in, *kernel)，"
                    "fan_in 对应 shape[1]，fan_out 对应 shape[0]。")
    if len(shape) > 2 and got in ((shape[1], shape[0]), (shape[0], shape[1])):
        return Text("the kernel is missing: each output of a convolution sees in_channels × "
                    "kernel elements, so multiply both fans by the product of all of shape[2:] "
                    "(one kernel dimension for conv1d, two for conv2d, three for conv3d).",
                    "漏掉了卷积核：卷积的每个输出看到 in_channels × 卷积核 个输入，"
                    "两个 fan 都要乘以 shape[2:] 所有维度的乘积"
                    "（conv1d 一维、conv2d 二维、conv3d 三维）。")
    if len(shape) != 4 and len(shape) > 2:
        return Text(f"a {len(shape) - 2}-D kernel: the receptive field is the product of *all* "
                    "of shape[2:], not only kh·kw.",
                    f"{len(shape) - 2} 维卷积核：感受野是 shape[2:] *所有*维度的乘积，不只是 kh·kw。")
    return Text("fan_in = shape[1] · prod(shape[2:]), fan_out = shape[0] · prod(shape[2:]).",
                "fan_in = shape[1] · prod(shape[2:])，fan_out = shape[0] · prod(shape[2:])。")


register(Spec(
    "fan_in_fan_out", NOTEBOOK,
    Text("fan_in_fan_out matches torch for linear and conv1d/2d/3d weights",
         "fan_in_fan_out 与 torch 一致（全连接、一维/二维/三维卷积）"),
    ("function",), _fan_run, _fan_judge,
    {"shapes": ((128, 64), (10, 1), (64, 3, 3, 3), (96, 3, 11, 11), (16, 8, 5), (8, 4, 3, 3, 3))},
    numpy_only=True,
))


# --- xavier_std(fan_in), kaiming_std(fan_in) -> float -------------------------------------

_STD_RTOL = 1e-7  # same formula in float64 as torch: agrees to rounding


def _std_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], int(n)) for n in p["fan_ins"]]}


def _std_judge(name: str, method: str, record: Record, p: Params) -> None:
    what = Text(name)
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(p["fan_ins"]):
        fail(what, Text("produced no results", "没有结果"))
    other = "kaiming" if method == "xavier" else "xavier"
    for fan_in, result in zip(p["fan_ins"], results):
        value = value_of(result, what)
        got = as_scalar(value)
        if got is None:
            fail(
                what, Text("should return one number (a float)", "应返回一个数（浮点数）"),
                detail=Text(f"got {type_name_of(value)}", f"得到 {type_name_of(value)}"),
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
        fail(
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
        numpy_only=True,
    ))
