"""Weights that mean what scikit-learn means; partial_fit's checks; subclasses with **kwargs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from kerastune_kit import KerasMLPClassifier, KerasMLPRegressor, TrainingDiverged
from kerastune_kit._mlp_base import normalised_weights

FULL_BATCH = dict(nodes=8, n_layers=1, epochs=15, batch_size=1000, learning_rate=0.1,
                  optimizer="sgd", random_state=0)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_normalised_weights_average_one_and_ignore_scale():
    w = np.array([1, 2, 3, 2])
    np.testing.assert_allclose(normalised_weights(w), w / 2)
    np.testing.assert_allclose(normalised_weights(10 * w), normalised_weights(w))
    assert normalised_weights(None) is None


@pytest.mark.parametrize("estimator, class_weight", [
    (KerasMLPClassifier, None), (KerasMLPClassifier, "balanced"),
    (KerasMLPClassifier, {0: 2.0, 1: 0.5}), (KerasMLPRegressor, None)])
def test_the_callers_weights_are_never_modified(estimator, class_weight):
    X, y = _data()
    # weights that are not all equal and do not average 1: rescaling them in place, or
    # multiplying them by class weights, would show
    sw = np.linspace(0.5, 3.0, len(y))
    kept = sw.copy()
    params = {**FULL_BATCH, "epochs": 1}
    est = estimator(**params) if class_weight is None else estimator(
        **params, class_weight=class_weight)
    est.fit(X, y, sample_weight=sw)
    est.fit(X, y, sample_weight=sw)
    est.partial_fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, kept)


def test_integer_weights_are_accepted():
    X, y = _data()
    sw = np.arange(1, len(y) + 1)
    KerasMLPClassifier(**{**FULL_BATCH, "epochs": 1}, class_weight="balanced").fit(
        X, y, sample_weight=sw)
    KerasMLPRegressor(**{**FULL_BATCH, "epochs": 1}).fit(X, X[:, 0], sample_weight=sw)
    np.testing.assert_array_equal(sw, np.arange(1, len(y) + 1))


def test_negative_weights_are_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="[Nn]egative"):
        KerasMLPClassifier(**FULL_BATCH).fit(X, y, sample_weight=-np.ones(len(y)))


@pytest.mark.parametrize("scale", [3, 10])
@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_multiplying_every_weight_changes_nothing(estimator, scale):
    X, y = _data()
    w = np.random.default_rng(1).integers(1, 4, size=len(y)).astype(float)
    method = "predict_proba" if estimator is KerasMLPClassifier else "predict"
    base = getattr(estimator(**FULL_BATCH).fit(X, y, sample_weight=w), method)(X)
    scaled = estimator(**FULL_BATCH).fit(X, y, sample_weight=scale * w)
    np.testing.assert_allclose(getattr(scaled, method)(X), base, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_a_weight_of_k_is_k_repeated_rows_at_full_batch(estimator, optimizer):
    # scikit-learn's check_sample_weight_equivalence, to float32 precision
    X, y = _data()
    w = np.random.default_rng(2).integers(0, 4, size=len(y))
    target = y if estimator is KerasMLPClassifier else X[:, 0] - 2 * X[:, 1]
    params = {**FULL_BATCH, "optimizer": optimizer}
    weighted = estimator(**params).fit(X, target, sample_weight=w)
    repeated = estimator(**params).fit(np.repeat(X, w, axis=0), np.repeat(target, w))
    method = "predict_proba" if estimator is KerasMLPClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-5, atol=1e-5)


def test_class_weight_multiplies_sample_weight():
    X, y = _data()
    sw = np.random.default_rng(3).integers(1, 3, size=len(y)).astype(float)
    cw = {0: 3.0, 1: 1.0}
    both = KerasMLPClassifier(**FULL_BATCH, class_weight=cw).fit(X, y, sample_weight=sw)
    product = KerasMLPClassifier(**FULL_BATCH).fit(X, y, sample_weight=sw * np.where(y == 0, 3, 1))
    np.testing.assert_allclose(both.predict_proba(X), product.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_partial_fit_refuses_a_misspelt_parameter(estimator):
    X, y = _data()
    est = estimator(nodez=5)
    with pytest.raises(TypeError, match="Did you mean 'nodes'"):
        est.partial_fit(X, y)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_partial_fit_stops_a_diverging_run(estimator):
    X, y = _data(200)
    est = estimator(optimizer="sgd", learning_rate=50.0, nodes=32, batch_size=8, random_state=0)
    with pytest.raises(TrainingDiverged):
        for _ in range(3):
            est.partial_fit(X * 10, y)


def test_partial_fit_refuses_a_loss_that_does_not_fit():
    X, y = _data()
    with pytest.raises(ValueError, match="regression loss"):
        KerasMLPClassifier(loss="mse").partial_fit(X, y)


class _WithExtra(KerasMLPClassifier):
    """A subclass written the scikit-learn way."""

    def __init__(self, extra=1, **kwargs):
        super().__init__(**kwargs)
        self.extra = extra


class _RegressorWithExtra(KerasMLPRegressor):
    def __init__(self, *, extra=1, **kwargs):
        super().__init__(**kwargs)
        self.extra = extra


@pytest.mark.parametrize("cls", [_WithExtra, _RegressorWithExtra])
def test_subclasses_with_kwargs_fit_clone_and_set_params(cls):
    X, y = _data()
    est = cls(extra=2, nodes=4, epochs=1)
    params = est.get_params()
    assert params["extra"] == 2 and params["nodes"] == 4 and "n_layers" in params
    copy = clone(est).set_params(extra=3, n_layers=1)
    copy.fit(X, y)
    assert copy.extra == 3 and copy.model_.get_layer("hidden_0").units == 4
    with pytest.raises(TypeError, match="Did you mean 'nodes'"):
        cls(nodez=3).fit(X, y)
