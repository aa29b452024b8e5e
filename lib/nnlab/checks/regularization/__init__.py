"""Checks for 04_regularization: weight penalties, batch norm, early stopping, ensembles, dropout,
DropConnect and stochastic depth (the augmentations are in :mod:`nnlab.checks.augmentation`).

Deterministic parts are compared with torch in float64 (:data:`FLOAT64`):
the penalties with ``torch.linalg.vector_norm`` and autograd, batch norm with
``torch.nn.functional.batch_norm``. Random parts cannot be compared value by
value (your code draws its own random numbers): their checks are
*structural* and *statistical*, a fraction or a mean within 5 standard
errors of its expectation with a fixed seed
(:func:`nnlab.checks.statistics.expect_within`); each message states the
standard error.

``p`` is never left ambiguous: ``p_drop`` is the probability of dropping a
unit (torch's ``p``), ``p_keep = 1 - p_drop`` is the lecture's ``p``, and
``p_survive`` is the probability that a residual branch is kept.

One module per exercise: :mod:`.penalties`, :mod:`.batchnorm`,
:mod:`.early_stopping`, :mod:`.ensembles`, :mod:`.dropout`, :mod:`.dropconnect`
and :mod:`.stochastic_depth`, with the shared helpers in :mod:`._common`;
importing this package registers their checks.
"""

# isort: off
# Importing a submodule registers its checks; summary() lists them in this order.
from nnlab.checks.regularization import penalties, batchnorm, early_stopping, ensembles  # noqa: F401
from nnlab.checks.regularization import dropout, dropconnect, stochastic_depth  # noqa: F401
# isort: on

