"""The checks of 06_putting_it_together: the solution passes them all; plausible mistakes fail helpfully.

Each wrong implementation below is a mistake students make (modelled on the solution's own
classes, changed in one place); the test asserts that the check fails with a message naming the
module and the likely cause. ``predict`` is judged directly: a constant or random labelling
gets no tier, whatever the seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nnlab.checks import check, judge_check, run_check
from nnlab.checks.capstone.predict import BASELINE_ACCURACY, GOOD_ACCURACY, judge_predictions
from nnlab.checks.spec import CheckFailed
from nnlab.data import hidden_test_split, load_hard_shapes
from torch import nn

from tests.notebooks import call_ids, check_calls, check_cells, registered_checks, run_check_call
from tests.notebooks import check_fails as _fails

NOTEBOOK = "06_putting_it_together"
CHECKS = ("Dropout", "BatchNorm1d", "BatchNorm2d", "mlp_parameter_count", "build_model", "predict")
# predict needs the notebook's trained model (a demo cell), which the solution namespace does not run
MODULE_CALLS = [c for c in check_calls(NOTEBOOK) if c.name != "predict"]




def test_registered_checks_are_the_notebooks() -> None:
    assert registered_checks(NOTEBOOK) == set(CHECKS)


def test_test_cells_have_visible_and_hidden_calls_and_predict_has_two_tiers() -> None:
    cells = check_cells(NOTEBOOK)
    tiers = [c for c in cells if c.grade_id.startswith("test_predict_")]
    assert sorted(c.grade_id for c in tiers) == ["test_predict_baseline", "test_predict_good"]
    for cell in cells:
        visible = [call.params for call in cell.calls if not call.hidden]
        hidden = [call.params for call in cell.calls if call.hidden]
        assert visible and len(hidden) >= 2, cell.grade_id
        seeds = {p.get("seed", 0) for p in visible}
        assert {p.get("seed", 0) for p in hidden}.isdisjoint(seeds), cell.grade_id
        if cell in tiers:  # each tier cell checks its own tier only
            tier = cell.grade_id.removeprefix("test_predict_")
            assert {call.params["tier"] for call in cell.calls} == {tier}
        else:
            assert {call.name for call in cell.calls} == {cell.grade_id.removeprefix("test_")}


@pytest.mark.parametrize("call", MODULE_CALLS, ids=call_ids(MODULE_CALLS))
def test_solution_passes_every_check_call_of_the_test_cells(ns, call) -> None:
    run_check_call(ns, call)


@pytest.mark.parametrize("seed", range(1, 7))
def test_statistical_checks_pass_the_solution_on_other_seeds(ns, seed: int) -> None:
    # each band is 5 standard errors: a false alarm would show up here
    check("Dropout", ns["Dropout"], seed=100 + seed, p=seed / 8, hidden=True)
    init = ("default", "xavier", "kaiming")[seed % 3]
    check("build_model", ns["build_model"], seed=200 + seed, init=init, depth=seed % 4, hidden=True)


# --- Dropout ----------------------------------------------------------------------------------

def _dropout(forward):
    class Dropout(nn.Module):
        def __init__(self, p: float = 0.5) -> None:
            super().__init__()
            self.p = p

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(self, x)
    return Dropout


def test_dropout_with_p_as_keep_probability_names_the_convention() -> None:
    wrong = _dropout(lambda m, x: x * (torch.rand_like(x) < m.p) / m.p if m.training else x)
    assert "DROPPING" in _fails("Dropout", wrong, "wrong fraction", p=0.2)


def test_dropout_without_rescaling_fails_on_kept_units() -> None:
    wrong = _dropout(lambda m, x: x * (torch.rand_like(x) >= m.p) if m.training else x)
    assert "1 − p" in _fails("Dropout", wrong, "kept units")


def test_dropout_that_is_active_in_eval_mode_fails() -> None:
    wrong = _dropout(lambda m, x: x * (torch.rand_like(x) >= m.p) / (1 - m.p))
    assert "self.training" in _fails("Dropout", wrong, "eval mode")


def test_dropout_through_numpy_has_no_gradient() -> None:
    def forward(m, x):
        if not m.training:
            return x
        keep = np.random.default_rng().random(tuple(x.shape)) >= m.p
        return torch.tensor(x.detach().numpy() * keep / (1 - m.p))
    assert "autograd" in _fails("Dropout", _dropout(forward), "gradient")


def test_dropout_with_one_mask_for_every_call_fails(ns) -> None:
    class Dropout(ns["Dropout"]):
        mask = None

        def forward(self, x):
            if not self.training:
                return x
            if self.mask is None:
                self.mask = (torch.rand_like(x) >= self.p).to(x.dtype)
            return x * self.mask / (1 - self.p)
    _fails("Dropout", Dropout, "same mask")


def test_dropout_that_is_not_a_module_says_so() -> None:
    class Dropout:
        def __init__(self, p: float = 0.5) -> None:
            self.p, self.training = p, True

        def __call__(self, x):
            return x

        def train(self):
            return self

        def eval(self):
            return self

        def state_dict(self):
            return {}
    assert "nn.Module" in _fails("Dropout", Dropout, "not a torch.nn.Module")


# --- BatchNorm --------------------------------------------------------------------------------

def _bn_variant(ns, *, momentum_old: bool = False, biased_running: bool = False, detach: bool = False,
                batch_stats_in_eval: bool = False, no_counter: bool = False):
    base = ns["BatchNorm1d"]

    class BatchNorm1d(base):
        def forward(self, x):
            axes = [0] + list(range(2, x.dim()))
            shape = [1, -1] + [1] * (x.dim() - 2)
            if self.training or batch_stats_in_eval:
                mean, var = x.mean(dim=axes), x.var(dim=axes, unbiased=False)
                if detach:
                    mean, var = mean.detach(), var.detach()
                if self.training:
                    n = x.numel() // x.shape[1]
                    new_var = var if biased_running else var * n / (n - 1)
                    w_new = 1 - self.momentum if momentum_old else self.momentum
                    with torch.no_grad():
                        self.running_mean.mul_(1 - w_new).add_(w_new * mean)
                        self.running_var.mul_(1 - w_new).add_(w_new * new_var)
                        if not no_counter:
                            self.num_batches_tracked += 1
            else:
                mean, var = self.running_mean, self.running_var
            x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
            return self.weight.view(shape) * x_hat + self.bias.view(shape)
    return BatchNorm1d


@pytest.mark.parametrize(("mistake", "where", "cause"), [
    ("momentum_old", "running_mean", "NEW batch statistic"),
    ("biased_running", "running_var", "UNBIASED"),
    ("detach", ": dx", "autograd"),
    ("batch_stats_in_eval", "eval mode", "running_mean and running_var"),
    ("no_counter", "num_batches_tracked", "add 1"),
])
def test_batchnorm_mistakes_name_their_cause(ns, mistake: str, where: str, cause: str) -> None:
    message = _fails("BatchNorm1d", _bn_variant(ns, **{mistake: True}), where)
    assert where in message and cause in message


def test_batchnorm_with_plain_tensors_has_the_wrong_state_dict() -> None:
    class BatchNorm1d(nn.Module):
        def __init__(self, num_features, eps=1e-5, momentum=0.1):
            super().__init__()
            self.eps, self.momentum = eps, momentum
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
            self.running_mean, self.running_var = torch.zeros(num_features), torch.ones(num_features)

        def forward(self, x):
            return x
    assert "register_buffer" in _fails("BatchNorm1d", BatchNorm1d, "other keys")


def test_batchnorm2d_over_the_batch_axis_only_fails(ns) -> None:
    class BatchNorm2d(ns["BatchNorm1d"]):
        def forward(self, x):  # one statistic per (channel, pixel): normalizes over N only
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            x_hat = (x - mean) / torch.sqrt(var + self.eps)
            return self.weight.view(-1, 1, 1) * x_hat + self.bias.view(-1, 1, 1)
    message = _fails("BatchNorm2d", BatchNorm2d, "differs from torch")
    assert "every axis but the channel axis" in message


# --- build_model ------------------------------------------------------------------------------

def _build_variant(ns, *, order=None, std_factor: float = 1.0, output_std: float = 0.01, model_list=False):
    Dropout, BatchNorm1d = ns["Dropout"], ns["BatchNorm1d"]

    def build_model(config):
        layers, dim = [], config["input_dim"]
        for _ in range(config["depth"]):
            linear = nn.Linear(dim, config["width"])
            if config["init"] != "default":
                gain = 2.0 if config["init"] == "kaiming" else 1.0
                nn.init.normal_(linear.weight, 0.0, std_factor * math.sqrt(gain / dim))
                nn.init.zeros_(linear.bias)
            block = {"linear": linear, "relu": nn.ReLU(), "bn": BatchNorm1d(config["width"]),
                     "drop": Dropout(config["dropout"])}
            bn = config["batchnorm"]
            names = order or (["linear"] + ["bn"] * (bn == "before") + ["relu"] + ["bn"] * (bn == "after")
                              + ["drop"] * (config["dropout"] > 0))
            layers += [block[n] for n in names]
            dim = config["width"]
        output = nn.Linear(dim, config["num_classes"])
        nn.init.normal_(output.weight, 0.0, output_std)
        nn.init.zeros_(output.bias)
        model = nn.Sequential(*layers, output)
        if model_list:  # a plain list: train()/eval() reach nothing
            class Listed(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.__dict__["layers"] = [*layers, output]  # hidden from nn.Module
                    self.dummy = nn.Parameter(torch.zeros(0))

                def forward(self, x):
                    for layer in self.layers:
                        x = layer(x)
                    return x
            return Listed()
        return model
    return build_model


def test_build_model_with_bn_after_instead_of_before_names_the_order(ns) -> None:
    wrong = _build_variant(ns, order=["linear", "relu", "bn", "drop"])
    assert "Linear → BatchNorm1d → ReLU" in _fails("build_model", wrong, "another order")


def test_build_model_with_xavier_instead_of_kaiming_fails_on_scale(ns) -> None:
    wrong = _build_variant(ns, std_factor=1 / math.sqrt(2))
    assert "√(2/fan_in)" in _fails("build_model", wrong, "wrong scale")


def test_build_model_with_a_large_output_layer_fails_step_1(ns) -> None:
    _fails("build_model", _build_variant(ns, output_std=1.0), "wrong scale|initial loss")


def test_build_model_whose_layers_train_and_eval_cannot_reach_fails(ns) -> None:
    _fails("build_model", _build_variant(ns, model_list=True), "train and eval|order")


def test_mlp_parameter_count_that_counts_buffers_or_forgets_biases_fails(ns) -> None:
    right = ns["mlp_parameter_count"]
    for wrong, cause in ((lambda c: right(c) + 2 * c["width"] * c["depth"], "buffers"),
                         (lambda c: right(c) - c["width"] * c["depth"] - c["num_classes"], "b biases"),
                         (lambda c: float(right(c)), "")):
        assert cause in _fails("mlp_parameter_count", wrong, "torch counts|an int")


# --- predict ----------------------------------------------------------------------------------

def _judge(labels: np.ndarray, y: np.ndarray, tier: str) -> float:
    return judge_predictions({"value": labels}, y, tier)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tier", ["baseline", "good"])
def test_constant_or_random_labels_get_no_tier(seed: int, tier: str) -> None:
    _, y = hidden_test_split(seed, num_test=600)
    rng = np.random.default_rng(seed)
    for labels in (np.full_like(y, seed % 6), rng.integers(0, 6, y.shape), rng.permutation(y)):
        with pytest.raises(CheckFailed, match="below"):
            _judge(labels, y, tier)


def test_accurate_predictions_reach_both_tiers_and_the_threshold_is_inclusive() -> None:
    y = np.arange(100) % 6
    labels = y.copy()
    wrong = int(round(100 * (1 - GOOD_ACCURACY)))
    labels[:wrong] = (y[:wrong] + 1) % 6
    assert _judge(labels, y, "good") == pytest.approx(GOOD_ACCURACY)
    assert _judge(labels, y, "baseline") >= BASELINE_ACCURACY
    labels[wrong] = (y[wrong] + 1) % 6
    with pytest.raises(CheckFailed, match="'good' tier"):
        _judge(labels, y, "good")


@pytest.mark.parametrize(("value", "match"), [
    (np.zeros((5, 6)), "one integer label per image"),
    (np.full(10, 0.5), "one integer label per image"),
    (np.full(10, 7), "outside"),
])
def test_malformed_predictions_say_what_to_return(value, match: str) -> None:
    with pytest.raises(CheckFailed, match=match):
        _judge(value, np.zeros(10, dtype=np.int64), "baseline")


def test_predict_check_runs_on_images_only_and_is_judged_with_labels_it_never_saw() -> None:
    seen = []

    def predict(X):
        seen.append(X.shape)
        return np.zeros(len(X), dtype=np.int64)
    verdict = judge_check("predict", run_check("predict", {"predict": predict}, {"seed": 0, "num_val": 600,
                                                                                  "tier": "baseline"}),
                          {"seed": 0, "num_val": 600, "tier": "baseline", "hidden": False})
    assert seen == [(600, 32, 32, 3)] and not verdict.passed


def test_the_validation_split_of_the_check_is_the_notebooks() -> None:
    notebook = load_hard_shapes(num_train=300, num_val=600, seed=0)
    check_split = load_hard_shapes(num_train=0, num_val=600, seed=0)
    assert np.array_equal(notebook.X_val, check_split.X_val)
