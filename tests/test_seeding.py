"""Tests for nnlab.seeding: every generator is seeded, and rng arguments normalise."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import nnlab
import numpy as np
import pytest
import torch
from nnlab.seeding import make_rng, seed_everything

LIB = Path(nnlab.__file__).resolve().parents[1]  # the folder this nnlab was imported from


def _draw_all() -> tuple[float, np.ndarray, torch.Tensor]:
    return random.random(), np.random.rand(3), torch.rand(3)


def test_seed_everything_repeats_every_generator():
    rng_a = seed_everything(123)
    first = _draw_all()
    a = rng_a.normal(size=4)
    rng_b = seed_everything(123)
    second = _draw_all()
    b = rng_b.normal(size=4)
    assert first[0] == second[0], "python random not seeded"
    np.testing.assert_array_equal(first[1], second[1], err_msg="np.random legacy not seeded")
    assert torch.equal(first[2], second[2]), "torch not seeded"
    np.testing.assert_array_equal(a, b)


def test_seed_everything_returns_default_rng_of_seed():
    rng = seed_everything(7)
    assert isinstance(rng, np.random.Generator)
    np.testing.assert_array_equal(rng.random(5), np.random.default_rng(7).random(5))


def test_different_seeds_differ():
    seed_everything(1)
    first = _draw_all()
    seed_everything(2)
    second = _draw_all()
    assert first[0] != second[0]
    assert not np.array_equal(first[1], second[1])
    assert not torch.equal(first[2], second[2])


@pytest.mark.parametrize(
    "seed",
    [-1, 2**32, 1.5, "0", True, None],
    ids=["negative", "too-big", "float", "str", "bool", "none"],
)
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed_everything: seed must be"):
        seed_everything(seed)


def test_importing_seeding_does_not_import_torch():
    code = "import sys, nnlab.seeding; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(LIB), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_make_rng_from_int_is_reproducible():
    np.testing.assert_array_equal(make_rng(5).random(3), make_rng(5).random(3))
    np.testing.assert_array_equal(make_rng(np.int64(5)).random(3), make_rng(5).random(3))


def test_make_rng_passes_generator_through():
    rng = np.random.default_rng(0)
    assert make_rng(rng) is rng


def test_make_rng_none_gives_fresh_generator():
    assert isinstance(make_rng(None), np.random.Generator)
    assert isinstance(make_rng(), np.random.Generator)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (1.0, "got float"),
        ("3", "got str"),
        (True, "got bool"),
        (np.random.RandomState(0), "got RandomState"),
        (-3, "non-negative, got -3"),
    ],
    ids=["float", "str", "bool", "legacy-randomstate", "negative"],
)
def test_make_rng_rejects_other_types(bad, message):
    with pytest.raises(ValueError, match=message):
        make_rng(bad)
