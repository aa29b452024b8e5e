"""Checks for 06_putting_it_together: your layers as torch modules, a configurable network, predict.

The modules (:mod:`.layers`) are compared with torch's own ``nn.Dropout``,
``nn.BatchNorm1d`` and ``nn.BatchNorm2d`` in float64: outputs, gradients through
autograd, running statistics after several training steps, eval mode and
``state_dict`` keys; dropout statistically (5 standard errors, fixed seeds).
:mod:`.model` checks ``build_model(config)`` (layer order, parameter count,
initialization statistics, train/eval behaviour, initial loss ≈ log C),
:mod:`.steps` and :mod:`.curves` the seven steps written by the student (initial
loss, overfitting 50 examples, LR range test, log-scale sampler, learning-curve
diagnosis, early stopping with a best-checkpoint restore) and
:mod:`.predict` scores the final ``predict(X)`` by accuracy in tiers, in the
grader's process, from labels that never reach the student's code.

Importing this package registers the checks in the notebook's order.
"""

# isort: off
from nnlab.checks.capstone import layers, model, steps, curves, predict  # noqa: F401
# isort: on
