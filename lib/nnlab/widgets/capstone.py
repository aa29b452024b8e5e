"""The explorer of 06_putting_it_together: what makes the hard shapes hard.

Each difficulty of :func:`nnlab.data.load_hard_shapes` (background texture, occlusion,
colour shift, pixel noise) can be switched on and off on the same eight shapes, so a
student sees which ones a network must learn to ignore and which augmentation imitates
which (random crops and flips for position, colour jitter for the colour shift, cutout
for occlusion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.data.hard_shapes import HARD_NOISE_STD, OCCLUSION_PROBABILITY, draw_hard_shapes
from nnlab.data.shapes import SHAPE_CLASSES
from nnlab.fonts import figure_text
from nnlab.i18n import Text
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ON_OFF = (("on · 开", True), ("off · 关", False))


#: the eight scenes: two of each of four classes
_LABELS = np.array([0, 1, 2, 3, 4, 5, 0, 2])


class _ScenesView(View):
    """Eight hard shapes in a row under a line naming the settings; a redraw replaces the pixels
    and the line (which also shows a move that changes no image: occlusion is drawn per shape)."""

    figsize = (12.0, 2.2)

    def build(self, figure: Figure, **difficulties: Any) -> None:
        axes = figure.subplots(1, 8)
        self.images = []
        for ax, image, label in zip(axes, _scenes(**difficulties), _LABELS, strict=True):
            self.images.append(ax.imshow(image))
            ax.set_title(SHAPE_CLASSES[label], fontsize=9)
            ax.axis("off")
        self.settings = figure.suptitle(_settings(**difficulties), fontsize=10)
        figure.tight_layout(rect=(0, 0, 1, 0.86))  # room for the settings line

    def update(self, **difficulties: Any) -> None:
        for artist, image in zip(self.images, _scenes(**difficulties), strict=True):
            artist.set_data(image)
        self.settings.set_text(_settings(**difficulties))


def _settings(texture: bool, occlusion: float, colour_shift: bool, noise_std: float, seed: int = 3) -> str:
    on_off = {True: Text("on", "开"), False: Text("off", "关")}
    return figure_text(Text("background texture ", "背景纹理 ") + on_off[bool(texture)]
                       + Text(f", occlusion probability {occlusion:.1f}, colour shift ",
                              f"，遮挡概率 {occlusion:.1f}，颜色偏移 ")
                       + on_off[bool(colour_shift)]
                       + Text(f", noise std {noise_std:.2f}", f"，噪声标准差 {noise_std:.2f}"))


def _scenes(texture: bool, occlusion: float, colour_shift: bool, noise_std: float, seed: int = 3
            ) -> np.ndarray:
    return draw_hard_shapes(_LABELS, np.random.default_rng(seed), texture=texture, occlusion=occlusion,
                            colour_shift=colour_shift, noise_std=noise_std)


def draw_scenes(texture: bool = True, occlusion: float = OCCLUSION_PROBABILITY, colour_shift: bool = True,
                noise_std: float = HARD_NOISE_STD, seed: int = 3) -> Figure:
    """A figure of eight hard shapes (two of each of four classes) with these difficulties."""
    return _ScenesView().draw(texture=texture, occlusion=occlusion, colour_shift=colour_shift,
                              noise_std=noise_std, seed=seed)


def hard_shapes_explorer() -> Explorer:
    """Switch each difficulty of the hard shapes on and off (06_putting_it_together)."""
    return explorer(_ScenesView().draw, {
        "texture": Choice(True, ON_OFF, label="background texture · 背景纹理"),
        "occlusion": Slider(OCCLUSION_PROBABILITY, 0.0, 1.0, 0.1, label="occlusion · 遮挡概率"),
        "colour_shift": Choice(True, ON_OFF, label="colour shift · 颜色偏移"),
        "noise_std": Slider(HARD_NOISE_STD, 0.0, 0.3, 0.02, label="noise std · 噪声"),
    }, name="hard_shapes", ahead=True)
