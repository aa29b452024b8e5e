"""The dropout explorer of 04_regularization: activations at train vs test time.

It computes dropout with torch (as ``torch.nn.functional.dropout`` does, from a generator of its
own), not with your exercise code, so it works before you implement anything. The augmentation previewer is in
:mod:`nnlab.widgets.augmentation`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from nnlab.fonts import figure_words as _t
from nnlab.plots import fix_limits_and_ticks
from nnlab.widgets import Choice, Explorer, Slider, explorer
from nnlab.widgets.live import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# --------------------------------------------------------------------------- dropout

#: the variants dropout_explorer compares (the third one shows why test time needs scaling)
DROPOUT_MODES = ("inverted", "vanilla", "no test-time scaling (wrong)")


def dropout_activations(p_drop: float, mode: str, num_masks: int = 100, seed: int = 0
                        ) -> dict[str, np.ndarray]:
    """A ReLU layer's activations under train-mode dropout and in test mode.

    The layer is ``relu(x @ W)`` with ``x`` (128, 64) standard normal and Kaiming-scaled
    ``W`` (64, 96). Dropout zeroes each activation with probability ``p_drop``. The
    inverted-dropout passes are cached per ``p_drop`` (the variants differ only by a factor).

    Args:
        p_drop: probability of dropping a unit, in [0, 1).
        mode: ``"inverted"`` (scale by 1/p_keep in training, nothing at test),
            ``"vanilla"`` (nothing in training, × p_keep at test, as in the lecture's
            ``predict``), or ``"no test-time scaling (wrong)"`` (vanilla training, no scaling at test).
        num_masks: how many train-mode passes to average for the expectation.

    Returns:
        ``{"train": (128, 96) one train-mode pass, "train_mean": (96,) per-unit mean over
        all passes and samples, "test": (128, 96) test-mode output, "test_mean": (96,)}``,
        float64 arrays.
    """
    if mode not in DROPOUT_MODES:
        raise ValueError(f"unknown dropout mode {mode!r}; choose one of {', '.join(DROPOUT_MODES)}")
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    a, one_pass, pass_mean = _inverted_dropout_passes(_notch(p_drop), int(num_masks), int(seed))
    p_keep = 1.0 - p_drop
    train_factor = 1.0 if mode == "inverted" else p_keep  # torch's dropout is inverted
    test_factor = p_keep if mode == "vanilla" else 1.0
    test = a * test_factor  # what F.dropout(a, training=False) returns, times the factor
    return {"train": one_pass * train_factor, "train_mean": pass_mean * train_factor,
            "test": test, "test_mean": test.mean(axis=0)}


def _notch(p_drop: float) -> float:
    """``p_drop`` as a cache key: a slider's 0.15000000000000002 and 0.15 are one setting."""
    return round(float(p_drop), 6)


@lru_cache(maxsize=64)
def _inverted_dropout_passes(p_drop: float, num_masks: int, seed: int
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The layer's activations ``a`` (128, 96), one pass of inverted dropout on them (128, 96)
    and the per-unit mean of ``num_masks`` passes (96,): read-only float64 arrays (cached).

    A pass is what ``F.dropout(a, p_drop)`` computes: each activation kept with probability
    ``1 - p_drop`` and then divided by it. Summed over ``num_masks`` passes, an activation is
    counted as often as its masks kept it, a Binomial(``num_masks``, ``1 - p_drop``) count: one
    count per activation gives the mean of ``num_masks`` passes exactly in distribution, without
    drawing their 1.2 M mask entries (F.dropout's 100 passes were a third of a slider move). All
    draws come from a generator of the explorer's own (never torch's global one), in float32 as a
    network would compute; returned as float64.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 64, generator=generator)
    W = torch.randn(64, 96, generator=generator) * (2 / 64) ** 0.5
    a = torch.relu(x @ W)
    keep = 1.0 - p_drop
    one_pass = a * torch.empty_like(a).bernoulli_(keep, generator=generator) / keep
    kept = torch.binomial(torch.full_like(a, num_masks), torch.full_like(a, keep), generator=generator)
    pass_mean = (a * kept).sum(dim=0) / (keep * num_masks * a.shape[0])
    arrays = tuple(t.double().numpy() for t in (a, one_pass, pass_mean))
    for array in arrays:
        array.flags.writeable = False  # shared by every later call with the same p_drop
    return arrays


class _DropoutView(View):
    """Histograms of one train-mode pass and of test mode (left), per-unit means (right).

    A redraw moves the histogram steps, the mean lines, the scatter points and the limits,
    and rewrites the titles and the legend's numbers.
    """

    figsize = (10.0, 3.6)

    def build(self, figure: Figure, p_drop: float, mode: str) -> None:
        left, right = self.axes = figure.subplots(1, 2)
        # fixed margins: tight_layout lays every label out once more (and doubled the redraw time)
        figure.subplots_adjust(left=0.08, right=0.985, bottom=0.15, top=0.9, wspace=0.28)
        self.stairs = [left.stairs([1], [0, 1], fill=True, alpha=0.55, color=colour, label=label)
                       for colour, label in (("C0", _t("test mode", "测试模式")),
                                             ("C1", _t("train mode (one mask)", "训练模式（一个掩码）")))]
        self.means = [left.axvline(0, color="C0", lw=2), left.axvline(0, color="C1", lw=2, ls="--")]
        # log counts with plain labels at the powers of ten and no minor ticks: the default
        # 10^k labels go through mathtext, and the ~30 minor ticks are laid out on every pass
        left.set_yscale("log")
        left.set_xlabel(_t("activation value", "激活值"))
        left.set_ylabel(_t("count (log)", "计数（对数）"))
        self.legend = left.legend([*self.stairs, *self.means], [""] * 4, fontsize=7, loc="upper right")
        self.diagonal = right.plot([0, 1], [0, 1], color="0.6", lw=1, label="test = E[train]")[0]
        self.points = right.scatter([], [], s=10, color="C3")
        right.set_xlabel(_t("test-mode activation (per unit)", "测试模式激活（每个单元）"))
        right.set_ylabel(_t("train-mode activation\n(mean over 100 masks)",
                            "训练模式激活\n（100 个掩码的均值）"))
        right.legend(fontsize=7, loc="upper left")
        self.update(p_drop, mode)

    def update(self, p_drop: float, mode: str) -> None:
        values = dropout_activations(p_drop, mode)
        self._update_histograms(values["train"].ravel(), values["test"].ravel(), p_drop, mode)
        right = self.axes[1]
        lim = max(values["train_mean"].max(), values["test_mean"].max()) * 1.05 + 1e-6
        self.diagonal.set_data([0, lim], [0, lim])
        self.points.set_offsets(np.column_stack([values["test_mean"], values["train_mean"]]))
        right.set_xlim(0, lim)
        right.set_ylim(0, lim)
        fix_limits_and_ticks(right, x_bins=6, y_bins=6)
        ratio = values["train_mean"].sum() / max(values["test_mean"].sum(), 1e-12)
        # a fixed title height: matplotlib need not measure the axes to place the title
        right.set_title(f"E[train] / test = {ratio:.3f}" + (_t("  (mismatch!)", "（不一致！）")
                                                             if abs(ratio - 1) > 0.02 else ""),
                        fontsize=9, y=1.0)

    def _update_histograms(self, train: np.ndarray, test: np.ndarray, p_drop: float, mode: str) -> None:
        left = self.axes[0]
        top = max(train.max(), test.max(), 1e-6)
        bins = np.linspace(0, top, 50)
        highest = 1
        for stairs, data in zip(self.stairs, (test, train), strict=True):
            counts = np.histogram(data, bins=bins)[0]
            highest = max(highest, int(counts.max()))
            stairs.set_data(counts, bins)
        for line, data in zip(self.means, (test, train), strict=True):
            line.set_xdata([data.mean()] * 2)
        labels = (_t("test mode", "测试模式"), _t("train mode (one mask)", "训练模式（一个掩码）"),
                  _t("test mean", "测试均值") + f" {test.mean():.3f}",
                  _t("train mean", "训练均值") + f" {train.mean():.3f}")
        for text, label in zip(self.legend.get_texts(), labels, strict=True):
            text.set_text(label)
        left.set_xlim(-0.05 * top, 1.05 * top)  # what autoscaling gives (5% margins)
        left.set_ylim(0.7, highest * 1.6)
        decades = [10.0 ** k for k in range(int(np.log10(highest * 1.6)) + 1)]
        left.set_yticks(decades, [f"{tick:g}" for tick in decades])
        left.set_yticks([], minor=True)
        fix_limits_and_ticks(left, x_bins=8, y_bins=None)
        zeros_train, zeros_test = np.mean(train == 0), np.mean(test == 0)
        left.set_title(f"{mode.split(' (')[0]}, p_drop = {p_drop:.2f}: " + _t(
            f"zeros {zeros_train:.0%} in training, {zeros_test:.0%} at test",
            f"训练时 {zeros_train:.0%} 为零，测试时 {zeros_test:.0%}"), fontsize=9, y=1.0)


def _draw_dropout(p_drop: float, mode: str) -> Figure:
    """A new figure of the dropout explorer (what the static explorer shows)."""
    return _DropoutView().draw(p_drop=p_drop, mode=mode)


def dropout_explorer(p_drop: float = 0.5, mode: str = "inverted") -> Explorer:
    """Slide ``p_drop`` and pick a dropout variant: a layer's activations at train vs test time.

    Introduced in 04_regularization. Left: the distribution of one ReLU layer's
    activations in one train-mode pass (some zeroed, the rest scaled or not)
    against test mode. Right: per unit, the train-mode activation averaged over
    100 masks against the test-mode activation: both variants of the lecture
    land on the diagonal (test output = expected train output); forgetting the
    test-time scaling does not.

    Args:
        p_drop: initial probability of dropping a unit (the lecture's p is 1 − p_drop).
        mode: initial variant, one of :data:`DROPOUT_MODES`.
    """
    controls = {
        "p_drop": Slider(p_drop, 0.0, 0.9, 0.05, "p_drop (drop probability) · 丢弃概率"),
        "mode": Choice(mode, DROPOUT_MODES, "dropout variant · dropout 类型"),
    }
    return explorer(_DropoutView().draw, controls, name="dropout", ahead=True)
