"""The inputs of the 01_activations checks, and helpers they share.

Inputs stay at least 1e-3 away from kinks (ReLU's 0); the extremes (±1000, ±50,
±10) test numerical stability.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab.checks.compare import Region
from nnlab.checks.spec import Params
from nnlab.i18n import Text

NOTEBOOK = "01_activations"

SHAPE_DEFAULT = (4, 6)
_EXTREMES = (-1000.0, 1000.0, -50.0, 50.0, -10.0, 10.0)


def make_x(params: Params) -> np.ndarray:
    """Inputs for elementwise checks: normal·3, away from 0, with extreme values first.

    The extremes (±1000, ±50, ±10) test numerical stability; they are
    placed only when ``params["extremes"]`` is true (sigmoid, tanh, GELU, ELU, SELU).
    """
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal(tuple(params["shape"])) * 3.0
    x[np.abs(x) < 1e-3] = 0.5  # keep off the kink at 0
    if params.get("extremes"):
        flat = x.reshape(-1)
        k = min(len(_EXTREMES), flat.size)
        flat[:k] = _EXTREMES[:k]
    return x


def make_dout(params: Params, shape: tuple[int, ...]) -> np.ndarray:
    """Upstream gradient for backward checks (independent of x)."""
    return np.random.default_rng(params["seed"] + 7919).standard_normal(shape)


def sign_regions(x: np.ndarray) -> list[Region]:
    return [
        Region(Text("where x < 0", "x < 0"), x < 0),
        Region(Text("where x > 0", "x > 0"), x > 0),
    ]


def kind_of(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"one array of shape {value.shape}"
    return type(value).__name__
