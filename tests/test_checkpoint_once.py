"""Best-epoch checkpoints written once a fit: the same file as Keras Tuner's, one write instead of many.

Real training on the fast path, real ``.weights.h5`` files, Keras Tuner's own
``SaveBestEpoch`` as the reference.
"""

from __future__ import annotations

import os

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerastune_kit import build_mlp
from kerastune_kit.kt_folds import BestEpochOnce, FoldCheckpoint
from kerastune_kit.training import fit_network

StockBestEpoch = pytest.importorskip("keras_tuner.src.engine.tuner_utils").SaveBestEpoch


def _data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 5)).astype("float32")
    y = (x[:, 0] + 0.8 * rng.normal(size=120) > 0).astype("int64") + (x[:, 1] > 1)
    return x[:90], y[:90], x[90:], y[90:]


class Probe(keras.callbacks.Callback):
    """After each epoch: the weights, the validation logs, and whether ``path`` exists yet."""

    def __init__(self, path):
        super().__init__()
        self.path, self.weights, self.logs, self.existed = path, [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))
        self.existed.append(os.path.exists(self.path))


def _train(checkpoint, path, epochs=8):
    x, y, xv, yv = _data()
    model = build_mlp(input_shape=5, n_classes=3, nodes=8, learning_rate=0.05, seed=0)
    probe = Probe(path)
    fit_network(model, x, y, seed=0, epochs=epochs, batch_size=16, verbose=0,
                validation_data=(xv, yv), callbacks=[checkpoint, probe])
    return model, probe


def _saved(path):
    model = build_mlp(input_shape=5, n_classes=3, nodes=8, seed=1)
    model.load_weights(path)
    return model.get_weights()


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize("objective", ["val_accuracy", "val_loss"])
def test_the_file_is_keras_tuners_but_written_once_at_the_end(tmp_path, objective):
    objective = kt.Objective(objective, "max" if objective == "val_accuracy" else "min")
    stock_path, once_path = str(tmp_path / "stock.weights.h5"), str(tmp_path / "once.weights.h5")
    _, stock_probe = _train(StockBestEpoch(objective, stock_path), stock_path)
    model, probe = _train(BestEpochOnce(StockBestEpoch(objective, once_path)), once_path)

    assert _same(_saved(once_path), _saved(stock_path))  # the same best epoch's weights
    assert not any(probe.existed) and stock_probe.existed[0]  # written only when training ended
    values = [logs[objective.name] for logs in probe.logs]
    best = int(np.argmax(values) if objective.direction == "max" else np.argmin(values))
    assert _same(_saved(once_path), probe.weights[best])
    if best != len(values) - 1:  # the network keeps its last epoch's weights
        assert not _same(model.get_weights(), probe.weights[best])
    assert _same(model.get_weights(), probe.weights[-1])


def test_a_later_execution_writes_only_if_it_beats_the_earlier_ones(tmp_path):
    path = str(tmp_path / "best.weights.h5")
    stock = StockBestEpoch(kt.Objective("val_accuracy", "max"), path)
    stock.best_value = 2.0  # an earlier execution of the trial reached more than any can
    _, probe = _train(BestEpochOnce(stock), path, epochs=3)
    assert not os.path.exists(path) and stock.best_value == 2.0


def test_a_fold_checkpoint_holds_its_best_epoch_and_is_written_once(tmp_path):
    path = str(tmp_path / "fold.weights.h5")
    checkpoint = FoldCheckpoint(path)
    _, probe = _train(checkpoint, path)
    assert not any(probe.existed)
    assert _same(_saved(path), probe.weights[checkpoint.best["epoch"] - 1])
    assert checkpoint.best["val_accuracy"] == max(logs["val_accuracy"] for logs in probe.logs)


def test_a_one_split_hyperband_search_checkpoints_every_trial_and_continues_from_them(tmp_path):
    from sklearn.model_selection import train_test_split

    from kerastune_kit import Int, SearchSpace, load_penguins, make_preprocessor, tune

    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    result = tune(X, y, SearchSpace(nodes=Int(8, 24, step=8)), strategy="hyperband", cv=None,
                  max_epochs=3, factor=3, preprocessor=make_preprocessor(), directory=tmp_path,
                  random_state=0, compare_baseline=False)
    trials = result.search_.oracle.trials.values()
    assert any("tuner/trial_id" in t.hyperparameters.values for t in trials)
    for trial in trials:
        assert (tmp_path / "kerastune" / f"trial_{trial.trial_id}" / "checkpoint.weights.h5").exists()
    best = result.search_.get_best_models(1)[0]  # Keras Tuner reads the file back
    assert best.count_params() > 0


def test_a_checkpoint_written_here_is_set_from_memory_unless_the_file_changed(tmp_path):
    from kerastune_kit import kt_folds
    from kerastune_kit.kt_folds import load_checkpoint

    path = str(tmp_path / "fold.weights.h5")
    model, _ = _train(FoldCheckpoint(path), path)
    assert path in kt_folds._KEPT  # kept when written
    from_memory = build_mlp(input_shape=5, n_classes=3, nodes=8, seed=1)
    load_checkpoint(from_memory, path)
    assert _same(from_memory.get_weights(), _saved(path))  # what Keras reads from the file

    other = build_mlp(input_shape=5, n_classes=3, nodes=8, seed=7)
    other.save_weights(path)  # the file changes behind the process's back: it is read
    reloaded = build_mlp(input_shape=5, n_classes=3, nodes=8, seed=1)
    load_checkpoint(reloaded, path)
    assert _same(reloaded.get_weights(), other.get_weights())
