"""The torch references of 03_initialization (fan-in/fan-out, the std an initializer uses).

Also the helpers its checks share for reading what student code returned.

The std an initializer uses is *measured* from ``torch.nn.init``: :func:`torch_init_std`
draws a weight with a seeded generator and the plain standard normals with an
identically seeded one; their ratio is the std torch used.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from nnlab.checks.codec import Foreign, TensorValue

NOTEBOOK = "03_initialization"

#: torch initializers, by the name the notebook uses (applied in place with a generator).
_INITIALIZERS: dict[str, Callable[[torch.Tensor, torch.Generator], Any]] = {
    "small": lambda w, g: torch.nn.init.normal_(w, 0.0, 0.01, generator=g),
    "xavier": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_in", nonlinearity="linear", generator=g),
    "kaiming": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_in", nonlinearity="relu", generator=g),
    # variants that plausible mistakes produce (used only to name the cause)
    "torch_xavier_normal": lambda w, g: torch.nn.init.xavier_normal_(w, generator=g),
    "xavier_fan_out": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_out", nonlinearity="linear", generator=g),
    "kaiming_fan_out": lambda w, g: torch.nn.init.kaiming_normal_(
        w, mode="fan_out", nonlinearity="relu", generator=g),
}


@lru_cache(maxsize=512)
def torch_init_std(shape: tuple[int, ...], method: str) -> float:
    """The standard deviation ``torch.nn.init`` draws a weight of ``shape`` with, measured.

    Args:
        shape: a torch-layout weight shape, ``(out, in, *kernel)``.
        method: ``"small"`` (``normal_(std=0.01)``), ``"xavier"`` (``kaiming_normal_``,
            fan-in, ``nonlinearity="linear"``: the lecture's 1/√Din) or ``"kaiming"``
            (``nonlinearity="relu"``), or one of the variants in ``_INITIALIZERS``.

    Returns:
        The std as a float: the median ratio of the initialized weight to the standard
        normals an identically seeded generator gives (exact up to rounding).
    """
    weight = torch.empty(shape, dtype=torch.float64)
    _INITIALIZERS[method](weight, torch.Generator().manual_seed(0))
    normals = torch.empty(shape, dtype=torch.float64).normal_(generator=torch.Generator().manual_seed(0))
    return float((weight / normals).abs().median())


def fan_in_std(fan_in: int, method: str) -> float:
    """``torch_init_std`` for a linear layer with ``fan_in`` inputs (``weight_scale(Din)``)."""
    return torch_init_std((1, int(fan_in)), method)


def torch_fan_in_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """torch's fan-in and fan-out of a weight of ``shape`` (at least 2-D)."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    return int(fan_in), int(fan_out)


def as_scalar(value: Any) -> float | None:
    """A real number returned by student code as a float, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    return None


def type_name_of(value: Any) -> str:
    if isinstance(value, TensorValue):
        return f"torch.Tensor of shape {tuple(value.array.shape)}"
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape}"
    if isinstance(value, Foreign):
        return value.type_name
    return type(value).__name__
