"""The inputs of the augmentation checks: random ``(N, H, W, C)`` images and generators."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnlab.checks.compare import Tolerance
from nnlab.checks.spec import Params

NOTEBOOK = "04_regularization"
Functions = Mapping[str, Callable[..., Any]]

# float32 images: the recovered factor carries ~1e-7 relative error into the reconstruction.
FLOAT32_RECOVERED = Tolerance(rtol=1e-5, atol=1e-5)


def random_images(p: Params, low: float = 0.1, high: float = 1.0, offset: int = 0) -> np.ndarray:
    """Random ``(N, H, W, C)`` images in ``[low, high]`` (no exact zeros), dtype ``p["dtype"]``."""
    rng = np.random.default_rng(p["seed"] + offset)
    shape = (p["N"], p["H"], p["W"], p["C"])
    return rng.uniform(low, high, size=shape).astype(p.get("dtype", "float32"))


def rng_for(p: Params, offset: int = 1) -> np.random.Generator:
    return np.random.default_rng(p["seed"] + offset)


def per_image_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.all(a.reshape(len(a), -1) == b.reshape(len(b), -1), axis=1)
