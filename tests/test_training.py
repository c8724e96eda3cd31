"""The one training sequence (fit_network) that the estimator and the hypermodel share."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kerastune_kit import DivergenceGuard, TrainingDiverged, build_mlp
from kerastune_kit.training import fit_network, seed_from, seeded, stratified_holdout


def _model(**settings):
    return build_mlp(input_shape=4, n_classes=3, nodes=8, seed=0, **settings)


def test_a_seeded_run_repeats_exactly(iris):
    X, y = iris
    first = fit_network(_model(dropout=0.2), X, y, seed=7, epochs=3, batch_size=16, verbose=0)
    again = fit_network(_model(dropout=0.2), X, y, seed=7, epochs=3, batch_size=16, verbose=0)
    other = fit_network(_model(dropout=0.2), X, y, seed=8, epochs=3, batch_size=16, verbose=0)
    assert first.history["loss"] == again.history["loss"]
    assert first.history["loss"] != other.history["loss"]  # the seed drives the shuffling


def test_a_run_that_blows_up_raises_unless_the_caller_asked_for_no_error(iris):
    X, y = iris
    wild = dict(optimizer="sgd", learning_rate=100.0, activation="linear")
    with pytest.raises(TrainingDiverged, match=r"learning_rate=100\).*Lower learning_rate"):
        fit_network(_model(**wild), X, y, seed=0, learning_rate=100.0, epochs=3, verbose=0)
    quiet = fit_network(_model(**wild), X, y, seed=0, epochs=3, verbose=0,
                        callbacks=[DivergenceGuard(raise_error=False)])
    assert len(quiet.history["loss"]) >= 1


def test_seeding_restores_the_callers_random_state():
    random.seed(1)
    np.random.seed(1)
    expected = (random.random(), np.random.rand())
    random.seed(1)
    np.random.seed(1)
    with seeded(5, tensorflow=False):
        inside = np.random.rand()
    assert (random.random(), np.random.rand()) == expected
    with seeded(5, tensorflow=False):
        assert np.random.rand() == inside


def test_a_seed_from_a_random_state_does_not_advance_it():
    state = np.random.RandomState(0)
    before = state.get_state()[1].copy()
    seed = seed_from(state)
    assert isinstance(seed, int) and seed == seed_from(np.random.RandomState(0))
    np.testing.assert_array_equal(state.get_state()[1], before)
    assert seed_from(None) is None and seed_from(3) == 3


def test_the_validation_part_is_stratified_and_keeps_weights_with_their_rows():
    X = np.arange(40, dtype="float32").reshape(20, 2)
    y = np.array([0] * 10 + [1] * 10)
    weights = np.arange(20, dtype="float32")
    X_train, y_train, w_train, (X_val, y_val, w_val) = stratified_holdout(X, y, weights, 0.2, 0)
    assert sorted(np.bincount(y_val)) == [2, 2] and len(y_train) == 16
    np.testing.assert_array_equal(X_val[:, 0] / 2, w_val)  # each weight stays with its row
    np.testing.assert_array_equal(X_train[:, 0] / 2, w_train)
    with pytest.raises(ValueError, match="validation_split=0.01 leaves 0 validation"):
        stratified_holdout(X, y, None, 0.01, 0)
