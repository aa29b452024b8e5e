"""EarlyStopping: stops after ``patience`` steps without a new best and keeps a copy of the best params.

Driven with validation curves drawn from ``seed`` and judged against a step-by-step
simulation of the rule.
"""

from __future__ import annotations

import math

import numpy as np

from nnlab.checks.compare import value_of
from nnlab.checks.regularization._common import NOTEBOOK, Functions
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text


def _es_sequences(p: Params) -> list[tuple[float, ...]]:
    """Validation accuracies to drive EarlyStopping with (from ``seed``; higher is better).

    A noisy learning curve rounded to 2 decimals (so ties happen), a curve that only gets
    worse, one with a plateau at its best value, and one that never stops improving.
    """
    rng = np.random.default_rng(p["seed"])
    t = np.arange(40)
    curve = 0.9 - 0.5 * np.exp(-t / 5) - 0.01 * np.maximum(0, t - 12) + rng.normal(0, 0.02, t.size)
    patience = int(p["patience"])
    start = float(np.round(rng.uniform(0.3, 0.6), 2))
    return [
        tuple(float(v) for v in np.round(curve, 2)),
        tuple(round(start - 0.05 * k, 2) for k in range(patience + 3)),
        (0.2, start, start, *[start] * (patience + 1), start + 0.1),
        tuple(round(0.1 + 0.05 * k, 2) for k in range(patience + 4)),
    ]


def _es_run(functions: Functions, p: Params) -> Record:
    runs = []
    for metrics in _es_sequences(p):
        made = call(functions["cls"], p["patience"])
        if "error" in made:
            return {"init": made}
        stopper = made["value"]
        params = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
        returns = []
        for step, metric in enumerate(metrics):
            params["W"][...] = step  # updated in place, as an optimizer does
            params["b"][...] = -step
            result = call(lambda s=stopper, m=metric, q=params: s.step(m, q))
            returns.append(result)
            if "error" in result or result.get("value") is True or isinstance(
                    result.get("value"), np.bool_) and bool(result["value"]):
                break
        params["W"] += 1000.0  # training goes on changing the same arrays
        params["b"] += 1000.0
        runs.append({"returns": returns,
                     "best": call(lambda s=stopper: s.best_params)})
    return {"runs": runs}


def _simulate(metrics: tuple[float, ...], patience: int) -> tuple[list[bool], int]:
    """The spec, step by step: stop once ``patience`` steps in a row bring no new best."""
    best, best_step, returns = -math.inf, -1, []
    for step, metric in enumerate(metrics):
        if metric > best:
            best, best_step = metric, step
        stop = step - best_step >= patience
        returns.append(stop)
        if stop:
            break
    return returns, best_step


def _es_judge(record: Record, p: Params) -> None:
    what = Text("EarlyStopping")
    if "init" in record:
        value_of(record["init"], Text("EarlyStopping(patience)"))
    patience = int(p["patience"])
    rule = Text(f"with patience={patience}, step() returns True as soon as {patience} steps in a row "
                "bring no new best; higher val_metric is better, and a value equal to the best is "
                "not an improvement.",
                f"patience={patience} 时，连续 {patience} 步没有新的最好值就让 step() 返回 True；"
                "val_metric 越高越好，与最好值相等不算提升。")
    for metrics, run in zip(_es_sequences(p), record["runs"]):
        expected, best_step = _simulate(metrics, patience)
        for step, result in enumerate(run["returns"]):
            got = value_of(result, what + Text(".step"))
            if not isinstance(got, (bool, np.bool_)):
                fail(what + Text(".step"), Text("should return True or False", "应返回 True 或 False"),
                     detail=Text(f"got {type(got).__name__}", f"得到 {type(got).__name__}"),
                     next_step=Text("return a bool: whether training should stop now.",
                                    "返回布尔值：现在是否应停止训练。"))
            if step >= len(expected) or bool(got) != expected[step]:
                want = expected[step] if step < len(expected) else False
                shown = ", ".join(f"{m:g}" for m in metrics[: step + 1])
                fail(what + Text(".step"), Text("stops at the wrong step", "停止的步数不对"),
                     detail=Text(f"after the metrics {shown}: returned {bool(got)}, expected {want}",
                                 f"依次输入 {shown} 后：返回 {bool(got)}，应为 {want}"),
                     cause=rule)
        if len(run["returns"]) < len(expected):
            fail(what + Text(".step"), Text("never stops", "一直没有停止"), cause=rule)
        best = value_of(run["best"], what + Text(".best_params"))
        best_what = what + Text(".best_params")
        if not isinstance(best, dict) or set(best) != {"W", "b"}:
            fail(best_what, Text("should be a dict with the same keys as params",
                                 "应是与 params 键相同的字典"),
                 detail=Text(f"got {type(best).__name__}", f"得到 {type(best).__name__}"),
                 next_step=Text("in step(), on a new best: self.best_params = copy.deepcopy(params).",
                                "在 step() 中遇到新的最好值时：self.best_params = copy.deepcopy(params)。"))
        W = best["W"]
        if not isinstance(W, np.ndarray) or W.shape != (2, 3):
            fail(best_what, Text("does not hold the params' arrays", "没有保存参数数组"),
                 next_step=Text("store copy.deepcopy(params).", "保存 copy.deepcopy(params)。"))
        if np.all(W >= 1000):
            fail(best_what, Text("changed after step() returned", "在 step() 返回后被改变了"),
                 detail=Text("it shows the parameters' latest values, not the snapshot",
                             "它显示的是参数的最新值，而不是快照"),
                 cause=Text("best_params refers to the same arrays the optimizer keeps updating in "
                            "place (a reference or a shallow copy such as dict(params)).",
                            "best_params 引用了优化器原地更新的同一批数组"
                            "（引用或 dict(params) 这样的浅拷贝）。"),
                 next_step=Text("self.best_params = copy.deepcopy(params)",
                                "self.best_params = copy.deepcopy(params)"))
        snapshot_step = float(np.median(W))
        if not np.allclose(W, best_step) or not np.allclose(best["b"], -best_step):
            fail(best_what, Text("is not the snapshot of the best step", "不是最好那一步的快照"),
                 detail=Text(f"holds the params of step {snapshot_step:g}, the best val_metric "
                             f"came at step {best_step}",
                             f"保存的是第 {snapshot_step:g} 步的参数，"
                             f"最好的 val_metric 出现在第 {best_step} 步"),
                 cause=Text("take the snapshot only when val_metric improves on the best so far.",
                            "只在 val_metric 超过目前最好值时保存快照。"))


register(Spec(
    "EarlyStopping", NOTEBOOK,
    Text("EarlyStopping stops after `patience` steps without a new best, keeps a copy of the best params",
         "EarlyStopping 连续 patience 步无提升即停止，并保存最好参数的副本"),
    ("cls",), _es_run, _es_judge, {"seed": 0, "patience": 2},
    numpy_only=True,
))
