"""The checks of 04_regularization: the solution passes them all; plausible mistakes fail helpfully.

Random exercises are checked statistically, so besides the notebook's own
parameters the solution must pass on other seeds too (a correct
implementation fails a 5-standard-error test less than once in a million).
Each wrong implementation below is a mistake students make; the test asserts
that the check fails with a message naming the function and the likely cause.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnlab.checks import check, codec, get_spec

from tests.notebooks import (
    call_ids,
    cells,
    check_calls,
    nbgrader_meta,
    one_test_cell_per_check,
    registered_checks,
    release_path,
    run_check_call,
    solution_path,
)

NOTEBOOK = "04_regularization"
CHECKS = (
    "EarlyStopping", "ensemble_predict", "l2_penalty", "l1_penalty", "elastic_net_penalty",
    "dropout_forward", "dropout_backward", "dropconnect_forward", "stochastic_depth",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "horizontal_flip", "random_crop",
    "color_jitter", "cutout", "mixup",
)
#: the functions each check takes, as the test cells pass them
ROLES = {"dropout_backward": ("dropout_forward", "dropout_backward"),
         "batchnorm_backward": ("batchnorm_forward", "batchnorm_backward"),
         "batchnorm_backward_alt": ("batchnorm_forward", "batchnorm_backward_alt")}


def _functions(ns: dict[str, Any], name: str) -> tuple[Any, ...]:
    return tuple(ns[f] for f in ROLES.get(name, (name,)))


# --- the solution and the notebook's test cells ---------------------------------------------

def test_registered_checks_are_the_notebooks() -> None:
    assert registered_checks(NOTEBOOK) == set(CHECKS)


def test_one_test_cell_per_check_with_visible_and_hidden_calls() -> None:
    one_test_cell_per_check(NOTEBOOK, CHECKS)


def test_points_and_written_answers() -> None:
    graded = [nbgrader_meta(c) for c in cells(solution_path(NOTEBOOK)) if nbgrader_meta(c).get("grade")]
    assert all(1 <= m["points"] <= 2 for m in graded if m["grade_id"].startswith("test_"))
    answers = [m for m in graded if m["grade_id"].startswith("answer_")]
    assert len(answers) >= 2 and all(m["solution"] for m in answers)


@pytest.mark.parametrize("call", check_calls(NOTEBOOK), ids=call_ids(check_calls(NOTEBOOK)))
def test_solution_passes_every_check_call_of_the_test_cells(ns, call) -> None:
    run_check_call(ns, call)


RANDOM_CHECKS = ("dropout_forward", "dropout_backward", "dropconnect_forward", "stochastic_depth",
                 "EarlyStopping", "horizontal_flip", "random_crop", "color_jitter", "cutout", "mixup")


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(RANDOM_CHECKS), seed=st.integers(0, 100_000))
def test_solution_passes_random_checks_on_any_seed(ns, name: str, seed: int) -> None:
    check(name, *_functions(ns, name), seed=seed, hidden=True)


@pytest.mark.parametrize("p_survive", [0.5, 0.8, 0.95])
def test_stochastic_depth_solution_passes_both_modes_on_many_seeds(ns, p_survive: float) -> None:
    """Bands of 5 standard errors: a correct stochastic_depth fails one seed in ~1.7 million."""
    for seed in range(15):
        check("stochastic_depth", ns["stochastic_depth"], seed=seed, p_survive=p_survive, hidden=True)


def test_stochastic_depth_batch_mode_band_is_five_standard_errors(ns) -> None:
    """400 calls at p_survive = 0.8: SE = √(0.8·0.2/400) = 0.02, band ±0.1: 89 % passes, 91 % fails."""
    def survive_in(fraction):
        def forward(x, residual, p_survive, train, rng, mode="batch"):
            if not train or mode == "row":
                return ns["stochastic_depth"](x, residual, p_survive, train, rng, mode)
            kept = forward.calls % 100 < round(fraction * 100)
            forward.calls += 1
            return x + kept * residual
        forward.calls = 0
        return forward

    check("stochastic_depth", survive_in(0.89))
    with pytest.raises(AssertionError, match=r"fraction of calls that kept the residual.*= 0\.91, "
                                             r"expected 0\.8 ± 5×0\.02"):
        check("stochastic_depth", survive_in(0.91))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), p_drop=st.sampled_from([0.05, 0.3, 0.5, 0.7, 0.9]),
       shape=st.sampled_from([(2000,), (40, 60), (5, 20, 30)]))
def test_dropout_solution_passes_for_any_p(ns, seed: int, p_drop: float, shape: tuple) -> None:
    check("dropout_forward", ns["dropout_forward"], seed=seed, p_drop=p_drop, shape=shape, hidden=True)


# --- wrong implementations ----------------------------------------------------------------------

def _wrap(name: str, change: Callable[..., Any]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A factory: the solution's functions with one of them replaced by ``change(solution)``."""
    def make(ns: dict[str, Any]) -> tuple[Any, ...]:
        functions = list(_functions(ns, name))
        functions[-1] = change(ns)
        return tuple(functions)

    make.__name__ = change.__name__
    return make


def _l2_with_half(ns):
    return lambda W, lam: (0.5 * lam * np.sum(W * W), lam * W)


def _l1_gradient_as_l2(ns):
    return lambda W, lam: (lam * np.sum(np.abs(W)), lam * W)


def _elastic_sklearn_convention(ns):
    return lambda W, lam, beta: (lam * np.sum(beta * W * W + (1 - beta) * np.abs(W)),
                                 lam * (2 * beta * W + (1 - beta) * np.sign(W)))


def _dropout_p_as_keep(ns):
    return lambda x, p_drop, train, rng, inverted=True: ns["dropout_forward"](
        x, 1 - p_drop, train, rng, inverted)


def _dropout_not_inverted(ns):
    def forward(x, p_drop, train, rng, inverted=True):
        return ns["dropout_forward"](x, p_drop, train, rng, False) if train else (x, None)
    return forward


def _dropout_divides_by_p_drop(ns):
    def forward(x, p_drop, train, rng, inverted=True):
        if not (train and inverted):
            return ns["dropout_forward"](x, p_drop, train, rng, inverted)
        mask = (rng.random(x.shape) < 1 - p_drop) / p_drop
        return x * mask, mask
    return forward


def _dropout_boolean_mask(ns):
    def forward(x, p_drop, train, rng, inverted=True):
        out, mask = ns["dropout_forward"](x, p_drop, train, rng, inverted)
        return out, (None if mask is None else mask != 0)
    return forward


def _dropout_vanilla_unscaled_at_test(ns):
    def forward(x, p_drop, train, rng, inverted=True):
        return ns["dropout_forward"](x, p_drop, train, rng, inverted) if train else (x.copy(), None)
    return forward


def _dropout_backward_unscaled(ns):
    return lambda dout, mask: dout * (mask != 0)


def _dropconnect_on_activations(ns):
    def forward(x, W, b, p_drop, train, rng):
        if not train:
            return x @ W + b, None
        mask = (rng.random(x.shape) < 1 - p_drop) / (1 - p_drop)
        return (x * mask) @ W + b, mask
    return forward


def _dropconnect_unscaled(ns):
    def forward(x, W, b, p_drop, train, rng):
        if not train:
            return x @ W + b, None
        mask = (rng.random(W.shape) < 1 - p_drop).astype(float)
        return x @ (W * mask) + b, mask
    return forward


def _depth_per_element(ns):
    def forward(x, residual, p_survive, train, rng, mode="batch"):
        if not train:
            return x + p_survive * residual
        return x + (rng.random(x.shape) < p_survive) * residual
    return forward


def _depth_inverted(ns):
    def forward(x, residual, p_survive, train, rng, mode="batch"):
        if not train:
            return x + residual
        shape = () if mode == "batch" else (len(x),) + (1,) * (x.ndim - 1)
        return x + (rng.random(shape) < p_survive) * residual / p_survive
    return forward


def _depth_always_per_sample(ns):
    """mode ignored: one draw per sample in both modes (the notebook's rule before the paper's)."""
    return lambda x, residual, p_survive, train, rng, mode="batch": ns["stochastic_depth"](
        x, residual, p_survive, train, rng, mode="row")


def _depth_always_one_coin(ns):
    """mode ignored: one draw for the whole batch in both modes."""
    return lambda x, residual, p_survive, train, rng, mode="batch": ns["stochastic_depth"](
        x, residual, p_survive, train, rng, mode="batch")


def _depth_without_mode(ns):
    """The old contract, without the mode argument."""
    return lambda x, residual, p_survive, train, rng: ns["stochastic_depth"](
        x, residual, p_survive, train, rng)


def _depth_p_as_drop(ns):
    def forward(x, residual, p_survive, train, rng, mode="batch"):
        return ns["stochastic_depth"](x, residual, 1 - p_survive if train else p_survive, train, rng, mode)
    return forward


def _bn_biased_running_var(ns):
    def forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
        out, cache, new_mean, new_var = ns["batchnorm_forward"](
            x, gamma, beta, running_mean, running_var, train, momentum, eps)
        if train:
            new_var = (1 - momentum) * running_var + momentum * x.var(axis=0)
        return out, cache, new_mean, new_var
    return forward


def _bn_momentum_swapped(ns):
    return lambda x, gamma, beta, rm, rv, train, momentum=0.1, eps=1e-5: ns["batchnorm_forward"](
        x, gamma, beta, rm, rv, train, 1 - momentum, eps)


def _bn_batch_stats_at_test(ns):
    def forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
        result = ns["batchnorm_forward"](x, gamma, beta, running_mean, running_var, True, momentum, eps)
        return result if train else (result[0], None, running_mean, running_var)
    return forward


def _bn_backward_alt_without_variance_path(ns):
    def backward(dout, cache):
        x_hat, gamma, std = cache
        n = dout.shape[0]
        dx_hat = dout * gamma
        return ((n * dx_hat - dx_hat.sum(axis=0)) / (n * std), (dout * x_hat).sum(axis=0),
                dout.sum(axis=0))
    return backward


def _bn_backward_direct_path_only(ns):
    def backward(dout, cache):
        x_hat, gamma, std = cache
        return dout * gamma / std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    return backward


class _ShallowCopy:
    def __init__(self, patience):
        self.patience, self.best, self.best_params, self.waited = patience, -np.inf, None, 0

    def step(self, val_metric, params):
        if val_metric > self.best:
            self.best, self.best_params, self.waited = val_metric, dict(params), 0
        else:
            self.waited += 1
        return self.waited >= self.patience


class _TieImproves(_ShallowCopy):
    def step(self, val_metric, params):
        if val_metric >= self.best:
            self.best, self.best_params, self.waited = val_metric, copy.deepcopy(params), 0
        else:
            self.waited += 1
        return self.waited >= self.patience


class _LowerIsBetter(_ShallowCopy):
    def __init__(self, patience):
        super().__init__(patience)
        self.best = np.inf

    def step(self, val_metric, params):
        if val_metric < self.best:
            self.best, self.best_params, self.waited = val_metric, copy.deepcopy(params), 0
        else:
            self.waited += 1
        return self.waited >= self.patience


class _OffByOne(_ShallowCopy):
    def step(self, val_metric, params):
        super().step(val_metric, params)
        self.best_params = copy.deepcopy(self.best_params)
        return self.waited > self.patience


def _ensemble_wrong_axis(ns):
    return lambda probabilities: np.mean(np.asarray(probabilities), axis=1)


def _ensemble_geometric(ns):
    return lambda probabilities: np.exp(np.mean(np.log(np.asarray(probabilities)), axis=0))


def _flip_vertical(ns):
    def flip(X, rng, p=0.5):
        out = X.copy()
        chosen = rng.random(len(X)) < p
        out[chosen] = X[chosen, ::-1]
        return out
    return flip


def _flip_p_as_keep(ns):
    return lambda X, rng, p=0.5: ns["horizontal_flip"](X, rng, 1 - p)


def _flip_whole_batch(ns):
    return lambda X, rng, p=0.5: X[:, :, ::-1].copy() if rng.random() < p else X.copy()


def _crop_off_by_one(ns):
    def crop(X, size, padding, rng):
        n, h, w, _ = X.shape
        padded = np.pad(X, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
        tops = rng.integers(0, h + 2 * padding - size, size=n)
        lefts = rng.integers(0, w + 2 * padding - size, size=n)
        return np.stack([padded[i, t:t + size, l:l + size] for i, (t, l) in enumerate(zip(tops, lefts))])
    return crop


def _crop_edge_padding(ns):
    def crop(X, size, padding, rng):
        n, h, w, _ = X.shape
        padded = np.pad(X, ((0, 0), (padding, padding), (padding, padding), (0, 0)), mode="edge")
        tops = rng.integers(0, h + 2 * padding - size + 1, size=n)
        lefts = rng.integers(0, w + 2 * padding - size + 1, size=n)
        return np.stack([padded[i, t:t + size, l:l + size] for i, (t, l) in enumerate(zip(tops, lefts))])
    return crop


def _jitter_with(brightness=None, contrast_base=None, saturation_base=None, clip=True):
    """A color_jitter with one of its three steps replaced."""
    def gray(images):
        return (0.299 * images[..., 0] + 0.587 * images[..., 1] + 0.114 * images[..., 2])[..., None]

    def jitter(X, b, c, s, rng):
        n = len(X)

        def factor(k):
            return rng.uniform(max(0.0, 1 - k), 1 + k, size=(n, 1, 1, 1))

        limit = (lambda a: np.clip(a, 0, 1)) if clip else (lambda a: a)
        out = brightness(X, factor(b)) if brightness else limit(factor(b) * X)
        f = factor(c)
        base = contrast_base(out) if contrast_base else gray(out).mean(axis=(1, 2, 3), keepdims=True)
        out = limit(f * out + (1 - f) * base)
        f = factor(s)
        base = saturation_base(out) if saturation_base else gray(out)
        out = limit(f * out + (1 - f) * base)
        return out.astype(X.dtype)

    return jitter


def _jitter_additive_brightness(ns):
    return _jitter_with(brightness=lambda X, f: np.clip(X + (f - 1), 0, 1))


def _jitter_channel_mean_saturation(ns):
    return _jitter_with(saturation_base=lambda out: out.mean(axis=-1, keepdims=True))


def _jitter_per_channel_contrast(ns):
    return _jitter_with(contrast_base=lambda out: out.mean(axis=(1, 2), keepdims=True))


def _jitter_no_clamp(ns):
    return _jitter_with(clip=False)


def _jitter_one_factor_per_batch(ns):
    def jitter(X, b, c, s, rng):
        out = X
        for k, base in ((b, lambda a: 0.0),
                        (c, lambda a: (a @ [0.299, 0.587, 0.114]).mean(axis=(1, 2))[:, None, None, None]),
                        (s, lambda a: (a @ [0.299, 0.587, 0.114])[..., None])):
            f = rng.uniform(max(0.0, 1 - k), 1 + k)
            out = np.clip(f * out + (1 - f) * base(out), 0, 1)
        return out.astype(X.dtype)
    return jitter


def _cutout_inside_only(ns):
    def cut(X, size, rng):
        n, h, w, _ = X.shape
        out = X.copy()
        tops, lefts = rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n)
        for i in range(n):
            out[i, tops[i]:tops[i] + size, lefts[i]:lefts[i] + size] = 0
        return out
    return cut


def _cutout_one_channel_kept(ns):
    def cut(X, size, rng):
        out = ns["cutout"](X, size, rng)
        out[..., 0] = X[..., 0]
        return out
    return cut


def _cutout_too_small(ns):
    def cut(X, size, rng):
        n, h, w, _ = X.shape
        out = X.copy()
        cy, cx = rng.integers(0, h, n), rng.integers(0, w, n)
        for i in range(n):
            out[i, max(cy[i] - size // 2, 0):cy[i] + size // 2 - 1,
                max(cx[i] - size // 2, 0):cx[i] + size // 2 - 1] = 0
        return out
    return cut


def _mixup_one_lambda(ns):
    def mix(X, Y, alpha, rng):
        lam, perm = rng.beta(alpha, alpha), rng.permutation(len(X))
        return lam * X + (1 - lam) * X[perm], lam * Y + (1 - lam) * Y[perm]
    return mix


def _mixup_labels_unmixed(ns):
    return lambda X, Y, alpha, rng: (ns["mixup"](X, Y, alpha, rng)[0], Y.copy())


def _mixup_uniform_lambda(ns):
    def mix(X, Y, alpha, rng):
        n = len(X)
        lam, perm = rng.uniform(0, 1, n), rng.permutation(n)
        lx = lam.reshape(n, 1, 1, 1)
        return lx * X + (1 - lx) * X[perm], lam[:, None] * Y + (1 - lam[:, None]) * Y[perm]
    return mix


def _mixup_with_replacement(ns):
    def mix(X, Y, alpha, rng):
        n = len(X)
        lam, partner = rng.beta(alpha, alpha, n), rng.integers(0, n, n)
        lx = lam.reshape(n, 1, 1, 1)
        return lx * X + (1 - lx) * X[partner], lam[:, None] * Y + (1 - lam[:, None]) * Y[partner]
    return mix


WRONG = [
    ("l2_penalty", _wrap("l2_penalty", _l2_with_half), {}, (r"^l2_penalty: loss", r"without a factor ½")),
    ("l1_penalty", _wrap("l1_penalty", _l1_gradient_as_l2), {}, (r"^l1_penalty: dW", r"sign\(W\)")),
    ("elastic_net_penalty", _wrap("elastic_net_penalty", _elastic_sklearn_convention), {},
     (r"^elastic_net_penalty: loss", r"β weights only the squared term")),
    ("dropout_forward", _wrap("dropout_forward", _dropout_p_as_keep), {},
     (r"^dropout_forward \(inverted=True, train=True\): fraction of zeros", r"= 0\.7\d*, expected 0\.2",
      r"p_drop was used as the keep probability", r"the keep probability is p_keep = 1 − p_drop",
      r"torch\.nn\.functional\.dropout\(x, p=0\.2\) zeroes")),
    ("dropout_forward", _wrap("dropout_forward", _dropout_not_inverted), {},
     (r"kept entries: are scaled by the wrong factor", r"x·1 \(median\), expected x·1\.25",
      r"not scaled")),
    ("dropout_forward", _wrap("dropout_forward", _dropout_divides_by_p_drop), {},
     (r"expected x·1\.25", r"you divided by p_drop")),
    ("dropout_forward", _wrap("dropout_forward", _dropout_boolean_mask), {},
     (r"mask: is not the array out was multiplied by", r"bool")),
    ("dropout_forward", _wrap("dropout_forward", _dropout_vanilla_unscaled_at_test), {},
     (r"^dropout_forward \(inverted=False, train=False\): out", r"out = p_keep · x")),
    ("dropout_backward", _wrap("dropout_backward", _dropout_backward_unscaled), {},
     (r"^dropout_backward \(after inverted=True\): dx", r"scaled exactly as the forward pass")),
    ("dropconnect_forward", _wrap("dropconnect_forward", _dropconnect_on_activations), {},
     (r"mask: should have W's shape", r"expected \(60, 50\)", r"drops weights, not activations")),
    ("dropconnect_forward", _wrap("dropconnect_forward", _dropconnect_unscaled), {},
     (r"mask: has the wrong scale", r"inverted like inverted dropout")),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_per_element), {},
     (r"treats the samples of one batch differently", r"mode='batch' is the paper's")),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_inverted), {},
     (r"mode='batch'\): scales the kept residual branch", r"Huang et al\. 2016",
      r"torchvision's StochasticDepth\s+rescales during training")),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_always_per_sample), {},
     (r"mode='batch'\): treats the samples of one batch differently", r"in \d+ of 400 calls",
      r"one draw per block for the whole mini-batch")),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_always_one_coin), {},
     (r"mode='row'\): survival: is statistically off", r"not one for the whole batch",
      r"mode='row' draws one per sample, as torchvision's mode='row'")),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_without_mode), {},
     (r"mode",)),
    ("stochastic_depth", _wrap("stochastic_depth", _depth_p_as_drop), {},
     (r"= 0\.[12]\d*, expected 0\.8", r"probability of KEEPING")),
    ("batchnorm_forward", _wrap("batchnorm_forward", _bn_biased_running_var), {},
     (r"running_var", r"UNBIASED batch variance")),
    ("batchnorm_forward", _wrap("batchnorm_forward", _bn_momentum_swapped), {},
     (r"running_mean", r"weight of the NEW batch statistic")),
    ("batchnorm_forward", _wrap("batchnorm_forward", _bn_batch_stats_at_test), {},
     (r"^batchnorm_forward \(train=False\): out", r"running statistics")),
    ("batchnorm_backward", _wrap("batchnorm_backward", _bn_backward_direct_path_only), {},
     (r"^batchnorm_backward: dx", r"three ways")),
    ("batchnorm_backward_alt", _wrap("batchnorm_backward_alt", _bn_backward_alt_without_variance_path), {},
     (r"^batchnorm_backward_alt: dx", r"one\s+expression", r"1/N")),
    ("EarlyStopping", lambda ns: (_ShallowCopy,), {},
     (r"best_params: changed after step\(\) returned", r"copy\.deepcopy\(params\)")),
    ("EarlyStopping", lambda ns: (_TieImproves,), {},
     (r"stops at the wrong step", r"a value equal to the best is\s+not an improvement")),
    ("EarlyStopping", lambda ns: (_LowerIsBetter,), {}, (r"stops at the wrong step", r"higher val_metric")),
    ("EarlyStopping", lambda ns: (_OffByOne,), {}, (r"returned False, expected True",)),
    ("ensemble_predict", _wrap("ensemble_predict", _ensemble_wrong_axis), {},
     (r"has the wrong shape", r"expected \(7, 4\)")),
    ("ensemble_predict", _wrap("ensemble_predict", _ensemble_geometric), {},
     (r"values differ from torch", r"mean over the model axis")),
    ("horizontal_flip", _wrap("horizontal_flip", _flip_vertical), {},
     (r"neither the original nor its mirror image", r"that is a vertical flip")),
    ("horizontal_flip", _wrap("horizontal_flip", _flip_p_as_keep), {},
     (r"fraction of flipped images \(p = 0\.3\) = 0\.7", r"probability of FLIPPING")),
    ("horizontal_flip", _wrap("horizontal_flip", _flip_whole_batch), {},
     (r"statistically off", r"one coin per image")),
    ("random_crop", _wrap("random_crop", _crop_off_by_one), {},
     (r"never uses some top offsets", r"0\.\.3, possible: 0\.\.4", r"inclusive")),
    ("random_crop", _wrap("random_crop", _crop_edge_padding), {},
     (r"not a crop of the zero-padded image", r"pad H and W \(not N or C\) with zeros")),
    ("color_jitter", _wrap("color_jitter", _jitter_additive_brightness), {},
     (r"^color_jitter \(brightness only\)", r"multiplies the whole image by one factor")),
    ("color_jitter", _wrap("color_jitter", _jitter_channel_mean_saturation), {},
     (r"^color_jitter \(saturation only\)", r"0\.299 R \+ 0\.587 G \+ 0\.114 B")),
    ("color_jitter", _wrap("color_jitter", _jitter_per_channel_contrast), {},
     (r"^color_jitter \(contrast only\)", r"mean of its grayscale version")),
    ("color_jitter", _wrap("color_jitter", _jitter_no_clamp), {}, (r"outside \[0, 1\]", r"clamp")),
    ("color_jitter", _wrap("color_jitter", _jitter_one_factor_per_batch), {},
     (r"statistically off", r"one per image")),
    ("cutout", _wrap("cutout", _cutout_inside_only), {},
     (r"fraction of squares clipped by the border = 0, expected 0\.51", r"uniform over ALL pixels")),
    ("cutout", _wrap("cutout", _cutout_one_channel_kept), {},
     (r"changed pixels without setting them to 0", r"every channel")),
    ("cutout", _wrap("cutout", _cutout_too_small), {}, (r"other than one size×size square",)),
    ("mixup", _wrap("mixup", _mixup_one_lambda), {},
     (r"uses the same λ for every sample", r"one λ per sample")),
    ("mixup", _wrap("mixup", _mixup_labels_unmixed), {},
     (r"^mixup: Y_mixed", r"same λ and the same partner")),
    ("mixup", _wrap("mixup", _mixup_uniform_lambda), {},
     (r"variance of the recovered λ \(alpha = 0\.4\)", r"Beta\(alpha, alpha\)")),
    ("mixup", _wrap("mixup", _mixup_with_replacement), {},
     (r"repeated partners", r"rng\.permutation\(N\)")),
]


@pytest.mark.parametrize("name,factory,params,patterns", WRONG,
                         ids=[f"{n}-{f.__name__.strip('_')}" for n, f, _, _ in WRONG])
def test_wrong_implementation_fails_with_helpful_message(
    ns, name: str, factory: Callable[..., Any], params: dict[str, Any], patterns: tuple[str, ...]
) -> None:
    with pytest.raises(AssertionError) as failure:
        check(name, *factory(ns), **params)
    message = str(failure.value)
    for pattern in patterns:
        assert re.search(pattern, message, flags=re.MULTILINE), f"{pattern!r} not in:\n{message}"
    assert "Likely cause" in message


def test_color_jitter_accepts_pil_and_torchvision_grayscale_weights(monkeypatch) -> None:
    """PIL's 0.299 (the notebook's) and torchvision's tensor 0.2989 differ by 1e-4·R, far above the
    float32 tolerance (1e-5): a correct jitter with either passes, the plain channel mean does not."""
    def jitter_with(weights):
        def gray(images):
            return (images @ np.array(weights))[..., None]
        return _jitter_with(contrast_base=lambda out: gray(out).mean(axis=(1, 2, 3), keepdims=True),
                            saturation_base=gray)

    check("color_jitter", jitter_with((0.2989, 0.587, 0.114)), seed=3)
    check("color_jitter", jitter_with((0.299, 0.587, 0.114)), seed=3)
    with pytest.raises(AssertionError, match=r"color_jitter \((contrast|saturation) only\)"):
        check("color_jitter", jitter_with((1 / 3, 1 / 3, 1 / 3)), seed=3)
    # the second set of weights is needed: with PIL's alone, torchvision's 0.2989 fails
    from nnlab.checks.augmentation import color_jitter

    monkeypatch.setitem(color_jitter.GRAY_WEIGHTS, "torchvision", color_jitter.GRAY_WEIGHTS["PIL"])
    with pytest.raises(AssertionError, match=r"values differ from torch"):
        check("color_jitter", jitter_with((0.2989, 0.587, 0.114)), seed=3)


def test_every_exercise_has_a_wrong_implementation() -> None:
    assert {name for name, *_ in WRONG} == set(CHECKS)


def test_not_implemented_is_reported_as_such(ns) -> None:
    def missing(*args, **kwargs):
        raise NotImplementedError

    for name in CHECKS:
        functions = list(_functions(ns, name))
        functions[-1] = missing
        with pytest.raises(AssertionError, match="not implemented yet"):
            check(name, *functions)


def test_hidden_failure_leaves_out_the_numbers(ns) -> None:
    with pytest.raises(AssertionError) as failure:
        check("dropout_forward", _dropout_p_as_keep(ns), seed=2024, shape=(3, 40, 50), p_drop=0.6,
              hidden=True)
    message = str(failure.value)
    assert message.startswith("[hidden check dropout_forward] dropout_forward (inverted=True, train=True)")
    assert "keep probability" in message and "standard error" not in message
    assert not re.search(r"= 0\.\d", message)


def test_wrong_implementations_fail_in_chinese_too(ns, chinese) -> None:
    with pytest.raises(AssertionError) as failure:
        check("dropout_forward", _dropout_p_as_keep(ns))
    message = str(failure.value)
    assert "统计量偏离预期" in message and "标准误" in message and "保留概率" in message
    with pytest.raises(AssertionError) as failure:
        check("mixup", _mixup_labels_unmixed(ns))
    assert "相同的 λ" in str(failure.value) and "可能原因" in str(failure.value)
    with pytest.raises(AssertionError) as failure:
        check("EarlyStopping", _ShallowCopy)
    assert "copy.deepcopy" in str(failure.value) and "浅拷贝" in str(failure.value)


def test_batchnorm_cache_never_leaves_the_students_process(ns) -> None:
    """The run step passes the cache to the student's backward only; the record holds no cache."""
    seen = []

    def forward(*args, **kwargs):
        result = ns["batchnorm_forward"](*args, **kwargs)
        seen.append(result[1])
        return result

    for name, functions in (("batchnorm_forward", {"forward": forward}),
                            ("batchnorm_backward", {"forward": forward,
                                                    "backward": ns["batchnorm_backward"]})):
        spec = get_spec(name)
        record = codec.decode(codec.encode(spec.run(functions, {**spec.params, "hidden": False})))
        text = repr(record)
        for cache in seen:
            for part in cache or ():
                if isinstance(part, np.ndarray) and part.size > 1:
                    assert not any(isinstance(v, np.ndarray) and v.shape == part.shape
                                   and np.array_equal(v, part) for v in _arrays(record)), text
        spec.judge(record, {**spec.params, "hidden": False})


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def test_early_stopping_params_are_not_deep_copied_by_the_check(ns) -> None:
    """The run step hands the same params dict to step() every time (no defensive copy)."""
    received = []

    class Recorder(ns["EarlyStopping"]):
        def step(self, val_metric, params):
            received.append(params)
            return super().step(val_metric, params)

    check("EarlyStopping", Recorder)
    assert len({id(p) for p in received}) <= 4  # one params dict per metric sequence


def test_student_cannot_corrupt_later_inputs() -> None:
    """A function that writes into its input must not change what the judge regenerates."""
    def flip_in_place(X, rng, p=0.5):
        chosen = rng.random(len(X)) < p
        X[chosen] = X[chosen, :, ::-1, :].copy()
        return X

    check("horizontal_flip", flip_in_place)


# --- the release -------------------------------------------------------------------------------

def test_release_holds_no_model_answer() -> None:
    """Besides the nbgrader markers (tests/test_course_notebooks.py): the written answers' model
    text and the deep copy that EarlyStopping's solution makes."""
    source = "".join(cell["source"] for cell in cells(release_path(NOTEBOOK)))
    assert "Model answer" not in source and "copy.deepcopy(params)\n" not in source
