"""A small, readable training loop for the hyperparameter lessons (05_tuning).

Hyperparameter search means training many models, so everything here is
sized to run in a fraction of a second on a CPU:

- :func:`load_features` (from :mod:`nnlab.data.features`) turns the embedded
  shapes dataset into short feature vectors on which a small MLP reaches about
  80% validation accuracy in a few seconds of CPU time.
- :func:`make_mlp` builds a fully connected ReLU network with PyTorch's
  default initialization, seeded.
- :func:`train` runs mini-batch SGD with momentum and weight decay and
  returns a :class:`History` (training loss per iteration, train and
  validation accuracy per epoch).

Example::

    data = load_features(num_train=2000, num_val=500, seed=0)
    model = make_mlp(data.input_dim, [100], data.num_classes, seed=0)
    history = train(model, data.X_train, data.y_train, data.X_val, data.y_val,
                    lr=3e-2, weight_decay=1e-4, num_epochs=5)
    history.val_acc[-1]          # validation accuracy after 5 epochs
    history.plot()               # loss and accuracy curves

The loop runs torch on one thread (:func:`nnlab.threads.one_thread`): for matrices
this small, extra threads cost more in coordination than they save.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data.features import Features, contrast_features, load_features
from nnlab.threads import one_thread

# Features, contrast_features, load_features and one_thread live in nnlab.data.features and
# nnlab.threads; they are exported here too, the one import 05_tuning and 06 need.
__all__ = [
    "Features", "History", "accuracy", "contrast_features", "load_features",
    "make_mlp", "one_thread", "train",
]

#: training stops early when the loss exceeds this multiple of its first value.
DIVERGENCE_FACTOR = 3.0


# --------------------------------------------------------------------------- model

def make_mlp(input_dim: int, hidden_dims: Sequence[int], num_classes: int, seed: int) -> nn.Sequential:
    """A fully connected ReLU network ``Linear → ReLU → … → Linear`` producing class scores.

    Weights use PyTorch's default ``nn.Linear`` initialization, drawn from a
    generator seeded with ``seed`` (torch's global generator is left untouched).

    Args:
        input_dim: length ``D`` of an input vector.
        hidden_dims: widths of the hidden layers, e.g. ``[100]``; empty for a linear classifier.
        num_classes: number of output scores ``C``.
        seed: seed of the initialization.

    Returns:
        A float32 ``nn.Sequential`` mapping ``(N, D)`` inputs to ``(N, C)`` scores (logits).
    """
    dims = [int(input_dim), *map(int, hidden_dims)]
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], int(num_classes)))
    return nn.Sequential(*layers)


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of examples whose highest score is the true class.

    Args:
        model: maps ``(N, D)`` to ``(N, C)`` scores.
        X: ``(N, D)`` inputs.
        y: ``(N,)`` int64 labels.

    Returns:
        A float in ``[0, 1]``.
    """
    return float((model(X).argmax(dim=1) == y).double().mean())


# --------------------------------------------------------------------------- training

@dataclass
class History:
    """What :func:`train` measured.

    Attributes:
        lr: the learning rate used.
        weight_decay: the weight decay (L2 strength) used.
        train_loss: the mini-batch loss (data loss only) at every iteration.
        epochs: when accuracy was measured, in epochs (``0`` = before training).
        train_acc: training accuracy at each of ``epochs``.
        val_acc: validation accuracy at each of ``epochs``.
        iterations_per_epoch: mini-batches per pass over the training set.
        diverged: True if training stopped because the loss became NaN/inf
            or exceeded ``DIVERGENCE_FACTOR`` times its first value.
    """

    lr: float
    weight_decay: float
    train_loss: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    iterations_per_epoch: int = 1
    diverged: bool = False

    @property
    def best_val_acc(self) -> float:
        """The highest validation accuracy measured (0 if none)."""
        return max(self.val_acc, default=0.0)

    def plot(self, axes: Sequence[Any] | None = None, title: str | None = None) -> Any:
        """Loss per iteration (left) and accuracy per epoch (right).

        Args:
            axes: two matplotlib Axes to draw on; new ones when None.
            title: a title over both panels.

        Returns:
            The matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        else:
            figure = axes[0].figure
        loss_ax, acc_ax = axes
        loss_ax.plot(np.arange(len(self.train_loss)), self.train_loss, color="C0", lw=1)
        from nnlab.fonts import figure_text
        from nnlab.i18n import Text

        loss_ax.set_xlabel(figure_text(Text("iteration", "迭代次数")))
        loss_ax.set_ylabel(figure_text(Text("training loss", "训练损失")))
        acc_ax.plot(self.epochs, self.train_acc, "o-", ms=3, color="C0",
                    label=figure_text(Text("train", "训练集")))
        acc_ax.plot(self.epochs, self.val_acc, "o-", ms=3, color="C1",
                    label=figure_text(Text("val", "验证集")))
        acc_ax.set_xlabel(figure_text(Text("epoch", "轮次 (epoch)")))
        acc_ax.set_ylabel(figure_text(Text("accuracy", "准确率")))
        acc_ax.set_ylim(0, 1.02)
        acc_ax.legend(loc="lower right")
        for ax in axes:
            ax.grid(alpha=0.3)
        if title:
            figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        return figure


def train(
    model: nn.Module,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    *,
    lr: float,
    weight_decay: float = 0.0,
    num_epochs: float | None = None,
    num_iterations: int | None = None,
    batch_size: int = 100,
    momentum: float = 0.9,
    seed: int = 0,
) -> History:
    """Train ``model`` in place with mini-batch SGD (momentum, weight decay) on softmax cross-entropy.

    Give exactly one of ``num_epochs`` and ``num_iterations``. Each epoch
    visits the training set in a new random order (seeded). Accuracy on the
    whole training and validation sets is measured before training, after
    every epoch and after the last iteration. Training stops early if the
    loss becomes NaN/inf or exceeds ``DIVERGENCE_FACTOR`` × its first value
    (the learning rate is too high).

    ``weight_decay`` is torch's SGD ``weight_decay``: it adds
    ``weight_decay · W`` to every parameter's gradient (L2 regularization,
    04_regularization); the recorded loss is the data loss only.

    Args:
        model: maps ``(N, D)`` float32 inputs to ``(N, C)`` scores.
        X_train: ``(N, D)`` float32 training inputs.
        y_train: ``(N,)`` int64 training labels.
        X_val: ``(M, D)`` float32 validation inputs.
        y_val: ``(M,)`` int64 validation labels.
        lr: learning rate (> 0).
        weight_decay: L2 strength (≥ 0).
        num_epochs: passes over the training set (may be fractional).
        num_iterations: number of parameter updates instead.
        batch_size: examples per update (capped at ``N``).
        momentum: SGD momentum (0 for plain SGD).
        seed: seed of the mini-batch order.

    Returns:
        A :class:`History`.

    Raises:
        ValueError: for a non-positive ``lr``, negative ``weight_decay``, or
            not exactly one of ``num_epochs`` / ``num_iterations``.
    """
    n = int(X_train.shape[0])
    batch_size, per_epoch, total = _schedule(n, batch_size, lr=lr, weight_decay=weight_decay,
                                             num_epochs=num_epochs, num_iterations=num_iterations)
    history = History(lr=float(lr), weight_decay=float(weight_decay), iterations_per_epoch=per_epoch)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)

    def measure(iteration: int) -> None:
        history.epochs.append(iteration / per_epoch)
        history.train_acc.append(accuracy(model, X_train, y_train))
        history.val_acc.append(accuracy(model, X_val, y_val))

    with one_thread():
        measure(0)
        for iteration, batch in enumerate(_batches(n, batch_size, per_epoch, total, seed)):
            loss = F.cross_entropy(model(X_train[batch]), y_train[batch])
            value = loss.item()
            history.train_loss.append(value)
            if not math.isfinite(value) or value > DIVERGENCE_FACTOR * history.train_loss[0]:
                history.diverged = True
                measure(iteration)
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (iteration + 1) % per_epoch == 0 or iteration + 1 == total:
                measure(iteration + 1)
    return history


def _schedule(n: int, batch_size: int, *, lr: float, weight_decay: float,
              num_epochs: float | None, num_iterations: int | None) -> tuple[int, int, int]:
    """``(batch size, iterations per epoch, total iterations)`` of :func:`train`, options checked."""
    if not lr > 0:
        raise ValueError(f"train: lr must be positive, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"train: weight_decay must be non-negative, got {weight_decay}")
    if (num_epochs is None) == (num_iterations is None):
        raise ValueError("train: give exactly one of num_epochs and num_iterations")
    batch_size = max(1, min(int(batch_size), n))
    per_epoch = math.ceil(n / batch_size)
    total = int(num_iterations) if num_iterations is not None else round(num_epochs * per_epoch)
    return batch_size, per_epoch, total


def _batches(n: int, batch_size: int, per_epoch: int, total: int, seed: int) -> Iterator[torch.Tensor]:
    """The indices of each of ``total`` mini-batches: a new seeded random order every epoch."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    for iteration in range(total):
        position = iteration % per_epoch
        if iteration and position == 0:
            order = torch.randperm(n, generator=generator)
        yield order[position * batch_size:(position + 1) * batch_size]
