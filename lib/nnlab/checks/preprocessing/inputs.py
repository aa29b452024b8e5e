"""The inputs of the 02_preprocessing checks: images from the embedded dataset or random data.

Images are ``(N, H, W, C)`` float64. Random data gives each channel its own mean and
spread and each pixel position its own offset, so that channels, positions and
images are all told apart.
"""

from __future__ import annotations

import numpy as np

from nnlab.checks.spec import Params

SHAPES_IMAGE = (32, 32, 3)


def _random_images(rng: np.random.Generator, shape: tuple[int, ...], loc: np.ndarray,
                   scale: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` float64: per-channel ``loc``/``scale`` plus a per-position offset."""
    n, h, w, c = shape
    rows = np.sin(np.linspace(0.3, 2.8, h))[:, None, None]
    cols = np.cos(np.linspace(0.2, 2.1, w))[None, :, None]
    pattern = rows * cols * rng.uniform(0.5, 1.5, size=c) + 0.3 * rng.standard_normal((h, w, c))
    return loc + scale * (rng.standard_normal((n, h, w, c)) + pattern)


def _check_shape(p: Params) -> tuple[int, int, int, int]:
    shape = tuple(int(n) for n in p["shape"])
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"preprocessing checks: shape must be (N, H, W, C), got {p['shape']!r}")
    if p["source"] == "shapes" and shape[1:] != SHAPES_IMAGE:
        raise ValueError(f"preprocessing checks: source='shapes' images are {SHAPES_IMAGE}, "
                         f"got shape {shape}")
    if p["source"] not in ("shapes", "random"):
        raise ValueError(f"preprocessing checks: unknown source {p['source']!r} (shapes, random)")
    return shape  # type: ignore[return-value]


def make_images(p: Params) -> np.ndarray:
    """The check's ``X``: ``(N, H, W, C)`` float64 from ``p["source"]``, ``p["shape"]``, ``p["seed"]``."""
    shape = _check_shape(p)
    if p["source"] == "shapes":
        from nnlab.data import load_shapes

        data = load_shapes(num_train=shape[0], num_val=0, num_test=0, seed=int(p["seed"]))
        return data.X_train.astype(np.float64)
    rng = np.random.default_rng(p["seed"])
    c = shape[3]
    return _random_images(rng, shape, rng.uniform(-1.0, 3.0, size=c), rng.uniform(0.5, 3.0, size=c))


def make_statistics(p: Params) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``mean`` and ``std`` handed to ``standardize`` (not the statistics of ``X``).

    ``mode="image"``: a mean image ``(H, W, C)`` and no std; ``"channel"``:
    a per-channel mean ``(C,)`` and no std; ``"channel_std"``: both ``(C,)``.
    """
    _, h, w, c = _check_shape(p)
    rng = np.random.default_rng(int(p["seed"]) + 101)
    centre, spread = (0.5, 0.3) if p["source"] == "shapes" else (1.0, 1.5)
    if p["mode"] == "image":
        return centre + 0.2 * rng.standard_normal((h, w, c)), None
    mean = centre + rng.uniform(-0.2, 0.2, size=c)
    if p["mode"] == "channel":
        return mean, None
    if p["mode"] == "channel_std":
        return mean, spread * rng.uniform(0.6, 1.4, size=c)
    raise ValueError(f"standardize check: unknown mode {p['mode']!r} (image, channel, channel_std)")


def make_splits(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, val and test splits whose distributions deliberately differ.

    Val is brighter and more spread out than train, test darker and flatter,
    each channel by its own amount, so statistics fitted on anything but the
    training split give visibly different results.
    """
    n, h, w, c = _check_shape(p)
    n_val, n_test = int(p["n_val"]), int(p["n_test"])
    if p["source"] == "shapes":
        from nnlab.data import load_shapes

        data = load_shapes(num_train=n, num_val=n_val, num_test=n_test, seed=int(p["seed"]))
        return (data.X_train.astype(np.float64),
                0.7 * data.X_val.astype(np.float64) + np.array([0.35, 0.2, 0.1]),
                0.5 * data.X_test.astype(np.float64) + np.array([0.0, 0.05, 0.2]))
    rng = np.random.default_rng(p["seed"])
    loc, scale = rng.uniform(-1.0, 1.0, size=c), rng.uniform(0.5, 1.5, size=c)
    return (_random_images(rng, (n, h, w, c), loc, scale),
            _random_images(rng, (n_val, h, w, c), loc + rng.uniform(1.0, 2.0, size=c),
                           scale * rng.uniform(1.5, 2.5, size=c)),
            _random_images(rng, (n_test, h, w, c), loc - rng.uniform(1.0, 2.0, size=c),
                           scale * rng.uniform(0.3, 0.6, size=c)))
