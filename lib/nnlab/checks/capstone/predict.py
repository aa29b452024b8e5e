"""predict(X): the final model scored by accuracy, in tiers, by the process that holds the labels.

The ``run`` step only calls ``predict`` on images and records the predicted labels; the
labels of those images never enter the student's process. In the notebook the images are
the public validation split of :func:`nnlab.data.load_hard_shapes`; the grader scores the
same function on its hidden test split (:func:`nnlab.data.hidden_test_split`, drawn from a
seed only the grader holds) with :func:`predictions_record` inside the sandbox and
:func:`judge_predictions` in its own process.

Tiers (validation accuracy measured in 06 on 2 CPU cores, 300 training images):
``"baseline"`` — above what the plain network reaches (:data:`BASELINE_ACCURACY`);
``"good"`` — what the lecture's regularization and augmentation reach (:data:`GOOD_ACCURACY`).
Constant or random labels score about 1/6 and pass neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.checks.capstone._common import NOTEBOOK, Functions, fail
from nnlab.checks.compare import value_of
from nnlab.checks.spec import Params, Record, Spec, call, register
from nnlab.data.hard_shapes import load_hard_shapes
from nnlab.i18n import Text

BASELINE_ACCURACY = 0.42
"""Tier 1: above the plain network's validation accuracy (measured in 06: see its ablation)."""
GOOD_ACCURACY = 0.46
"""Tier 2: reached with the lecture's regularization and augmentation (measured in 06)."""
TIERS = {"baseline": BASELINE_ACCURACY, "good": GOOD_ACCURACY}
NUM_CLASSES = 6


def predictions_record(predict: Callable[[np.ndarray], Any], X: np.ndarray) -> Record:
    """The untrusted step: ``predict(X)`` recorded as plain data (the grader's sandbox calls this).

    Args:
        predict: the student's function.
        X: ``(N, 32, 32, 3)`` float32 images (no labels).

    Returns:
        ``{"value": labels}`` (``labels`` converted to an int64 numpy array when
        ``predict`` returned a tensor, list or array) or ``{"error": [...]}``.
    """
    def labels() -> Any:
        value = predict(X)
        try:
            import torch

            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        return value
    return call(labels)


def judge_predictions(record: Record, y: np.ndarray, tier: str) -> float:
    """The trusted step: the accuracy of recorded predictions; fails below the tier's threshold.

    Args:
        record: from :func:`predictions_record` (decoded).
        y: ``(N,)`` int64 true labels, held by the judging process only.
        tier: ``"baseline"`` or ``"good"``.

    Returns:
        The accuracy in ``[0, 1]``.

    Raises:
        CheckFailed: for an error, a wrong shape or type, labels out of range, or an
            accuracy below ``TIERS[tier]``. Messages give the accuracy, never a label.
    """
    what = Text("predict")
    got = value_of(record, what)
    if not isinstance(got, np.ndarray) or got.shape != y.shape or got.dtype.kind not in "iu":
        shape = getattr(got, "shape", None)
        fail(what, Text("should return one integer label per image", "应为每张图像返回一个整数标签"),
             detail=Text(f"expected an integer array of shape {y.shape}, got {type(got).__name__} {shape}",
                         f"应为形状 {y.shape} 的整数数组，得到 {type(got).__name__} {shape}"),
             next_step=Text("return model(x).argmax(dim=1) (as numpy) for the images X.",
                            "对图像 X 返回 model(x).argmax(dim=1)（转为 numpy）。"))
    if got.size and (got.min() < 0 or got.max() >= NUM_CLASSES):
        fail(what, Text(f"returns labels outside 0..{NUM_CLASSES - 1}",
                        f"返回的标签超出 0..{NUM_CLASSES - 1}"),
             next_step=Text("return class indices, not scores or probabilities.",
                            "返回类别索引，而不是得分或概率。"))
    accuracy = float(np.mean(got == y)) if y.size else 0.0
    threshold = TIERS[tier]
    if accuracy < threshold:
        fail(what, Text(f"accuracy is below the {tier!r} tier", f"准确率未达到 {tier!r} 档"),
             detail=Text(f"accuracy {accuracy:.3f}, needs ≥ {threshold:.2f}",
                         f"准确率 {accuracy:.3f}，需要 ≥ "
                                                                              f"{threshold:.2f}"),
             cause=Text("the model overfits the 300 training images, or predict does not preprocess X as "
                        "in training (same features, same standardization, model.eval()).",
                        "模型对 300 张训练图像过拟合，或 predict 没有像训练时那样预处理 "
                        "X（相同特征、相同标准化、model.eval()）。"),
             next_step=Text("go back to the ablation: add augmentation and regularization, tune on "
                            "validation.",
                            "回到消融实验：加入数据增强和正则化，在验证集上调参。"))
    return accuracy


def _split(p: Params) -> tuple[np.ndarray, np.ndarray]:
    data = load_hard_shapes(num_train=0, num_val=p["num_val"], seed=p["seed"])
    return data.X_val, data.y_val


def _run(functions: Functions, p: Params) -> Record:
    return predictions_record(functions["predict"], _split(p)[0])


def _judge(record: Record, p: Params) -> None:
    if p["tier"] not in TIERS:
        raise ValueError(f"predict: unknown tier {p['tier']!r} (choose one of {', '.join(TIERS)})")
    judge_predictions(record, _split(p)[1], p["tier"])


register(Spec(
    "predict", NOTEBOOK,
    Text("predict: accuracy on the validation split", "predict：验证集上的准确率"),
    ("predict",), _run, _judge, {"seed": 0, "num_val": 600, "tier": "baseline"},
))
