"""Steps 1 and 2 of the recipe: the initial loss (predicted and measured) and overfitting a small sample.

* ``expected_initial_loss``: torch's ``F.cross_entropy`` of a freshly built
  float64 network whose final layer starts at zero, on random inputs and labels.
* ``measure_initial_loss``: ``F.cross_entropy`` of the check's own MLP on the
  embedded dataset, in float64 from the same float32 weights.
* ``overfit_small_sample``: the trusted step rebuilds the model from the weights
  the student's training left and measures its accuracy on the subset itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.codec import Foreign, TensorValue
from nnlab.checks.compare import FLOAT32, FLOAT64, expect_close, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.tuning._common import NOTEBOOK, NUMBER_TYPES, Functions
from nnlab.data.features import Features, load_features
from nnlab.i18n import Text
from nnlab.threads import one_thread
from nnlab.training import make_mlp

# --------------------------------------------------------------------------- helpers

def _scalar(value: Any, what: Text, hint: Text) -> float:
    """A returned number as a float, or a failure saying what came back instead."""
    if isinstance(value, TensorValue):
        fail(what, Text("returned a torch.Tensor, expected a Python float",
                        "返回了 torch.Tensor，应返回 Python 浮点数"),
             next_step=Text("return a Python float: tensor.item() or float(...).",
                            "返回 Python 浮点数：tensor.item() 或 float(...)。"))
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, NUMBER_TYPES):
        got = value.type_name if isinstance(value, Foreign) else type(value).__name__
        fail(what, Text("returned the wrong type", "返回类型错误"),
             detail=Text(f"got {got}, expected a float", f"得到 {got}，应为浮点数"),
             next_step=hint)
    return float(value)


def _state(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {name: tensor.detach().cpu().numpy().copy() for name, tensor in model.state_dict().items()}


# --------------------------------------------------------------------------- step 1

def _initial_loss_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], int(p["num_classes"]))


def _initial_loss_judge(record: Record, p: Params) -> None:
    num_classes = int(p["num_classes"])
    generator = torch.Generator().manual_seed(int(p["seed"]))
    X = torch.randn(64, 20, generator=generator, dtype=torch.float64)
    y = torch.randint(0, num_classes, (64,), generator=generator)
    hidden = torch.nn.Linear(20, 32, dtype=torch.float64)
    final = torch.nn.Linear(32, num_classes, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.normal_(0.0, 0.2, generator=generator)
        final.weight.zero_()
        final.bias.zero_()
        measured = float(F.cross_entropy(final(torch.relu(hidden(X))), y))
    # hidden checks must not reveal their inputs, so C is named only in visible ones
    what = Text("expected_initial_loss" if p.get("hidden") else f"expected_initial_loss({num_classes})")
    got = _scalar(value_of(record, what), what,
                  Text("return one number: the loss, not the probabilities.",
                       "返回一个数：损失值，而不是各类概率。"))
    lookalikes = [
        (measured / math.log(10), Text("a base-10 logarithm: cross-entropy uses the natural log (np.log).",
                                       "用了以 10 为底的对数：交叉熵用自然对数（np.log）。")),
        (measured / math.log(2), Text("a base-2 logarithm: cross-entropy uses the natural log (np.log).",
                                      "用了以 2 为底的对数：交叉熵用自然对数（np.log）。")),
        (-measured, Text("the sign: the loss is −log of a probability ≤ 1, so it is ≥ 0.",
                         "符号反了：损失是 −log(概率)，概率 ≤ 1，所以损失 ≥ 0。")),
        (math.exp(-measured), Text("this is the probability of the correct class, not the loss "
                                   "(take −log of it).",
                                   "这是正确类别的概率，不是损失（还要取 −log）。")),
    ]
    cause = next((c for value, c in lookalikes if math.isclose(got, value, rel_tol=1e-6)),
                 Text("at initialization every class gets the same score, so softmax gives each "
                      "class the same probability; the loss is −log of that probability.",
                      "初始化时每个类别得分相同，softmax 给每类相同的概率；损失是该概率的 −log。"))
    expect_close({"value": got}, np.float64(measured), what=what, tol=FLOAT64, cause=cause)


register(Spec(
    "expected_initial_loss", NOTEBOOK,
    Text("expected_initial_loss matches the loss torch measures at initialization",
         "expected_initial_loss 与 torch 测得的初始损失一致"),
    ("function",), _initial_loss_run, _initial_loss_judge, {"seed": 0, "num_classes": 6},
))


def _mlp_inputs(p: Params) -> tuple[Features, torch.nn.Sequential]:
    data = load_features(num_train=int(p["num_examples"]), num_val=0, seed=int(p["seed"]))
    model = make_mlp(data.input_dim, tuple(p["hidden_dims"]), data.num_classes, seed=int(p["seed"]))
    return data, model


def _measure_inputs(p: Params) -> tuple[Features, torch.nn.Sequential]:
    """The MLP of ``_mlp_inputs`` with its last layer's weights scaled by ``final_scale``."""
    data, model = _mlp_inputs(p)
    with torch.no_grad():
        model[-1].weight.mul_(float(p["final_scale"]))
    return data, model


def _measure_run(functions: Functions, p: Params) -> Record:
    data, model = _measure_inputs(p)
    with one_thread():
        result = call(functions["function"], model, data.X_train.clone(), data.y_train.clone())
    return {"result": result, "state": _state(model)}


def _weights_changed(state: Any, model: torch.nn.Module) -> bool | None:
    """True/False whether ``state`` differs from ``model``'s weights; None if not comparable."""
    reference = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(reference):
        return None
    for name, tensor in reference.items():
        got = state[name]
        if not isinstance(got, np.ndarray) or got.shape != tuple(tensor.shape):
            return None
        if not np.array_equal(got.astype(np.float64), tensor.double().numpy()):
            return True
    return False


def _measure_judge(record: Record, p: Params) -> None:
    data, model = _measure_inputs(p)
    changed = _weights_changed(record.get("state"), model)
    with torch.no_grad():
        logits = model.double()(data.X_train.double())
        measured = float(F.cross_entropy(logits, data.y_train))
        summed = measured * len(data.y_train)
        double_softmax = float(F.cross_entropy(torch.softmax(logits, dim=1), data.y_train))
    what = Text("measure_initial_loss")
    got = _scalar(value_of(record.get("result", {}), what), what,
                  Text("return the loss as a float: loss.item().", "以浮点数返回损失：loss.item()。"))
    if math.isclose(got, summed, rel_tol=1e-5):
        cause = Text("the loss was summed over examples; the loss is the mean over examples "
                     "(F.cross_entropy's default).",
                     "对样本求了和；损失应是对样本的平均（F.cross_entropy 的默认值）。")
    elif math.isclose(got, double_softmax, rel_tol=1e-5):
        cause = Text("softmax was applied before F.cross_entropy, which applies it itself: "
                     "pass the raw scores (logits).",
                     "在 F.cross_entropy 之前又做了 softmax，而它内部已经做了：直接传入原始得分（logits）。")
    elif got > measured:
        cause = Text("step 1 measures the data loss only, with weight decay off: no regularization "
                     "term, just F.cross_entropy(model(X), y).",
                     "第一步只测数据损失（关闭权重衰减）：不加正则项，只算 F.cross_entropy(model(X), y)。")
    else:
        cause = Text("compute F.cross_entropy(model(X), y) on the raw scores of the whole set.",
                     "在整个数据集的原始得分上计算 F.cross_entropy(model(X), y)。")
    expect_close({"value": got}, np.float64(measured), what=what, tol=FLOAT32, cause=cause)
    if changed is not False:
        fail(
            what, Text("changed the model's weights", "改变了模型的权重"),
            cause=Text("measuring the loss must not train: no optimizer step, no in-place edits.",
                       "测量损失不应训练模型：不要调用 optimizer.step()，也不要原地修改参数。"),
            next_step=Text("compute the loss under torch.no_grad() and return it.",
                           "在 torch.no_grad() 下计算损失并返回。"),
        )


register(Spec(
    "measure_initial_loss", NOTEBOOK,
    Text("measure_initial_loss matches F.cross_entropy of the untrained MLP",
         "measure_initial_loss 与未训练 MLP 的 F.cross_entropy 一致"),
    ("function",), _measure_run, _measure_judge,
    {"seed": 0, "num_examples": 200, "hidden_dims": (100,), "final_scale": 1.0},
))


# --------------------------------------------------------------------------- step 2

def _overfit_run(functions: Functions, p: Params) -> Record:
    data, model = _mlp_inputs(p)
    with one_thread():
        result = call(functions["function"], model, data.X_train.clone(), data.y_train.clone(),
                      float(p["lr"]), int(p["max_iterations"]))
    return {"result": result, "state": _state(model)}


def _overfit_judge(record: Record, p: Params) -> None:
    data, fresh = _mlp_inputs(p)
    budget = int(p["max_iterations"])
    what = Text("overfit_small_sample")
    iterations, reported = _overfit_result(record, budget, what)
    state = record.get("state")
    changed = _weights_changed(state, fresh)
    if changed is None:
        fail(what, Text("changed the model's architecture", "改变了模型结构"),
             cause=Text("train the layers the model has; do not add, remove or reshape them.",
                        "训练模型现有的层，不要增删或改变形状。"))
    measured = _training_accuracy(state, fresh, data)
    if measured < 1.0:
        wrong = round((1.0 - measured) * len(data.y_train))
        detail = Text(f"after your function, {wrong} of {len(data.y_train)} training examples are still "
                      f"misclassified; you reported {int(iterations)} iterations",
                      f"函数结束后，{len(data.y_train)} 个训练样本中仍有 {wrong} 个分类错误；"
                      f"你报告了 {int(iterations)} 次迭代")
        fail(what, Text("did not reach 100% training accuracy", "没有达到 100% 训练准确率"),
             detail=detail, cause=_not_overfit_cause(bool(changed), int(iterations) >= budget),
             next_step=Text("print the accuracy after every update.", "每次更新后打印准确率。"))
    if 1.0 < reported <= 100.0:
        fail(what, Text("final_accuracy looks like a percentage", "final_accuracy 像是百分数"),
             detail=Text(f"got {reported:g}", f"得到 {reported:g}"),
             next_step=Text("return a fraction in [0, 1], e.g. 1.0.",
                            "返回 [0, 1] 内的比例，例如 1.0。"))
    if not math.isclose(reported, measured, abs_tol=1e-6):  # float32 accuracy rounds at ~1e-8
        fail(what, Text("reports a final accuracy the model does not have",
                        "报告的最终准确率与模型不符"),
             detail=Text(f"you reported {reported:.4g}, the model's training accuracy is "
                         f"{measured:.4g}",
                         f"你报告 {reported:.4g}，模型的训练准确率是 {measured:.4g}"),
             cause=Text("the accuracy was computed before the last update, or on other data.",
                        "准确率是在最后一次更新之前算的，或用了别的数据。"),
             next_step=Text("compute (model(X).argmax(1) == y).float().mean() after the update.",
                            "在更新之后计算 (model(X).argmax(1) == y).float().mean()。"))


def _overfit_result(record: Record, budget: int, what: Text) -> tuple[int, float]:
    """The returned ``(num_iterations, final_accuracy)``, each of the right type and range."""
    value = value_of(record.get("result", {}), what)
    if isinstance(value, list):
        value = tuple(value)
    if not (isinstance(value, tuple) and len(value) == 2):
        fail(what, Text("should return a pair (num_iterations, final_accuracy)",
                        "应返回二元组 (num_iterations, final_accuracy)"),
             next_step=Text("end with: return iteration, acc", "最后写：return iteration, acc"))
    iterations, reported = value
    if isinstance(iterations, (bool, np.bool_)) or not isinstance(iterations, (int, np.integer)):
        fail(what, Text("num_iterations should be an int", "num_iterations 应为整数"),
             detail=Text(f"got {type(iterations).__name__}",
                         f"得到 {type(iterations).__name__}"),
             next_step=Text("count the updates in an int variable.", "用整数变量计数更新次数。"))
    if not 0 <= int(iterations) <= budget:
        fail(what, Text("num_iterations is outside [0, max_iterations]",
                        "num_iterations 不在 [0, max_iterations] 内"),
             detail=Text(f"got {int(iterations)}, max_iterations = {budget}",
                         f"得到 {int(iterations)}，max_iterations = {budget}"),
             next_step=Text("return how many updates (optimizer steps) you made.",
                            "返回所做的更新次数（optimizer.step() 的次数）。"))
    final_accuracy = _scalar(reported, Text("overfit_small_sample: final_accuracy"),
                             Text("return the accuracy as a float in [0, 1].",
                                  "以 [0, 1] 内的浮点数返回准确率。"))
    return int(iterations), final_accuracy


def _training_accuracy(state: dict[str, np.ndarray], fresh: torch.nn.Module, data: Features) -> float:
    """The training accuracy of ``fresh`` with the returned weights, in the dtype they came in."""
    dtype = next(iter(state.values())).dtype
    model = fresh.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        model.load_state_dict({name: torch.from_numpy(np.asarray(a, dtype=dtype))
                               for name, a in state.items()})
        X = data.X_train.to(next(model.parameters()).dtype)
        return float((model(X).argmax(dim=1) == data.y_train).double().mean())


def _not_overfit_cause(changed: bool, used_budget: bool) -> Text:
    """Why the model is not at 100%: untouched, out of iterations, or stopped too early."""
    if not changed:
        return Text("the model you were given did not change: train `model` itself (not a copy), "
                    "outside torch.no_grad(), with an optimizer over model.parameters().",
                    "传入的模型没有变化：要训练 `model` 本身（不是副本），不要放在 torch.no_grad() 里，"
                    "优化器要作用于 model.parameters()。")
    if used_budget:
        return Text("it did not reach 100% within max_iterations: check each update "
                    "(zero_grad, backward, step) uses the full subset and the given lr.",
                    "在 max_iterations 内没有达到 100%：检查每次更新（zero_grad、backward、step）"
                    "是否用整个子集和给定的 lr。")
    return Text("it stopped before every example was classified correctly: loop until the "
                "training accuracy is exactly 1.0.",
                "在所有样本都分类正确之前就停止了：循环直到训练准确率恰好为 1.0。")


register(Spec(
    "overfit_small_sample", NOTEBOOK,
    Text("overfit_small_sample reaches 100% training accuracy on a small subset",
         "overfit_small_sample 在小样本上达到 100% 训练准确率"),
    ("function",), _overfit_run, _overfit_judge,
    {"seed": 0, "num_examples": 50, "hidden_dims": (50,), "lr": 0.1, "max_iterations": 300},
))
