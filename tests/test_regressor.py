"""KerasMLPRegressor: recognised as a regressor, standardised targets, losses, a search on diabetes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, check_cv, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from kerastune_kit import KerasMLPRegressor, build_mlp

FAST = dict(nodes=16, n_layers=1, epochs=20, batch_size=16, learning_rate=0.01, random_state=0)


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 2.0 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y


def test_recognised_as_regressor():
    est = KerasMLPRegressor()
    assert is_regressor(est)
    assert get_tags(est).estimator_type == "regressor"
    assert isinstance(check_cv(3, np.arange(30.0), classifier=False), KFold)


def test_every_builder_parameter_is_top_level():
    from kerastune_kit._mlp_base import BUILDER_PARAMS as names

    params = KerasMLPRegressor().get_params()
    assert set(names) <= set(params)
    assert params["loss"] == "mse" and params["target_scaling"] is True
    assert "class_weight" not in params


def test_fit_predict_score_and_a_linear_output():
    X, y = _data()
    est = KerasMLPRegressor(**FAST).fit(X, y)
    assert est.predict(X).shape == (120,)
    assert est.predict(X).dtype == np.float64
    assert est.score(X, y) > 0.8
    out = est.model_.get_layer("output")
    assert out.units == 1 and out.activation.__name__ == "linear"
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(X), est.predict(X), rtol=1e-6)


def test_several_targets():
    X, y = _data()
    Y = np.column_stack([y, -3 * y + 5])
    est = KerasMLPRegressor(**FAST).fit(X, Y)
    assert est.predict(X).shape == (120, 2)
    assert est.model_.get_layer("output").units == 2


def test_target_scaling_makes_the_fit_independent_of_the_target_units():
    # the same network and learning rate on y and on 1000 * y + 7: the same fit, rescaled
    X, y = _data()
    small = KerasMLPRegressor(**FAST).fit(X, y)
    large = KerasMLPRegressor(**FAST).fit(X, 1000 * y + 7)
    np.testing.assert_allclose(large.predict(X), 1000 * small.predict(X) + 7, rtol=1e-4,
                               atol=1e-2)
    np.testing.assert_allclose(large.target_scaler_.mean_, [1000 * y.mean() + 7])
    raw = KerasMLPRegressor(**FAST, target_scaling=False).fit(X, 1000 * y + 7)
    assert raw.score(X, 1000 * y + 7) < large.score(X, 1000 * y + 7)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "log_cosh", "mean_squared_error",
                                  "mean_absolute_error"])
def test_regression_losses_are_accepted(loss):
    X, y = _data(40)
    est = KerasMLPRegressor(**{**FAST, "epochs": 2}, loss=loss).fit(X, y)
    assert np.isfinite(est.history_["loss"]).all()


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy",
                                  "binary_crossentropy"])
def test_classification_losses_are_refused_before_training(loss):
    X, y = _data(40)
    est = KerasMLPRegressor(**FAST, loss=loss)
    with pytest.raises(ValueError, match=f"loss='{loss}' does not fit a regression target"):
        est.fit(X, y)
    assert not hasattr(est, "history_")


@pytest.mark.parametrize("y, fragment", [
    (np.array(["a", "b"] * 20), "KerasMLPClassifier"),
    (np.r_[np.ones(39), np.nan], "missing or infinite"),
    (None, "requires y"),
])
def test_bad_targets_are_refused(y, fragment):
    X, _ = _data(40)
    with pytest.raises(ValueError, match=fragment):
        KerasMLPRegressor(**FAST).fit(X, y)


def test_clone_keeps_parameters():
    est = clone(KerasMLPRegressor(nodes=7, loss="huber", target_scaling=False))
    assert (est.nodes, est.loss, est.target_scaling) == (7, "huber", False)


def test_build_mlp_linear_output_refuses_a_softmax_loss():
    with pytest.raises(ValueError, match="does not fit output='linear'"):
        build_mlp(input_shape=3, n_outputs=1, output="linear",
                  loss="sparse_categorical_crossentropy")
    model = build_mlp(input_shape=3, n_outputs=2, output="linear", loss="huber", nodes=4)
    assert model.output_shape == (None, 2)


@pytest.mark.slow
def test_grid_search_on_diabetes_comes_within_005_of_ridge():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    ridge = make_pipeline(StandardScaler(), RidgeCV()).fit(X_train, y_train)
    search = GridSearchCV(
        make_pipeline(StandardScaler(),
                      KerasMLPRegressor(n_layers=1, epochs=30, batch_size=32, random_state=0)),
        {"kerasmlpregressor__nodes": [8, 32], "kerasmlpregressor__learning_rate": [1e-3, 1e-2]},
        cv=3,
    ).fit(X_train, y_train)
    net, linear = search.score(X_test, y_test), ridge.score(X_test, y_test)
    # measured: network 0.331, RidgeCV 0.358 on this split
    assert net > linear - 0.05, (net, linear)
