"""receptive_fields: receptive fields measured with autograd.

In a 1-D stack of convolutions (all-ones weights, no padding) and average
poolings, the gradient of a central output with respect to the input is non-zero
exactly on its receptive field, whose span we count.
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


def layer_stacks(p: Params) -> list[list[tuple[str, int, int]]]:
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


@one_thread()
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


@one_thread()
def _rf_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    pairs = [[(k, s) for _, k, s in stack] for stack in layer_stacks(p)]
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


@one_thread()
def _rf_judge(record: Record, p: Params) -> None:
    what = Text("receptive_fields")
    stacks = layer_stacks(p)
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(stacks):
        fail(what, Text("could not be run on every stack", "未能在所有网络上运行"))
    for stack, result in zip(stacks, results):
        value = result_value(result, what)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        pairs = [(k, s) for _, k, s in stack]
        if not isinstance(value, (list, tuple)) or not all(is_number(v) for v in value):
            fail(
                what, Text("should return a list of ints", "应返回整数列表"),
                detail=Text(f"got {type(value).__name__}", f"得到 {type(value).__name__}"),
                cause=Text("returning only the last layer's receptive field, or a missing return.",
                           "只返回了最后一层的感受野，或缺少 return。"),
                next_step=Text("append the receptive field after every layer to a list and return it.",
                               "每层之后把感受野追加到列表中，最后返回该列表。"))
        if len(value) != len(stack):
            fail(
                what, Text("should give one receptive field per layer", "应为每一层给出一个感受野"),
                detail=Text(f"{len(stack)} layers, got {len(value)} values",
                            f"{len(stack)} 层，得到 {len(value)} 个值"),
                next_step=Text("append once per (kernel_size, stride) pair.",
                               "每个 (kernel_size, stride) 对追加一次。"))
        expected = measure_receptive_fields(stack)
        wrong = [j for j, (g, e) in enumerate(zip(value, expected)) if g != e]
        if wrong:
            j = wrong[0]
            fail(
                what, Text("differs from the receptive field measured with autograd",
                           "与用 autograd 测得的感受野不一致"),
                detail=Text(f"layers {pairs}: after layer {j + 1} expected {expected[j]}, got {value[j]!r} "
                            f"(first of {len(wrong)} differences)",
                            f"网络 {pairs}：第 {j + 1} 层之后应为 {expected[j]}，得到 {value[j]!r}"
                            f"（共 {len(wrong)} 处不同，这是第一处）"),
                cause=_rf_cause(stack, j),
                next_step=Text("trace the example by hand: draw each layer's window over the one below.",
                               "手算这个例子：把每一层的窗口画在下一层之上。"))
        if not all(is_int(v) for v in value):
            fail(what, Text("should return ints, got floats", "应返回整数，却得到浮点数"),
                 next_step=Text("use integer arithmetic (* and +, no /).",
                                "只用整数运算（* 和 +，不要用 /）。"))


register(Spec(
    "receptive_fields", NOTEBOOK,
    Text("receptive_fields matches the receptive fields measured with autograd",
         "receptive_fields 与用 autograd 测得的感受野一致"),
    ("function",), _rf_run, _rf_judge, {"seed": 0, "stacks": 4, "layers": 6},
))
