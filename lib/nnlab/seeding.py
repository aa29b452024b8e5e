"""Seeding: make a notebook run give the same numbers every time.

Every notebook starts with ``rng = seed_everything(0)``; functions that draw
random numbers take an ``rng`` argument (a :class:`numpy.random.Generator`)
and normalise it with :func:`make_rng`, so callers may pass a seed, ``None``
or a generator they already own.

Importing this module does not import torch: torch is seeded only when
:func:`seed_everything` runs and torch is installed.
"""

from __future__ import annotations

import random

import numpy as np

SeedOrRng = int | np.integer | np.random.Generator | None
"""What :func:`make_rng` accepts."""


def seed_everything(seed: int) -> np.random.Generator:
    """Seed every random number generator a notebook may use.

    Seeds Python's :mod:`random`, numpy's legacy global generator
    (``np.random.seed``, used by ``np.random.rand`` and friends) and, if torch
    can be imported, torch's CPU (and CUDA, if present) generators.

    Args:
        seed: a non-negative integer below ``2**32`` (numpy's legacy limit).

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``: pass it as ``rng``
        to the functions of the notebook.

    Raises:
        ValueError: if ``seed`` is not an integer in ``[0, 2**32)``.

    Example:
        >>> rng = seed_everything(0)
        >>> rng.integers(10, size=3).tolist() == seed_everything(0).integers(10, size=3).tolist()
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed_everything: seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed_everything: seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def make_rng(seed_or_rng: SeedOrRng = None) -> np.random.Generator:
    """Turn a seed, ``None`` or a generator into a ``np.random.Generator``.

    Args:
        seed_or_rng: an ``int`` (non-negative) seeds a new generator; ``None``
            gives a generator seeded from the operating system (not
            reproducible); a ``np.random.Generator`` is returned unchanged, so
            draws advance the caller's generator.

    Returns:
        A ``np.random.Generator``.

    Raises:
        ValueError: for a negative seed or any other type (for example a float,
            a bool or a legacy ``np.random.RandomState``).
    """
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None:
        return np.random.default_rng()
    if isinstance(seed_or_rng, int | np.integer) and not isinstance(seed_or_rng, bool):
        if seed_or_rng < 0:
            raise ValueError(f"make_rng: a seed must be non-negative, got {int(seed_or_rng)}")
        return np.random.default_rng(int(seed_or_rng))
    raise ValueError(
        f"make_rng: expected an int seed, None or a numpy.random.Generator, "
        f"got {type(seed_or_rng).__name__}. "
        "Create one with rng = np.random.default_rng(seed) and pass rng."
    )
