"""build_model(config): layer order, parameter count, initialization, train/eval, initial loss.

The student's network is probed through forward hooks (which leaf modules run, in which
order), its Linear weights (initialization statistics, within 5 standard errors) and two
forward passes per mode. The reference is measured on torch modules of the same sizes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.checks.capstone._common import NOTEBOOK, Functions, numpy_of, probe, scenario_value
from nnlab.checks.compare import value_of
from nnlab.checks.spec import BANDS, Params, Record, Spec, call, fail, register
from nnlab.i18n import Text

#: the output layer's weight std in every configuration (small scores: initial loss ≈ log C).
OUTPUT_STD = 0.01


def config_of(p: Params) -> dict[str, Any]:
    """The configuration a check passes to build_model."""
    return {"input_dim": p["input_dim"], "num_classes": p["num_classes"], "depth": p["depth"],
            "width": p["width"], "init": p["init"], "batchnorm": p["batchnorm"], "dropout": p["dropout"]}


def _run(functions: Functions, p: Params) -> Record:
    def scenario() -> dict[str, Any]:
        torch.manual_seed(p["seed"])
        model = functions["build_model"](config_of(p))
        order: list[str] = []
        leaves = [m for m in model.modules() if not list(m.children())]
        for leaf in leaves:
            leaf.register_forward_hook(lambda m, i, o: order.append(type(m).__name__))
        rng = np.random.default_rng(p["seed"])
        x = torch.tensor(rng.standard_normal((64, p["input_dim"])), dtype=torch.float32)
        y = torch.tensor(rng.integers(0, p["num_classes"], 64))
        model.train()
        train_a, train_b = model(x), model(x)
        model.eval()
        with torch.no_grad():
            eval_a, eval_b = model(x), model(x)
            loss = float(F.cross_entropy(eval_a, y))
        linears = [m for m in leaves if isinstance(m, nn.Linear)]
        return {"order": order[: len(order) // 4], "out": numpy_of(eval_a),
                "train_same": bool(torch.equal(train_a, train_b)),
                "eval_same": bool(torch.equal(eval_a, eval_b)), "loss": loss,
                "count": sum(q.numel() for q in model.parameters()),
                "weights": [numpy_of(m.weight) for m in linears],
                "biases": [numpy_of(m.bias) for m in linears],
                "dropout_p": [float(getattr(m, "p", -1)) for m in leaves if type(m).__name__ == "Dropout"]}
    return probe(scenario)


def expected_order(p: Params) -> list[str]:
    """The leaf modules a forward pass runs through, as the notebook's contract states them."""
    hidden = ["Linear"] + ["BatchNorm1d"] * (p["batchnorm"] == "before") + ["ReLU"]
    hidden += ["BatchNorm1d"] * (p["batchnorm"] == "after") + ["Dropout"] * (p["dropout"] > 0)
    return hidden * p["depth"] + ["Linear"]


def _expected_count(p: Params) -> int:
    dims = [p["input_dim"]] + [p["width"]] * p["depth"] + [p["num_classes"]]
    layers: list[nn.Module] = [nn.Linear(a, b) for a, b in zip(dims, dims[1:])]
    layers += [nn.BatchNorm1d(p["width"])] * (p["depth"] if p["batchnorm"] != "none" else 0)
    return sum(q.numel() for layer in layers for q in layer.parameters())


def _init_std(p: Params, fan_in: int, last: bool) -> float | None:
    """The std the contract asks for; ``None`` for torch's default (measured separately)."""
    if last:
        return OUTPUT_STD
    return {"kaiming": math.sqrt(2.0 / fan_in), "xavier": 1.0 / math.sqrt(fan_in)}.get(p["init"])


def _judge_init(v: dict[str, Any], p: Params, what: Text) -> None:
    count = len(v["weights"])
    for index, (weight, bias) in enumerate(zip(v["weights"], v["biases"], strict=True)):
        layer = what + Text(f": Linear layer {index + 1} of {count}",
                            f"：第 {index + 1}/{count} 个 Linear 层")
        fan_in = weight.shape[1]
        std = _init_std(p, fan_in, last=index == count - 1)
        if std is None:  # torch's default: measure nn.Linear's own initialization of this shape
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                std = float(nn.Linear(fan_in, weight.shape[0]).weight.detach().std())
        elif np.any(bias != 0):
            fail(layer, Text("bias is not zero", "偏置不为零"),
                 cause=Text("with the xavier/kaiming rule (and for the output layer) set the bias to 0 "
                            "(nn.init.zeros_).",
                            "使用 xavier/kaiming 规则时（以及输出层）偏置设为 0（nn.init.zeros_）。"))
        measured, stderr = float(weight.std()), std / math.sqrt(2 * weight.size)
        if abs(measured - std) > BANDS * stderr * (math.sqrt(2) if p["init"] == "default" else 1):
            rule = {"kaiming": "√(2/fan_in)", "xavier": "1/√fan_in"}.get(p["init"], "torch's default")
            fail(layer, Text("weights have the wrong scale", "权重尺度错误"),
                 detail=Text(f"std {measured:.4g}, expected {std:.4g} ± {BANDS:g}×{stderr:.2g} (standard "
                             f"error)",
                             f"标准差 {measured:.4g}，期望 {std:.4g} ± {BANDS:g}×{stderr:.2g}（标准误）"),
                 cause=Text(f"hidden layers: N(0, std²) with std = {rule} for init={p['init']!r}, fan_in "
                            f"= the "
                            f"layer's input size (weight.shape[1]); output layer: std {OUTPUT_STD}.",
                            f"隐藏层：N(0, std²)，init={p['init']!r} 时 std = {rule}，fan_in 为该层输入维度"
                            f"（weight.shape[1]）；输出层：std {OUTPUT_STD}。"))


def _judge(record: Record, p: Params) -> None:
    what = Text("build_model")
    v = scenario_value(record, what)
    want = expected_order(p)
    if v["order"] != want:
        fail(what, Text("runs the layers in another order", "层的顺序不对"),
             detail=Text(f"expected {' → '.join(want)}, got {' → '.join(v['order']) or 'no layers'}",
                         f"应为 {' → '.join(want)}，得到 {' → '.join(v['order']) or '没有层'}"),
             cause=Text(f"per hidden layer: Linear, then BatchNorm1d if batchnorm='before', ReLU, "
                        f"BatchNorm1d "
                        f"if 'after', Dropout if dropout > 0 (here depth={p['depth']}, "
                        f"batchnorm={p['batchnorm']!r}, dropout={p['dropout']}); then the output Linear. "
                        "Use your own Dropout and BatchNorm1d classes, in an nn.Sequential.",
                        f"每个隐藏层：Linear，batchnorm='before' 时接 "
                        f"BatchNorm1d，ReLU，'after' 时接 BatchNorm1d，"
                        f"dropout > 0 时接 Dropout（此处 depth={p['depth']}，batchnorm={p['batchnorm']!r}，"
                        f"dropout={p['dropout']}）；最后是输出 "
                        f"Linear。用你自己的 Dropout 和 BatchNorm1d，放进 "
                        f"nn.Sequential。"))
    expected = _expected_count(p)
    if v["count"] != expected:
        fail(what, Text("has the wrong number of parameters", "参数数量错误"),
             detail=Text(f"expected {expected}, got {v['count']}", f"应为 {expected}，得到 {v['count']}"),
             cause=Text("every hidden layer has `width` units; each BatchNorm1d has weight and bias.",
                        "每个隐藏层有 width 个单元；每个 BatchNorm1d 有 weight 和 bias。"))
    if any(abs(q - p["dropout"]) > 1e-12 for q in v["dropout_p"]):
        fail(what, Text("uses another dropout probability", "dropout 概率不对"),
             detail=Text(f"expected p = {p['dropout']}, got {v['dropout_p']}"),
             cause=Text("pass config['dropout'] as Dropout's p (the probability of dropping).",
                        "把 config['dropout'] 作为 Dropout 的 p（丢弃概率）传入。"))
    _judge_init(v, p, what)
    if not v["eval_same"] or (p["dropout"] > 0 and p["depth"] > 0 and v["train_same"]):
        fail(what, Text("does not switch between train and eval mode", "没有区分 train 与 eval 模式"),
             cause=Text("put every layer in one nn.Module (nn.Sequential) so model.train()/model.eval() "
                        "reach your Dropout and BatchNorm1d.",
                        "把所有层放进一个 nn.Module（nn.Sequential），"
                        "model.train()/model.eval() 才能传到你的 "
                        "Dropout 和 BatchNorm1d。"))
    expected_loss = math.log(p["num_classes"])
    if not abs(v["loss"] - expected_loss) <= 0.05 * expected_loss:
        fail(what, Text("initial loss is not log C (step 1)", "初始损失不是 log C（第一步）"),
             detail=Text(f"measured {v['loss']:.4f}, expected {expected_loss:.4f} ± 5%",
                         f"测得 {v['loss']:.4f}，应为 {expected_loss:.4f} ± 5%"),
             cause=Text(f"the output layer should start with small weights (std {OUTPUT_STD}, bias 0), "
                        f"so all "
                        "scores are about equal.", f"输出层应以很小的权重开始（std {OUTPUT_STD}，偏置 0），"
                        "使所有得分几乎相等。"))


register(Spec(
    "build_model", NOTEBOOK,
    Text("build_model: layers, parameters, initialization, train/eval",
         "build_model：层、参数、初始化、train/eval"),
    ("build_model",), _run, _judge,
    {"seed": 0, "input_dim": 48, "num_classes": 6, "depth": 2, "width": 64, "init": "kaiming",
     "batchnorm": "before", "dropout": 0.3},
))


def _count_run(functions: Functions, p: Params) -> Record:
    return call(functions["mlp_parameter_count"], config_of(p))


def _count_judge(record: Record, p: Params) -> None:
    what = Text("mlp_parameter_count")
    got = value_of(record, what)
    expected = _expected_count(p)
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        fail(what, Text("should return an int", "应返回 int"),
             detail=Text(f"got {type(got).__name__}", f"得到 {type(got).__name__}"))
    if int(got) != expected:
        fail(what, Text("is not the number of parameters torch counts", "与 torch 统计的参数数量不同"),
             detail=Text(f"expected {expected}, got {int(got)}", f"应为 {expected}，得到 {int(got)}"),
             cause=Text("a Linear layer from a to b units has a·b weights and b biases; each BatchNorm1d "
                        "has 2·width (weight and bias; its running statistics are buffers, not "
                        "parameters); ReLU and Dropout have none.",
                        "从 a 个单元到 b 个单元的 Linear 层有 a·b 个权重和 b 个偏置；每个 BatchNorm1d 有 "
                        "2·width 个（weight 和 bias；滑动统计量是 "
                        "buffer，不是参数）；ReLU 和 Dropout 没有参数。"))


register(Spec(
    "mlp_parameter_count", NOTEBOOK,
    Text("mlp_parameter_count matches the parameters of torch's layers",
         "mlp_parameter_count 与 torch 各层的参数数量一致"),
    ("mlp_parameter_count",), _count_run, _count_judge,
    {"seed": 0, "input_dim": 768, "num_classes": 6, "depth": 2, "width": 128, "init": "kaiming",
     "batchnorm": "before", "dropout": 0.3},
))
