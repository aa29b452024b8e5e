"""The embedded dataset: coloured shapes drawn on the fly from a seed, and one_hot.

No download, no files, the same arrays on every machine.

Example::

    data = load_shapes(seed=0)
    data.X_train.shape, data.X_train.dtype   # (2000, 32, 32, 3) float32
    data.class_names                         # ('circle', 'square', ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "stripes")
"""Class names of :func:`load_shapes`, in label order."""

# Difficulty, tuned so that in a few seconds a linear softmax reaches ~50% on
# validation and a one-hidden-layer MLP ~75-80% (chance: 17%).
IMAGE_SIZE = 32
RADIUS = (6.0, 11.0)  # pixels, uniform
MAX_SHIFT = 6.0  # pixels from the centre, uniform in each direction
MAX_ANGLE = np.pi / 9  # rotation, uniform in [-20, 20] degrees
NOISE_STD = 0.04  # Gaussian grey noise per pixel, added before clipping to [0, 1]


@dataclass(frozen=True)
class ShapesDataset:
    """The embedded dataset, split three ways (returned by :func:`load_shapes`)."""

    X_train: np.ndarray
    """``(N_train, 32, 32, 3)`` float32 images, RGB values in ``[0, 1]``."""
    y_train: np.ndarray
    """``(N_train,)`` int64 labels in ``[0, len(class_names))``."""
    X_val: np.ndarray
    """``(N_val, 32, 32, 3)`` float32 validation images."""
    y_val: np.ndarray
    """``(N_val,)`` int64 validation labels."""
    X_test: np.ndarray
    """``(N_test, 32, 32, 3)`` float32 test images."""
    y_test: np.ndarray
    """``(N_test,)`` int64 test labels."""
    class_names: tuple[str, ...] = SHAPE_CLASSES
    """Name of each label, e.g. ``class_names[y_train[0]]``."""

    @property
    def num_classes(self) -> int:
        """Number of classes (6)."""
        return len(self.class_names)


def _disk(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u**2 + v**2 <= 1.0


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 0.8


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # equilateral, pointing up, inscribed in a circle of radius 1.2: three half-planes
    inside = np.ones(u.shape, dtype=bool)
    for angle in (np.pi / 2, -np.pi / 6, 7 * np.pi / 6):  # outward normals (y points down)
        inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.6
    return inside


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    a, b = np.abs(u), np.abs(v)
    return ((a <= 0.3) & (b <= 1.0)) | ((b <= 0.3) & (a <= 1.0))


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    radius2 = u**2 + v**2
    return (radius2 <= 1.0) & (radius2 >= 0.55**2)


def _stripes(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # three bars of height 0.4 separated by gaps of 0.4, inside the unit box
    in_box = (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
    return in_box & (np.floor((v + 1.0) * 2.5) % 2 == 0)


_MASKS: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    _disk, _square, _triangle, _cross, _ring, _stripes,
)


def _draw_shapes(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Images ``(N, 32, 32, 3)`` float32 of the shapes ``y`` (N,) at random poses and colours."""
    n = len(y)
    pose = draw_poses(n, rng)
    background = rng.uniform(0.0, 0.45, size=(n, 1, 1, 3)).astype(np.float32)
    foreground = rng.uniform(0.55, 1.0, size=(n, 1, 1, 3)).astype(np.float32)
    mask = shape_masks(y, *pose)
    images = np.where(mask, foreground, background)
    # grey noise (the same on the three channels): a third of the random draws
    noise = rng.standard_normal((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.float32)
    noise *= NOISE_STD
    images += noise
    return np.clip(images, 0.0, 1.0, out=images)


def draw_poses(n: int, rng: np.random.Generator,
               max_shift: float = MAX_SHIFT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random radius ``(n,)``, centre ``(n, 2)`` and angle ``(n,)`` of ``n`` shapes (float32)."""
    radius = rng.uniform(RADIUS[0], RADIUS[1], size=n).astype(np.float32)
    room = np.minimum(max_shift, IMAGE_SIZE / 2 - 1 - radius)[:, None]  # stay inside the image
    centre = IMAGE_SIZE / 2 + room * rng.uniform(-1.0, 1.0, size=(n, 2)).astype(np.float32)
    angle = rng.uniform(-MAX_ANGLE, MAX_ANGLE, size=n).astype(np.float32)
    return radius, centre, angle


def shape_masks(y: np.ndarray, radius: np.ndarray, centre: np.ndarray,
                angle: np.ndarray) -> np.ndarray:
    """``(N, 32, 32, 1)`` bool: where shape ``y[i]`` at the given pose covers a pixel.

    Shared with :mod:`nnlab.data.hard_shapes`, which draws the same outlines on harder scenes.
    """
    n = len(y)
    pixels = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    dx = (pixels[None, None, :] - centre[:, 0, None, None]) / radius[:, None, None]
    dy = (pixels[None, :, None] - centre[:, 1, None, None]) / radius[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = cos * dx + sin * dy, cos * dy - sin * dx  # (N, 32, 32), rotated by -angle

    mask = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=bool)
    for label, draw in enumerate(_MASKS):
        rows = np.flatnonzero(y == label)
        mask[rows, ..., 0] = draw(u[rows], v[rows])
    return mask


def balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` int64 labels, each class ``n // num_classes`` or one more times, shuffled."""
    return rng.permutation(np.arange(n, dtype=np.int64) % num_classes)


def load_shapes(
    num_train: int = 2000, num_val: int = 500, num_test: int = 500, seed: int = 0
) -> ShapesDataset:
    """The embedded dataset: 32x32 colour images of 6 kinds of shapes.

    Each image shows one light shape (circle, square, triangle, cross, ring,
    three stripes) of random size (radius 6..11 px), position (up to 6 px off
    centre), rotation (up to 20 degrees) and colour on a darker uniform
    background of random colour, plus grey Gaussian noise (std 0.04). The
    colours say nothing about the class; the outline does. A one-hidden-layer
    MLP reaches about 75% validation accuracy in seconds, a linear softmax
    about 50% (chance: 17%). Classes are balanced: each appears ``N // 6`` or
    ``N // 6 + 1`` times per split, in shuffled order. About 0.2 s for the
    default sizes; the same seed gives identical arrays, and each split has
    its own random stream (changing ``num_val`` leaves the training set
    unchanged). Introduced in ``00_cnn_shapes``.

    Args:
        num_train: number of training images, >= 0.
        num_val: number of validation images, >= 0.
        num_test: number of test images, >= 0.
        seed: non-negative integer seed.

    Returns:
        A :class:`ShapesDataset`: images ``(N, 32, 32, 3)`` float32 in
        ``[0, 1]`` (height, width, RGB), labels ``(N,)`` int64.

    Raises:
        ValueError: for a negative or non-integer size or seed.
    """
    for name, value in (("num_train", num_train), ("num_val", num_val),
                        ("num_test", num_test), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"load_shapes: {name} must be a non-negative integer, got {value!r}")
    splits = []
    for size, stream in zip((num_train, num_val, num_test),
                            np.random.SeedSequence(int(seed)).spawn(3), strict=True):
        rng = np.random.default_rng(stream)
        y = balanced_labels(int(size), len(SHAPE_CLASSES), rng)
        splits += [_draw_shapes(y, rng), y]
    return ShapesDataset(*splits)


def one_hot(y: np.ndarray, num_classes: int, dtype: type = np.float64) -> np.ndarray:
    """One-hot encode integer labels.

    Args:
        y: ``(N,)`` integer labels in ``[0, num_classes)``.
        num_classes: number of classes ``C``, >= 1.
        dtype: dtype of the result (default float64).

    Returns:
        ``(N, C)`` array with ``out[i, y[i]] = 1`` and zeros elsewhere.

    Raises:
        ValueError: if ``y`` is not a 1-D integer array or a label is out of range.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot: y must be a 1-D integer array, got shape {y.shape} {y.dtype}")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), "
                         f"got values from {y.min()} to {y.max()}")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out
