"""nnlab.training: features, the seeded MLP, and the training loop of 05_tuning."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nnlab.data import load_shapes
from nnlab.threads import one_thread
from nnlab.training import (
    DIVERGENCE_FACTOR,
    History,
    accuracy,
    contrast_features,
    load_features,
    make_mlp,
    train,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small():
    return load_features(num_train=300, num_val=100, seed=3)


# --- features ---------------------------------------------------------------------------------

def test_contrast_features_shape_and_dtype() -> None:
    X = load_shapes(num_train=5, num_val=0, num_test=0, seed=0).X_train
    for pool, side in ((1, 32), (2, 16), (4, 8)):
        features = contrast_features(X, pool)
        assert features.shape == (5, side * side) and features.dtype == np.float32
        assert np.all(features >= 0)


def test_contrast_features_ignore_a_colour_shift() -> None:
    # the contrast map measures distances from the image's mean colour: adding a constant colour
    # to every pixel leaves it unchanged (up to float32 rounding)
    X = load_shapes(num_train=4, num_val=0, num_test=0, seed=1).X_train
    shifted = X + np.array([0.3, -0.2, 0.1], dtype=np.float32)
    np.testing.assert_allclose(contrast_features(shifted), contrast_features(X), atol=1e-5)


def test_contrast_features_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="must be \\(N, H, W, 3\\)"):
        contrast_features(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="pool=3 must divide"):
        contrast_features(np.zeros((2, 32, 32, 3)), pool=3)


def test_load_features_are_standardized_and_repeatable(small) -> None:
    assert small.X_train.shape == (300, 256) and small.X_val.shape == (100, 256)
    assert small.X_train.dtype == torch.float32 and small.y_train.dtype == torch.int64
    assert small.num_classes == 6 and small.input_dim == 256
    informative = small.X_train.std(dim=0) > 0.5  # constant pixels stay at 0
    assert informative.float().mean() > 0.9
    assert small.X_train.mean(dim=0).abs().max() < 1e-4
    torch.testing.assert_close(small.X_train.std(dim=0, unbiased=False)[informative],
                               torch.ones(int(informative.sum())), rtol=0, atol=1e-3)
    again = load_features(num_train=300, num_val=100, seed=3)
    assert torch.equal(again.X_train, small.X_train) and torch.equal(again.y_val, small.y_val)


def test_load_features_needs_training_examples() -> None:
    with pytest.raises(ValueError, match="num_train must be at least 1"):
        load_features(num_train=0)
    assert load_features(num_train=5, num_val=0).X_val.shape == (0, 256)


# --- model --------------------------------------------------------------------------------------

def test_make_mlp_layers_and_seeding() -> None:
    model = make_mlp(10, [7, 5], 3, seed=0)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 7), (7, 5), (5, 3)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model) == 2
    same, other = make_mlp(10, [7, 5], 3, seed=0), make_mlp(10, [7, 5], 3, seed=1)
    for a, b, c in zip(model.parameters(), same.parameters(), other.parameters()):
        assert torch.equal(a, b) and not torch.equal(a, c)
    assert isinstance(make_mlp(4, [], 2, seed=0)[-1], torch.nn.Linear)


def test_make_mlp_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_mlp(20, [30], 4, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_accuracy_counts_argmax_hits() -> None:
    model = torch.nn.Identity()
    X = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 2.0]])
    assert accuracy(model, X, torch.tensor([0, 1, 1, 0])) == 0.5


# --- training -----------------------------------------------------------------------------------

def test_train_history_lengths(small) -> None:
    model = make_mlp(small.input_dim, [20], small.num_classes, seed=0)
    history = train(model, small.X_train, small.y_train, small.X_val, small.y_val,
                    lr=0.05, num_epochs=3, batch_size=64)
    per_epoch = 5  # ceil(300 / 64)
    assert history.iterations_per_epoch == per_epoch
    assert len(history.train_loss) == 3 * per_epoch
    assert history.epochs == [0.0, 1.0, 2.0, 3.0]
    assert len(history.train_acc) == len(history.val_acc) == 4
    assert not history.diverged and history.best_val_acc == max(history.val_acc)
    assert history.train_loss[-1] < history.train_loss[0]


def test_train_by_iterations_measures_at_the_end(small) -> None:
    model = make_mlp(small.input_dim, [20], small.num_classes, seed=0)
    history = train(model, small.X_train, small.y_train, small.X_val, small.y_val,
                    lr=0.05, num_iterations=7, batch_size=100)
    assert len(history.train_loss) == 7
    assert history.epochs == [0.0, 1.0, 2.0, 7 / 3]


def test_train_is_repeatable(small) -> None:
    runs = []
    for _ in range(2):
        model = make_mlp(small.input_dim, [20], small.num_classes, seed=0)
        runs.append(train(model, small.X_train, small.y_train, small.X_val, small.y_val,
                          lr=0.05, weight_decay=1e-3, num_epochs=2, seed=4))
    assert runs[0].train_loss == runs[1].train_loss and runs[0].val_acc == runs[1].val_acc


def test_train_matches_torch_sgd_with_weight_decay(small) -> None:
    # one full-batch step without momentum: w <- w - lr (grad + weight_decay w)
    lr, weight_decay = 0.1, 0.01
    model = make_mlp(small.input_dim, [8], small.num_classes, seed=0)
    reference = make_mlp(small.input_dim, [8], small.num_classes, seed=0)
    train(model, small.X_train, small.y_train, small.X_val, small.y_val, lr=lr,
          weight_decay=weight_decay, num_iterations=1, batch_size=len(small.y_train), momentum=0.0)
    # the batch is the whole set in a permuted order: the mean loss is the same
    F.cross_entropy(reference(small.X_train), small.y_train).backward()
    with torch.no_grad():
        for p, q in zip(model.parameters(), reference.parameters()):
            torch.testing.assert_close(p, q - lr * (q.grad + weight_decay * q), rtol=1e-5, atol=1e-6)


def test_train_stops_when_the_loss_diverges(small) -> None:
    model = make_mlp(small.input_dim, [50], small.num_classes, seed=0)
    history = train(model, small.X_train, small.y_train, small.X_val, small.y_val,
                    lr=30.0, num_epochs=5)
    assert history.diverged
    assert len(history.train_loss) < 5 * history.iterations_per_epoch
    last = history.train_loss[-1]
    assert not np.isfinite(last) or last > DIVERGENCE_FACTOR * history.train_loss[0]


@pytest.mark.parametrize("options,match", [
    ({"lr": 0.0, "num_epochs": 1}, "lr must be positive"),
    ({"lr": 0.1, "weight_decay": -1.0, "num_epochs": 1}, "weight_decay must be non-negative"),
    ({"lr": 0.1}, "exactly one of num_epochs and num_iterations"),
    ({"lr": 0.1, "num_epochs": 1, "num_iterations": 3}, "exactly one of num_epochs and num_iterations"),
])
def test_train_rejects_bad_options(small, options, match) -> None:
    model = make_mlp(small.input_dim, [], small.num_classes, seed=0)
    with pytest.raises(ValueError, match=match):
        train(model, small.X_train, small.y_train, small.X_val, small.y_val, **options)


def test_thread_count_is_restored(small) -> None:
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    model = make_mlp(small.input_dim, [], small.num_classes, seed=0)
    train(model, small.X_train, small.y_train, small.X_val, small.y_val, lr=0.1, num_iterations=2)
    assert torch.get_num_threads() == before


def test_a_thread_count_set_meanwhile_is_kept() -> None:
    """An explorer drawing in a background thread must not undo a count the notebook set meanwhile."""
    before = torch.get_num_threads()
    try:
        with one_thread():
            torch.set_num_threads(3)  # as a student's cell would, while the explorer draws
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_history_plot_draws_loss_and_accuracy() -> None:
    history = History(lr=0.1, weight_decay=0.0, train_loss=[1.8, 1.2, 0.9], epochs=[0.0, 1.0],
                      train_acc=[0.2, 0.6], val_acc=[0.2, 0.5], iterations_per_epoch=3)
    figure = history.plot(title="demo")
    loss_ax, acc_ax = figure.axes
    assert loss_ax.get_xlabel() == "iteration" and acc_ax.get_ylabel() == "accuracy"
    assert [line.get_label() for line in acc_ax.lines] == ["train", "val"]
    assert figure._suptitle.get_text() == "demo"
