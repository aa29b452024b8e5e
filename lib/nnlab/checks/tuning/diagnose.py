"""Step 6: ``diagnose_learning_curves`` on synthetic curves with a known diagnosis.

Each pair of curves is generated far from the decision thresholds the notebook
documents (:data:`RISE_TOL`, :data:`GAP_TOL`), so every reasonable reading of the
rule gives the same label.
"""

from __future__ import annotations

import numpy as np

from nnlab.checks.compare import value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.tuning._common import NOTEBOOK, Functions
from nnlab.i18n import Text

#: diagnose_learning_curves: "still rising" means val_acc gained more than this over the
#: last quarter of the epochs (documented in the notebook's docstring).
RISE_TOL = 0.02
#: diagnose_learning_curves: a final train − val gap above this means overfitting.
GAP_TOL = 0.10
LABELS = ("keep_training", "overfitting", "underfitting")


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
        fail(what, Text("could not be checked: results missing", "无法检查：缺少结果"))
    confusions: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for (label, train, val), result in zip(cases, results):
        got = value_of(result, what)
        if not isinstance(got, str) or got not in LABELS:
            fail(what, Text("returned something other than the three labels",
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
    fail(
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
