"""conv_output_size and conv_transpose_output_size: lengths measured with torch's conv1d and conv_transpose1d.

Each check runs the student's function on a list of settings drawn from ``seed``; the judge
names the kind of setting (stride, padding, dilation, ...) where the sizes differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.cnn_shapes._common import NOTEBOOK, is_int, is_number, result_value
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text
from nnlab.threads import one_thread


def _call_text(name: str, kwargs: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


# --- output sizes: a list of settings, one int each ------------------------------------------

Category = tuple[Text, list[bool], Text]  # (label, which cases, likely cause)


def _values(results: list[Record], what: Text) -> list[Any]:
    values = [result_value(r, what) for r in results]
    for value in values:
        if not is_number(value):
            fail(
                what, Text("returned something that is not a number", "返回值不是数字"),
                detail=Text(f"got {type(value).__name__}", f"得到 {type(value).__name__}"),
                cause=Text("a missing return statement, or a tuple/list instead of one size.",
                           "缺少 return，或返回了元组/列表而不是一个尺寸。"),
                next_step=Text("return one int: the output length along one axis.",
                               "返回一个整数：沿一个维度的输出长度。"))
    return values


def _judge_sizes(name: str, record: Record, cases: list[dict[str, Any]], expected: list[int],
                 categories: Sequence[Category], fallback: Text) -> None:
    """Compare the student's sizes case by case; name the kind of setting where they differ."""
    what = Text(name)
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(cases):
        fail(what, Text("could not be run on every setting", "未能在所有设置上运行"))
    got = _values(results, what)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if wrong:
        covering = [c for c in categories if all(c[1][i] for i in wrong)]
        label, mask, cause = min(covering, key=lambda c: sum(c[1])) if covering else (None, None, fallback)
        i = wrong[0]
        where_en = where_zh = ""
        if label is not None:
            where_en, where_zh = f", all {label.en}", f"，全部是{label.zh}"
        fail(
            what, Text("output sizes differ from torch", "输出尺寸与 torch 不一致"),
            detail=Text(
                f"{len(wrong)} of {len(cases)} settings differ{where_en}; e.g. "
                f"{_call_text(name, cases[i])} returned {got[i]!r}, torch gives {expected[i]}",
                f"{len(cases)} 组设置中有 {len(wrong)} 组不同{where_zh}；例如 "
                f"{_call_text(name, cases[i])} 返回 {got[i]!r}，torch 给出 {expected[i]}"),
            cause=cause,
            next_step=Text("work the example out by hand on a row of squares (or in conv_explorer) "
                           "and compare with your formula term by term.",
                           "在一排方格上（或用 conv_explorer）手算这个例子，再逐项对照你的公式。"))
    for value, case in zip(got, cases):
        if not is_int(value):
            fail(
                what, Text("returned a float, expected an int", "返回了浮点数，应返回整数"),
                detail=Text(f"{_call_text(name, case)} returned {value!r}",
                            f"{_call_text(name, case)} 返回 {value!r}"),
                cause=Text("np.floor, math.floor of a numpy value or '/' keep a float type.",
                           "np.floor 或 '/' 的结果仍是浮点类型。"),
                next_step=Text("use integer division // (or wrap the result in int()).",
                               "用整除 //（或用 int() 转换结果）。"))


@one_thread()
def _sizes_run(name: str, make_cases: Callable[[Params], list[dict[str, Any]]],
               functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], **case) for case in make_cases(p)]}


def _torch_len(op: Callable[..., torch.Tensor], in_size: int, kernel_size: int,
               **settings: int) -> int | None:
    """The output length ``op`` (conv1d or conv_transpose1d) produces on zeros, or None where
    torch refuses the setting."""
    try:
        out = op(torch.zeros(1, 1, in_size, dtype=torch.float64),
                 torch.zeros(1, 1, kernel_size, dtype=torch.float64), **settings)
    except RuntimeError:
        return None
    return int(out.shape[-1])


def conv_len(in_size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> int | None:
    """The output length torch's conv1d produces, or None where torch refuses the setting."""
    if in_size < 1:
        return None
    return _torch_len(F.conv1d, in_size, kernel_size, stride=stride, padding=padding, dilation=dilation)


def conv_cases(p: Params) -> list[dict[str, Any]]:
    """Settings torch accepts; every fourth has padding, dilation, or both, the rest strides.

    The input size is redrawn until torch's conv1d accepts the setting
    (output length ≥ 1).
    """
    rng = np.random.default_rng(p["seed"])
    cases = []
    for i in range(p["cases"]):
        case = {"in_size": 0, "kernel_size": int(rng.integers(1, 12)),
                "stride": int(rng.choice([1, 2, 2, 3, 4, 5])),
                "padding": int(rng.integers(1, 5)) if i % 4 in (1, 3) else 0,
                "dilation": int(rng.integers(2, 4)) if i % 4 in (2, 3) else 1}
        while conv_len(**case) is None:
            case["in_size"] = int(rng.integers(1, 96))
        cases.append(case)
    return cases


@one_thread()
def _conv_judge(record: Record, p: Params) -> None:
    cases = conv_cases(p)
    expected = [conv_len(**c) for c in cases]
    # Flooring matters where one input position less gives the same output length.
    floored = [conv_len(**{**c, "in_size": c["in_size"] - 1}) == e for c, e in zip(cases, expected)]
    categories = [
        (Text("where the division by stride is not exact", "除以 stride 除不尽的设置"), floored,
         Text("torch floors: a window that would run past the end of the padded input is dropped. "
              "Use integer division // (not /, round or ceil).",
              "torch 向下取整：超出（补零后）输入末端的窗口被舍弃。用整除 //（不要用 /、round 或 ceil）。")),
        (Text("with dilation > 1", "dilation > 1 的设置"), [c["dilation"] > 1 for c in cases],
         Text("dilation spreads the kernel's taps apart: a dilated kernel of size k covers more than "
              "k input positions (dilation − 1 gaps between neighbouring taps).",
              "dilation 把卷积核的采样点拉开：大小为 k 的空洞卷积核覆盖的输入位置多于 k 个"
              "（相邻采样点之间有 dilation − 1 个空隙）。")),
        (Text("with padding > 0", "padding > 0 的设置"), [c["padding"] > 0 for c in cases],
         Text("padding adds that many zeros on *both* sides of the input.",
              "padding 在输入的*两侧*各补这么多个零。")),
        (Text("with stride > 1", "stride > 1 的设置"), [c["stride"] > 1 for c in cases],
         Text("the window moves `stride` positions per step: count the steps it can take after "
              "the first position, then add that first position.",
              "窗口每步移动 stride 个位置：数一数第一个位置之后还能走几步，再加上第一个位置。")),
    ]
    _judge_sizes("conv_output_size", record, cases, expected, categories,
                 Text("the output length is the number of positions the (dilated) window can take "
                      "inside the padded input; check the '− 1' and '+ 1' terms.",
                      "输出长度是（空洞）窗口在补零后的输入中能放下的位置数；检查公式里的 '− 1' 和 '+ 1'。"))


def _transpose_len(in_size: int, kernel_size: int, stride: int, padding: int,
                   output_padding: int, dilation: int) -> int | None:
    """The output length torch's conv_transpose1d produces, or None where torch refuses it."""
    if padding < 0:
        return None
    return _torch_len(F.conv_transpose1d, in_size, kernel_size, stride=stride, padding=padding,
                      output_padding=output_padding, dilation=dilation)


def transpose_cases(p: Params) -> list[dict[str, Any]]:
    """Settings torch accepts (output_padding < max(stride, dilation), output length ≥ 1).

    The padding is redrawn until torch's conv_transpose1d accepts the setting.
    """
    rng = np.random.default_rng(p["seed"])
    cases = []
    for i in range(p["cases"]):
        kernel, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        dilation = int(rng.integers(2, 4)) if i % 3 == 2 else 1
        case = {"in_size": int(rng.integers(1, 25)), "kernel_size": kernel, "stride": stride,
                "padding": -1, "output_padding": int(rng.integers(0, max(stride, dilation))),
                "dilation": dilation}
        while _transpose_len(**case) is None:
            case["padding"] = int(rng.integers(0, kernel * dilation // 2 + 1)) if i % 3 else 0
        cases.append(case)
    return cases


@one_thread()
def _transpose_judge(record: Record, p: Params) -> None:
    cases = transpose_cases(p)
    expected = [_transpose_len(**c) for c in cases]
    categories = [
        (Text("with output_padding > 0", "output_padding > 0 的设置"),
         [c["output_padding"] > 0 for c in cases],
         Text("output_padding adds positions on *one* side of the output only (it picks one of the "
              "input sizes a strided convolution maps to the same output size).",
              "output_padding 只在输出的*一侧*增加位置"
              "（它在步长卷积映射到同一输出尺寸的几种输入尺寸中选一个）。")),
        (Text("with padding > 0", "padding > 0 的设置"), [c["padding"] > 0 for c in cases],
         Text("in a transposed convolution padding *removes* positions from both sides of the output: "
              "it undoes the padding of the matching convolution.",
              "转置卷积中的 padding 是从输出两侧*去掉*位置：它抵消对应卷积的补零。")),
        (Text("with dilation > 1", "dilation > 1 的设置"), [c["dilation"] > 1 for c in cases],
         Text("a dilated kernel reaches further: its taps are dilation positions apart.",
              "空洞卷积核伸得更远：相邻采样点相隔 dilation 个位置。")),
        (Text("with stride > 1", "stride > 1 的设置"), [c["stride"] > 1 for c in cases],
         Text("each step along the input moves the kernel's footprint on the output by `stride`: "
              "in_size inputs make in_size − 1 steps.",
              "输入每前进一个位置，卷积核在输出上的落点移动 stride：in_size 个输入共走 in_size − 1 步。")),
    ]
    _judge_sizes("conv_transpose_output_size", record, cases, expected, categories,
                 Text("the transposed convolution maps the convolution's output size back to its input "
                      "size: solve the conv output-size formula for the input.",
                      "转置卷积把卷积的输出尺寸映射回输入尺寸：从卷积输出尺寸公式反解出输入尺寸。"))


register(Spec(
    "conv_output_size", NOTEBOOK,
    Text("conv_output_size matches the lengths torch's conv1d produces",
         "conv_output_size 与 torch conv1d 的输出长度一致"),
    ("function",), lambda f, p: _sizes_run("conv_output_size", conv_cases, f, p), _conv_judge,
    {"seed": 0, "cases": 40},
))
register(Spec(
    "conv_transpose_output_size", NOTEBOOK,
    Text("conv_transpose_output_size matches torch's conv_transpose1d",
         "conv_transpose_output_size 与 torch conv_transpose1d 一致"),
    ("function",), lambda f, p: _sizes_run("conv_transpose_output_size", transpose_cases, f, p),
    _transpose_judge, {"seed": 0, "cases": 40},
))
