"""The first steps of the recipe on the student's network: initial loss, overfitting 50 examples, LR range.

Each check drives the student's function twice: on a small network the check builds itself
(seeded, so ``judge`` rebuilds it and runs torch's own loop as the reference) and on the
student's ``build_model`` network, where what counts is the *result* the lecture asks for:
an initial loss of about log C (step 1), 100 % training accuracy on 50 examples (step 2).
Everything runs in float32, as the notebook trains; comparisons with torch's loop allow
``RTOL`` (float32 sums of a few hundred terms, repeated over a few SGD steps).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.checks.capstone._common import NOTEBOOK, Functions, probe, scenario_value
from nnlab.checks.spec import Params, Record, Spec, fail, register
from nnlab.i18n import Text

#: float32 losses of the same computation agree to ~1e-6; 1e-4 leaves room for another
#: (mathematically equal) order of operations while every mistake below is off by far more.
RTOL = 1e-4
#: |initial loss − log C| allowed for the student's network: with output weights N(0, 0.01²)
#: the scores have std < 0.1, so the loss exceeds log C by less than 0.1²/2 = 0.005.
LOG_C_TOLERANCE = 0.05


def _data(p: Params) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(p["seed"])
    X = torch.tensor(rng.standard_normal((p["N"], p["input_dim"])), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, p["num_classes"], p["N"]))
    return X, y


def _check_model(p: Params) -> nn.Module:
    """The check's own small network, the same in run and judge (its own generator)."""
    generator = torch.Generator().manual_seed(p["seed"] + 1)
    model = nn.Sequential(nn.Linear(p["input_dim"], 16), nn.ReLU(), nn.Linear(16, p["num_classes"]))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return model


def _student_config(p: Params, dropout: float) -> dict[str, Any]:
    return {"input_dim": p["input_dim"], "num_classes": p["num_classes"], "depth": 2, "width": p["width"],
            "init": "kaiming", "batchnorm": "none", "dropout": dropout}


def _number(value: Any, what: Text) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        fail(what, Text("should return a Python float", "应返回 Python float"),
             detail=Text(f"got {type(value).__name__}", f"得到 {type(value).__name__}"),
             next_step=Text("return loss.item() (a tensor keeps the graph alive and is not a number).",
                            "返回 loss.item()（张量会保留计算图，也不是数字）。"))
    return float(value)


def _losses(value: Any, steps: int, what: Text) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != steps:
        size = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
        fail(what, Text("should return a list with one loss per step", "应返回每步一个损失的列表"),
             detail=Text(f"expected {steps} losses, got {size}", f"应为 {steps} 个损失，得到 {size}"))
    return np.array([_number(v, what) for v in value])


# --------------------------------------------------------------------------- initial_loss

def _initial_run(functions: Functions, p: Params) -> Record:
    def scenario() -> dict[str, Any]:
        X, y = _data(p)
        own = _check_model(p)
        own_loss = functions["initial_loss"](own, X, y)
        torch.manual_seed(p["seed"])
        model = functions["build_model"](_student_config(p, dropout=0.5))
        model.train()  # a forgotten model.eval() shows: dropout changes the loss
        loss = functions["initial_loss"](model, X, y)
        model.eval()
        with torch.no_grad():
            scores = model(X).double().numpy()
        return {"own": own_loss, "loss": loss, "scores": scores}
    return probe(scenario)


def _cross_entropy(scores: np.ndarray, y: torch.Tensor) -> float:
    return float(F.cross_entropy(torch.tensor(scores, dtype=torch.float64), y))


def _initial_judge(record: Record, p: Params) -> None:
    what = Text("initial_loss")
    value = scenario_value(record, what)
    X, y = _data(p)
    with torch.no_grad():
        reference = float(F.cross_entropy(_check_model(p)(X).double(), y))
    own = _number(value.get("own"), what)
    if not math.isclose(own, reference, rel_tol=RTOL):
        if math.isclose(own, reference * p["N"], rel_tol=RTOL):
            cause = Text("it sums the losses of the examples.", "它把各样本的损失加起来了。")
        elif math.isclose(own, math.log(p["num_classes"]), rel_tol=RTOL):
            cause = Text("it returns log C instead of measuring the model's loss.",
                         "它直接返回 log C，而没有测量模型的损失。")
        else:
            cause = Text("not the mean softmax cross-entropy of the model's scores.",
                         "不是模型得分的平均 softmax 交叉熵。")
        fail(what, Text("differs from F.cross_entropy on a network of the check's",
                        "在检查自带的网络上与 F.cross_entropy 不一致"),
             detail=Text(f"expected {reference:.5f}, got {own:.5f}", f"应为 {reference:.5f}，得到 {own:.5f}"),
             cause=cause, next_step=Text("return F.cross_entropy(model(X), y).item().",
                                         "返回 F.cross_entropy(model(X), y).item()。"))
    scores = np.asarray(value.get("scores"), dtype=np.float64)
    measured = _cross_entropy(scores, y)
    loss = _number(value.get("loss"), what)
    if not math.isclose(loss, measured, rel_tol=RTOL):
        fail(what, Text("measures your network in training mode", "在训练模式下测量了你的网络"),
             detail=Text(f"eval-mode loss {measured:.5f}, got {loss:.5f}",
                         f"eval 模式损失 {measured:.5f}，得到 {loss:.5f}"),
             cause=Text("dropout is active while the loss is measured, so the loss is noisy.",
                        "测量损失时 dropout 仍在起作用，损失带有噪声。"),
             next_step=Text("call model.eval() and measure under torch.no_grad().",
                            "先调用 model.eval()，并在 torch.no_grad() 下测量。"))
    expected = math.log(p["num_classes"])
    if abs(measured - expected) > LOG_C_TOLERANCE:
        fail(what, Text("your fresh network's initial loss is not log C (step 1)",
                        "你的新网络的初始损失不是 log C（第一步）"),
             detail=Text(f"{measured:.3f}, log C = {expected:.3f}",
                         f"{measured:.3f}，log C = {expected:.3f}"),
             cause=Text("build_model's output layer starts with large weights, so the scores are not "
                        "almost equal.", "build_model 的输出层初始权重太大，得分并不近似相等。"),
             next_step=Text("initialize the output layer with N(0, 0.01²) and zero biases.",
                            "用 N(0, 0.01²) 初始化输出层、偏置置 0。"))


register(Spec(
    "initial_loss", NOTEBOOK,
    Text("initial_loss: step 1, log C on your fresh network", "initial_loss：第一步，新网络的损失为 log C"),
    ("initial_loss", "build_model"), _initial_run, _initial_judge,
    {"seed": 0, "N": 200, "input_dim": 48, "num_classes": 6, "width": 64},
))


# --------------------------------------------------------------------------- overfit_small

def _sgd_losses(model: nn.Module, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int, *,
                zero_grad: bool = True, momentum: float = 0.0) -> list[float]:
    """The reference loop of the contract: plain full-batch SGD, the loss before each step.

    ``zero_grad=False`` and ``momentum`` give two plausible mistakes, to name them.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(X), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _overfit_run(functions: Functions, p: Params) -> Record:
    def scenario() -> dict[str, Any]:
        X, y = _data(p)
        own = functions["overfit_small"](_check_model(p), X, y, num_steps=5, lr=0.1)
        torch.manual_seed(p["seed"])
        model = functions["build_model"](_student_config(p, dropout=0.0))
        losses = functions["overfit_small"](model, X, y, num_steps=p["num_steps"], lr=p["lr"])
        model.eval()
        with torch.no_grad():
            predicted = model(X).argmax(dim=1).numpy()
        return {"own": own, "losses": losses, "predicted": predicted}
    return probe(scenario)


def _overfit_judge(record: Record, p: Params) -> None:
    what = Text("overfit_small")
    value = scenario_value(record, what)
    X, y = _data(p)
    reference = np.array(_sgd_losses(_check_model(p), X, y, lr=0.1, steps=5))
    own = _losses(value.get("own"), 5, what)
    if not np.allclose(own, reference, rtol=RTOL, atol=1e-6):
        if np.allclose(own[:-1], reference[1:], rtol=RTOL):
            cause = Text("it records the loss after the update, one step late.",
                         "它记录的是更新之后的损失，晚了一步。")
        elif np.allclose(own, _sgd_losses(_check_model(p), X, y, 0.1, 5, zero_grad=False), rtol=RTOL):
            cause = Text("the gradients accumulate from step to step (no optimizer.zero_grad()).",
                         "梯度在各步之间累加（没有 optimizer.zero_grad()）。")
        elif np.allclose(own, _sgd_losses(_check_model(p), X, y, 0.1, 5, momentum=0.9), rtol=RTOL):
            cause = Text("it uses momentum: step 2 is the plain SGD loop of the contract (momentum 0).",
                         "它使用了动量：第二步要求约定中的普通 SGD 循环（动量为 0）。")
        elif np.allclose(own, reference[0], rtol=RTOL):
            cause = Text("the weights never change (no optimizer.step(), or the optimizer holds other "
                         "parameters).", "权重从未改变（没有 optimizer.step()，或优化器持有的是别的参数）。")
        else:
            cause = Text("not the plain SGD loop of the contract (lr, no momentum, full batch).",
                         "不是约定中的普通 SGD 循环（学习率、无动量、全批量）。")
        fail(what, Text("differs from torch.optim.SGD on a network of the check's",
                        "在检查自带的网络上与 torch.optim.SGD 不一致"),
             detail=Text(f"losses {np.round(own, 4).tolist()}, expected {np.round(reference, 4).tolist()}",
                         f"损失 {np.round(own, 4).tolist()}，应为 {np.round(reference, 4).tolist()}"),
             cause=cause)
    losses = _losses(value.get("losses"), p["num_steps"], what)
    predicted = np.asarray(value.get("predicted"))
    accuracy = float(np.mean(predicted == y.numpy())) if predicted.shape == (p["N"],) else 0.0
    if accuracy < 1.0:
        fail(what, Text(f"your network did not learn all {p['N']} examples (step 2)",
                        f"你的网络没有学会全部 {p['N']} 个样本（第二步）"),
             detail=Text(f"training accuracy {accuracy:.2f}, last loss {losses[-1]:.3g}",
                         f"训练准确率 {accuracy:.2f}，最后的损失 {losses[-1]:.3g}"),
             cause=Text("a network that cannot overfit a handful of examples has a bug in its layers or "
                        "its loop.", "连少量样本都无法过拟合的网络，其层或训练循环有错误。"),
             next_step=Text("check build_model's layers and that overfit_small updates this model's "
                            "parameters.",
                            "检查 build_model 的层，以及 overfit_small 是否更新了这个模型的参数。"))


register(Spec(
    "overfit_small", NOTEBOOK,
    Text("overfit_small: step 2, 100% training accuracy on a few examples",
         "overfit_small：第二步，少量样本上 100% 训练准确率"),
    ("overfit_small", "build_model"), _overfit_run, _overfit_judge,
    {"seed": 0, "N": 50, "input_dim": 48, "num_classes": 6, "width": 64, "num_steps": 150, "lr": 0.1},
))


# --------------------------------------------------------------------------- lr_range_test

LRS = (1e-3, 1e-2, 1e-1, 1.0, 30.0)
#: above this a loss has diverged: any value that large (or inf/nan) counts as "diverged".
DIVERGED = 1e3


def _lr_run(functions: Functions, p: Params) -> Record:
    def scenario() -> dict[str, Any]:
        made = []

        def make_model() -> nn.Module:
            made.append(1)
            return _check_model(p)
        X, y = _data(p)
        losses = functions["lr_range_test"](make_model, X, y, list(LRS), p["num_steps"])
        return {"losses": losses, "made": len(made)}
    return probe(scenario)


def _final_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> float:
    _sgd_losses(model, X, y, lr, steps)
    model.eval()
    with torch.no_grad():
        return float(F.cross_entropy(model(X), y))


def _lr_judge(record: Record, p: Params) -> None:
    what = Text("lr_range_test")
    value = scenario_value(record, what)
    X, y = _data(p)
    if value.get("made") != len(LRS):
        fail(what, Text("should build a fresh model for every learning rate", "应为每个学习率新建一个模型"),
             detail=Text(f"make_model() called {value.get('made')} times for {len(LRS)} learning rates",
                         f"{len(LRS)} 个学习率调用了 make_model() {value.get('made')} 次"),
             cause=Text("later learning rates start from the weights the previous run left.",
                        "后面的学习率从上一次运行留下的权重开始。"),
             next_step=Text("call model = make_model() at the start of each trial.",
                            "在每次试验开始时调用 model = make_model()。"))
    got = _losses(value.get("losses"), len(LRS), what)
    reference = np.array([_final_loss(_check_model(p), X, y, lr, p["num_steps"]) for lr in LRS])
    diverged = ~np.isfinite(reference) | (reference > DIVERGED)
    same = np.where(diverged, ~np.isfinite(got) | (got > DIVERGED),
                    np.isclose(got, reference, rtol=1e-3, atol=1e-5))
    if not same.all():
        first = int(np.argmin(same))
        fail(what, Text("differs from torch's loop", "与 torch 的循环不一致"),
             detail=Text(f"lr {LRS[first]:g}: expected {reference[first]:.4g}, got {got[first]:.4g}",
                         f"lr {LRS[first]:g}：应为 {reference[first]:.4g}，得到 {got[first]:.4g}"),
             cause=Text("return, for each lr, the training loss after num_steps plain SGD steps, measured "
                        "in eval mode (not the loss before the last step).",
                        "对每个 lr，返回普通 SGD 训练 num_steps 步之后在 eval 模式下测得的训练损失"
                        "（不是最后一步之前的损失）。"))


register(Spec(
    "lr_range_test", NOTEBOOK,
    Text("lr_range_test: step 3, the loss after a short run per learning rate",
         "lr_range_test：第三步，每个学习率短训练后的损失"),
    ("lr_range_test",), _lr_run, _lr_judge,
    {"seed": 0, "N": 100, "input_dim": 20, "num_classes": 6, "num_steps": 20},
))
