"""Checks for the data augmentation exercises of 04_regularization.

Images are ``(N, H, W, C)`` float arrays. Your augmentation draws its own
random numbers, so a check cannot predict the output image by image.
Instead it finds, for every output image, *which* allowed transformation
produced it (flipped or not, which crop window, which jitter factor, where
the Cutout square is, which partner and λ Mixup used), verifies that
transformation exactly with torch ops, and then checks the distribution of
the recovered choices statistically: within 5 standard errors of its
expectation, with a fixed seed.

One module per exercise: :mod:`.geometric` (horizontal flip, random crop),
:mod:`.color_jitter`, :mod:`.cutout` and :mod:`.mixup`; importing this package
registers their checks, in the notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.augmentation import geometric, color_jitter, cutout, mixup  # noqa: F401
# isort: on
from nnlab.checks.augmentation._common import FLOAT32_RECOVERED, NOTEBOOK, Functions

__all__ = ["FLOAT32_RECOVERED", "NOTEBOOK", "Functions"]
