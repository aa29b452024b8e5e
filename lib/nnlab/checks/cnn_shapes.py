"""Checks for 00_cnn_shapes: output sizes, receptive fields and AlexNet, measured with torch.

Every reference here is a measurement, never the formula the student writes:

- output sizes are the lengths ``torch.nn.functional.conv1d`` and
  ``conv_transpose1d`` produce on a zero tensor;
- receptive fields are measured with autograd: in a 1-D stack of convolutions
  (all-ones weights, no padding) and average poolings, the gradient of a
  central output with respect to the input is non-zero exactly on its
  receptive field, whose span we count;
- AlexNet shapes come from a forward pass through ``torch.nn`` layers built from
  the lecture's description; parameter counts from such layers on the ``meta``
  device (sizes without memory).

Settings are drawn from ``seed``; hidden tests use other seeds and sizes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.checks.codec import TensorValue
from nnlab.checks.compare import value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "00_cnn_shapes"

#: The lecture's (Caffe) AlexNet: (name, kind, out channels or None for pooling, kernel,
#: stride, padding). NORM1/NORM2 (local response normalisation) follow POOL1/POOL2.
CAFFE_ALEXNET = (
    ("conv1", "conv", 96, 11, 4, 0),
    ("pool1", "pool", None, 3, 2, 0),
    ("conv2", "conv", 256, 5, 1, 2),
    ("pool2", "pool", None, 3, 2, 0),
    ("conv3", "conv", 384, 3, 1, 1),
    ("conv4", "conv", 384, 3, 1, 1),
    ("conv5", "conv", 256, 3, 1, 1),
    ("pool3", "pool", None, 3, 2, 0),
)

_SIGNATURE_NEXT = Text("keep the signature exactly as given (parameter names and defaults).",
                       "保持给定的函数签名（参数名和默认值）不变。")


def _value(result: Record, what: Text) -> Any:
    """``value_of``, pointing at the signature when the call itself did not match it."""
    error = result.get("error") or ["", ""]
    wrong_call = error[0] == "TypeError" and "argument" in str(error[1])
    return value_of(result, what, next_step=_SIGNATURE_NEXT if wrong_call else None)


def _one_thread(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``function`` with one torch thread: its tensors are tiny, and on a busy machine
    the thread pool's start-up and synchronisation cost far more than the work."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return function(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapper


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _call_text(name: str, kwargs: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


# --- output sizes: a list of settings, one int each ------------------------------------------

Category = tuple[Text, list[bool], Text]  # (label, which cases, likely cause)


def _values(results: list[Record], what: Text) -> list[Any]:
    values = [_value(r, what) for r in results]
    for value in values:
        if not _is_number(value):
            raise CheckFailed(
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
        raise CheckFailed(what, Text("could not be run on every setting", "未能在所有设置上运行"))
    got = _values(results, what)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if wrong:
        covering = [c for c in categories if all(c[1][i] for i in wrong)]
        label, mask, cause = min(covering, key=lambda c: sum(c[1])) if covering else (None, None, fallback)
        i = wrong[0]
        where_en = where_zh = ""
        if label is not None:
            where_en, where_zh = f", all {label.en}", f"，全部是{label.zh}"
        raise CheckFailed(
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
        if not _is_int(value):
            raise CheckFailed(
                what, Text("returned a float, expected an int", "返回了浮点数，应返回整数"),
                detail=Text(f"{_call_text(name, case)} returned {value!r}",
                            f"{_call_text(name, case)} 返回 {value!r}"),
                cause=Text("np.floor, math.floor of a numpy value or '/' keep a float type.",
                           "np.floor 或 '/' 的结果仍是浮点类型。"),
                next_step=Text("use integer division // (or wrap the result in int()).",
                               "用整除 //（或用 int() 转换结果）。"))


@_one_thread
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


def _conv_len(in_size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> int | None:
    """The output length torch's conv1d produces, or None where torch refuses the setting."""
    if in_size < 1:
        return None
    return _torch_len(F.conv1d, in_size, kernel_size, stride=stride, padding=padding, dilation=dilation)


def _conv_cases(p: Params) -> list[dict[str, Any]]:
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
        while _conv_len(**case) is None:
            case["in_size"] = int(rng.integers(1, 96))
        cases.append(case)
    return cases


@_one_thread
def _conv_judge(record: Record, p: Params) -> None:
    cases = _conv_cases(p)
    expected = [_conv_len(**c) for c in cases]
    # Flooring matters where one input position less gives the same output length.
    floored = [_conv_len(**{**c, "in_size": c["in_size"] - 1}) == e for c, e in zip(cases, expected)]
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


def _transpose_cases(p: Params) -> list[dict[str, Any]]:
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


@_one_thread
def _transpose_judge(record: Record, p: Params) -> None:
    cases = _transpose_cases(p)
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
    ("function",), lambda f, p: _sizes_run("conv_output_size", _conv_cases, f, p), _conv_judge,
    {"seed": 0, "cases": 40},
))
register(Spec(
    "conv_transpose_output_size", NOTEBOOK,
    Text("conv_transpose_output_size matches torch's conv_transpose1d",
         "conv_transpose_output_size 与 torch conv_transpose1d 一致"),
    ("function",), lambda f, p: _sizes_run("conv_transpose_output_size", _transpose_cases, f, p),
    _transpose_judge, {"seed": 0, "cases": 40},
))


# --- receptive fields, measured with autograd ------------------------------------------------

def _stacks(p: Params) -> list[list[tuple[str, int, int]]]:
    """Random stacks of ("conv" | "pool", kernel, stride); total stride kept ≤ 256."""
    rng = np.random.default_rng(p["seed"])
    stacks = []
    for _ in range(p["stacks"]):
        layers, total_stride = [], 1
        for _ in range(p["layers"]):
            if rng.random() < 0.3:
                kind, kernel, stride = "pool", int(rng.choice([2, 3])), 2
            else:
                kind, kernel, stride = "conv", int(rng.integers(1, 8)), int(rng.choice([1, 1, 2]))
            if total_stride * stride > 256:
                stride = 1
            total_stride *= stride
            layers.append((kind, kernel, stride))
        stacks.append(layers)
    return stacks


@_one_thread
def measure_receptive_fields(layers: Sequence[tuple[str, int, int]]) -> list[int]:
    """Receptive field after each layer of a 1-D stack, measured with torch autograd.

    Args:
        layers: ``("conv" | "pool", kernel_size, stride)`` per layer, no padding.

    Returns:
        the span (in input positions) of the non-zero gradient of a central output
        of each layer with respect to the network input.
    """
    total_stride = int(np.prod([stride for _, _, stride in layers]))
    length = (sum(kernel for _, kernel, _ in layers) + 3) * total_stride  # room for ≥ 3 outputs
    x = torch.ones(1, 1, length, dtype=torch.float64, requires_grad=True)
    outputs, h = [], x
    for kind, kernel, stride in layers:
        if kind == "pool":
            h = F.avg_pool1d(h, kernel, stride)  # max pooling's window, with a dense gradient
        else:
            h = F.conv1d(h, torch.ones(1, 1, kernel, dtype=torch.float64), stride=stride)
        outputs.append(h)
    fields = []
    for out in outputs:
        (grad,) = torch.autograd.grad(out[0, 0, out.shape[-1] // 2], x, retain_graph=True)
        nonzero = torch.nonzero(grad[0, 0]).flatten()
        fields.append(int(nonzero.max() - nonzero.min()) + 1)
    return fields


@_one_thread
def _rf_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    pairs = [[(k, s) for _, k, s in stack] for stack in _stacks(p)]
    return {"results": [call(functions["function"], layers) for layers in pairs]}


def _rf_cause(stack: list[tuple[str, int, int]], j: int) -> Text:
    if j == 0:
        return Text("after the first layer the receptive field is just that layer's kernel size.",
                    "第一层之后的感受野就是该层的卷积核大小。")
    strides_before = [s for _, _, s in stack[:j]]
    if all(s == 1 for s in strides_before):
        return Text(f"layer {j + 1} has stride {stack[j][2]}, but a layer's own stride does not widen "
                    "its receptive field: only the strides of the layers *before* it do.",
                    f"第 {j + 1} 层的 stride 为 {stack[j][2]}，但一层自身的 stride 不会扩大它的感受野，"
                    "只有它*之前*各层的 stride 才会。")
    return Text("one step of layer l's kernel moves across as many input positions as the product of "
                "the strides of all the layers before l (not including l).",
                "第 l 层卷积核每移动一步，在输入上跨过的位置数等于 l 之前（不含 l）所有层 stride 的乘积。")


@_one_thread
def _rf_judge(record: Record, p: Params) -> None:
    what = Text("receptive_fields")
    stacks = _stacks(p)
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(stacks):
        raise CheckFailed(what, Text("could not be run on every stack", "未能在所有网络上运行"))
    for stack, result in zip(stacks, results):
        value = _value(result, what)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        pairs = [(k, s) for _, k, s in stack]
        if not isinstance(value, (list, tuple)) or not all(_is_number(v) for v in value):
            raise CheckFailed(
                what, Text("should return a list of ints", "应返回整数列表"),
                detail=Text(f"got {type(value).__name__}", f"得到 {type(value).__name__}"),
                cause=Text("returning only the last layer's receptive field, or a missing return.",
                           "只返回了最后一层的感受野，或缺少 return。"),
                next_step=Text("append the receptive field after every layer to a list and return it.",
                               "每层之后把感受野追加到列表中，最后返回该列表。"))
        if len(value) != len(stack):
            raise CheckFailed(
                what, Text("should give one receptive field per layer", "应为每一层给出一个感受野"),
                detail=Text(f"{len(stack)} layers, got {len(value)} values",
                            f"{len(stack)} 层，得到 {len(value)} 个值"),
                next_step=Text("append once per (kernel_size, stride) pair.",
                               "每个 (kernel_size, stride) 对追加一次。"))
        expected = measure_receptive_fields(stack)
        wrong = [j for j, (g, e) in enumerate(zip(value, expected)) if g != e]
        if wrong:
            j = wrong[0]
            raise CheckFailed(
                what, Text("differs from the receptive field measured with autograd",
                           "与用 autograd 测得的感受野不一致"),
                detail=Text(f"layers {pairs}: after layer {j + 1} expected {expected[j]}, got {value[j]!r} "
                            f"(first of {len(wrong)} differences)",
                            f"网络 {pairs}：第 {j + 1} 层之后应为 {expected[j]}，得到 {value[j]!r}"
                            f"（共 {len(wrong)} 处不同，这是第一处）"),
                cause=_rf_cause(stack, j),
                next_step=Text("trace the example by hand: draw each layer's window over the one below.",
                               "手算这个例子：把每一层的窗口画在下一层之上。"))
        if not all(_is_int(v) for v in value):
            raise CheckFailed(what, Text("should return ints, got floats", "应返回整数，却得到浮点数"),
                              next_step=Text("use integer arithmetic (* and +, no /).",
                                             "只用整数运算（* 和 +，不要用 /）。"))


register(Spec(
    "receptive_fields", NOTEBOOK,
    Text("receptive_fields matches the receptive fields measured with autograd",
         "receptive_fields 与用 autograd 测得的感受野一致"),
    ("function",), _rf_run, _rf_judge, {"seed": 0, "stacks": 4, "layers": 6},
))


# --- the lecture's (Caffe) AlexNet: shapes after each conv and pool layer -------------------

@_one_thread
def measure_caffe_alexnet(input_size: int) -> list[tuple[str, int, int, int]]:
    """``(name, channels, height, width)`` after each conv/pool layer of the lecture's AlexNet.

    Measured by a forward pass of a zero ``(1, 3, input_size, input_size)`` image
    through ``torch.nn`` layers (about 0.1 s on one CPU thread).
    """
    h = torch.zeros(1, 3, input_size, input_size)
    shapes = []
    for name, kind, channels, kernel, stride, padding in CAFFE_ALEXNET:
        if kind == "conv":
            layer = nn.Sequential(nn.Conv2d(h.shape[1], channels, kernel, stride, padding), nn.ReLU())
        else:
            layer = nn.Sequential(nn.MaxPool2d(kernel, stride, padding),
                                  nn.LocalResponseNorm(5) if name in ("pool1", "pool2") else nn.Identity())
        with torch.no_grad():
            h = layer(h)
        shapes.append((name, *(int(n) for n in h.shape[1:])))
    return shapes


def _shapes_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"result": call(functions["function"], input_size=p["input_size"])}


def _layer_hint(name: str) -> Text:
    kind, channels, kernel, stride, padding = next(row[1:] for row in CAFFE_ALEXNET if row[0] == name)
    if kind == "pool":
        return Text(f"{name} is a {kernel}×{kernel} max pooling at stride {stride}, no padding; its size is "
                    "floored like a convolution's (use conv_output_size).",
                    f"{name} 是 {kernel}×{kernel}、stride {stride}、无补零的最大池化；尺寸和卷积一样向下取整"
                    "（用 conv_output_size）。")
    return Text(f"{name} has {channels} filters of {kernel}×{kernel} at stride {stride}, pad {padding} "
                "(use conv_output_size on the previous layer's size).",
                f"{name} 有 {channels} 个 {kernel}×{kernel} 的滤波器，stride {stride}，pad {padding}"
                "（对上一层的尺寸用 conv_output_size）。")


def _shapes_judge(record: Record, p: Params) -> None:
    what = Text("alexnet_layer_shapes")
    value = _value(record.get("result", {}), what)
    expected = measure_caffe_alexnet(p["input_size"])
    names = [row[0] for row in expected]
    if not isinstance(value, (list, tuple)) or len(value) != len(expected):
        got = f"{len(value)} entries" if isinstance(value, (list, tuple)) else type(value).__name__
        raise CheckFailed(
            what, Text("should list 8 layers", "应列出 8 层"),
            detail=Text(f"expected {len(expected)} entries ({', '.join(names)}), got {got}",
                        f"应有 {len(expected)} 项（{', '.join(names)}），得到 {got}"),
            cause=Text("NORM layers do not change the shape and FC layers are not listed.",
                       "NORM 层不改变形状，FC 层不列出。"),
            next_step=Text("return one (name, channels, height, width) tuple per conv and pool layer.",
                           "每个卷积层和池化层返回一个 (name, channels, height, width) 元组。"))
    for entry, (name, channels, height, width) in zip(value, expected):
        layer = Text(f"alexnet_layer_shapes: {name}")
        if not isinstance(entry, (list, tuple)) or len(entry) != 4:
            raise CheckFailed(layer, Text("should be a tuple (name, channels, height, width)",
                                          "应为元组 (name, channels, height, width)"),
                              detail=Text(f"got {entry!r}"[:120]))
        if entry[0] != name:
            raise CheckFailed(layer, Text("has the wrong name or is out of order", "名称错误或顺序不对"),
                              detail=Text(f"expected {name!r}, got {entry[0]!r}",
                                          f"应为 {name!r}，得到 {entry[0]!r}"),
                              next_step=Text(f"use the names {', '.join(names)} in this order.",
                                             f"按此顺序使用名称 {', '.join(names)}。"))
        if entry[1] != channels:
            raise CheckFailed(layer, Text("has the wrong number of channels", "通道数错误"),
                              detail=Text(f"expected {channels}, got {entry[1]!r}",
                                          f"应为 {channels}，得到 {entry[1]!r}"),
                              cause=Text("a pooling layer keeps the channels of the conv before it; a conv "
                                         "outputs one channel per filter.",
                                         "池化层保持前一卷积层的通道数；卷积层每个滤波器输出一个通道。"))
        if (entry[2], entry[3]) != (height, width):
            raise CheckFailed(layer, Text("has the wrong height × width", "高 × 宽错误"),
                              detail=Text(f"expected {height}×{width}, got {entry[2]!r}×{entry[3]!r}",
                                          f"应为 {height}×{width}，得到 {entry[2]!r}×{entry[3]!r}"),
                              cause=_layer_hint(name))
        if not all(_is_int(v) for v in entry[1:]):
            raise CheckFailed(layer, Text("should hold ints", "应为整数"),
                              detail=Text(f"got {entry!r}"[:120]))


register(Spec(
    "alexnet_layer_shapes", NOTEBOOK,
    Text("alexnet_layer_shapes matches a torch forward pass of the lecture's AlexNet",
         "alexnet_layer_shapes 与讲义中 AlexNet 的 torch 前向传播一致"),
    ("function",), _shapes_run, _shapes_judge, {"input_size": 227},
))


# --- the torchvision AlexNet: output shape, layers, parameters, dropout ----------------------

#: leaf modules that only reshape; a model may or may not contain them.
_RESHAPING = ("Flatten", "Identity", "Unflatten")


def describe_module(module: nn.Module) -> tuple[Any, ...]:
    """A leaf module as plain data: its type name and the settings that fix its shapes."""
    pair = nn.modules.utils._pair
    name = type(module).__name__
    if isinstance(module, nn.Conv2d):
        return (name, module.in_channels, module.out_channels, pair(module.kernel_size),
                pair(module.stride), pair(module.padding), module.bias is not None)
    if isinstance(module, nn.Linear):
        return (name, module.in_features, module.out_features, module.bias is not None)
    if isinstance(module, nn.MaxPool2d):
        return (name, pair(module.kernel_size), pair(module.stride), pair(module.padding))
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return (name, pair(module.output_size))
    if isinstance(module, nn.Dropout):
        return (name, float(module.p))
    return (name,)


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def _trainable_by_type(modules: list[nn.Module]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for module in modules:
        n = sum(q.numel() for q in module.parameters(recurse=False) if q.requires_grad)
        if n:
            counts[type(module).__name__] = counts.get(type(module).__name__, 0) + n
    return counts


def torchvision_alexnet_layers(num_classes: int, dropout: float) -> list[nn.Module]:
    """The leaf layers of torchvision's AlexNet as shown in the lecture, on the meta device."""
    meta = {"device": "meta"}
    return [
        nn.Conv2d(3, 64, 11, 4, 2, **meta), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2, **meta), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1, **meta), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, **meta), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1, **meta), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)),
        nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096, **meta), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(4096, 4096, **meta), nn.ReLU(),
        nn.Linear(4096, num_classes, **meta),
    ]


def _alexnet_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    built = call(functions["function"], num_classes=p["num_classes"], dropout=p["dropout"])
    if "error" in built:
        return {"build": built}
    model = built["value"]
    if not isinstance(model, nn.Module):
        return {"build": {"value": None}, "type": f"{type(model).__module__}.{type(model).__qualname__}"}
    leaves = _leaves(model)
    record: Record = {
        "build": {"value": None}, "type": "torch.nn.Module",
        "layers": [describe_module(m) for m in leaves if type(m).__name__ not in _RESHAPING],
        "params_by_type": _trainable_by_type(leaves),
    }
    model.eval()
    with torch.no_grad():
        forward = call(model, torch.zeros(p["batch"], 3, p["size"], p["size"]))
    if "error" in forward:
        record["forward"] = forward
    else:
        out = forward["value"]
        record["forward"] = {"value": tuple(out.shape) if isinstance(out, torch.Tensor) else None}
        record["output_type"] = type(out).__name__
    return record


@_one_thread
def _alexnet_judge(record: Record, p: Params) -> None:
    what = Text("build_alexnet")
    _value(record.get("build", {}), what)
    if record.get("type") != "torch.nn.Module":
        raise CheckFailed(what, Text("should return a torch.nn.Module", "应返回 torch.nn.Module"),
                          detail=Text(f"got {record.get('type')}", f"得到 {record.get('type')}"),
                          next_step=Text("return the model object, e.g. an nn.Sequential.",
                                         "返回模型对象，例如一个 nn.Sequential。"))
    input_shape = (p["batch"], 3, p["size"], p["size"])
    reference = torchvision_alexnet_layers(p["num_classes"], p["dropout"])
    expected_layers = [describe_module(m) for m in reference]
    got_layers = [tuple(layer) for layer in record.get("layers", [])]
    got_types, expected_types = [g[0] for g in got_layers], [e[0] for e in expected_layers]
    if got_types != expected_types:
        i = next((i for i, (g, e) in enumerate(zip(got_types, expected_types)) if g != e),
                 min(len(got_types), len(expected_types)))
        got_i = got_types[i] if i < len(got_types) else "nothing"
        expected_i = expected_types[i] if i < len(expected_types) else "nothing"
        raise CheckFailed(
            what, Text("has other layers than the lecture's torchvision AlexNet",
                       "层与讲义中的 torchvision AlexNet 不同"),
            detail=Text(f"{len(got_types)} layers (without Flatten), expected {len(expected_types)}; "
                        f"layer {i + 1}: expected {expected_i}, got {got_i}",
                        f"{len(got_types)} 层（不计 Flatten），应为 {len(expected_types)} 层；"
                        f"第 {i + 1} 层：应为 {expected_i}，得到 {got_i}"),
            cause=Text("a missing ReLU/Dropout/pooling layer, or layers in another order.",
                       "漏了 ReLU/Dropout/池化层，或层的顺序不同。"),
            next_step=Text("print(model) and compare it line by line with the class in the lecture.",
                           "print(model)，与讲义中的类逐行对照。"))
    for i, (got, expected) in enumerate(zip(got_layers, expected_layers)):
        if got[0] == "Dropout" and got != expected:
            keep = abs(got[1] - (1 - p["dropout"])) < 1e-12 and p["dropout"] != 0.5
            raise CheckFailed(
                what, Text(f"layer {i + 1} (Dropout) has the wrong p", f"第 {i + 1} 层（Dropout）的 p 错误"),
                detail=Text(f"expected p = {expected[1]:g}, got {got[1]:g}",
                            f"应为 p = {expected[1]:g}，得到 {got[1]:g}"),
                cause=Text("torch's Dropout(p) takes the probability of *dropping* a unit"
                           + (" — you passed the keep probability." if keep else "; pass `dropout` through."),
                           "torch 的 Dropout(p) 的 p 是*丢弃*概率"
                           + ("——你传入的是保留概率。" if keep else "；把参数 dropout 传进去。")))
        if got != expected:
            raise CheckFailed(
                what, Text(f"layer {i + 1} ({got[0]}) has other settings than the lecture's",
                           f"第 {i + 1} 层（{got[0]}）的设置与讲义不同"),
                detail=Text(f"expected {expected[1:]}, got {got[1:]}",
                            f"应为 {expected[1:]}，得到 {got[1:]}"),
                cause=Text("settings are (in, out, kernel, stride, padding, bias) for Conv2d, "
                           "(in, out, bias) for Linear, (kernel, stride, padding) for MaxPool2d; the last "
                           "Linear outputs num_classes.",
                           "Conv2d 的设置为 (in, out, kernel, stride, padding, bias)，"
                           "Linear 为 (in, out, bias)，"
                           "MaxPool2d 为 (kernel, stride, padding)；最后一个 Linear 输出 num_classes。"))
    forward = record.get("forward", {})
    if "error" in forward:
        kind, message = (list(forward["error"]) + ["", ""])[:2]
        if kind == "NotImplementedError":
            value_of(forward, what)
        raise CheckFailed(
            Text("build_alexnet: forward pass", "build_alexnet：前向传播"),
            Text(f"raised {kind} on a batch of shape {input_shape}",
                 f"输入形状为 {input_shape} 时抛出了 {kind}"),
            detail=Text(f"{kind}: {message}"),
            cause=Text("the layers are right but the data does not flow: flatten the (N, 256, 6, 6) "
                       "output of the pooling to (N, 9216) before the first Linear (nn.Flatten() or "
                       "torch.flatten(x, 1) in forward).",
                       "各层正确，但数据传不通：进入第一个 Linear 之前，把池化输出 (N, 256, 6, 6) 展平成 "
                       "(N, 9216)（用 nn.Flatten() 或在 forward 中用 torch.flatten(x, 1)）。"),
            next_step=Text(f"run model(torch.zeros{input_shape}) yourself and read the traceback.",
                           f"自己运行 model(torch.zeros{input_shape})，阅读报错信息。"))
    shape = forward.get("value")
    expected_shape = (p["batch"], p["num_classes"])
    if shape is None or tuple(shape) != expected_shape:
        got = record.get("output_type") if shape is None else tuple(shape)
        raise CheckFailed(
            what, Text("gives the wrong output shape", "输出形状错误"),
            detail=Text(f"input {input_shape}: expected {expected_shape}, got {got}",
                        f"输入 {input_shape}：应为 {expected_shape}，得到 {got}"),
            cause=Text("the features must be flattened to (N, 9216) before the classifier.",
                       "进入分类器之前要把特征展平成 (N, 9216)。"))
    expected_params = _trainable_by_type(reference)
    got_params = record.get("params_by_type", {})
    if got_params != expected_params:
        raise CheckFailed(
            what, Text("has another number of trainable parameters", "可训练参数个数不同"),
            detail=Text(f"by layer type: expected {expected_params}, got {got_params}",
                        f"按层类型：应为 {expected_params}，得到 {got_params}"),
            cause=Text("frozen parameters (requires_grad=False) or layers without their bias.",
                       "参数被冻结（requires_grad=False）或层缺少偏置。"))


register(Spec(
    "build_alexnet", NOTEBOOK,
    Text("build_alexnet has the layers, output shape and parameters of torchvision's AlexNet",
         "build_alexnet 的层、输出形状和参数与 torchvision AlexNet 一致"),
    ("function",), _alexnet_run, _alexnet_judge,
    {"num_classes": 1000, "dropout": 0.5, "batch": 2, "size": 224},
))


# --- count_parameters on random models with frozen and shared layers -------------------------

def random_models(p: Params, device: str = "cpu") -> list[nn.Sequential]:
    """Small models drawn from ``seed``: Linear/Conv2d/BatchNorm/LayerNorm, some frozen, some shared.

    Model 0 always has a frozen parameter, every model with an odd index uses
    one Linear layer twice (shared weights), every even one has a BatchNorm
    (whose running statistics are buffers, not parameters).
    """
    rng = np.random.default_rng(p["seed"])
    models = []
    for i in range(p["models"]):
        layers: list[nn.Module] = []
        for _ in range(int(rng.integers(2, 5))):
            a, b, bias = int(rng.integers(2, 33)), int(rng.integers(2, 33)), bool(rng.random() < 0.7)
            kind = int(rng.integers(0, 3))
            if kind == 0:
                layers.append(nn.Linear(a, b, bias=bias, device=device))
            elif kind == 1:
                k = int(rng.integers(1, 6))
                layers.append(nn.Conv2d(a, b, k, bias=bias, device=device))
            else:
                layers.append(nn.LayerNorm(a, device=device))
            layers.append(nn.ReLU())
        if i % 2 == 0:
            layers.insert(1, nn.BatchNorm1d(int(rng.integers(2, 33)), device=device))
        else:
            n = int(rng.integers(2, 33))
            shared = nn.Linear(n, n, device=device)
            layers += [shared, nn.Tanh(), shared]
        model = nn.Sequential(*layers)
        for j, param in enumerate(model.parameters()):
            if (i == 0 and j == 0) or rng.random() < 0.25:
                param.requires_grad_(False)
        models.append(model)
    return models


def _short_description(model: nn.Sequential) -> str:
    """``Linear(21→17, weight frozen), BatchNorm1d(2), ReLU, …, Linear(32→32) again``."""
    parts, seen = [], set()
    for module in model:
        name = type(module).__name__
        sizes = {nn.Linear: lambda m: f"{m.in_features}→{m.out_features}",
                 nn.Conv2d: lambda m: f"{m.in_channels}→{m.out_channels}, "
                                      f"{m.kernel_size[0]}×{m.kernel_size[1]}",
                 nn.BatchNorm1d: lambda m: f"{m.num_features}",
                 nn.LayerNorm: lambda m: f"{m.normalized_shape[0]}"}.get(type(module))
        notes = [sizes(module)] if sizes else []
        if getattr(module, "bias", 0) is None:
            notes.append("no bias")
        notes += [f"{n} frozen" for n, q in module.named_parameters() if not q.requires_grad]
        if id(module) in seen:
            notes = ["the same layer again"]
        seen.add(id(module))
        parts.append(f"{name}({', '.join(notes)})" if notes else name)
    return ", ".join(parts)


@_one_thread
def _count_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return {"results": [call(functions["function"], model) for model in random_models(p)]}


def _count_cause(got: Any, model: nn.Module) -> Text:
    params = list(model.parameters())
    if got == sum(q.numel() for q in params):
        return Text("frozen parameters (requires_grad=False) are not trainable: skip them.",
                    "被冻结的参数（requires_grad=False）不可训练：跳过它们。")
    if got in (len(params), sum(q.requires_grad for q in params)):
        return Text("that is the number of parameter *tensors*; count their elements with p.numel().",
                    "这是参数*张量*的个数；用 p.numel() 数元素个数。")
    if got in (sum(t.numel() for t in model.state_dict().values()),
               sum(q.numel() for q in model.state_dict().values() if q.is_floating_point())):
        return Text("state_dict() also holds buffers (BatchNorm's running statistics) and lists a shared "
                    "layer under each of its names; use model.parameters().",
                    "state_dict() 还包含缓冲区（BatchNorm 的滑动统计量），共享的层也会按每个名字各列一次；"
                    "请用 model.parameters()。")
    if got == sum(q.numel() for _, q in model.named_parameters(remove_duplicate=False) if q.requires_grad):
        return Text("a layer used twice shares one set of parameters: count it once "
                    "(model.parameters() already does).",
                    "同一层用了两次时参数是共享的：只数一次（model.parameters() 已经去重）。")
    return Text("sum p.numel() over model.parameters() where p.requires_grad.",
                "对 model.parameters() 中 requires_grad 为真的 p 求 p.numel() 之和。")


@_one_thread
def _count_judge(record: Record, p: Params) -> None:
    what = Text("count_parameters")
    models = random_models(p, device="meta")
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(models):
        raise CheckFailed(what, Text("could not be run on every model", "未能在所有模型上运行"))
    for i, (result, model) in enumerate(zip(results, models)):
        got = _value(result, what)
        expected = sum(q.numel() for q in model.parameters() if q.requires_grad)
        if isinstance(got, TensorValue) and got.array.shape == ():
            got = got.array[()]
        if not _is_number(got) or got != expected:
            layers = _short_description(model)
            raise CheckFailed(
                what, Text("differs from torch's count of trainable parameters",
                           "与 torch 统计的可训练参数个数不同"),
                detail=Text(f"model {i}, Sequential({layers}): expected {expected}, got {got!r}",
                            f"模型 {i}，Sequential({layers})：应为 {expected}，得到 {got!r}"),
                cause=_count_cause(got, model))
        if not _is_int(got):
            raise CheckFailed(what, Text("should return an int", "应返回整数"),
                              detail=Text(f"got {type(got).__name__}", f"得到 {type(got).__name__}"),
                              next_step=Text("p.numel() is an int; sum them with sum(...).",
                                             "p.numel() 是整数，用 sum(...) 求和。"))


register(Spec(
    "count_parameters", NOTEBOOK,
    Text("count_parameters counts trainable parameters like torch",
         "count_parameters 与 torch 统计的可训练参数一致"),
    ("function",), _count_run, _count_judge, {"seed": 0, "models": 4},
))
