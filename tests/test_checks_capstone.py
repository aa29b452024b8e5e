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
import torch.nn.functional as F
from nnlab.checks import check, get_spec, judge_check, run_check
from nnlab.checks.capstone.predict import (
    BASELINE_ACCURACY,
    GOOD_ACCURACY,
    MAX_IMAGES,
    TIERS,
    judge_predictions,
    quantize,
)
from nnlab.checks.spec import CheckFailed
from nnlab.data import hidden_test_split, load_hard_shapes
from torch import nn

from tests.notebooks import call_ids, check_calls, check_cells, registered_checks, run_check_call
from tests.notebooks import check_fails as _fails

NOTEBOOK = "06_putting_it_together"
CHECKS = ("Dropout", "BatchNorm1d", "BatchNorm2d", "mlp_parameter_count", "build_model", "early_stopping",
          "initial_loss", "overfit_small", "lr_range_test", "search_sampler", "diagnose", "predict")
# predict needs the notebook's trained model (a demo cell), which the solution namespace does not run
MODULE_CALLS = [c for c in check_calls(NOTEBOOK) if c.name != "predict"]




def test_registered_checks_are_the_notebooks() -> None:
    assert registered_checks(NOTEBOOK) == set(CHECKS)


ALIASES = {"sample_log_uniform": "search_sampler"}


def test_test_cells_have_visible_and_hidden_calls_and_predict_has_two_tiers() -> None:
    cells = check_cells(NOTEBOOK)
    tiers = [c for c in cells if c.grade_id.startswith("test_predict_")]
    assert sorted(c.grade_id for c in tiers) == ["test_predict_baseline", "test_predict_good"]
    for cell in cells:
        visible = [call.params for call in cell.calls if not call.hidden]
        hidden = [call.params for call in cell.calls if call.hidden]
        assert visible and len(hidden) >= 2, cell.grade_id
        seeds = {p.get("secret_seed") or p.get("seed", 0) for p in visible}
        assert {p.get("secret_seed") or p.get("seed", 0) for p in hidden}.isdisjoint(seeds), cell.grade_id
        if cell in tiers:  # each tier cell checks its own tier only
            tier = cell.grade_id.removeprefix("test_predict_")
            assert {call.params["tier"] for call in cell.calls} == {tier}
        else:
            name = cell.grade_id.removeprefix("test_")
            # check names are global and 05 already has "sample_log_uniform"
            assert {call.name for call in cell.calls} == {ALIASES.get(name, name)}


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


# --- the seven steps: initial_loss, overfit_small, lr_range_test, search_sampler, diagnose, early_stopping

def test_initial_loss_that_sums_returns_log_c_or_measures_in_training_mode_fails(ns) -> None:
    build = ns["build_model"]

    def summed(model, X, y):
        model.eval()
        with torch.no_grad():
            return F.cross_entropy(model(X), y, reduction="sum").item()

    def measured_in_train_mode(model, X, y):
        with torch.no_grad():
            return F.cross_entropy(model(X), y).item()

    def as_tensor(model, X, y):
        model.eval()
        return F.cross_entropy(model(X), y)
    assert "sums" in _fails("initial_loss", summed, "differs from F.cross_entropy", build_model=build)
    assert "returns log C" in _fails("initial_loss", lambda m, X, y: math.log(6), "differs",
                                     build_model=build)
    assert "model.eval()" in _fails("initial_loss", measured_in_train_mode, "training mode",
                                    build_model=build)
    assert "loss.item()" in _fails("initial_loss", as_tensor, "Python float", build_model=build)


def test_initial_loss_of_a_network_with_a_large_output_layer_is_not_log_c(ns) -> None:
    def large_output(config):
        model = ns["build_model"](config)
        nn.init.normal_(model[-1].weight, 0.0, 1.0)
        return model
    assert "N(0, 0.01²)" in _fails("initial_loss", ns["initial_loss"], "not log C", build_model=large_output)


def _sgd(zero_grad=True, record_after=False, step=True, momentum=0.0):
    def overfit_small(model, X, y, num_steps, lr):
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        model.train()
        losses = []
        for _ in range(num_steps):
            loss = F.cross_entropy(model(X), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            if step:
                optimizer.step()
            losses.append(F.cross_entropy(model(X), y).item() if record_after else loss.item())
        return losses
    return overfit_small


@pytest.mark.parametrize(("wrong", "cause"), [
    (_sgd(zero_grad=False), "zero_grad"),
    (_sgd(record_after=True), "after the update"),
    (_sgd(step=False), "never change"),
    (_sgd(momentum=0.9), "uses momentum"),
    (_sgd(momentum=0.5), "plain SGD loop"),
])
def test_overfit_small_with_a_broken_loop_fails_naming_the_bug(ns, wrong, cause: str) -> None:
    assert cause in _fails("overfit_small", wrong, "torch.optim.SGD", build_model=ns["build_model"])


def test_overfit_small_on_a_network_that_cannot_learn_fails_step_2(ns) -> None:
    def frozen(config):  # a network whose hidden layers never train: 50 random labels stay unlearnt
        model = ns["build_model"]({**config, "depth": 0})
        model[-1].weight.requires_grad_(False)
        return model
    assert "step 2" in _fails("overfit_small", ns["overfit_small"], "did not learn", build_model=frozen)


def test_lr_range_test_reusing_one_model_or_reporting_the_last_step_loss_fails(ns) -> None:
    overfit_small, initial_loss = ns["overfit_small"], ns["initial_loss"]

    def one_model(make_model, X, y, lrs, num_steps):
        model = make_model()
        return [(overfit_small(model, X, y, num_steps, lr), initial_loss(model, X, y))[1] for lr in lrs]

    def last_step_loss(make_model, X, y, lrs, num_steps):
        return [overfit_small(make_model(), X, y, num_steps, lr)[-1] for lr in lrs]
    assert "make_model()" in _fails("lr_range_test", one_model, "fresh model")
    assert "eval mode" in _fails("lr_range_test", last_step_loss, "differs from torch")


def test_search_sampler_uniform_in_x_fails_statistically(ns) -> None:
    _fails("search_sampler", lambda low, high, size, rng: rng.uniform(low, high, size), "statistically off")


def _diagnose_without(order: str):
    def diagnose(history):
        train, val, loss = history["train_acc"][-1], history["val_acc"][-1], history["train_loss"]
        if order == "gap_first" and train - val > 0.15:
            return "overfitting"
        if order != "no_lr" and (not all(map(math.isfinite, loss)) or loss[-1] >= loss[0]):
            return "lr_too_high"
        if train < 0.6:
            return "underfitting"
        if train - val > (0.5 if order == "loose_gap" else 0.15):
            return "overfitting"
        return "good"
    return diagnose


@pytest.mark.parametrize(("order", "hint"), [
    ("no_lr", "the steps are too big"), ("loose_gap", "however high train is"),
])
def test_diagnose_that_skips_or_misreads_a_rule_fails_with_that_rules_hint(order: str, hint: str) -> None:
    assert hint in _fails("diagnose", _diagnose_without(order), "wrongly")


def test_diagnose_returning_another_word_is_told_the_labels() -> None:
    _fails("diagnose", lambda history: "overfit", "one of the four labels")


def test_every_synthetic_history_has_the_label_the_rule_gives() -> None:
    from nnlab.checks.capstone.curves import LABELS, make_history
    rule = _diagnose_without("")
    rng = np.random.default_rng(0)
    for label in LABELS:
        for _ in range(200):
            assert rule(make_history(label, rng)) == label


def _stopper(copy_state=True, restore=True, patience_shift=0, ties_improve=False):
    import copy as copy_module

    def early_stopping(model, train_epoch, evaluate, max_epochs, patience):
        best, best_epoch, state = -math.inf, 0, None
        for epoch in range(max_epochs):
            train_epoch(model)
            acc = evaluate(model)
            if acc > best or (ties_improve and acc == best):
                best, best_epoch = acc, epoch
                state = copy_module.deepcopy(model.state_dict()) if copy_state else model.state_dict()
            elif epoch - best_epoch >= patience + patience_shift:
                break
        if restore:
            model.load_state_dict(state)
        return best_epoch
    return early_stopping


@pytest.mark.parametrize(("wrong", "match", "cause"), [
    (_stopper(copy_state=False), "last weights", "copy.deepcopy"),
    (_stopper(restore=False), "last weights", "load_state_dict"),
    (_stopper(patience_shift=1), "wrong epoch", "not one epoch later"),
    (_stopper(patience_shift=-1), "wrong epoch", "never before"),
    (_stopper(ties_improve=True), "wrong epoch", "a tie is no improvement"),
])
def test_early_stopping_mistakes_fail_with_their_cause(wrong, match: str, cause: str) -> None:
    assert cause in _fails("early_stopping", wrong, match)


def test_early_stopping_returning_a_1_based_epoch_fails() -> None:
    right = _stopper()
    _fails("early_stopping", lambda *args: right(*args) + 1, "wrong best epoch")


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


PREDICT_PARAMS = {"seed": 0, "num_val": 600, "tier": "baseline", "secret_seed": None, "num_test": 1200,
                  "hidden": False}
HIDDEN_PARAMS = {**PREDICT_PARAMS, "secret_seed": 918_273_645, "num_test": 300, "hidden": True}


@pytest.fixture(scope="module")
def sandbox():
    """A spawned worker (not forked: a fork's stack would hold this test's frames and their
    parameters): like the sandboxed child, it reaches no frame of the process that judges."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool


def _graded_like_the_grader(sandbox, predict, params: dict):
    """As the grader does: ``run`` in the other process on the payload alone; ``judge`` here."""
    record = sandbox.apply(run_check, ("predict", {"predict": predict}, get_spec("predict").payload(params)))
    return judge_check("predict", record, params)


def test_predict_check_sends_only_uint8_images_never_the_seed_or_labels() -> None:
    payload = get_spec("predict").payload(HIDDEN_PARAMS)
    assert set(payload) == {"X"} and payload["X"].dtype == np.uint8 and payload["X"].shape == (300, 32, 32, 3)
    seen = []

    def predict(X):
        seen.append((X.shape, X.dtype))
        return np.zeros(len(X), dtype=np.int64)
    record = run_check("predict", {"predict": predict}, get_spec("predict").payload(PREDICT_PARAMS))
    assert seen == [((600, 32, 32, 3), np.float32)]
    assert not judge_check("predict", record, PREDICT_PARAMS).passed


def test_quantized_images_are_within_half_a_level_of_the_split() -> None:
    X, _ = hidden_test_split(5, num_test=50)
    restored = quantize(X).astype(np.float32) / 255
    assert np.abs(restored - np.clip(X, 0, 1)).max() <= 0.5 / 255 + 1e-7


def test_each_split_is_drawn_once_per_process_and_cannot_be_changed() -> None:
    """The grader hands every submission the same images: drawn once, shared read-only (a check
    that wrote into them would change the next submission's inputs and labels)."""
    spec = get_spec("predict")
    for params in (PREDICT_PARAMS, HIDDEN_PARAMS):
        first, second = spec.payload(params)["X"], spec.payload(params)["X"]
        assert first is second
        drawn = (hidden_test_split(params["secret_seed"], params["num_test"])[0]
                 if params["secret_seed"] is not None else
                 load_hard_shapes(num_train=0, num_val=params["num_val"], seed=params["seed"]).X_val)
        assert np.array_equal(first, quantize(drawn))
        with pytest.raises(ValueError, match="read-only"):
            first[0, 0, 0, 0] = 1
    assert spec.payload({**HIDDEN_PARAMS, "secret_seed": 5})["X"] is not spec.payload(HIDDEN_PARAMS)["X"]


def _frame_reader(X):
    """Looks for a seed, labels or parameters in every caller's frame."""
    import sys
    frame, found = sys._getframe(1), []
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, dict) and ("secret_seed" in value or "y" in value):
                found.append(value)
        frame = frame.f_back
    for value in found:
        if value.get("secret_seed") is not None:
            return hidden_test_split(value["secret_seed"], value["num_test"])[1]
    return np.zeros(len(X), dtype=np.int64)


def _seed_guesser(X):
    """Regenerates splits from guessed seeds and copies the labels of one that matches."""
    for seed in range(30):
        public = load_hard_shapes(num_train=0, num_val=len(X), seed=seed)
        for images, labels in (hidden_test_split(seed, len(X)), (public.X_val, public.y_val)):
            if np.abs(images[:2] - X[:2]).max() < 0.01:
                return labels
    return np.zeros(len(X), dtype=np.int64)


def _constant(X):
    return np.full(len(X), 2)


def _random(X):
    return np.random.default_rng(0).integers(0, 6, len(X))


@pytest.mark.parametrize("predict", [_frame_reader, _seed_guesser, _constant, _random],
                         ids=["reads-frames", "guesses-seeds", "constant", "random"])
def test_a_predict_that_hunts_for_labels_or_guesses_gets_no_hidden_tier(sandbox, predict) -> None:
    for tier in TIERS:
        verdict = _graded_like_the_grader(sandbox, predict, {**HIDDEN_PARAMS, "tier": tier})
        assert not verdict.passed and "below" in verdict.message, verdict.message


def test_the_seed_guesser_would_find_labels_if_the_seed_were_a_guessable_one(sandbox) -> None:
    """The attack is real: with a small seed in reach it scores; only the secret seed stops it."""
    verdict = _graded_like_the_grader(sandbox, _seed_guesser,
                                      {**HIDDEN_PARAMS, "secret_seed": 7, "tier": "good"})
    assert verdict.passed


def test_too_many_images_is_refused_with_the_cap() -> None:
    with pytest.raises(ValueError, match=str(MAX_IMAGES)):
        get_spec("predict").payload({**HIDDEN_PARAMS, "num_test": MAX_IMAGES + 1})


def test_hidden_predict_calls_use_a_secret_seed_only_in_hidden_cells() -> None:
    calls = [c for c in check_calls(NOTEBOOK) if c.name == "predict"]
    assert all(c.params["secret_seed"] is None for c in calls if not c.hidden)
    secrets = {c.params["secret_seed"] for c in calls if c.hidden}
    assert None not in secrets and all(s > 10**8 for s in secrets)


def test_the_validation_split_of_the_check_is_the_notebooks() -> None:
    notebook = load_hard_shapes(num_train=300, num_val=600, seed=0)
    check_split = load_hard_shapes(num_train=0, num_val=600, seed=0)
    assert np.array_equal(notebook.X_val, check_split.X_val)
