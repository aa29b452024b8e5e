"""cutout: one size×size square of zeros per image, clipped at the border, its centre uniform."""

from __future__ import annotations

import numpy as np

from nnlab.checks.augmentation._common import NOTEBOOK, Functions, random_images, rng_for
from nnlab.checks.compare import as_array, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_fraction
from nnlab.i18n import Text


def _cutout_run(functions: Functions, p: Params) -> Record:
    return call(functions["function"], random_images(p), p["size"], rng_for(p))


def _cutout_judge(record: Record, p: Params) -> None:
    X = random_images(p)
    size = p["size"]
    what = Text("cutout")
    out = as_array(value_of(record, what), what, X)
    n, h, w, _ = X.shape
    changed = np.any(out != X, axis=-1)  # (N, H, W); X has no zeros
    not_zero = changed & np.any(out != 0, axis=-1)
    if not_zero.any():
        fail(what, Text("changed pixels without setting them to 0", "改变了像素却没有置为 0"),
             detail=Text(f"{int(not_zero.sum())} pixels in {int(not_zero.any(axis=(1, 2)).sum())} images",
                         f"{int(not_zero.any(axis=(1, 2)).sum())} 张图像中的 {int(not_zero.sum())} 个像素"),
             cause=Text("Cutout sets every channel of the square to 0 and leaves all other pixels "
                        "unchanged.",
                        "Cutout 把方块内所有通道置为 0，其他像素保持不变。"))
    clipped = np.zeros(n, dtype=bool)
    for i in range(n):
        rows, cols = np.flatnonzero(changed[i].any(axis=1)), np.flatnonzero(changed[i].any(axis=0))
        if rows.size == 0:
            fail(what, Text("left an image without a square", "有图像没有被遮挡"),
                 detail=Text(f"image {i} is unchanged", f"第 {i} 张图像没有变化"),
                 cause=Text("every image gets exactly one square; its centre lies inside the image, "
                            "so it is never empty.",
                            "每张图像恰好一个方块；方块中心在图像内，所以不会为空。"))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        area = (bottom - top) * (right - left)
        filled = changed[i, top:bottom, left:right].all() and changed[i].sum() == area
        height_ok = (bottom - top == size) or ((top == 0 or bottom == h) and bottom - top < size)
        width_ok = (right - left == size) or ((left == 0 or right == w) and right - left < size)
        if not (filled and height_ok and width_ok):
            fail(what, Text("zeroed something other than one size×size square",
                            "置零的区域不是一个 size×size 的方块"),
                 detail=Text(f"image {i}: zeroed {int(changed[i].sum())} pixels spanning "
                             f"rows {top}..{bottom - 1}, "
                             f"columns {left}..{right - 1}, size = {size}",
                             f"第 {i} 张：置零 {int(changed[i].sum())} 个像素，行 {top}..{bottom - 1}，"
                             f"列 {left}..{right - 1}，size = {size}"),
                 cause=Text("one square per image: rows cy − size//2 … cy − size//2 + size − 1 (same for "
                            "columns), clipped only where it crosses the border.",
                            "每张图一个方块：行 cy − size//2 … cy − size//2 + size − 1（列同理），"
                            "只在越过边界时被截断。"))
        clipped[i] = bottom - top < size or right - left < size
    p_clipped = 1 - (h - size + 1) * (w - size + 1) / (h * w)
    expect_fraction(
        int(clipped.sum()), n, p_clipped, what=what,
        statistic_name=Text("fraction of squares clipped by the border", "被边界截断的方块比例"),
        cause=Text("the square's centre (cy, cx) is uniform over ALL pixels of the image (as in the "
                   "Cutout paper), so squares near the border are partly outside and get clipped.",
                   "方块中心 (cy, cx) 在图像的*所有*像素上均匀分布（与 Cutout 论文相同），"
                   "因此靠近边界的方块会有一部分在图外而被截断。"),
        next_step=Text("cy = rng.integers(0, H); cx = rng.integers(0, W); then clip the square's "
                       "rows and columns to the image.",
                       "cy = rng.integers(0, H)；cx = rng.integers(0, W)；再把方块的行列截断到图像范围内。"))


register(Spec(
    "cutout", NOTEBOOK,
    Text("cutout zeroes one size×size square per image (clipped at the border)",
         "cutout 每张图像置零一个 size×size 方块（在边界处截断）"),
    ("function",), _cutout_run, _cutout_judge,
    {"seed": 0, "N": 300, "H": 10, "W": 10, "C": 3, "size": 4},
    numpy_only=True,
))
