"""predict(X): the final model scored by accuracy, in tiers, by the process that holds the labels.

The check declares a trusted ``inputs`` step: it draws the split from the call's
parameters and hands on only the images (as uint8). The ``run`` step, in the sandbox,
receives those images alone — no seed, no labels — calls ``predict`` and records the
predicted labels; ``judge`` redraws the labels from the seed in the grader's process. In
the notebook the images are the public validation split of
:func:`nnlab.data.load_hard_shapes`; the instructor's hidden test cells score the same
function on a hidden test split (:func:`nnlab.data.hidden_test_split`) drawn from a
``secret_seed`` that exists only in those cells, which the release strips.

Tiers (validation accuracy measured in 06 on 2 CPU cores, 300 training images):
``"baseline"`` — above what the plain network reaches (:data:`BASELINE_ACCURACY`);
``"good"`` — what the lecture's regularization and augmentation reach (:data:`GOOD_ACCURACY`).
Constant or random labels score about 1/6 and pass neither.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.checks.capstone._common import NOTEBOOK, Functions
from nnlab.checks.compare import value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, fail, register
from nnlab.data.hard_shapes import hidden_test_split, load_hard_shapes
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


#: at most this many images go into the sandbox per call: 4000 × 32·32·3 bytes = 12.3 MB, 16.4 MB
#: in the record's base64, a quarter of the channel's longest line (``protocol.MAX_LINE``, 64 MB),
#: and 4000 images already measure accuracy within ±0.8 points (one standard error at 0.5).
MAX_IMAGES = 4000


def _split(p: Params) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels a call scores on: the hidden split for ``secret_seed``, else validation."""
    size = p["num_test"] if p["secret_seed"] is not None else p["num_val"]
    if not isinstance(size, int) or not 0 < size <= MAX_IMAGES:
        raise ValueError(f"predict: {size!r} images requested; choose 1 to {MAX_IMAGES} "
                         "(the images travel into the sandbox, see MAX_IMAGES)")
    return _drawn(p["secret_seed"], p["seed"], size)


@functools.lru_cache(maxsize=8, typed=True)
def _drawn(secret_seed: int | None, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A split drawn once per process (read-only): every submission of a class is scored on the same
    images, and drawing 1200 of them takes a tenth of a second, twice per call (inputs, judge)."""
    if secret_seed is not None:
        X, y = hidden_test_split(secret_seed, num_test=size)
    else:
        data = load_hard_shapes(num_train=0, num_val=size, seed=seed)
        X, y = data.X_val, data.y_val
    X = quantize(X)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def quantize(X: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as uint8 (4× smaller on the channel). The rounding error, ≤ 1/510, is
    far below the images' own pixel noise, so a model cannot tell the difference."""
    return np.round(np.clip(X, 0.0, 1.0) * 255.0).astype(np.uint8)


def _inputs(p: Params) -> Record:
    """The trusted step: the images only (the labels and the seed stay in this process)."""
    return {"X": _split(p)[0]}


def _run(functions: Functions, data: Record) -> Record:
    X = data.get("X") if isinstance(data, dict) else None
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 4:
        raise ValueError("predict: the check's inputs are malformed (expected uint8 images)")
    return predictions_record(functions["predict"], X.astype(np.float32) / np.float32(255.0))


def _judge(record: Record, p: Params) -> dict[str, float]:
    """Passes or fails by tier; the accuracy goes to the instructor's report either way."""
    if p["tier"] not in TIERS:
        raise ValueError(f"predict: unknown tier {p['tier']!r} (choose one of {', '.join(TIERS)})")
    y = _split(p)[1]
    try:
        return {"accuracy": judge_predictions(record, y, p["tier"])}
    except CheckFailed as failure:
        got = record.get("value") if isinstance(record, dict) else None
        if isinstance(got, np.ndarray) and got.shape == y.shape:
            failure.measures = {"accuracy": float(np.mean(got == y))}
        raise


register(Spec(
    "predict", NOTEBOOK,
    Text("predict: accuracy on the validation split", "predict：验证集上的准确率"),
    ("predict",), _run, _judge,
    {"seed": 0, "num_val": 600, "tier": "baseline", "secret_seed": None, "num_test": 1200},
    inputs=_inputs,
))
