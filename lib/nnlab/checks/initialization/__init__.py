"""Checks for 03_initialization: fan-in/fan-out, Xavier/Kaiming scales, initializers, the
lecture's activation-statistics experiment.

References come from torch at check time:

* fan-in and fan-out: ``torch.nn.init._calculate_fan_in_and_fan_out`` on an empty tensor;
* the standard deviation an initializer uses: *measured* from ``torch.nn.init``
  (:func:`torch_init_std` draws a weight with a seeded generator and the plain standard
  normals with an identically seeded one; their ratio is the std torch used). The lecture's
  Xavier, std = 1/√Din, is ``kaiming_normal_(mode="fan_in", nonlinearity="linear")``; Kaiming,
  std = √(2/Din), is ``nonlinearity="relu"``. (``torch.nn.init.xavier_normal_`` is another
  variant: √(2/(fan_in + fan_out)).)
* random weights are checked statistically with bands of 5 standard errors: the standard
  error of the sample std of n normal draws is σ/√(2n), of their mean σ/√n;
* the layer statistics with bands of 6 standard errors on a log scale, the standard error
  being the spread of log(std) (and, after ReLU, log(mean)) across an ensemble of torch runs
  with independent seeds.

One module per exercise: :mod:`.scales` (fan-in/fan-out, Xavier/Kaiming scales),
:mod:`.weights` (``init_weights``) and :mod:`.layer_statistics`, with the torch
references in :mod:`._common`; importing this package registers their checks, in
the notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.initialization import scales, weights, layer_statistics  # noqa: F401
# isort: on
from nnlab.checks.initialization._common import NOTEBOOK, fan_in_std, torch_fan_in_fan_out, torch_init_std
from nnlab.checks.initialization.layer_statistics import ENSEMBLE_SIZE, LAYER_BANDS, torch_layer_statistics
from nnlab.checks.initialization.weights import BANDS, RANDOM_METHODS

__all__ = [
    "BANDS", "ENSEMBLE_SIZE", "LAYER_BANDS", "NOTEBOOK", "RANDOM_METHODS", "fan_in_std",
    "torch_fan_in_fan_out", "torch_init_std", "torch_layer_statistics",
]
