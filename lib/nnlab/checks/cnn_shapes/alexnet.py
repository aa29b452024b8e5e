"""alexnet_layer_shapes and build_alexnet: the lecture's AlexNet, measured with torch.

Shapes come from a forward pass through ``torch.nn`` layers built from the
lecture's description; parameter counts from such layers on the ``meta``
device (sizes without memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nnlab.checks.cnn_shapes._common import NOTEBOOK, is_int, result_value
from nnlab.checks.compare import value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text
from nnlab.threads import one_thread

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


# --- the lecture's (Caffe) AlexNet: shapes after each conv and pool layer -------------------

@one_thread()
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
    value = result_value(record.get("result", {}), what)
    expected = measure_caffe_alexnet(p["input_size"])
    names = [row[0] for row in expected]
    if not isinstance(value, (list, tuple)) or len(value) != len(expected):
        got = f"{len(value)} entries" if isinstance(value, (list, tuple)) else type(value).__name__
        fail(
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
            fail(layer, Text("should be a tuple (name, channels, height, width)",
                             "应为元组 (name, channels, height, width)"),
                 detail=Text(f"got {entry!r}"[:120]))
        if entry[0] != name:
            fail(layer, Text("has the wrong name or is out of order", "名称错误或顺序不对"),
                 detail=Text(f"expected {name!r}, got {entry[0]!r}",
                             f"应为 {name!r}，得到 {entry[0]!r}"),
                 next_step=Text(f"use the names {', '.join(names)} in this order.",
                                f"按此顺序使用名称 {', '.join(names)}。"))
        if entry[1] != channels:
            fail(layer, Text("has the wrong number of channels", "通道数错误"),
                 detail=Text(f"expected {channels}, got {entry[1]!r}",
                             f"应为 {channels}，得到 {entry[1]!r}"),
                 cause=Text("a pooling layer keeps the channels of the conv before it; a conv "
                            "outputs one channel per filter.",
                            "池化层保持前一卷积层的通道数；卷积层每个滤波器输出一个通道。"))
        if (entry[2], entry[3]) != (height, width):
            fail(layer, Text("has the wrong height × width", "高 × 宽错误"),
                 detail=Text(f"expected {height}×{width}, got {entry[2]!r}×{entry[3]!r}",
                             f"应为 {height}×{width}，得到 {entry[2]!r}×{entry[3]!r}"),
                 cause=_layer_hint(name))
        if not all(is_int(v) for v in entry[1:]):
            fail(layer, Text("should hold ints", "应为整数"),
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
    """The model as plain data: built with ``meta`` as torch's default device, then given zeroed
    CPU memory (``to_empty``) for the forward pass.

    Shapes and layer settings are all the check reads, and initializing the 61 million weights
    was three quarters of a call (0.4 s of 0.55). A model that cannot be built or run that way
    (tensors made on another device, a model built elsewhere, a forward pass that fails) is
    built again and run as written, so what is recorded, errors included, is the CPU's own.
    """
    build, options = functions["function"], {"num_classes": p["num_classes"], "dropout": p["dropout"]}
    with torch.device("meta"):
        built = call(build, **options)
    model = built.get("value")
    if isinstance(model, nn.Module) and _only_meta(model):
        zeroed = call(_zeroed_on_cpu, model)  # a module of the student's may refuse to move
        if "value" in zeroed:
            record = _alexnet_record(zeroed, p)
            if "error" not in record["forward"]:
                return record
    return _alexnet_record(call(build, **options), p)


def _only_meta(model: nn.Module) -> bool:
    tensors = [*model.parameters(), *model.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


def _zeroed_on_cpu(model: nn.Module) -> nn.Module:
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            tensor.zero_()
    return model


def _alexnet_record(built: Record, p: Params) -> Record:
    """What the check reads of a built model: ``built`` is :func:`call`'s record of building it."""
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


@one_thread()
def _alexnet_judge(record: Record, p: Params) -> None:
    what = Text("build_alexnet")
    result_value(record.get("build", {}), what)
    if record.get("type") != "torch.nn.Module":
        fail(what, Text("should return a torch.nn.Module", "应返回 torch.nn.Module"),
             detail=Text(f"got {record.get('type')}", f"得到 {record.get('type')}"),
             next_step=Text("return the model object, e.g. an nn.Sequential.",
                            "返回模型对象，例如一个 nn.Sequential。"))
    reference = torchvision_alexnet_layers(p["num_classes"], p["dropout"])
    _judge_layers([tuple(layer) for layer in record.get("layers", [])],
                  [describe_module(m) for m in reference], p["dropout"], what)
    _judge_forward(record, p, what)
    expected_params = _trainable_by_type(reference)
    got_params = record.get("params_by_type", {})
    if got_params != expected_params:
        fail(
            what, Text("has another number of trainable parameters", "可训练参数个数不同"),
            detail=Text(f"by layer type: expected {expected_params}, got {got_params}",
                        f"按层类型：应为 {expected_params}，得到 {got_params}"),
            cause=Text("frozen parameters (requires_grad=False) or layers without their bias.",
                       "参数被冻结（requires_grad=False）或层缺少偏置。"))


def _judge_layers(got_layers: list[tuple[Any, ...]], expected_layers: list[tuple[Any, ...]],
                  dropout: float, what: Text) -> None:
    """The same layer types in the same order, each with the lecture's settings."""
    got_types, expected_types = [g[0] for g in got_layers], [e[0] for e in expected_layers]
    if got_types != expected_types:
        i = next((i for i, (g, e) in enumerate(zip(got_types, expected_types)) if g != e),
                 min(len(got_types), len(expected_types)))
        got_i = got_types[i] if i < len(got_types) else "nothing"
        expected_i = expected_types[i] if i < len(expected_types) else "nothing"
        fail(
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
            keep = abs(got[1] - (1 - dropout)) < 1e-12 and dropout != 0.5
            fail(
                what, Text(f"layer {i + 1} (Dropout) has the wrong p", f"第 {i + 1} 层（Dropout）的 p 错误"),
                detail=Text(f"expected p = {expected[1]:g}, got {got[1]:g}",
                            f"应为 p = {expected[1]:g}，得到 {got[1]:g}"),
                cause=Text("torch's Dropout(p) takes the probability of *dropping* a unit"
                           + (" — you passed the keep probability." if keep else "; pass `dropout` through."),
                           "torch 的 Dropout(p) 的 p 是*丢弃*概率"
                           + ("——你传入的是保留概率。" if keep else "；把参数 dropout 传进去。")))
        if got != expected:
            fail(
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


def _judge_forward(record: Record, p: Params, what: Text) -> None:
    """A batch of zeros flows through the model to scores of shape (batch, num_classes)."""
    input_shape = (p["batch"], 3, p["size"], p["size"])
    forward = record.get("forward", {})
    if "error" in forward:
        kind, message = (list(forward["error"]) + ["", ""])[:2]
        if kind == "NotImplementedError":
            value_of(forward, what)
        fail(
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
        fail(
            what, Text("gives the wrong output shape", "输出形状错误"),
            detail=Text(f"input {input_shape}: expected {expected_shape}, got {got}",
                        f"输入 {input_shape}：应为 {expected_shape}，得到 {got}"),
            cause=Text("the features must be flattened to (N, 9216) before the classifier.",
                       "进入分类器之前要把特征展平成 (N, 9216)。"))


register(Spec(
    "build_alexnet", NOTEBOOK,
    Text("build_alexnet has the layers, output shape and parameters of torchvision's AlexNet",
         "build_alexnet 的层、输出形状和参数与 torchvision AlexNet 一致"),
    ("function",), _alexnet_run, _alexnet_judge,
    {"num_classes": 1000, "dropout": 0.5, "batch": 2, "size": 224},
))
