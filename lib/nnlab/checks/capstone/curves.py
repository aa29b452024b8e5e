"""Steps 4–7 on the student's code: the log-scale sampler, reading learning curves, early stopping.

* ``search_sampler``: the student's ``sample_log_uniform`` of 06, judged by notebook 05's
  statistical check (log10 of the samples uniform, 5 standard errors, the generator used).
* ``diagnose``: labels synthetic histories ``lr_too_high`` / ``underfitting`` / ``overfitting``
  / ``good`` by the rule of its docstring; each history is generated far from every threshold
  (:func:`make_history`), so any faithful reading of the rule gives the same label.
* ``early_stopping``: driven by scripted validation accuracies on a one-weight model whose
  weight records the epoch it was trained to, so the restored weights say which epoch's
  ``state_dict`` came back (best, last, or a copy that moved on with training).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from nnlab.checks.capstone._common import NOTEBOOK, Functions, probe, scenario_value
from nnlab.checks.compare import value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.tuning import search
from nnlab.i18n import Text

LABELS = ("lr_too_high", "underfitting", "overfitting", "good")
#: the rule's thresholds (the notebook's docstring states them).
UNDERFIT_BELOW = 0.6
GAP_ABOVE = 0.15

register(Spec(
    "search_sampler", NOTEBOOK,
    Text("sample_log_uniform: steps 4-5, uniform on a log scale",
         "sample_log_uniform：第四、五步，对数尺度上均匀"),
    ("function",), search._log_uniform_run, search._log_uniform_judge,
    {"seed": 0, "low": 1e-4, "high": 1e-1, "size": 2000},
))


# --------------------------------------------------------------------------- diagnose

def make_history(label: str, rng: np.random.Generator) -> dict[str, list[float]]:
    """A synthetic ``fit`` history (per epoch) whose diagnosis is ``label``, far from the thresholds.

    lr_too_high: the loss rises from its start (×2–×50, or to inf/nan). underfitting: the loss
    falls, train accuracy ends in [0.25, 0.45]. overfitting: train ends ≥ 0.95, val 0.3–0.5
    below it. good: train ends in [0.75, 0.95], val within 0.08 of it.
    """
    epochs = int(rng.integers(10, 31))
    t = np.arange(1, epochs + 1) / epochs
    start_loss = float(np.log(6) + rng.uniform(-0.05, 0.05))
    if label == "lr_too_high":
        loss = start_loss * np.exp(t * np.log(rng.uniform(2, 50)))
        if rng.random() < 0.3:
            loss[int(rng.integers(epochs // 2, epochs)):] = np.inf if rng.random() < 0.5 else np.nan
        train = 1 / 6 + rng.uniform(-0.05, 0.05, epochs)
        val = 1 / 6 + rng.uniform(-0.05, 0.05, epochs)
    else:
        top, gap = {"underfitting": (rng.uniform(0.25, 0.45), rng.uniform(0.0, 0.05)),
                    "overfitting": (rng.uniform(0.95, 1.0), rng.uniform(0.3, 0.5)),
                    "good": (rng.uniform(0.75, 0.95), rng.uniform(0.0, 0.08))}[label]
        rise = 1 - np.exp(-4 * t)
        train = 1 / 6 + (top - 1 / 6) * rise / rise[-1]
        val = np.maximum(train - gap * rise / rise[-1], 0.05)
        loss = start_loss * (1 - 0.9 * (train - 1 / 6) / (1 - 1 / 6))
        noise = rng.normal(0, 0.003, (2, epochs))
        train, val = np.clip(train + noise[0], 0, 1), np.clip(val + noise[1], 0, 1)
        train[-1], val[-1] = top, max(top - gap, 0.05)
    return {"train_loss": [float(v) for v in loss], "train_acc": [float(v) for v in train],
            "val_acc": [float(v) for v in val]}


def _cases(p: Params) -> list[tuple[str, dict[str, list[float]]]]:
    rng = np.random.default_rng(p["seed"])
    labels = [label for label in LABELS for _ in range(p["cases_per_label"])]
    order = rng.permutation(len(labels))
    return [(labels[i], make_history(labels[i], rng)) for i in order]


def _diagnose_run(functions: Functions, p: Params) -> Record:
    return {"labels": [call(functions["diagnose"], history) for _, history in _cases(p)]}


_HINTS = {
    "lr_too_high": Text("a loss that grows (or becomes inf/nan) means the steps are too big: check the loss "
                        "first, before the accuracies.",
                        "损失变大（或变成 inf/nan）说明步长太大：先看损失，再看准确率。"),
    "underfitting": Text(f"training accuracy below {UNDERFIT_BELOW} at the end: the network cannot even fit "
                         "its training data.",
                         f"最终训练准确率低于 {UNDERFIT_BELOW}：网络连训练数据都拟合不好。"),
    "overfitting": Text(f"a final train − val gap above {GAP_ABOVE} is overfitting, however high train is.",
                        f"最终训练与验证准确率之差大于 {GAP_ABOVE} 就是过拟合，无论训练准确率多高。"),
    "good": Text("learning, small gap, high training accuracy: nothing to fix.",
                 "在学习、差距小、训练准确率高：无需修正。"),
}


def _diagnose_judge(record: Record, p: Params) -> None:
    what = Text("diagnose")
    results = record.get("labels") if isinstance(record, dict) else None
    cases = _cases(p)
    if not isinstance(results, list) or len(results) != len(cases):
        fail(what, Text("could not be run on every history", "无法在每个历史记录上运行"))
    wrong: dict[tuple[str, str], int] = {}
    for (label, _), result in zip(cases, results, strict=True):
        got = value_of(result, what)
        if got not in LABELS:
            fail(what, Text("should return one of the four labels", "应返回四个标签之一"),
                 detail=Text(f"got {got!r}; labels: {', '.join(LABELS)}",
                             f"得到 {got!r}；标签：{', '.join(LABELS)}"))
        if got != label:
            wrong[(label, got)] = wrong.get((label, got), 0) + 1
    if wrong:
        (label, got), count = max(wrong.items(), key=lambda item: item[1])
        fail(what, Text(f"labels {sum(wrong.values())} of {len(cases)} histories wrongly",
                        f"{len(cases)} 个历史记录中有 {sum(wrong.values())} 个标签错误"),
             detail=Text(f"e.g. {count} '{label}' histories labelled '{got}'",
                         f"例如 {count} 个 '{label}' 被标为 '{got}'"),
             cause=_HINTS[label], next_step=Text("apply the rule's tests in the docstring's order.",
                                                 "按文档字符串中的顺序逐条判断。"))


register(Spec(
    "diagnose", NOTEBOOK,
    Text("diagnose: step 6, reading learning curves", "diagnose：第六步，读懂学习曲线"),
    ("diagnose",), _diagnose_run, _diagnose_judge, {"seed": 0, "cases_per_label": 6},
))


# --------------------------------------------------------------------------- early_stopping

def make_script(p: Params) -> list[float]:
    """Validation accuracies per epoch: a rise to a best epoch, then ``patience`` + extra non-improving."""
    rng = np.random.default_rng(p["seed"])
    best = int(rng.integers(2, p["max_epochs"] - p["patience"] - 2))
    accs = list(np.sort(rng.uniform(0.2, 0.6, best)))
    top = 0.7
    accs.append(top)
    tail = rng.uniform(0.4, top - 0.05, p["max_epochs"] - len(accs))
    tail[0] = top  # a tie is no improvement ("strictly better")
    return [float(a) for a in [*accs, *tail]]


def expected_early_stop(script: list[float], patience: int) -> tuple[int, int]:
    """(best epoch, epochs trained) under the contract: stop ``patience`` epochs after the best."""
    best, best_epoch = -1.0, 0
    for epoch, acc in enumerate(script):
        if acc > best:
            best, best_epoch = acc, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch + 1
    return best_epoch, len(script)


def _stop_run(functions: Functions, p: Params) -> Record:
    script = make_script(p)

    def scenario() -> dict[str, Any]:
        model = nn.Linear(1, 1, bias=False)
        trained = []

        def train_epoch(m: nn.Module) -> None:
            trained.append(1)
            with torch.no_grad():
                m.weight.fill_(float(len(trained)))  # in place, as an optimizer step is

        def evaluate(m: nn.Module) -> float:
            epoch = int(round(float(m.weight.item()))) - 1
            return script[epoch] if 0 <= epoch < len(script) else 0.0
        best = functions["early_stopping"](model, train_epoch, evaluate, p["max_epochs"], p["patience"])
        return {"best": best, "trained": len(trained), "weight": float(model.weight.item())}
    return probe(scenario)


def _stop_judge(record: Record, p: Params) -> None:
    what = Text("early_stopping")
    value = scenario_value(record, what)
    best, trained = expected_early_stop(make_script(p), p["patience"])
    weight = value.get("weight")
    if value.get("trained") != trained:
        got = value.get("trained")
        fail(what, Text("stops at the wrong epoch", "停止的轮次不对"),
             detail=Text(f"trained {got} epochs, expected {trained} (best epoch {best}, patience "
                         f"{p['patience']})",
                         f"训练了 {got} 轮，应为 {trained}（最佳轮次 {best}，patience {p['patience']}）"),
             cause=Text("stop once `patience` epochs in a row brought no strictly better validation accuracy "
                        "(a tie is no improvement); never before, and not one epoch later.",
                        "连续 patience 轮验证准确率没有严格提高（相等不算提高）时停止；"
                        "不要提前，也不要晚一轮。"))
    if weight == float(trained) and best + 1 != trained:
        fail(what, Text("restores the last weights, not the best", "恢复的是最后的权重，而不是最好的"),
             cause=Text("model.state_dict() returns the live tensors: a 'best' copy kept without "
                        "copy.deepcopy moves on with training; or the best state is never loaded back.",
                        "model.state_dict() 返回的是正在训练的张量："
                        "不用 copy.deepcopy 保存的“最佳”副本会随训练改变；"
                        "或者最佳状态从未被加载回来。"),
             next_step=Text("keep best_state = copy.deepcopy(model.state_dict()) and call "
                            "model.load_state_dict(best_state) before returning.",
                            "保存 best_state = copy.deepcopy(model.state_dict())，返回前调用 "
                            "model.load_state_dict(best_state)。"))
    if weight != float(best + 1):
        fail(what, Text("restores the weights of another epoch", "恢复了另一轮的权重"),
             detail=Text(f"epoch {int(weight or 0) - 1} restored, best is {best}",
                         f"恢复了第 {int(weight or 0) - 1} 轮，最佳为 {best}"))
    if value.get("best") != best:
        fail(what, Text("returns the wrong best epoch", "返回的最佳轮次不对"),
             detail=Text(f"expected {best} (0-based), got {value.get('best')!r}",
                         f"应为 {best}（从 0 开始），得到 {value.get('best')!r}"))


register(Spec(
    "early_stopping", NOTEBOOK,
    Text("early_stopping: stops after patience, restores the best weights",
         "early_stopping：patience 之后停止，恢复最好的权重"),
    ("early_stopping",), _stop_run, _stop_judge, {"seed": 0, "max_epochs": 20, "patience": 4},
))
