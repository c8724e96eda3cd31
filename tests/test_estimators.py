"""KerasMLPClassifier in real scikit-learn use: CV, searches, clone, pickle, pipelines."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from kerastune_kit import KerasMLPClassifier, load_penguins, make_preprocessor

FAST = dict(nodes=16, n_layers=1, epochs=15, batch_size=16, learning_rate=0.03, random_state=0)


@pytest.fixture(scope="module")
def iris_sorted():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    order = np.argsort(y, kind="stable")  # sorted by class: the case that broke scikeras
    return X[order], y[order]


def test_recognised_as_classifier():
    est = KerasMLPClassifier()
    assert is_classifier(est)
    assert get_tags(est).estimator_type == "classifier"
    y = np.repeat([0, 1, 2], 10)
    assert isinstance(check_cv(3, y, classifier=is_classifier(est)), StratifiedKFold)
    # the failure mode we fix: an unrecognised classifier would get plain KFold
    assert isinstance(check_cv(3, y, classifier=False), KFold)


def test_cross_validation_on_class_sorted_data_scores_well_above_chance(iris_sorted):
    X, y = iris_sorted
    scores = cross_val_score(KerasMLPClassifier(**FAST), X, y, cv=3)
    # chance is 1/3; unstratified folds of sorted data would score 0.0
    assert scores.min() > 0.75, scores


def test_grid_search_over_top_level_parameters(iris_sorted):
    X, y = iris_sorted
    search = GridSearchCV(
        KerasMLPClassifier(**{**FAST, "epochs": 5}),
        {"nodes": [4, 16], "learning_rate": [1e-3, 5e-2]},
        cv=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert set(search.best_params_) == {"nodes", "learning_rate"}
    best = KerasMLPClassifier().set_params(**search.best_params_)
    assert best.nodes == search.best_params_["nodes"]
    assert search.best_estimator_.model_.get_layer("hidden_0").units == search.best_params_["nodes"]


def test_scikeras_routed_names_keep_working(iris_sorted):
    X, y = iris_sorted
    est = KerasMLPClassifier(
        **{**FAST, "optimizer": "sgd"},
        optimizer__learning_rate=0.123,
        optimizer__nesterov=True,
        optimizer__momentum=0.5,
        model__nodes=7,
        fit__epochs=3,
    ).fit(X, y)
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(0.123)
    assert est.model_.optimizer.nesterov is True
    assert est.model_.optimizer.momentum == pytest.approx(0.5)
    assert est.model_.get_layer("hidden_0").units == 7
    assert len(est.history_["loss"]) == 3


def test_routed_parameters_in_a_search_and_through_clone(iris_sorted):
    X, y = iris_sorted
    est = KerasMLPClassifier(**FAST, fit__epochs=2)
    copy = clone(est)
    assert copy.get_params()["fit__epochs"] == 2 and copy.epochs == FAST["epochs"]
    search = GridSearchCV(est, {"optimizer__learning_rate": [0.01, 0.02]}, cv=2, refit=True)
    search.fit(X, y)
    # every candidate trained for the routed number of epochs, not 1 (keras' wrapper bug)
    assert len(search.best_estimator_.history_["loss"]) == 2
    lr = float(search.best_estimator_.model_.optimizer.learning_rate)
    assert lr == pytest.approx(search.best_params_["optimizer__learning_rate"])


def test_set_params_then_fit_uses_new_values(iris_sorted):
    X, y = iris_sorted
    est = KerasMLPClassifier(**FAST).set_params(n_layers=2, nodes=5, epochs=2, dropout=0.25)
    est.fit(X, y)
    assert [est.model_.get_layer(f"hidden_{i}").units for i in range(2)] == [5, 5]
    assert est.model_.get_layer("dropout_0").rate == 0.25
    assert len(est.history_["loss"]) == 2


def test_pickle_after_fit_predicts_the_same(iris_sorted):
    X, y = iris_sorted
    est = KerasMLPClassifier(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict_proba(X), est.predict_proba(X), rtol=1e-6)
    assert restored.get_params() == est.get_params()


def test_random_state_makes_fit_reproducible(iris_sorted):
    X, y = iris_sorted
    params = {**FAST, "epochs": 4, "dropout": 0.3}
    first = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    again = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    other = KerasMLPClassifier(**{**params, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_random_state_instance_is_not_consumed_and_not_always_seed_zero(iris_sorted):
    X, y = iris_sorted
    rng = np.random.RandomState(5)
    before = rng.get_state()[1].copy()
    weights = [
        KerasMLPClassifier(**{**FAST, "epochs": 1, "random_state": r}).fit(X, y).model_.get_weights()[0]
        for r in (rng, np.random.RandomState(6))
    ]
    np.testing.assert_array_equal(rng.get_state()[1], before)
    assert not np.allclose(weights[0], weights[1])


def test_string_labels_and_pandas_input_in_a_pipeline():
    data = load_penguins()
    pipe = Pipeline([
        ("preprocess", make_preprocessor()),
        ("model", KerasMLPClassifier(**{**FAST, "epochs": 10})),
    ])
    pipe.fit(data.data.iloc[::2], data.target.iloc[::2])
    predictions = pipe.predict(data.data.iloc[1::2])
    assert set(predictions) <= set(data.target_names)
    assert pipe.score(data.data.iloc[1::2], data.target.iloc[1::2]) > 0.8


def test_numeric_dataframe_records_feature_names(iris_sorted):
    X, y = iris_sorted
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = KerasMLPClassifier(**{**FAST, "epochs": 1}).fit(frame, pd.Series(y))
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="X has 3 features, but KerasMLPClassifier is expecting 4"):
        est.predict(X[:, :3])


def test_validation_split_is_recorded_in_history(iris_sorted):
    X, y = iris_sorted
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    est = KerasMLPClassifier(**{**FAST, "epochs": 3, "validation_split": 0.2}).fit(X[order], y[order])
    assert len(est.history_["val_loss"]) == 3
    assert "val_accuracy" in est.history_


def test_image_input_is_flattened():
    from kerastune_kit import load_digits

    digits = load_digits(images=True)
    est = KerasMLPClassifier(**{**FAST, "epochs": 5}).fit(digits.data[:600], digits.target[:600])
    assert est.model_.input_shape == (None, 8, 8)
    assert est.score(digits.data[600:900], digits.target[600:900]) > 0.7


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        KerasMLPClassifier().predict(np.zeros((2, 3)))


def _xy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 4)), np.repeat([0, 1, 2], 10)


@pytest.mark.parametrize(
    "params, make_data, error, fragments",
    [
        ({}, lambda X, y: (np.where(np.eye(30, 4) > 0, np.nan, X), y), ValueError,
         ["NaN", "make_preprocessor"]),
        ({}, lambda X, y: (np.where(np.eye(30, 4) > 0, np.inf, X), y), ValueError,
         ["infinity", "make_preprocessor"]),
        ({}, lambda X, y: (X, np.zeros(30)), ValueError, ["only one class", "at least two"]),
        ({}, lambda X, y: (X, y[:-1]), ValueError, ["X has 30 rows, y has 29"]),
        ({}, lambda X, y: (pd.DataFrame({"a": X[:, 0], "island": ["x"] * 30}), y), ValueError,
         ["non-numeric column(s) ['island']", "make_preprocessor"]),
        ({"activation": "relux"}, None, ValueError, ["activation='relux'", "Did you mean 'relu'"]),
        ({"optimizer": "sgdd"}, None, ValueError, ["optimizer='sgdd'", "Did you mean 'sgd'"]),
        ({"kernel_initializer": "glorot"}, None, ValueError, ["kernel_initializer='glorot'"]),
        ({"kernel_l2": -0.01}, None, ValueError, ["kernel_l2=-0.01"]),
        ({"activity_l1": -1.0}, None, ValueError, ["activity_l1=-1.0"]),
        ({"dropout": 1.0}, None, ValueError, ["dropout=1.0", "[0, 1)"]),
        ({"dropout": -0.5}, None, ValueError, ["dropout=-0.5"]),
        ({"nodes": 0}, None, ValueError, ["nodes=0"]),
        ({"nodes": -10}, None, ValueError, ["nodes=-10"]),
        ({"nodez": 10}, None, TypeError, ["'nodez'", "Did you mean 'nodes'"]),
        ({"model__nodez": 10}, None, ValueError, ["model__nodez", "Did you mean 'nodes'"]),
    ],
)
def test_bad_input_gets_a_clear_error(params, make_data, error, fragments):
    X, y = _xy()
    if make_data is not None:
        X, y = make_data(X, y)
    est = KerasMLPClassifier(**{**FAST, "epochs": 1, **params})
    with pytest.raises(error) as info:
        est.fit(X, y)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert not hasattr(est, "history_")  # failed before training


def test_unknown_parameter_survives_clone_so_the_error_is_not_lost():
    est = clone(KerasMLPClassifier(nodez=3))
    with pytest.raises(TypeError, match="Did you mean 'nodes'"):
        est.fit(*_xy())


def test_a_seeded_fit_does_not_break_later_unseeded_fits(iris_sorted):
    # scikeras' seeding leaves TensorFlow's op determinism on; an unseeded fit
    # afterwards then fails with "Random ops require a seed".
    from tensorflow.python.framework import config as tf_config

    from kerastune_kit import StepDecay

    X, y = iris_sorted
    before = tf_config.is_op_determinism_enabled()
    KerasMLPClassifier(**{**FAST, "epochs": 1}, callbacks=[StepDecay(0.01)]).fit(X, y)
    assert tf_config.is_op_determinism_enabled() == before
    unseeded = KerasMLPClassifier(**{**FAST, "epochs": 1, "random_state": None, "dropout": 0.2})
    unseeded.fit(X, y)
    assert len(unseeded.history_["loss"]) == 1
