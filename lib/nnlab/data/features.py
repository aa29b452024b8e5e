"""The embedded shapes dataset as short feature vectors, for the training lessons (05_tuning).

Hyperparameter search trains many models, so :func:`load_features` turns each
32×32 image into a 16×16 *contrast map* (how far each pixel's colour is from the
image's mean colour, average-pooled 2×2), standardized with the training set's
per-feature mean and std. The random colours of shape and background then matter
little, and a small MLP reaches about 80% validation accuracy in a few seconds of CPU
time (:mod:`nnlab.training`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nnlab.data.shapes import load_shapes

__all__ = ["Features", "contrast_features", "load_features"]


def contrast_features(X: np.ndarray, pool: int = 2) -> np.ndarray:
    """A pooled contrast map per image: distance of each pixel's colour from the image's mean colour.

    Args:
        X: ``(N, H, W, 3)`` images (float, values in ``[0, 1]``); ``H`` and
            ``W`` divisible by ``pool``.
        pool: side of the square average-pooling window (2 turns 32×32 into 16×16).

    Returns:
        ``(N, (H // pool) * (W // pool))`` float32 array.

    Raises:
        ValueError: if ``X`` is not 4-D with 3 channels or not divisible by ``pool``.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4 or X.shape[-1] != 3:
        raise ValueError(f"contrast_features: X must be (N, H, W, 3), got shape {X.shape}")
    n, h, w, _ = X.shape
    if pool < 1 or h % pool or w % pool:
        raise ValueError(f"contrast_features: pool={pool} must divide the image size {h}×{w}")
    pooled = X.reshape(n, h // pool, pool, w // pool, pool, 3).mean(axis=(2, 4))
    deviation = pooled - pooled.mean(axis=(1, 2), keepdims=True)
    return np.sqrt((deviation**2).sum(axis=-1)).reshape(n, (h // pool) * (w // pool)).astype(np.float32)


@dataclass(frozen=True)
class Features:
    """The embedded dataset as standardized feature vectors (returned by :func:`load_features`)."""

    X_train: torch.Tensor
    """``(N_train, D)`` float32 features."""
    y_train: torch.Tensor
    """``(N_train,)`` int64 labels."""
    X_val: torch.Tensor
    """``(N_val, D)`` float32 features, standardized with the training statistics."""
    y_val: torch.Tensor
    """``(N_val,)`` int64 labels."""
    class_names: tuple[str, ...]
    """Name of each label."""

    @property
    def num_classes(self) -> int:
        """Number of classes ``C``."""
        return len(self.class_names)

    @property
    def input_dim(self) -> int:
        """Length ``D`` of a feature vector."""
        return int(self.X_train.shape[1])


def load_features(
    num_train: int = 2000, num_val: int = 500, seed: int = 0, pool: int = 2
) -> Features:
    """The embedded shapes dataset as contrast-map features, standardized per feature.

    Each feature is centred and scaled with the *training* set's mean and
    std (02_preprocessing), and the same statistics are applied to the
    validation set.

    Args:
        num_train: number of training examples (≥ 1).
        num_val: number of validation examples (≥ 0).
        seed: the dataset's seed (see :func:`nnlab.data.load_shapes`).
        pool: pooling window of :func:`contrast_features`.

    Returns:
        :class:`Features` with ``D = (32 // pool) ** 2`` (256 for ``pool=2``).
    """
    if num_train < 1:
        raise ValueError(f"load_features: num_train must be at least 1, got {num_train}")
    data = load_shapes(num_train=num_train, num_val=num_val, num_test=0, seed=seed)
    train_features = contrast_features(data.X_train, pool)
    mean = train_features.mean(axis=0)
    std = train_features.std(axis=0) + 1e-6

    def standardize(features: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((features - mean) / std).astype(np.float32))

    return Features(
        X_train=standardize(train_features),
        y_train=torch.from_numpy(data.y_train),
        X_val=standardize(contrast_features(data.X_val, pool)),
        y_val=torch.from_numpy(data.y_val),
        class_names=tuple(data.class_names),
    )
