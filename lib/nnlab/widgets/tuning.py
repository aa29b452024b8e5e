"""The learning-rate explorer of 05_tuning: slide lr and weight decay, watch a short training run.

Each setting trains the MLP of :mod:`nnlab.training` from the same
initialization on a small subset of the embedded dataset (600 training and
300 validation examples, batches of 50) and draws the loss per iteration and
the train/val accuracy per epoch. Runs are cached per setting, so moving a
slider back redraws at once; a new setting trains in about a tenth of a second, and while
a run is shown a background thread trains the runs one notch away on each slider
(:class:`nnlab.widgets.prefetch.Prefetcher`), so that the next move usually only redraws; the
figure one notch further along the slider just moved is rendered ahead as well
(:class:`nnlab.widgets.prefetch.RenderAhead`). A move to a setting not trained yet never waits
for that background work: a run training in the background for another setting stops.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.fonts import figure_text
from nnlab.i18n import Text
from nnlab.training import Features, History, load_features, make_mlp, train
from nnlab.widgets import Explorer, Slider, explorer
from nnlab.widgets.live import View
from nnlab.widgets.prefetch import Prefetcher

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: the explorer's training run: subset sizes, batch size, hidden layer widths, seed.
NUM_TRAIN, NUM_VAL, BATCH_SIZE, HIDDEN_DIMS, SEED = 600, 300, 50, (100,), 0


@lru_cache(maxsize=1)
def _data() -> Features:
    return load_features(num_train=NUM_TRAIN, num_val=NUM_VAL, seed=SEED)


def _snap(value: float) -> float:
    """Round to 2 decimals of log10, so nearby slider positions share one cached run."""
    return float(10 ** round(math.log10(value), 2))


def _setting(lr: float, weight_decay: float, num_epochs: int) -> tuple[float, float, int]:
    """The run a slider setting shows: ``explorer_run``'s arguments."""
    return _snap(lr), _snap(weight_decay), int(num_epochs)


@lru_cache(maxsize=256)
def explorer_run(lr: float, weight_decay: float, num_epochs: int) -> History:
    """The explorer's training run for one setting (cached).

    Args:
        lr: learning rate (> 0).
        weight_decay: L2 strength (≥ 0).
        num_epochs: passes over the 600 training examples.

    Returns:
        The :class:`~nnlab.training.History` of the run.
    """
    data = _data()
    # a copy of one initialization: make_mlp seeds torch's global generator, which a run
    # trained in the background must not touch (a student's cell may be drawing from it)
    model = copy.deepcopy(_initial_model())
    if getattr(_BACKGROUND, "setting", None) is not None:
        model.register_forward_pre_hook(_give_way)
    history = train(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=lr,
                    weight_decay=weight_decay, num_epochs=num_epochs, batch_size=BATCH_SIZE, seed=SEED)
    _TRAINED.add((lr, weight_decay, num_epochs))
    return history


#: the settings :func:`explorer_run` has trained (a redraw of one of them needs no lock)
_TRAINED: set[tuple[float, float, int]] = set()


@lru_cache(maxsize=1)
def _initial_model() -> Any:
    data = _data()
    return make_mlp(data.input_dim, HIDDEN_DIMS, data.num_classes, seed=SEED)


#: held while a run trains: a redraw and the background threads never train at the same time
_TRAINING = threading.Lock()


#: the runs draws wait for: a run training in the background for one of them goes on
_AWAITED: list[tuple[float, float, int]] = []

#: ``setting``: the run this thread trains as background work (None in the foreground)
_BACKGROUND = threading.local()


class _GaveWay(Exception):
    """A run trained in the background stopped: a draw waits for another run."""


def _give_way(module: Any, inputs: Any) -> None:
    """Before each forward pass of a background run (a forward pre-hook): stop if a draw waits
    for another run, so that it waits for one iteration (≈ 1 ms), not for a whole run."""
    if any(setting != _BACKGROUND.setting for setting in list(_AWAITED)):
        raise _GaveWay


@contextlib.contextmanager
def _trained_or_training(setting: tuple[float, float, int]) -> Iterator[None]:
    """Wait until ``setting``'s run is trained (by a background thread) or the lock to train it
    is free (then hold it): a draw never waits for a run it does not need."""
    acquired = False
    _AWAITED.append(setting)
    try:
        while setting not in _TRAINED and not acquired:
            acquired = _TRAINING.acquire(timeout=0.01)
    finally:
        _AWAITED.remove(setting)
    try:
        yield
    finally:
        if acquired:
            _TRAINING.release()


def _train_in_background(lr: float, weight_decay: float, num_epochs: int) -> bool:
    """Train a run as background work (in a :class:`Prefetcher`'s thread, which starts it only
    while no move is being answered): it stops (uncached) when a draw waits for another run.
    Returns whether the run is trained."""
    setting = (lr, weight_decay, num_epochs)
    if setting in _TRAINED:
        return True
    _BACKGROUND.setting = setting
    try:
        with _TRAINING:
            explorer_run(*setting)
        return True
    except _GaveWay:
        return False
    finally:
        _BACKGROUND.setting = None


def _train_ahead_of_rendering(values: dict[str, Any]) -> bool:
    """Train the run a rendering ahead will draw (``RenderAhead.prepare``)."""
    return _train_in_background(*_setting(**values))


@lru_cache(maxsize=1)
def _prefetcher() -> Prefetcher:
    """The kernel's one thread training lr runs ahead, started with the first live lr explorer.

    A student looks at a run before moving a slider again; meanwhile the runs one notch away
    (:func:`_neighbours`) are trained and cached, so the move only redraws (≈ 60 ms instead of
    ≈ 160 ms). Training uses no global random state (the initialization is copied, the batch
    order has its own generator).
    """
    return Prefetcher(_train_in_background, name="nnlab-lr-prefetch")


def _neighbours(lr: float, weight_decay: float, num_epochs: int, previous_lr: float
                ) -> list[tuple[float, float, int]]:
    """The runs one slider notch away, the lr notch in the direction of the last move first.

    Only those: runs trained further ahead kept the background thread busy when the next
    move came, and a redraw then waited for the run in progress (measured in the browser)."""
    up, down = lr * 10 ** 0.25, lr / 10 ** 0.25
    lrs = [up, down] if lr >= previous_lr else [down, up]
    settings = [(x, weight_decay, num_epochs) for x in lrs if 1e-4 <= x <= 1.0]
    settings += [(lr, x, num_epochs) for x in (weight_decay * 10 ** 0.5, weight_decay / 10 ** 0.5)
                 if 1e-6 <= x <= 1.0]
    settings += [(lr, weight_decay, n) for n in (num_epochs + 1, num_epochs - 1) if 1 <= n <= 20]
    return [(_snap(a), _snap(b), n) for a, b, n in settings]


def _title(history: History) -> str:
    val, train_acc = history.val_acc[-1], history.train_acc[-1]
    status = (Text(" — diverged", " — 发散") if history.diverged
              else Text(f" — final val acc {val:.2f}, train acc {train_acc:.2f}",
                        f" — 最终验证准确率 {val:.2f}，训练准确率 {train_acc:.2f}"))
    setting = Text(f"lr = {history.lr:.2g}, weight decay = {history.weight_decay:.2g}",
                   f"学习率 = {history.lr:.2g}，权重衰减 = {history.weight_decay:.2g}")
    return figure_text(setting + status)


class _RunView(View):
    """Loss per iteration and accuracy per epoch of one run (:meth:`History.plot`'s figure).

    A redraw gives the three curves the new run's numbers and rewrites the title.
    """

    figsize = (9.0, 3.2)

    def build(self, figure: Figure, lr: float, weight_decay: float, num_epochs: int) -> None:
        history = explorer_run(*_setting(lr, weight_decay, num_epochs))
        self.axes = figure.subplots(1, 2)
        history.plot(self.axes, title=_title(history))
        self.suptitle = figure.suptitle(_title(history))  # the title History.plot made, kept to rewrite
        self.axes[1].axhline(1 / _data().num_classes, color="0.6", ls=":", lw=1)
        self._limits(history, int(num_epochs))

    def update(self, lr: float, weight_decay: float, num_epochs: int) -> None:
        history = explorer_run(*_setting(lr, weight_decay, num_epochs))
        loss, (train_acc, val_acc) = self.axes[0].lines[0], self.axes[1].lines[:2]
        loss.set_data(np.arange(len(history.train_loss)), history.train_loss)
        train_acc.set_data(history.epochs, history.train_acc)
        val_acc.set_data(history.epochs, history.val_acc)
        self.suptitle.set_text(_title(history))
        self._limits(history, int(num_epochs))

    def _limits(self, history: History, num_epochs: int) -> None:
        self.axes[0].set_ylim(0, 1.5 * history.train_loss[0])  # a diverging loss leaves through the top
        self.axes[0].set_xlim(0, num_epochs * history.iterations_per_epoch)
        self.axes[1].set_xlim(-0.3, num_epochs + 0.3)


def _draw(lr: float, weight_decay: float, num_epochs: int) -> Figure:
    """A new figure of one run (what the static explorer shows)."""
    return _RunView().draw(lr=lr, weight_decay=weight_decay, num_epochs=num_epochs)


def lr_explorer(lr: float = 1e-2, weight_decay: float = 1e-4, num_epochs: int = 10) -> Explorer:
    """Explore the learning rate and the weight decay on a short training run.

    Introduced in 05_tuning. Training uses :func:`nnlab.training.train`, not
    your exercise code, so the explorer works before you implement anything.

    Args:
        lr: initial learning rate (1e-4 … 1, log slider).
        weight_decay: initial weight decay (1e-6 … 1, log slider).
        num_epochs: initial number of epochs (1 … 20).
    """
    controls = {
        "lr": Slider(lr, 1e-4, 1.0, 0.25, "learning rate · 学习率", log=True),
        "weight_decay": Slider(weight_decay, 1e-6, 1.0, 0.5, "weight decay · 权重衰减", log=True),
        "num_epochs": Slider(num_epochs, 1, 20, 1, "epochs · 轮次", integer=True),
    }
    view = _RunView()

    def draw(lr: float, weight_decay: float, num_epochs: int) -> Figure:
        with _trained_or_training(_setting(lr, weight_decay, num_epochs)):
            return view.draw(lr=lr, weight_decay=weight_decay, num_epochs=num_epochs)

    # the figure one notch further along the moved slider is rendered ahead (training its run);
    # the runs one notch away on every slider are trained ahead as well
    result = explorer(draw, controls, name="lr", ahead=True)
    if result.widget is not None:
        result.ahead.prepare = _train_ahead_of_rendering
        prefetcher, shown = _prefetcher(), {"lr": lr}

        def train_ahead(change: Any = None) -> None:
            values = {name: widget.value for name, widget in result.controls.items()}
            prefetcher.want(_neighbours(values["lr"], values["weight_decay"], int(values["num_epochs"]),
                                        shown["lr"]))
            shown["lr"] = values["lr"]

        for widget in result.controls.values():
            widget.observe(train_ahead, names="value")
        train_ahead()
    return result
