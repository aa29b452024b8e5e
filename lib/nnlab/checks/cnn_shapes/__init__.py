"""Checks for 00_cnn_shapes: output sizes, receptive fields and AlexNet, measured with torch.

Every reference here is a measurement, never the formula the student writes:

- output sizes are the lengths ``torch.nn.functional.conv1d`` and
  ``conv_transpose1d`` produce on a zero tensor;
- receptive fields are measured with autograd: in a 1-D stack of convolutions
  (all-ones weights, no padding) and average poolings, the gradient of a
  central output with respect to the input is non-zero exactly on its
  receptive field, whose span we count;
- AlexNet shapes come from a forward pass through ``torch.nn`` layers built from
  the lecture's description; parameter counts from such layers on the ``meta``
  device (sizes without memory).

Settings are drawn from ``seed``; hidden tests use other seeds and sizes.

One module per exercise: :mod:`.output_sizes`, :mod:`.receptive_fields`,
:mod:`.alexnet` and :mod:`.parameters`; importing this package registers their
checks, in the notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.cnn_shapes import output_sizes, receptive_fields, alexnet, parameters  # noqa: F401
# isort: on
from nnlab.checks.cnn_shapes._common import NOTEBOOK
from nnlab.checks.cnn_shapes.alexnet import (
    CAFFE_ALEXNET,
    describe_module,
    measure_caffe_alexnet,
    torchvision_alexnet_layers,
)
from nnlab.checks.cnn_shapes.output_sizes import Category, conv_cases, conv_len, transpose_cases
from nnlab.checks.cnn_shapes.parameters import random_models
from nnlab.checks.cnn_shapes.receptive_fields import layer_stacks, measure_receptive_fields

# conv_cases, transpose_cases and layer_stacks regenerate a check's settings from its parameters.
__all__ = [
    "CAFFE_ALEXNET", "NOTEBOOK", "Category", "conv_cases", "conv_len", "describe_module",
    "measure_caffe_alexnet", "measure_receptive_fields", "layer_stacks", "random_models",
    "torchvision_alexnet_layers", "transpose_cases",
]
