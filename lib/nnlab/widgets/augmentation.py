"""The augmentation previewer of 04_regularization: the same image under each augmentation.

It computes with torch (``torch.flip``, ``torch.nn.functional.pad``, ``torch.lerp``), not with
your exercise code, so it works before you implement anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.fonts import figure_words as _t
from nnlab.plots import imshow_data
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

AUGMENTATIONS = ("horizontal flip", "random crop", "color jitter", "cutout", "mixup")
NUM_SAMPLES = 11


def _as_images(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[-1] != 3 or len(X) < 2:
        raise ValueError(f"augmentation_previewer: X must be (N, H, W, 3) RGB images with N >= 2, "
                         f"got shape {X.shape}")
    if X.dtype == np.uint8:
        return X.astype(np.float64) / 255.0
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"augmentation_previewer: X must be float in [0, 1] or uint8, got {X.dtype}")
    return np.clip(X.astype(np.float64), 0.0, 1.0)


def _describe(augmentation: str, parameter: float, height: int) -> tuple[str, float]:
    """The augmentation's own parameter from the 0..1 slider, and how to show it."""
    if augmentation == "horizontal flip":
        return f"p = {parameter:.2f}", parameter
    if augmentation == "random crop":
        padding = round(parameter * height / 4)
        return f"padding = {padding} px (crop back to {height})", padding
    if augmentation == "color jitter":
        return f"brightness = contrast = saturation = {parameter:.2f}", parameter
    if augmentation == "cutout":
        size = max(1, round(parameter * height))
        return f"size = {size} px", size
    alpha = max(0.05, 2.0 * parameter)
    return f"alpha = {alpha:.2f}", alpha


def augment_samples(X: Any, index: int, augmentation: str, parameter: float,
                    num_samples: int = NUM_SAMPLES, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``num_samples`` random augmentations of ``X[index]``, computed with torch.

    Args:
        X: ``(N, H, W, 3)`` images, float in [0, 1] or uint8.
        index: which image.
        augmentation: one of :data:`AUGMENTATIONS`.
        parameter: the slider value in [0, 1], mapped to the augmentation's parameter
            (flip probability; crop padding up to H/4; jitter strength; Cutout size up to H;
            Mixup alpha up to 2).

    Returns:
        ``(samples (num_samples, H, W, 3) float64, captions)``.
    """
    import torch
    import torch.nn.functional as F

    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}; "
                         f"choose one of {', '.join(AUGMENTATIONS)}")
    X = _as_images(X)
    image = torch.from_numpy(X[index])  # (H, W, 3)
    height, width = image.shape[:2]
    _, value = _describe(augmentation, parameter, height)
    rng = np.random.default_rng(seed)
    gray_weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
    samples, captions = [], []
    for _ in range(num_samples):
        if augmentation == "horizontal flip":
            flip = rng.random() < value
            out, caption = (torch.flip(image, dims=[1]) if flip else image), ("flipped" if flip else "kept")
        elif augmentation == "random crop":
            padded = F.pad(image.permute(2, 0, 1), (int(value),) * 4).permute(1, 2, 0)
            top, left = rng.integers(0, 2 * int(value) + 1, size=2)
            out, caption = padded[top:top + height, left:left + width], f"offset ({top}, {left})"
        elif augmentation == "color jitter":
            f_b, f_c, f_s = rng.uniform(max(0.0, 1 - value), 1 + value, size=3)
            out = torch.lerp(torch.zeros_like(image), image, f_b).clamp(0, 1)
            mean = (out * gray_weights).sum(-1).mean()
            out = torch.lerp(mean.expand_as(out), out, f_c).clamp(0, 1)
            gray = (out * gray_weights).sum(-1, keepdim=True).expand_as(out)
            out = torch.lerp(gray, out, f_s).clamp(0, 1)
            caption = f"b {f_b:.2f} c {f_c:.2f} s {f_s:.2f}"
        elif augmentation == "cutout":
            cy, cx = rng.integers(0, height), rng.integers(0, width)
            size = int(value)
            out = image.clone()
            top, left = max(cy - size // 2, 0), max(cx - size // 2, 0)
            out[top:cy - size // 2 + size, left:cx - size // 2 + size] = 0
            caption = f"centre ({cy}, {cx})"
        else:
            partner = int(rng.choice([i for i in range(len(X)) if i != index]))
            lam = float(rng.beta(value, value))
            out = torch.lerp(torch.from_numpy(X[partner]), image, lam)
            caption = f"λ = {lam:.2f} · #{partner}"
        samples.append(out.numpy())
        captions.append(caption)
    return np.stack(samples), captions


def _mosaic(images: list[np.ndarray], columns: int, gap: int) -> np.ndarray:
    """Images (H, W, 3) tiled row by row on a white background, ``gap`` pixels apart."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    out = np.ones((rows * (h + gap) - gap, columns * (w + gap) - gap, 3))
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = np.clip(image, 0, 1)
    return out


class _AugmentationView(View):
    """The original and its augmented copies as one mosaic image, a caption over each.

    Every setting gives a mosaic of the same size, so a redraw replaces the image's pixels
    and the captions' text.
    """

    figsize = (8.0, 6.4)

    def __init__(self, X: np.ndarray) -> None:
        super().__init__()
        self.X = X

    def build(self, figure: Figure, index: int, augmentation: str, parameter: float) -> None:
        ax = figure.subplots()
        columns, (h, w) = 4, self.X.shape[1:3]
        gap = max(2, h // 3)  # room for the captions
        placeholder = [self.X[0]] * (NUM_SAMPLES + 1)  # the mosaic's size, whatever the setting
        self.mosaic = ax.imshow(imshow_data(_mosaic(placeholder, columns, gap)), interpolation="nearest")
        self.captions = []
        for k in range(NUM_SAMPLES + 1):
            r, c = divmod(k, columns)
            self.captions.append(ax.text(c * (w + gap) + w / 2, r * (h + gap) - 0.5, "", ha="center",
                                         va="bottom", fontsize=8))
        ax.set_axis_off()
        self.title = ax.set_title("", fontsize=10, pad=14)
        self.columns, self.gap, self.ax = columns, gap, ax
        self.update(index, augmentation, parameter)
        figure.tight_layout()  # once: the margins stay for every later redraw

    def update(self, index: int, augmentation: str, parameter: float) -> None:
        samples, captions = augment_samples(self.X, int(index), augmentation, parameter)
        label, _ = _describe(augmentation, parameter, self.X.shape[1])
        self.mosaic.set_data(imshow_data(_mosaic([self.X[int(index)], *samples], self.columns, self.gap)))
        for text, caption in zip(self.captions, [_t("original", "原图"), *captions], strict=True):
            text.set_text(caption)
        self.title.set_text(f"{augmentation}: {label}")


def _draw_augmentations(X: np.ndarray, index: int, augmentation: str, parameter: float) -> Figure:
    """A new figure of the augmentation previewer (what the static previewer shows)."""
    return _AugmentationView(X).draw(index=index, augmentation=augmentation, parameter=parameter)


def augmentation_previewer(X: Any) -> Explorer:
    """Pick an image and an augmentation, slide its parameter, see 11 random augmented copies.

    Introduced in 04_regularization. The slider runs from 0 to 1 and sets the
    augmentation's own parameter, shown in the figure title: flip probability p;
    crop padding (up to H/4 pixels, then a random H×W window); color jitter
    strength (brightness = contrast = saturation); Cutout square size (up to H);
    Mixup's Beta(α, α) parameter α (up to 2), blending with random other images of X.

    Args:
        X: ``(N, H, W, 3)`` images (float in [0, 1] or uint8), e.g. ``data.X_train[:64]``.

    Raises:
        ValueError: for images of another shape or dtype.
    """
    view = _AugmentationView(_as_images(X))
    images = view.X
    controls = {
        "index": Slider(0, 0, len(images) - 1, 1, "image · 图像", integer=True),
        "augmentation": Choice("random crop", AUGMENTATIONS, "augmentation · 数据增强"),
        "parameter": Slider(0.5, 0.0, 1.0, 0.05, "parameter (see title) · 参数（见标题）"),
    }
    return explorer(view.draw, controls, name="augmentation", ahead=True)
