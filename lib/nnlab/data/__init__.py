"""Datasets: an embedded synthetic image set (offline) and a CIFAR-10 loader.

Every notebook runs on :func:`load_shapes`, coloured shapes drawn on the fly
from a seed: no download, no files, the same arrays on every machine. Where a
notebook offers real images, :func:`load_cifar10` reads the official
"CIFAR-10 python version" archive that the course provides (``NNLAB_CIFAR10``)
or that it downloads on request.

Example::

    data = load_shapes(seed=0)
    data.X_train.shape, data.X_train.dtype   # (2000, 32, 32, 3) float32
    data.class_names                         # ('circle', 'square', ...)

The two halves live in :mod:`nnlab.data.shapes` and :mod:`nnlab.data.cifar`;
everything is exported here.
"""

from nnlab.data.cifar import (
    CIFAR10_ARCHIVE,
    CIFAR10_FOLDER,
    CIFAR10_MD5,
    CIFAR10_URL,
    Cifar10,
    DownloadError,
    cifar10_cache_dir,
    load_cifar10,
)
from nnlab.data.hard_shapes import hidden_test_split, load_hard_shapes
from nnlab.data.shapes import (
    IMAGE_SIZE,
    MAX_ANGLE,
    MAX_SHIFT,
    NOISE_STD,
    RADIUS,
    SHAPE_CLASSES,
    ShapesDataset,
    load_shapes,
    one_hot,
)

__all__ = [
    "CIFAR10_ARCHIVE", "CIFAR10_FOLDER", "CIFAR10_MD5", "CIFAR10_URL", "IMAGE_SIZE", "MAX_ANGLE",
    "MAX_SHIFT", "NOISE_STD", "RADIUS", "SHAPE_CLASSES", "Cifar10", "DownloadError", "ShapesDataset",
    "cifar10_cache_dir", "hidden_test_split", "load_cifar10", "load_hard_shapes", "load_shapes", "one_hot",
]
