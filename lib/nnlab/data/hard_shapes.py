"""A harder embedded dataset for 06_putting_it_together: the same six shapes on cluttered scenes.

The shapes of :func:`nnlab.data.load_shapes` are easy: a light outline on a flat dark
background. Here every image is made harder in the ways real photographs are, so that a
plain network trained on a small split memorizes it and the lecture's regularization and
augmentation visibly help:

- a **textured background**: smooth random colour blobs (a 4×4 grid of colours,
  bilinearly upsampled), not one flat colour;
- **low contrast**: the shape's colour is drawn from the same range as the background's;
- **occlusion**: in half the images a rectangle of random colour hides part of the scene;
- a **colour shift**: each channel is scaled and offset at random (lighting, white balance);
- strong **pixel noise** (std :data:`HARD_NOISE_STD`, independent per channel).

Everything is generated from a seed, offline, the same on every machine. The default
training split is small (300 images, 50 per class) on purpose.

Example::

    data = load_hard_shapes(seed=0)
    data.X_train.shape        # (300, 32, 32, 3) float32, values in [0, 1]
    data.X_val.shape          # (1200, 32, 32, 3)
"""

from __future__ import annotations

import numpy as np

from nnlab.data.shapes import (
    IMAGE_SIZE,
    SHAPE_CLASSES,
    ShapesDataset,
    balanced_labels,
    draw_poses,
    shape_masks,
)

HARD_NOISE_STD = 0.08
"""Standard deviation of the Gaussian pixel noise (per channel, before clipping)."""
BACKGROUND_GRID = 4
"""The background is a ``4 × 4`` grid of random colours, bilinearly upsampled to 32 × 32."""
OCCLUSION_PROBABILITY = 0.3
"""Probability that an image has an occluding rectangle."""
OCCLUSION_SIDE = (4, 10)
"""Side lengths of the occluding rectangle in pixels (each side uniform, inclusive)."""
GAIN = (0.6, 1.4)
"""Range of the per-channel colour gain (uniform)."""
OFFSET = (-0.15, 0.15)
"""Range of the per-channel colour offset (uniform)."""


def _upsample(grid: np.ndarray) -> np.ndarray:
    """Bilinear upsampling of ``(N, g, g, 3)`` colour grids to ``(N, 32, 32, 3)``."""
    g = grid.shape[1]
    positions = (np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5) * g / IMAGE_SIZE - 0.5
    positions = np.clip(positions, 0, g - 1)
    low = np.minimum(np.floor(positions).astype(int), g - 2)
    weight = (positions - low).astype(np.float32)
    w_rows, w_cols = weight[None, :, None, None], weight[None, None, :, None]
    rows = grid[:, low] * (1 - w_rows) + grid[:, low + 1] * w_rows  # (N, 32, g, 3)
    return rows[:, :, low] * (1 - w_cols) + rows[:, :, low + 1] * w_cols


def _occlude(images: np.ndarray, rng: np.random.Generator, probability: float) -> None:
    """Paint a random rectangle of random colour on a fraction ``probability`` of the images, in place."""
    n = len(images)
    present = rng.random(n) < probability
    height, width = rng.integers(OCCLUSION_SIDE[0], OCCLUSION_SIDE[1] + 1, size=(2, n))
    top = rng.integers(0, IMAGE_SIZE - height + 1)
    left = rng.integers(0, IMAGE_SIZE - width + 1)
    colour = rng.uniform(0.0, 1.0, size=(n, 3)).astype(np.float32)
    for i in np.flatnonzero(present):
        images[i, top[i]:top[i] + height[i], left[i]:left[i] + width[i]] = colour[i]


def draw_hard_shapes(y: np.ndarray, rng: np.random.Generator, *, texture: bool = True,
                     occlusion: float = OCCLUSION_PROBABILITY, colour_shift: bool = True,
                     noise_std: float = HARD_NOISE_STD) -> np.ndarray:
    """Images ``(N, 32, 32, 3)`` float32 in ``[0, 1]`` of the shapes ``y`` on hard scenes.

    The keyword arguments switch each difficulty (the explorer of 06 uses them); every
    random number is drawn whatever they say, so the same ``rng`` state gives the same
    shapes, poses and colours with any of them.

    Args:
        y: ``(N,)`` int labels in ``[0, 6)``.
        rng: the generator every random choice is drawn from (in a fixed order).
        texture: a background of colour blobs (else the mean colour of the blobs).
        occlusion: probability of an occluding rectangle.
        colour_shift: a random gain and offset per channel.
        noise_std: std of the Gaussian pixel noise.
    """
    n = len(y)
    mask = shape_masks(y, *draw_poses(n, rng))
    grid = rng.uniform(0.0, 0.5, size=(n, BACKGROUND_GRID, BACKGROUND_GRID, 3)).astype(np.float32)
    if not texture:
        grid[:] = grid.mean(axis=(1, 2), keepdims=True)
    foreground = rng.uniform(0.45, 1.0, size=(n, 1, 1, 3)).astype(np.float32)
    images = np.where(mask, foreground, _upsample(grid)).astype(np.float32)
    _occlude(images, rng, occlusion)
    gain = rng.uniform(*GAIN, size=(n, 1, 1, 3)).astype(np.float32)
    offset = rng.uniform(*OFFSET, size=(n, 1, 1, 3)).astype(np.float32)
    if colour_shift:
        images = images * gain + offset
    images += noise_std * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0.0, 1.0, out=images)


def load_hard_shapes(
    num_train: int = 300, num_val: int = 600, num_test: int = 0, seed: int = 0
) -> ShapesDataset:
    """The harder embedded dataset: the six shapes on cluttered, occluded, recoloured scenes.

    Introduced in ``06_putting_it_together``. Classes are balanced per split
    (``N // 6`` or one more each, shuffled); each split has its own random stream,
    so changing ``num_val`` leaves the training images unchanged, and the same seed
    gives identical arrays on every machine.

    Args:
        num_train: number of training images (default 300: 50 per class), >= 0.
        num_val: number of validation images, >= 0.
        num_test: number of test images, >= 0. The grader draws its hidden test split
            with its own secret seed (:func:`hidden_test_split`).
        seed: non-negative integer seed.

    Returns:
        A :class:`~nnlab.data.ShapesDataset`: images ``(N, 32, 32, 3)`` float32 in
        ``[0, 1]``, labels ``(N,)`` int64, class names as :func:`load_shapes`.

    Raises:
        ValueError: for a negative or non-integer size or seed.
    """
    for name, value in (("num_train", num_train), ("num_val", num_val),
                        ("num_test", num_test), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"load_hard_shapes: {name} must be a non-negative integer, "
                             f"got {value!r}")
    splits = []
    for size, stream in zip((num_train, num_val, num_test),
                            np.random.SeedSequence([int(seed), 6]).spawn(3), strict=True):
        rng = np.random.default_rng(stream)
        y = balanced_labels(int(size), len(SHAPE_CLASSES), rng)
        splits += [draw_hard_shapes(y, rng), y]
    return ShapesDataset(*splits)


def hidden_test_split(secret_seed: int, num_test: int = 1200) -> tuple[np.ndarray, np.ndarray]:
    """The grader's hidden test split: images ``(N, 32, 32, 3)`` float32 and labels ``(N,)`` int64.

    Drawn like the public splits of :func:`load_hard_shapes` (same distribution) but from
    ``secret_seed``, which only the grader holds: the images are sent into the sandbox
    for the student's ``predict``, the labels never leave the grader's process.

    Raises:
        ValueError: for a negative or non-integer seed or size.
    """
    data = load_hard_shapes(num_train=0, num_val=0, num_test=num_test, seed=secret_seed)
    return data.X_test, data.y_test
