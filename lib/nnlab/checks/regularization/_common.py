"""What the checks of 04_regularization share: inputs kept off zero, torch's dropout, the p_drop cause.

``p_drop`` is the probability of dropping a unit (torch's ``p``). The judging helpers
they use are the common ones of :mod:`nnlab.checks.compare` and
:mod:`nnlab.checks.statistics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import tensor64
from nnlab.i18n import Text

NOTEBOOK = "04_regularization"

Functions = Mapping[str, Callable[..., Any]]


def off_zero(x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """``x`` with entries closer than ``margin`` to 0 moved to 0.5 (kinks, and "was it zeroed?")."""
    x = x.copy()
    x[np.abs(x) < margin] = 0.5
    return x


def torch_dropout(x: np.ndarray, p_drop: float, seed: int) -> np.ndarray:
    """``torch.nn.functional.dropout(x, p=p_drop, training=True)`` with its own seed (float64)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(tensor64(x), p=p_drop, training=True).numpy()


def torch_dropout_scale(p_drop: float) -> float:
    """The factor torch's (inverted) dropout multiplies kept entries by, measured on ones."""
    out = torch_dropout(np.ones(64), p_drop, seed=0)
    return float(out[out != 0][0]) if (out != 0).any() else math.inf


# P_CONFUSION: the cause when the fraction of zeros is 1 - p_drop instead of p_drop.
P_CONFUSION = Text(
    "p_drop was used as the keep probability. Here p_drop is the probability of DROPPING "
    "(zeroing) a unit, as torch's p; the keep probability is p_keep = 1 − p_drop. The "
    "lecture's `p` is the keep probability: mask = rng.random(x.shape) < p_keep.",
    "把 p_drop 当成了保留概率。这里 p_drop 是*丢弃*（置零）一个单元的概率，与 torch 的 p 相同；"
    "保留概率 p_keep = 1 − p_drop。课件里的 `p` 是保留概率：mask = rng.random(x.shape) < p_keep。",
)
