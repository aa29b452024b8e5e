"""mixup: image pairs and their labels blended with λ ~ Beta(α, α).

For every mixed image the partner and λ are recovered, the mix is rebuilt with
``torch.lerp`` and compared, and the λs are checked against Beta(α, α)'s mean and
variance.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.augmentation._common import NOTEBOOK, Functions, random_images, rng_for
from nnlab.checks.compare import as_array, close_to, unpack, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.checks.statistics import expect_within
from nnlab.i18n import Text


def _mixup_inputs(p: Params) -> tuple[np.ndarray, np.ndarray]:
    X = random_images({**p, "dtype": "float64"})
    labels = np.random.default_rng(p["seed"] + 5).integers(0, p["num_classes"], p["N"])
    return X, F.one_hot(torch.from_numpy(labels), p["num_classes"]).double().numpy()


def _mixup_run(functions: Functions, p: Params) -> Record:
    X, Y = _mixup_inputs(p)
    return call(functions["function"], X, Y, p["alpha"], rng_for(p))


def _beta_moments(alpha: float) -> tuple[float, float, float]:
    """Variance of Beta(α, α), and the standard errors of a sample's mean and variance (per √n)."""
    raw = [1.0]
    for k in range(1, 5):
        raw.append(raw[-1] * (alpha + k - 1) / (2 * alpha + k - 1))
    mean = raw[1]
    var = raw[2] - mean**2
    mu4 = raw[4] - 4 * mean * raw[3] + 6 * mean**2 * raw[2] - 3 * mean**4
    return var, math.sqrt(var), math.sqrt(max(mu4 - var**2, 0.0))


def _recover_mixing(X: np.ndarray, X_mixed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each mixed image's λ and partner, and which images were left unmixed.

    Returns:
        ``(lam, partner, unmixed)``: ``(N,)`` float64, ``(N,)`` int and ``(N,)`` bool.
    """
    n = len(X)
    x, e = X.reshape(n, -1), (X_mixed - X).reshape(n, -1)
    # m_i = λ·x_i + (1 − λ)·x_j  ⇔  e_i = m_i − x_i = (1 − λ)·(x_j − x_i): find the j whose
    # direction x_j − x_i is parallel to e_i, then 1 − λ = e_i·(x_j − x_i) / |x_j − x_i|²
    xt, et = torch.from_numpy(x), torch.from_numpy(e)
    xx, ex = (xt @ xt.T).numpy(), (et @ xt.T).numpy()
    dd = np.diag(xx)[:, None] - 2 * xx + np.diag(xx)[None, :]
    ed = ex - np.diag(ex)[:, None]
    ee = np.sum(e * e, axis=1)[:, None]
    np.fill_diagonal(dd, np.inf)
    misfit = 1 - ed**2 / (np.maximum(ee, 1e-300) * dd)  # 1 − cos², 0 for the true partner
    partner = np.argmin(misfit, axis=1)
    lam = 1 - ed[np.arange(n), partner] / dd[np.arange(n), partner]
    # λ within ~1e-9 of 1 (or a sample that is its own partner): nothing to identify
    unmixed = np.max(np.abs(e), axis=1) < 1e-9
    lam[unmixed], partner[unmixed] = 1.0, np.arange(n)[unmixed]
    return lam, partner, unmixed


def _mixup_judge(record: Record, p: Params) -> None:
    X, Y = _mixup_inputs(p)
    what = Text("mixup")
    X_mixed, Y_mixed = unpack(value_of(record, what), what, ("X_mixed", "Y_mixed"))
    X_mixed = as_array(X_mixed, what + Text(": X_mixed"), X)
    Y_mixed = as_array(Y_mixed, what + Text(": Y_mixed"), Y)
    lam, partner, unmixed = _recover_mixing(X, X_mixed)
    weight = torch.from_numpy(lam)
    rebuilt = torch.lerp(torch.from_numpy(X[partner]), torch.from_numpy(X), weight[:, None, None, None])
    close_to(X_mixed, rebuilt.numpy(), what=what + Text(": X_mixed"),
             cause=Text("each mixed image must be λ·X[i] + (1 − λ)·X[perm[i]] with another image of the "
                        "batch (perm a random permutation) and 0 ≤ λ ≤ 1.",
                        "每张混合图像应为 λ·X[i] + (1 − λ)·X[perm[i]]，与本批次的另一张图像混合"
                        "（perm 为随机排列），0 ≤ λ ≤ 1。"))
    if lam.min() < -1e-9 or lam.max() > 1 + 1e-9:
        fail(what, Text("uses mixing weights outside [0, 1]", "混合权重超出 [0, 1]"),
             detail=Text(f"λ from {lam.min():.3g} to {lam.max():.3g}",
                         f"λ 从 {lam.min():.3g} 到 {lam.max():.3g}"),
             cause=Text("λ ~ Beta(alpha, alpha) lies in [0, 1].", "λ ~ Beta(alpha, alpha)，取值在 [0, 1]。"))
    expected_Y = torch.lerp(torch.from_numpy(Y[partner]), torch.from_numpy(Y), weight[:, None])
    close_to(Y_mixed, expected_Y.numpy(), what=what + Text(": Y_mixed"),
             cause=Text("mix the labels with the same λ and the same partner as the images: "
                        "Y_mixed = λ·Y + (1 − λ)·Y[perm].",
                        "标签要用与图像相同的 λ 和相同的配对来混合：Y_mixed = λ·Y + (1 − λ)·Y[perm]。"))
    mixed = ~unmixed
    distinct, count = len(set(partner[mixed].tolist())), int(mixed.sum())
    if distinct != count:
        fail(what, Text("pairs images with repeated partners", "配对中有重复的图像"),
             detail=Text(f"{count} mixed images use {distinct} distinct partners",
                         f"{count} 张混合图像只用了 {distinct} 个不同的配对图像"),
             cause=Text("partners come from a permutation of the batch (perm = rng.permutation(N)): "
                        "every image is used exactly once as a partner.",
                        "配对来自批次的一个排列（perm = rng.permutation(N)）：每张图像恰好作为配对用一次。"))
    _judge_lambdas(lam, mixed, float(p["alpha"]), what)


def _judge_lambdas(lam: np.ndarray, mixed: np.ndarray, alpha: float, what: Text) -> None:
    """One λ per sample, drawn from Beta(alpha, alpha): mean and variance within 5 standard errors."""
    var, sd, sd_var = _beta_moments(alpha)
    sample = lam  # λ ≈ 1 where nothing could be identified (a self-partner adds at most 1/N bias)
    k = len(sample)
    rule = Text(f"draw one λ per sample from Beta(alpha, alpha) (mean 0.5, variance "
                f"1/(4(2α+1)) = {var:.3g}).",
                f"每个样本从 Beta(alpha, alpha) 抽取一个 λ（均值 0.5，方差 1/(4(2α+1)) = {var:.3g}）。")
    if mixed.sum() > 1 and np.ptp(lam[mixed]) < 1e-9:
        fail(what, Text("uses the same λ for every sample", "所有样本使用了同一个 λ"), cause=rule,
             next_step=Text("lam = rng.beta(alpha, alpha, size=N)", "lam = rng.beta(alpha, alpha, size=N)"))
    expect_within(float(sample.mean()), 0.5, stderr=sd / math.sqrt(k), what=what,
                  statistic_name=Text("mean of the recovered λ", "恢复出的 λ 的均值"), cause=rule)
    expect_within(float(sample.var()), var, stderr=sd_var / math.sqrt(k), what=what,
                  statistic_name=Text(f"variance of the recovered λ (alpha = {alpha:g})",
                                      f"恢复出的 λ 的方差（alpha = {alpha:g}）"),
                  cause=rule)


register(Spec(
    "mixup", NOTEBOOK,
    Text("mixup blends image pairs and their labels with λ ~ Beta(α, α)",
         "mixup 以 λ ~ Beta(α, α) 混合图像对及其标签"),
    ("function",), _mixup_run, _mixup_judge,
    {"seed": 0, "N": 300, "H": 4, "W": 4, "C": 3, "num_classes": 5, "alpha": 0.4},
    numpy_only=True,
))
