"""Checks for 05_tuning: the seven-step recipe for choosing hyperparameters.

What each check measures (all inputs are regenerated from the parameters):

* ``expected_initial_loss``: torch's ``F.cross_entropy`` of a freshly built
  float64 network whose final layer starts at zero (all classes score the
  same), on random inputs and labels — the initial loss the student's number
  must predict, to float64 rounding (:data:`FLOAT64`).
* ``measure_initial_loss``: ``F.cross_entropy`` of the check's own MLP
  (``nnlab.training.make_mlp``) on the embedded dataset, in float64 from the
  same float32 weights; the student computes in float32, so :data:`FLOAT32`.
* ``overfit_small_sample``: the weights the student's training left in the
  model are recorded, and the trusted step rebuilds the model from them and
  measures its accuracy on the subset itself (in the weights' own dtype, so
  ties break as in the student's process): it must be 1.0, reached within
  ``max_iterations``, and equal to the accuracy the student reports.
* ``sample_log_uniform`` and ``random_search_configs``: statistical. On the
  right scale (log10 or linear) the samples map to ``u`` in ``[0, 1]``,
  which must be uniform: mean 1/2 (standard error √(1/12n)), variance 1/12
  (standard error √(1/180n)), each within 5 standard errors, and the
  Kolmogorov–Smirnov distance to the uniform CDF (``torch.distributions``)
  at most 2.75/√n (chance of a false alarm ≈ 2·exp(−2·2.75²) ≈ 5e-7, like 5
  standard errors). Parameters must be drawn independently: the correlation
  of two parameters' ``u`` must be within 5/√n of 0. Both must draw from
  ``rng`` only: the same seed repeats, another seed differs.
* ``grid_search_configs``: the configurations must be ``torch.cartesian_prod``
  of the value lists, in its order (the last parameter varies fastest).
* ``diagnose_learning_curves``: synthetic curves generated here with a known
  diagnosis, each far from the decision thresholds the notebook documents
  (:data:`RISE_TOL`, :data:`GAP_TOL`), so every reasonable reading of the
  rule gives the same label.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.codec import Foreign, TensorValue
from nnlab.checks.compare import FLOAT32, FLOAT64, expect_close, expect_within, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text
from nnlab.training import Features, load_features, make_mlp, one_thread

NOTEBOOK = "05_tuning"

#: bands of standard errors for every statistical check in this module.
BANDS = 5.0
#: Kolmogorov–Smirnov threshold on √n·D (false alarm ≈ 2·exp(−2·2.75²) ≈ 5e-7).
KS_LIMIT = 2.75

#: diagnose_learning_curves: "still rising" means val_acc gained more than this over the
#: last quarter of the epochs (documented in the notebook's docstring).
RISE_TOL = 0.02
#: diagnose_learning_curves: a final train − val gap above this means overfitting.
GAP_TOL = 0.10
LABELS = ("keep_training", "overfitting", "underfitting")

Functions = Mapping[str, Callable[..., Any]]
_NUMBER = (int, float, np.integer, np.floating)


# --------------------------------------------------------------------------- helpers

def _scalar(value: Any, what: Text, hint: Text) -> float:
    """A returned number as a float, or a failure saying what came back instead."""
    if isinstance(value, TensorValue):
        raise CheckFailed(what, Text("returned a torch.Tensor, expected a Python float",
                                     "返回了 torch.Tensor，应返回 Python 浮点数"),
                          next_step=Text("return a Python float: tensor.item() or float(...).",
                                         "返回 Python 浮点数：tensor.item() 或 float(...)。"))
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _NUMBER):
        got = value.type_name if isinstance(value, Foreign) else type(value).__name__
        raise CheckFailed(what, Text("returned the wrong type", "返回类型错误"),
                          detail=Text(f"got {got}, expected a float", f"得到 {got}，应为浮点数"),
                          next_step=hint)
    return float(value)


def _state(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {name: tensor.detach().cpu().numpy().copy() for name, tensor in model.state_dict().items()}


def _t64(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


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
        raise CheckFailed(
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
    value = value_of(record.get("result", {}), what)
    if isinstance(value, list):
        value = tuple(value)
    if not (isinstance(value, tuple) and len(value) == 2):
        raise CheckFailed(what, Text("should return a pair (num_iterations, final_accuracy)",
                                     "应返回二元组 (num_iterations, final_accuracy)"),
                          next_step=Text("end with: return iteration, acc", "最后写：return iteration, acc"))
    iterations, reported = value
    if isinstance(iterations, (bool, np.bool_)) or not isinstance(iterations, (int, np.integer)):
        raise CheckFailed(what, Text("num_iterations should be an int", "num_iterations 应为整数"),
                          detail=Text(f"got {type(iterations).__name__}",
                                      f"得到 {type(iterations).__name__}"),
                          next_step=Text("count the updates in an int variable.", "用整数变量计数更新次数。"))
    if not 0 <= int(iterations) <= budget:
        raise CheckFailed(what, Text("num_iterations is outside [0, max_iterations]",
                                     "num_iterations 不在 [0, max_iterations] 内"),
                          detail=Text(f"got {int(iterations)}, max_iterations = {budget}",
                                      f"得到 {int(iterations)}，max_iterations = {budget}"),
                          next_step=Text("return how many updates (optimizer steps) you made.",
                                         "返回所做的更新次数（optimizer.step() 的次数）。"))
    reported = _scalar(reported, Text("overfit_small_sample: final_accuracy"),
                       Text("return the accuracy as a float in [0, 1].", "以 [0, 1] 内的浮点数返回准确率。"))
    state = record.get("state")
    changed = _weights_changed(state, fresh)
    if changed is None:
        raise CheckFailed(what, Text("changed the model's architecture", "改变了模型结构"),
                          cause=Text("train the layers the model has; do not add, remove or reshape them.",
                                     "训练模型现有的层，不要增删或改变形状。"))
    dtype = next(iter(state.values())).dtype
    model = fresh.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        model.load_state_dict({name: torch.from_numpy(np.asarray(a, dtype=dtype))
                               for name, a in state.items()})
        X = data.X_train.to(next(model.parameters()).dtype)
        measured = float((model(X).argmax(dim=1) == data.y_train).double().mean())
    if measured < 1.0:
        wrong = round((1.0 - measured) * len(data.y_train))
        detail = Text(f"after your function, {wrong} of {len(data.y_train)} training examples are still "
                      f"misclassified; you reported {int(iterations)} iterations",
                      f"函数结束后，{len(data.y_train)} 个训练样本中仍有 {wrong} 个分类错误；"
                      f"你报告了 {int(iterations)} 次迭代")
        if not changed:
            cause = Text("the model you were given did not change: train `model` itself (not a copy), "
                         "outside torch.no_grad(), with an optimizer over model.parameters().",
                         "传入的模型没有变化：要训练 `model` 本身（不是副本），不要放在 torch.no_grad() 里，"
                         "优化器要作用于 model.parameters()。")
        elif int(iterations) >= budget:
            cause = Text("it did not reach 100% within max_iterations: check each update "
                         "(zero_grad, backward, step) uses the full subset and the given lr.",
                         "在 max_iterations 内没有达到 100%：检查每次更新（zero_grad、backward、step）"
                         "是否用整个子集和给定的 lr。")
        else:
            cause = Text("it stopped before every example was classified correctly: loop until the "
                         "training accuracy is exactly 1.0.",
                         "在所有样本都分类正确之前就停止了：循环直到训练准确率恰好为 1.0。")
        raise CheckFailed(what, Text("did not reach 100% training accuracy", "没有达到 100% 训练准确率"),
                          detail=detail, cause=cause,
                          next_step=Text("print the accuracy after every update.", "每次更新后打印准确率。"))
    if 1.0 < reported <= 100.0:
        raise CheckFailed(what, Text("final_accuracy looks like a percentage", "final_accuracy 像是百分数"),
                          detail=Text(f"got {reported:g}", f"得到 {reported:g}"),
                          next_step=Text("return a fraction in [0, 1], e.g. 1.0.",
                                         "返回 [0, 1] 内的比例，例如 1.0。"))
    if not math.isclose(reported, measured, abs_tol=1e-6):  # float32 accuracy rounds at ~1e-8
        raise CheckFailed(what, Text("reports a final accuracy the model does not have",
                                     "报告的最终准确率与模型不符"),
                          detail=Text(f"you reported {reported:.4g}, the model's training accuracy is "
                                      f"{measured:.4g}",
                                      f"你报告 {reported:.4g}，模型的训练准确率是 {measured:.4g}"),
                          cause=Text("the accuracy was computed before the last update, or on other data.",
                                     "准确率是在最后一次更新之前算的，或用了别的数据。"),
                          next_step=Text("compute (model(X).argmax(1) == y).float().mean() after the update.",
                                         "在更新之后计算 (model(X).argmax(1) == y).float().mean()。"))


register(Spec(
    "overfit_small_sample", NOTEBOOK,
    Text("overfit_small_sample reaches 100% training accuracy on a small subset",
         "overfit_small_sample 在小样本上达到 100% 训练准确率"),
    ("function",), _overfit_run, _overfit_judge,
    {"seed": 0, "num_examples": 50, "hidden_dims": (50,), "lr": 0.1, "max_iterations": 300},
))


# --------------------------------------------------------------------------- uniformity tools

def _expect_uniform(u: np.ndarray, what: Text, name: Text, cause: Text) -> None:
    """``u`` (n,) must look like n independent uniform draws on [0, 1]."""
    n = u.size
    uniform = torch.distributions.Uniform(torch.tensor(0.0, dtype=torch.float64),
                                          torch.tensor(1.0, dtype=torch.float64))
    next_step = Text("plot a histogram of the samples on the axis of the scale (log10 for 'log').",
                     "在相应刻度上画样本直方图（'log' 用 log10）。")
    expect_within(float(u.mean()), float(uniform.mean), stderr=math.sqrt(1 / 12 / n), what=what,
                  bands=BANDS, statistic_name=Text(f"mean of {name.en}", f"{name.zh or name.en} 的均值"),
                  cause=cause, next_step=next_step)
    expect_within(float(u.var()), float(uniform.variance), stderr=math.sqrt(1 / 180 / n), what=what,
                  bands=BANDS,
                  statistic_name=Text(f"variance of {name.en}", f"{name.zh or name.en} 的方差"),
                  cause=cause, next_step=next_step)
    ordered = _t64(np.sort(u))
    cdf = uniform.cdf(ordered.clamp(0.0, 1.0 - 1e-16))
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n
    distance = float(torch.maximum(steps - cdf, cdf - (steps - 1 / n)).max())
    if math.sqrt(n) * distance > KS_LIMIT:
        raise CheckFailed(
            what, Text("is not spread uniformly", "分布不均匀"),
            detail=Text(f"largest gap between the empirical and uniform CDF of {name.en}: {distance:.3f}, "
                        f"allowed {KS_LIMIT / math.sqrt(n):.3f}",
                        f"{name.zh or name.en} 的经验分布函数与均匀分布的最大差距 {distance:.3f}，"
                        f"允许 {KS_LIMIT / math.sqrt(n):.3f}"),
            cause=cause, next_step=next_step)


def _expect_in_range(x: np.ndarray, low: float, high: float, what: Text) -> None:
    slack = 1e-12 * max(abs(low), abs(high))  # 10 ** log10(high) may round one ulp past high
    outside = ~((x >= low - slack) & (x <= high + slack))
    if outside.any():
        raise CheckFailed(
            what, Text("has samples outside [low, high]", "有样本落在 [low, high] 之外"),
            detail=Text(f"{int(outside.sum())} of {x.size} samples outside [{low:g}, {high:g}]; "
                        f"smallest {np.nanmin(x):.3g}, largest {np.nanmax(x):.3g}",
                        f"{x.size} 个样本中有 {int(outside.sum())} 个在 [{low:g}, {high:g}] 之外；"
                        f"最小 {np.nanmin(x):.3g}，最大 {np.nanmax(x):.3g}"),
            cause=Text("exponent and base do not match: 10 ** uniform(log10(low), log10(high)) stays in "
                       "range; e ** uniform(log10(...)) does not.",
                       "指数与底数不匹配：10 ** uniform(log10(low), log10(high)) 才落在范围内。"),
            next_step=Text("print the smallest and largest sample.", "打印最小和最大的样本。"))


def _expect_uses_rng(first: Any, again: Any, other: Any, what: Text) -> None:
    if not _same(first, again):
        raise CheckFailed(
            what, Text("gives different results for the same rng seed", "相同的 rng 种子给出不同结果"),
            cause=Text("it draws from a global generator (np.random.uniform, random.random) instead of rng.",
                       "使用了全局随机数生成器（np.random.uniform、random.random），而不是 rng。"),
            next_step=Text("draw every random number with rng, e.g. rng.uniform(a, b, size=n).",
                           "所有随机数都用 rng 生成，例如 rng.uniform(a, b, size=n)。"))
    if _same(first, other):
        raise CheckFailed(
            what, Text("gives the same results for different rng seeds", "不同的 rng 种子给出相同结果"),
            cause=Text("it creates its own generator with a fixed seed instead of using rng.",
                       "函数内部用固定种子创建了自己的生成器，而没有用 rng。"),
            next_step=Text("draw every random number with the rng you are given.",
                           "用传入的 rng 生成所有随机数。"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=True)))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------- sample_log_uniform

def _log_uniform_run(functions: Functions, p: Params) -> Record:
    args = (float(p["low"]), float(p["high"]), int(p["size"]))
    seed = int(p["seed"])
    return {
        "first": call(functions["function"], *args, np.random.default_rng(seed)),
        "again": call(functions["function"], *args, np.random.default_rng(seed)),
        "other": call(functions["function"], *args, np.random.default_rng(seed + 1)),
    }


def _log_uniform_judge(record: Record, p: Params) -> None:
    low, high, size = float(p["low"]), float(p["high"]), int(p["size"])
    what = Text("sample_log_uniform")
    results = [value_of(record.get(key, {}), what) for key in ("first", "again", "other")]
    x = results[0]
    if isinstance(x, TensorValue) or not isinstance(x, np.ndarray) or x.shape != (size,):
        got = f"ndarray {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise CheckFailed(what, Text("should return a float64 array of shape (size,)",
                                     "应返回形状为 (size,) 的 float64 数组"),
                          detail=Text(f"expected ({size},), got {got}", f"应为 ({size},)，得到 {got}"),
                          next_step=Text("return rng.uniform(..., size=size) transformed back.",
                                         "返回用 rng.uniform(..., size=size) 变换后的结果。"))
    if x.dtype != np.float64:
        raise CheckFailed(what, Text("has the wrong dtype", "数据类型错误"),
                          detail=Text(f"expected float64, got {x.dtype}", f"应为 float64，得到 {x.dtype}"),
                          next_step=Text("keep float64 (rng.uniform's default).",
                                         "保持 float64（rng.uniform 的默认类型）。"))
    _expect_in_range(x, low, high, what)
    u = ((_t64(x).log10() - math.log10(low)) / (math.log10(high) - math.log10(low))).numpy()
    _expect_uniform(u, what, Text("log10(samples), rescaled to [0, 1]", "log10(样本) 缩放到 [0, 1]"),
                    Text("the exponent must be uniform: draw e = rng.uniform(log10(low), log10(high)) and "
                         "return 10 ** e (uniform samples of x itself crowd near high).",
                         "指数应均匀分布：先取 e = rng.uniform(log10(low), log10(high))，再返回 10 ** e"
                         "（直接对 x 均匀采样会挤在 high 附近）。"))
    _expect_uses_rng(*results, what)


register(Spec(
    "sample_log_uniform", NOTEBOOK,
    Text("sample_log_uniform draws uniformly on a log scale", "sample_log_uniform 在对数刻度上均匀采样"),
    ("function",), _log_uniform_run, _log_uniform_judge,
    {"seed": 0, "low": 1e-4, "high": 1e-1, "size": 2000},
))


# --------------------------------------------------------------------------- grid search

_GRID_NAMES = ("lr", "weight_decay", "hidden_dim", "momentum", "batch_size")


def make_grid_space(seed: int, num_params: int) -> dict[str, list[float | int]]:
    """A grid-search space: name -> list of 2..4 values (1..4 when ``num_params`` > 2), seeded."""
    rng = np.random.default_rng(seed)
    space: dict[str, list[float | int]] = {}
    for name in _GRID_NAMES[:num_params]:
        count = int(rng.integers(2 if num_params <= 2 else 1, 5))
        if name in ("hidden_dim", "batch_size"):
            drawn = rng.choice(np.arange(8, 513, 8), count, replace=False)
            values: list[float | int] = sorted(int(v) for v in drawn)
        elif name == "momentum":
            values = sorted({round(float(v), 3) for v in rng.uniform(0.5, 0.99, count)})
        else:
            values = sorted({float(10 ** round(float(v), 2)) for v in rng.uniform(-6, -1, count)})
        space[name] = values
    return space


def _grid_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], make_grid_space(int(p["seed"]), int(p["num_params"])))


def _configs_table(value: Any, names: list[str], count: int | None, what: Text) -> np.ndarray:
    """A returned list of configuration dicts as a (num_configs, num_params) float64 table."""
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        got = value.type_name if isinstance(value, Foreign) else type(value).__name__
        raise CheckFailed(what, Text("should return a list of dicts (one per configuration)",
                                     "应返回字典的列表（每个配置一个字典）"),
                          detail=Text(f"got {got}", f"得到 {got}"),
                          next_step=Text("build each configuration as dict(zip(names, values)).",
                                         "用 dict(zip(names, values)) 构造每个配置。"))
    if count is not None and len(value) != count:
        raise CheckFailed(what, Text("returned the wrong number of configurations", "配置个数不对"),
                          detail=Text(f"expected {count}, got {len(value)}",
                                      f"应为 {count}，得到 {len(value)}"),
                          cause=Text("every combination of values must appear once: the number of "
                                     "configurations is the product of the list lengths.",
                                     "每种取值组合恰好出现一次：配置数等于各列表长度之积。"),
                          next_step=Text("use itertools.product over the value lists.",
                                         "对各取值列表使用 itertools.product。"))
    for config in value:
        if sorted(config) != sorted(names):
            raise CheckFailed(what, Text("has configurations with the wrong keys", "配置的键不对"),
                              detail=Text(f"expected keys {sorted(names)}, got {sorted(config)}",
                                          f"应为 {sorted(names)}，得到 {sorted(config)}"),
                              next_step=Text("use the space's parameter names as keys.",
                                             "用搜索空间中的参数名作为键。"))
        for name in names:
            item = config[name]
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, _NUMBER):
                kind = type(item).__name__
                raise CheckFailed(what, Text("has a value that is not a number", "有一个值不是数字"),
                                  detail=Text(f"{name}: got {kind}", f"{name}：得到 {kind}"),
                                  next_step=Text("store plain numbers in each configuration.",
                                                 "每个配置里存放普通数字。"))
    return np.array([[float(c[name]) for name in names] for c in value], dtype=np.float64).reshape(
        len(value), len(names))


def _grid_judge(record: Record, p: Params) -> None:
    space = make_grid_space(int(p["seed"]), int(p["num_params"]))
    names = list(space)
    reference = torch.cartesian_prod(*[_t64(np.array(v, dtype=np.float64)) for v in space.values()])
    reference = reference.reshape(-1, len(names)).numpy()
    what = Text("grid_search_configs")
    got = _configs_table(value_of(record, what), names, len(reference), what)
    as_rows = lambda table: sorted(map(tuple, table.tolist()))  # noqa: E731
    if as_rows(got) != as_rows(reference):
        missing = len(set(as_rows(reference)) - set(as_rows(got)))
        raise CheckFailed(what, Text("does not contain every combination once", "没有恰好包含每种组合一次"),
                          detail=Text(f"{missing} of {len(reference)} combinations missing",
                                      f"{len(reference)} 种组合中缺少 {missing} 种"),
                          cause=Text("zip pairs the lists element by element; the grid needs the "
                                     "Cartesian product.",
                                     "zip 只是逐个配对；网格需要笛卡尔积。"),
                          next_step=Text("use itertools.product(*space.values()).",
                                         "使用 itertools.product(*space.values())。"))
    expect_close({"value": got}, reference,
                 what=Text("grid_search_configs: order", "grid_search_configs：顺序"), tol=FLOAT64,
                 cause=Text("the right configurations in another order: keep the space's key order and "
                            "let the last parameter vary fastest, as itertools.product does.",
                            "配置正确但顺序不同：保持空间中键的顺序，"
                            "让最后一个参数变化最快（同 itertools.product）。"),
                 next_step=Text("loop with itertools.product(*space.values()), keys in the space's order.",
                                "按键的顺序用 itertools.product(*space.values()) 循环。"))


register(Spec(
    "grid_search_configs", NOTEBOOK,
    Text("grid_search_configs lists the full grid in torch.cartesian_prod order",
         "grid_search_configs 按 torch.cartesian_prod 的顺序列出完整网格"),
    ("function",), _grid_run, _grid_judge, {"seed": 0, "num_params": 2},
))


# --------------------------------------------------------------------------- random search

_RANDOM_CATALOG = (("lr", "log"), ("dropout", "linear"), ("weight_decay", "log"), ("momentum", "linear"))


def make_random_space(seed: int, num_params: int) -> dict[str, tuple[float, float, str]]:
    """A random-search space: name -> (low, high, "log" | "linear"), with seeded ranges."""
    rng = np.random.default_rng(seed)
    space: dict[str, tuple[float, float, str]] = {}
    for name, scale in _RANDOM_CATALOG[:num_params]:
        if scale == "log":
            low = float(10 ** round(float(rng.uniform(-7, -4)), 2))
            space[name] = (low, float(low * 10 ** round(float(rng.uniform(2, 4)), 2)), "log")
        else:
            low = round(float(rng.uniform(0.0, 0.3)), 3)
            space[name] = (low, round(low + float(rng.uniform(0.3, 0.6)), 3), "linear")
    return space


def _random_run(functions: Functions, p: Params) -> Record:
    seed, num_params, trials = int(p["seed"]), int(p["num_params"]), int(p["num_trials"])
    return {
        key: call(functions["function"], make_random_space(seed, num_params), trials,
                  np.random.default_rng(seed + offset))
        for key, offset in (("first", 0), ("again", 0), ("other", 1))
    }


def _random_judge(record: Record, p: Params) -> None:
    seed, num_params, trials = int(p["seed"]), int(p["num_params"]), int(p["num_trials"])
    space = make_random_space(seed, num_params)
    names = list(space)
    what = Text("random_search_configs")
    results = [value_of(record.get(key, {}), what) for key in ("first", "again", "other")]
    table = _configs_table(results[0], names, trials, what)
    units = []
    for column, (name, (low, high, scale)) in zip(table.T, space.items()):
        dimension = Text(f"random_search_configs: {name} ({scale})")
        _expect_in_range(column, low, high, dimension)
        if scale == "log":
            u = (_t64(column).log10() - math.log10(low)) / (math.log10(high) - math.log10(low))
            cause = Text(f"'{name}' has scale 'log': its log10 must be uniform (use sample_log_uniform).",
                         f"'{name}' 的刻度是 'log'：它的 log10 应均匀分布（用 sample_log_uniform）。")
        else:
            u = (_t64(column) - low) / (high - low)
            cause = Text(f"'{name}' has scale 'linear': draw it with rng.uniform(low, high).",
                         f"'{name}' 的刻度是 'linear'：用 rng.uniform(low, high) 采样。")
        _expect_uniform(u.numpy(), dimension, Text(f"{name} on its scale, rescaled to [0, 1]",
                                                   f"{name} 在其刻度上缩放到 [0, 1]"), cause)
        units.append(u)
    for i in range(len(units)):
        for j in range(i + 1, len(units)):
            r = float(torch.corrcoef(torch.stack([units[i], units[j]]))[0, 1])
            if abs(r) > BANDS / math.sqrt(trials):
                raise CheckFailed(
                    what, Text("draws parameters that are not independent", "各参数的采样不独立"),
                    detail=Text(f"correlation of {names[i]} and {names[j]} on their scales: {r:.3f}, "
                                f"allowed ±{BANDS / math.sqrt(trials):.3f}",
                                f"{names[i]} 与 {names[j]} 在各自刻度上的相关系数为 {r:.3f}，"
                                f"允许 ±{BANDS / math.sqrt(trials):.3f}"),
                    cause=Text("one random number was reused for several parameters.",
                               "同一个随机数被用于多个参数。"),
                    next_step=Text("draw a fresh random number for every parameter of every trial.",
                                   "每次试验的每个参数都要重新抽一个随机数。"))
    _expect_uses_rng(*results, what)


register(Spec(
    "random_search_configs", NOTEBOOK,
    Text("random_search_configs samples each parameter independently on its scale",
         "random_search_configs 在各自刻度上独立地采样每个参数"),
    ("function",), _random_run, _random_judge, {"seed": 0, "num_params": 2, "num_trials": 2000},
))


# --------------------------------------------------------------------------- step 6

def _recent_gain(curve: np.ndarray) -> float:
    k = max(1, len(curve) // 4)
    return float(curve[-1] - curve[-1 - k])


def make_learning_curves(label: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (train_acc, val_acc) per epoch whose diagnosis is ``label``, far from every threshold.

    ``keep_training``: both curves still rise (val gains > 2·RISE_TOL over the last quarter),
    gap < GAP_TOL/2. ``overfitting``: train still rises (> 2·RISE_TOL) while val is flat or
    falls (< RISE_TOL/2), gap > 2·GAP_TOL. ``underfitting``: both flat (val gain < RISE_TOL/2)
    at a low level (val < 0.65), gap < GAP_TOL/2. Noise: std 0.003 per epoch.
    """
    for _ in range(1000):
        epochs = int(rng.integers(12, 41))
        t = np.arange(1, epochs + 1, dtype=np.float64)
        start = 1 / 6
        if label == "keep_training":
            top, tau = rng.uniform(0.7, 0.95), epochs * rng.uniform(1.0, 2.0)
            val = start + (top - start) * (1 - np.exp(-t / tau))
            train = val + rng.uniform(0.0, 0.04) * t / epochs
        elif label == "overfitting":
            top = rng.uniform(0.95, 1.0)
            train = start + (top - start) * (1 - np.exp(-t / (epochs / 3)))
            peak = rng.uniform(0.55, 0.75)
            decline = rng.uniform(0.02, 0.08) * (t / epochs) ** 2
            val = start + (peak - start) * (1 - np.exp(-t / (epochs / 8))) - decline
        elif label == "underfitting":
            top = rng.uniform(0.3, 0.6)
            val = start + (top - start) * (1 - np.exp(-t / (epochs / 8)))
            train = val + rng.uniform(0.0, 0.03) * (1 - np.exp(-t / (epochs / 8)))
        else:
            raise ValueError(f"unknown label {label!r}")
        train = np.clip(train + rng.normal(0, 0.003, epochs), 0.0, 1.0)
        val = np.clip(val + rng.normal(0, 0.003, epochs), 0.0, 1.0)
        gain, gap = _recent_gain(val), float(train[-1] - val[-1])
        if label == "keep_training":
            ok = gain > 2 * RISE_TOL and gap < GAP_TOL / 2
        elif label == "overfitting":
            ok = gain < RISE_TOL / 2 and gap > 2 * GAP_TOL and _recent_gain(train) > 2 * RISE_TOL
        else:
            ok = gain < RISE_TOL / 2 and abs(gap) < GAP_TOL / 2 and val[-1] < 0.65
        if ok:
            return train, val
    raise RuntimeError(f"could not generate unambiguous {label} curves")  # a checker bug


def _diagnose_cases(p: Params) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(int(p["seed"]))
    cases = [(label, *make_learning_curves(label, rng))
             for _ in range(int(p["cases_per_label"])) for label in LABELS]
    order = rng.permutation(len(cases))
    return [cases[i] for i in order]


def _diagnose_run(functions: Functions, p: Params) -> Record:
    return {"results": [call(functions["function"], train, val) for _, train, val in _diagnose_cases(p)]}


_CONFUSION_CAUSES = {
    ("overfitting", "keep_training"): Text(
        "when a model overfits, its *training* accuracy keeps rising while the validation accuracy "
        "stalls: decide 'still rising' on val_acc, not train_acc.",
        "过拟合时*训练*准确率仍在上升而验证准确率停滞：用 val_acc 判断是否仍在上升，而不是 train_acc。"),
    ("keep_training", "overfitting"): Text(
        "check first whether the validation accuracy is still rising (val_acc[-1] − val_acc[-1 − k] "
        f"> {RISE_TOL}, k = max(1, E // 4)).",
        f"先检查验证准确率是否仍在上升（val_acc[-1] − val_acc[-1 − k] > {RISE_TOL}，k = max(1, E // 4)）。"),
    ("keep_training", "underfitting"): Text(
        "check first whether the validation accuracy is still rising (val_acc[-1] − val_acc[-1 − k] "
        f"> {RISE_TOL}, k = max(1, E // 4)).",
        f"先检查验证准确率是否仍在上升（val_acc[-1] − val_acc[-1 − k] > {RISE_TOL}，k = max(1, E // 4)）。"),
    ("overfitting", "underfitting"): Text(
        f"a large final gap train_acc[-1] − val_acc[-1] (> {GAP_TOL}) means overfitting.",
        f"最终差距 train_acc[-1] − val_acc[-1] 很大（> {GAP_TOL}）意味着过拟合。"),
    ("underfitting", "overfitting"): Text(
        f"a small final gap (≤ {GAP_TOL}) with flat curves means underfitting, not overfitting.",
        f"最终差距很小（≤ {GAP_TOL}）且曲线平坦意味着欠拟合，而不是过拟合。"),
    ("underfitting", "keep_training"): Text(
        f"flat curves (val gained ≤ {RISE_TOL} over the last quarter) are not 'still rising'; "
        "compare the last value with the one a quarter of the epochs earlier.",
        f"平坦的曲线（最后四分之一的轮次中 val 增长 ≤ {RISE_TOL}）不算“仍在上升”；"
        "比较最后一个值与四分之一轮次之前的值。"),
}


def _diagnose_judge(record: Record, p: Params) -> None:
    cases = _diagnose_cases(p)
    what = Text("diagnose_learning_curves")
    results = record.get("results")
    if not isinstance(results, list) or len(results) != len(cases):
        raise CheckFailed(what, Text("could not be checked: results missing", "无法检查：缺少结果"))
    confusions: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for (label, train, val), result in zip(cases, results):
        got = value_of(result, what)
        if not isinstance(got, str) or got not in LABELS:
            raise CheckFailed(what, Text("returned something other than the three labels",
                                         "返回值不是三个标签之一"),
                              detail=Text(f"got {got!r}", f"得到 {got!r}"),
                              next_step=Text(f"return exactly one of {', '.join(map(repr, LABELS))}.",
                                             f"只返回 {', '.join(map(repr, LABELS))} 之一。"))
        if got != label:
            confusions.setdefault((label, got), []).append((train, val))
    if not confusions:
        return
    (label, got), examples = max(confusions.items(), key=lambda item: len(item[1]))
    count, total_wrong = len(examples), sum(map(len, confusions.values()))
    train, val = examples[0]
    raise CheckFailed(
        what, Text("misdiagnosed learning curves", "学习曲线诊断错误"),
        detail=Text(
            f"{total_wrong} of {len(cases)} curve pairs wrong; {count} '{label}' pair(s) labelled '{got}' "
            f"— e.g. {len(val)} epochs, final train {train[-1]:.2f}, val {val[-1]:.2f}, "
            f"val gain over the last quarter {_recent_gain(val):+.3f}",
            f"{len(cases)} 组曲线中错了 {total_wrong} 组；{count} 组 '{label}' 被判为 '{got}'"
            f"——例如 {len(val)} 个轮次，最终训练 {train[-1]:.2f}、验证 {val[-1]:.2f}，"
            f"最后四分之一的验证增长 {_recent_gain(val):+.3f}"),
        cause=_CONFUSION_CAUSES[(label, got)],
        next_step=Text("plot a few curves with your label as the title and compare with the rule "
                       "in the docstring.",
                       "画几组曲线，把你的判断作为标题，与文档字符串中的规则对照。"))


register(Spec(
    "diagnose_learning_curves", NOTEBOOK,
    Text("diagnose_learning_curves labels unseen learning curves correctly",
         "diagnose_learning_curves 正确诊断未见过的学习曲线"),
    ("function",), _diagnose_run, _diagnose_judge, {"seed": 0, "cases_per_label": 4},
))
