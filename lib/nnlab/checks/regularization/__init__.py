"""Checks for 04_regularization: weight penalties, batch norm, early stopping, ensembles.

The random layers (dropout, DropConnect, stochastic depth) are checked in
:mod:`nnlab.checks.dropout` and the augmentations in
:mod:`nnlab.checks.augmentation`; both use the helpers defined here.

Deterministic parts are compared with torch in float64 (:data:`FLOAT64`):
the penalties with ``torch.linalg.vector_norm`` and autograd, batch norm with
``torch.nn.functional.batch_norm``. Random parts cannot be compared value by
value (your code draws its own random numbers): their checks are
*structural* and *statistical*, a fraction or a mean within 5 standard
errors of its expectation with a fixed seed (:func:`within`); each message
states the standard error.

``p`` is never left ambiguous: ``p_drop`` is the probability of dropping a
unit (torch's ``p``), ``p_keep = 1 - p_drop`` is the lecture's ``p``, and
``p_survive`` is the probability that a residual branch is kept.

One module per exercise: :mod:`.penalties`, :mod:`.batchnorm`,
:mod:`.early_stopping` and :mod:`.ensembles`, with the shared helpers in
:mod:`._common`; importing this package registers their checks,
in the notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.regularization import penalties, batchnorm, early_stopping, ensembles  # noqa: F401
# isort: on

