"""The explorer of 06_putting_it_together: what makes the hard shapes hard.

Each difficulty of :func:`nnlab.data.load_hard_shapes` (background texture, occlusion,
colour shift, pixel noise) can be switched on and off on the same eight shapes, so a
student sees which ones a network must learn to ignore and which augmentation imitates
which (random crops and flips for position, colour jitter for the colour shift, cutout
for occlusion).
"""

from __future__ import annotations

import numpy as np

from nnlab.data.hard_shapes import HARD_NOISE_STD, OCCLUSION_PROBABILITY, draw_hard_shapes
from nnlab.data.shapes import SHAPE_CLASSES
from nnlab.widgets import Choice, Explorer, Slider, explorer

ON_OFF = (("on · 开", True), ("off · 关", False))


def draw_scenes(texture: bool = True, occlusion: float = OCCLUSION_PROBABILITY, colour_shift: bool = True,
                noise_std: float = HARD_NOISE_STD, seed: int = 3) -> object:
    """A figure of eight hard shapes (two of each of four classes) with these difficulties."""
    import matplotlib.pyplot as plt

    y = np.array([0, 1, 2, 3, 4, 5, 0, 2])
    images = draw_hard_shapes(y, np.random.default_rng(seed), texture=texture, occlusion=occlusion,
                              colour_shift=colour_shift, noise_std=noise_std)
    figure, axes = plt.subplots(1, 8, figsize=(12, 1.9))
    for ax, image, label in zip(axes, images, y, strict=True):
        ax.imshow(image)
        ax.set_title(SHAPE_CLASSES[label], fontsize=9)
        ax.axis("off")
    figure.tight_layout()
    return figure


def hard_shapes_explorer() -> Explorer:
    """Switch each difficulty of the hard shapes on and off (06_putting_it_together)."""
    return explorer(draw_scenes, {
        "texture": Choice(True, ON_OFF, label="background texture · 背景纹理"),
        "occlusion": Slider(OCCLUSION_PROBABILITY, 0.0, 1.0, 0.1, label="occlusion · 遮挡概率"),
        "colour_shift": Choice(True, ON_OFF, label="colour shift · 颜色偏移"),
        "noise_std": Slider(HARD_NOISE_STD, 0.0, 0.3, 0.02, label="noise std · 噪声"),
    }, name="hard_shapes")
