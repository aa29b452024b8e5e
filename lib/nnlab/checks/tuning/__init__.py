"""Checks for 05_tuning: the seven-step recipe for choosing hyperparameters.

What each check measures (all inputs are regenerated from the parameters):

* ``expected_initial_loss``: torch's ``F.cross_entropy`` of a freshly built
  float64 network whose final layer starts at zero (all classes score the
  same), on random inputs and labels — the initial loss the student's number
  must predict, to float64 rounding (:data:`FLOAT64`).
* ``measure_initial_loss``: ``F.cross_entropy`` of the check's own MLP
  (``nnlab.training.make_mlp``) on the embedded dataset, in float64 from the
  same float32 weights; the student computes in float32, so :data:`FLOAT32`.
* ``overfit_small_sample``: the weights the student's training left in the
  model are recorded, and the trusted step rebuilds the model from them and
  measures its accuracy on the subset itself (in the weights' own dtype, so
  ties break as in the student's process): it must be 1.0, reached within
  ``max_iterations``, and equal to the accuracy the student reports.
* ``sample_log_uniform`` and ``random_search_configs``: statistical. On the
  right scale (log10 or linear) the samples map to ``u`` in ``[0, 1]``,
  which must be uniform: mean 1/2 (standard error √(1/12n)), variance 1/12
  (standard error √(1/180n)), each within 5 standard errors, and the
  Kolmogorov–Smirnov distance to the uniform CDF (``torch.distributions``)
  at most 2.75/√n (chance of a false alarm ≈ 2·exp(−2·2.75²) ≈ 5e-7, like 5
  standard errors). Parameters must be drawn independently: the correlation
  of two parameters' ``u`` must be within 5/√n of 0. Both must draw from
  ``rng`` only: the same seed repeats, another seed differs.
* ``grid_search_configs``: the configurations must be ``torch.cartesian_prod``
  of the value lists, in its order (the last parameter varies fastest).
* ``diagnose_learning_curves``: synthetic curves generated here with a known
  diagnosis, each far from the decision thresholds the notebook documents
  (:data:`RISE_TOL`, :data:`GAP_TOL`), so every reasonable reading of the
  rule gives the same label.

One module per part of the recipe: :mod:`.first_steps` (steps 1 and 2),
:mod:`.search` (sampling, grid and random search) and :mod:`.diagnose` (step 6);
importing this package registers their checks, in the notebook's order.
"""

# isort: off
# Importing a submodule registers its checks; this order is the notebook's (summary() lists them so).
from nnlab.checks.tuning import first_steps, search, diagnose  # noqa: F401
# isort: on
from nnlab.checks.compare import FLOAT32, FLOAT64
from nnlab.checks.tuning._common import NOTEBOOK, Functions
from nnlab.checks.tuning.diagnose import GAP_TOL, LABELS, RISE_TOL, make_learning_curves
from nnlab.checks.tuning.search import BANDS, KS_LIMIT, make_grid_space, make_random_space

__all__ = [
    "BANDS", "FLOAT32", "FLOAT64", "GAP_TOL", "KS_LIMIT", "LABELS", "NOTEBOOK", "RISE_TOL", "Functions",
    "make_grid_space", "make_learning_curves", "make_random_space",
]
