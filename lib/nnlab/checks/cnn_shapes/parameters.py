"""count_parameters: trainable parameters of random models with frozen and shared layers, counted by torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from nnlab.checks.cnn_shapes._common import NOTEBOOK, is_int, is_number, result_value
from nnlab.checks.codec import TensorValue
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text
from nnlab.threads import one_thread


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


@one_thread()
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


@one_thread()
def _count_judge(record: Record, p: Params) -> None:
    what = Text("count_parameters")
    models = random_models(p, device="meta")
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(models):
        fail(what, Text("could not be run on every model", "未能在所有模型上运行"))
    for i, (result, model) in enumerate(zip(results, models)):
        got = result_value(result, what)
        expected = sum(q.numel() for q in model.parameters() if q.requires_grad)
        if isinstance(got, TensorValue) and got.array.shape == ():
            got = got.array[()]
        if not is_number(got) or got != expected:
            layers = _short_description(model)
            fail(
                what, Text("differs from torch's count of trainable parameters",
                           "与 torch 统计的可训练参数个数不同"),
                detail=Text(f"model {i}, Sequential({layers}): expected {expected}, got {got!r}",
                            f"模型 {i}，Sequential({layers})：应为 {expected}，得到 {got!r}"),
                cause=_count_cause(got, model))
        if not is_int(got):
            fail(what, Text("should return an int", "应返回整数"),
                 detail=Text(f"got {type(got).__name__}", f"得到 {type(got).__name__}"),
                 next_step=Text("p.numel() is an int; sum them with sum(...).",
                                "p.numel() 是整数，用 sum(...) 求和。"))


register(Spec(
    "count_parameters", NOTEBOOK,
    Text("count_parameters counts trainable parameters like torch",
         "count_parameters 与 torch 统计的可训练参数一致"),
    ("function",), _count_run, _count_judge, {"seed": 0, "models": 4},
))
