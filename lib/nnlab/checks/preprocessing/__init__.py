"""Checks for 02_preprocessing: dataset statistics and standardization vs torch.

Images are ``(N, H, W, C)`` float64 (channels last, like the lecture's
``[32, 32, 3]``). Every reference transposes them to torch's ``(N, C, H, W)``
layout and computes in float64 the way torchvision's ``Normalize`` does on a
``(C, H, W)`` tensor: ``(tensor - mean[:, None, None]) / std[:, None, None]``.
A numpy implementation that reduces over the wrong axis therefore disagrees
with the reference, and a correct one agrees to rounding (:data:`FLOAT64`).

The standard deviation is the *population* standard deviation over all
``N·H·W`` values of a channel (divide by ``M``, numpy's default ``ddof=0``,
torch's ``correction=0``), the convention of the usual per-channel statistics.

Inputs come from the embedded dataset (``source="shapes"``, always
``32×32×3``) or from random data (``source="random"``) with any shape, where
each channel has its own mean and spread and each pixel position its own
offset, so that channels, positions and images are all told apart.

Every call goes through :func:`call_recording`, which notes which array
arguments the student's function changed in place (``X -= mean`` on the
caller's array), so that the judge can say so.

One module per exercise: :mod:`.dataset_statistics` (mean image, channel mean and
std), :mod:`.standardize`, :mod:`.streaming` (statistics merged batch by batch) and
:mod:`.splits` (``fit_transform_splits``), with their
inputs in :mod:`.inputs`; importing this package registers their checks, in the
notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.preprocessing import dataset_statistics, standardize, streaming, splits  # noqa: F401
# isort: on
from nnlab.checks.compare import FLOAT64
from nnlab.checks.preprocessing._common import NOTEBOOK
from nnlab.checks.preprocessing._diagnosis import Mistake
from nnlab.checks.preprocessing.inputs import SHAPES_IMAGE, make_images, make_splits, make_statistics

__all__ = [
    "FLOAT64", "NOTEBOOK", "SHAPES_IMAGE", "Mistake", "make_images", "make_splits", "make_statistics",
]
