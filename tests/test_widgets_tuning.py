"""The learning-rate explorer of 05_tuning: static under grading, live, reactive and cached otherwise."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

from nnlab.widgets import lr_explorer  # noqa: E402
from nnlab.widgets.tuning import _snap, explorer_run  # noqa: E402


def _title(figure: Any) -> str:
    return figure._suptitle.get_text()


def test_static_under_nbgrader_draws_one_figure(monkeypatch, shown) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = lr_explorer()
    assert result.widget is None and result.figure is not None and shown == [result.figure]
    loss_ax, acc_ax = result.figure.axes
    assert loss_ax.get_ylabel() == "training loss" and acc_ax.get_ylabel() == "accuracy"
    assert _title(result.figure).startswith("lr = 0.01, weight decay = 0.0001 — final val acc")


def test_live_controls_are_bilingual_log_sliders_and_redraw(live) -> None:
    result = lr_explorer()
    assert result.widget is not None and set(result.controls) == {"lr", "weight_decay", "num_epochs"}
    assert "学习率" in result.controls["lr"].description
    assert "权重衰减" in result.controls["weight_decay"].description
    assert type(result.controls["lr"]).__name__ == "FloatLogSlider"
    before = len(live)
    result.controls["lr"].value = 1.0
    assert len(live) == before + 1 and _title(live[-1]) == "lr = 1, weight decay = 0.0001 — diverged"
    result.controls["num_epochs"].value = 3
    assert len(live[-1].axes[1].lines[1].get_xdata()) <= 4


def test_moving_back_reuses_the_cached_run(live, monkeypatch) -> None:
    from nnlab.widgets import tuning

    monkeypatch.setattr(tuning.Prefetcher, "want", lambda self, settings: None)  # counts: this test's only
    result = lr_explorer(lr=0.03, weight_decay=1e-3, num_epochs=4)
    result.controls["lr"].value = 0.1
    hits = explorer_run.cache_info().hits
    result.controls["lr"].value = 0.03
    assert explorer_run.cache_info().hits == hits + 1  # no new training run (speed: make bench)
    assert _title(live[-1]).startswith("lr = 0.03, weight decay = 0.001")


def test_nearby_slider_positions_share_a_run() -> None:
    from nnlab.widgets.tuning import _snap

    assert _snap(0.0100001) == _snap(0.01) == pytest.approx(0.01)
    assert _snap(0.0316) == pytest.approx(10**-1.5)


def test_strong_weight_decay_underfits() -> None:
    history = explorer_run(0.03, 1.0, 5)
    assert not history.diverged and max(history.train_acc[1:]) < 0.5
    good = explorer_run(0.03, 1e-4, 5)
    assert good.val_acc[-1] > history.val_acc[-1] + 0.1


def test_the_run_one_notch_up_is_trained_before_the_move(live, monkeypatch) -> None:
    from nnlab.widgets import tuning

    result = lr_explorer(lr=0.02, weight_decay=1e-3, num_epochs=3)
    assert tuning._prefetcher().wait_idle(timeout=120)
    misses = explorer_run.cache_info().misses
    monkeypatch.setattr(tuning.Prefetcher, "want", lambda self, settings: None)  # no new background runs
    result.controls["lr"].value = 0.02 * 10 ** 0.25  # one notch of the slider (0.25 in log10)
    assert explorer_run.cache_info().misses == misses  # drawn from the cache: trained in the background
    assert _title(live[-1]).startswith("lr = 0.035, weight decay = 0.001")  # 10 ** -1.45, snapped


def test_explorer_runs_match_a_run_from_a_new_model() -> None:
    from nnlab.training import make_mlp, train
    from nnlab.widgets import tuning

    data = tuning._data()
    model = make_mlp(data.input_dim, tuning.HIDDEN_DIMS, data.num_classes, seed=tuning.SEED)
    direct = train(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=0.05, weight_decay=1e-3,
                   num_epochs=2, batch_size=tuning.BATCH_SIZE, seed=tuning.SEED)
    cached = explorer_run(0.05, 1e-3, 2)
    assert cached.train_loss == direct.train_loss and cached.val_acc == direct.val_acc  # bit for bit



def test_the_prefetcher_trains_the_nearest_runs_first_the_direction_of_the_move_first() -> None:
    from nnlab.widgets.tuning import _neighbours

    queue = _neighbours(1e-2, 1e-4, 10, previous_lr=10 ** -2.25)  # the slider was just moved up
    assert [round(math.log10(lr), 2) for lr, _, _ in queue[:2]] == [-1.75, -2.25]
    assert set(queue[2:]) == {(1e-2, _snap(10 ** -3.5), 10), (1e-2, _snap(10 ** -4.5), 10),
                              (1e-2, 1e-4, 11), (1e-2, 1e-4, 9)}
    at_the_top = _neighbours(1.0, 1e-4, 10, previous_lr=10 ** -0.25)
    assert [lr for lr, _, _ in at_the_top][:1] == [_snap(10 ** -0.25)]  # nothing above the slider


def test_a_draw_waits_only_for_the_run_it_needs() -> None:
    """While the background thread trains (holding the lock), a draw of a run already trained
    goes ahead, and one waiting for a run goes ahead as soon as that run is trained."""
    import threading

    from nnlab.widgets import tuning

    explorer_run(0.05, 1e-3, 2)
    waiting_for = (0.07, 1e-3, 2)
    tuning._TRAINED.discard(waiting_for)
    finished: list[tuple] = []

    def draw(setting: tuple) -> None:
        with tuning._trained_or_training(setting):
            finished.append(setting)

    with tuning._TRAINING:  # a run training in the background
        first = threading.Thread(target=draw, args=((0.05, 1e-3, 2),))
        second = threading.Thread(target=draw, args=(waiting_for,))
        first.start(), second.start()
        first.join(timeout=10)
        assert finished == [(0.05, 1e-3, 2)] and second.is_alive()
        tuning._TRAINED.add(waiting_for)  # as explorer_run does when the background run ends
        second.join(timeout=10)
        assert finished == [(0.05, 1e-3, 2), waiting_for]
    tuning._TRAINED.discard(waiting_for)


def _train_in_a_thread(setting: tuple) -> tuple[threading.Thread, dict]:
    """Start training ``setting`` as background work; return once it holds the training lock."""
    from nnlab.widgets import tuning

    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(trained=tuning._train_in_background(*setting)))
    thread.start()
    deadline = time.monotonic() + 10
    while not tuning._TRAINING.locked() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert tuning._TRAINING.locked()
    return thread, outcome


def test_a_run_training_in_the_background_gives_way_to_a_draw_of_another_run() -> None:
    from nnlab.widgets import tuning

    background, wanted = (0.0123, 1e-3, 20), (0.0124, 1e-3, 1)  # 20 epochs: ≈ 0.2 s of training
    thread, outcome = _train_in_a_thread(background)
    with tuning._trained_or_training(wanted):
        explorer_run(*wanted)
    thread.join(timeout=30)
    assert outcome == {"trained": False} and background not in tuning._TRAINED  # stopped, not cached
    assert wanted in tuning._TRAINED
    assert tuning._train_in_background(*background)  # trained in full when nothing waits


def test_a_draw_waiting_for_the_run_training_in_the_background_lets_it_finish() -> None:
    from nnlab.widgets import tuning

    background = (0.0125, 1e-3, 20)
    misses = explorer_run.cache_info().misses
    thread, outcome = _train_in_a_thread(background)
    with tuning._trained_or_training(background):
        assert background in tuning._TRAINED
        explorer_run(*background)
    thread.join(timeout=30)
    assert outcome == {"trained": True} and explorer_run.cache_info().misses == misses + 1  # once
