"""Named scikit-learn scorers: checked against the task before training, used by every fold
score and by the baseline comparison, and named wherever a score is shown."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error

from kerastune_kit import Float, KerasMLPRegressor, SearchSpace, tune
from kerastune_kit._scoring import check_scoring, score_name, score_with, scorer_names
from kerastune_kit.errors import InvalidParameterType, InvalidParameterValue
from kerastune_kit.journal import read_records

SPACE = SearchSpace(learning_rate=Float(1e-3, 1e-2, scale="log"))
TINY = {"epochs": 3, "nodes": 8, "n_layers": 1, "batch_size": 32}


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:150], y[:150]


# ----------------------------------------------------------------------
# which names fit which task (no training)
# ----------------------------------------------------------------------
def test_scorer_names_are_split_by_task():
    regression, classification = scorer_names("regression"), scorer_names("classification")
    assert {"r2", "neg_mean_absolute_error", "neg_root_mean_squared_error"} <= set(regression)
    assert {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "neg_log_loss"} <= set(
        classification)
    assert not set(regression) & set(classification)
    assert "adjusted_rand_score" not in regression + classification  # clustering


@pytest.mark.parametrize("scoring, task", [
    ("neg_mean_absolute_error", "regression"), ("r2", "regression"),
    ("balanced_accuracy", "classification"), ("f1_macro", "classification"),
])
def test_a_scorer_that_fits_the_task_is_kept(scoring, task):
    assert check_scoring(scoring, task) == scoring
    assert score_name(scoring, task) == scoring
    assert check_scoring(None, task) is None


def test_none_means_the_tasks_own_score():
    assert score_name(None, "regression") == "r2"
    assert score_name(None, "classification") == "accuracy"


@pytest.mark.parametrize("scoring, task, fragments", [
    ("neg_mean_absolut_error", "regression",
     ["scoring='neg_mean_absolut_error'", "not a scikit-learn scorer",
      "Did you mean 'neg_mean_absolute_error'?", "use one of: d2_absolute_error_score"]),
    ("accuracy", "regression", ["scoring='accuracy'", "is a classification score",
                                "r2", "or None for r2"]),
    ("r2", "classification", ["scoring='r2'", "is a regression score",
                              "balanced_accuracy", "or None for accuracy"]),
    ("rand_score", "classification", ["is a clustering score"]),
])
def test_a_scorer_that_does_not_fit_is_refused_with_the_names_that_do(scoring, task, fragments):
    with pytest.raises(InvalidParameterValue) as info:
        check_scoring(scoring, task)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_scorer_object_is_refused_with_the_fix():
    from sklearn.metrics import get_scorer

    with pytest.raises(InvalidParameterType, match="scorer name such as 'r2'"):
        check_scoring(get_scorer("r2"), "regression")


def test_score_with_uses_the_named_scorer():
    from sklearn.dummy import DummyRegressor
    from sklearn.metrics import r2_score

    X = np.arange(20.0).reshape(10, 2)
    y = X[:, 0] * 2.0
    constant = DummyRegressor(strategy="constant", constant=10.0).fit(X, y)
    assert score_with(constant, X, y, None) == pytest.approx(r2_score(y, np.full(10, 10.0)))
    assert score_with(constant, X, y, "neg_mean_absolute_error") == pytest.approx(
        -mean_absolute_error(y, np.full(10, 10.0)))


# ----------------------------------------------------------------------
# tune refuses before anything trains
# ----------------------------------------------------------------------
def test_tune_refuses_a_bad_scorer_before_training(diabetes, tmp_path):
    X, y = diabetes
    with pytest.raises(ValueError, match="scoring='neg_mean_absolut_error'.*Did you mean"):
        tune(X, y, SPACE, scoring="neg_mean_absolut_error", directory=tmp_path / "s")
    assert not (tmp_path / "s").exists()  # nothing was started


def test_tune_refuses_a_scorer_of_the_other_task(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="scoring='r2' is a regression score"):
        tune(X, np.array([0, 1, 2] * 10), SPACE, scoring="r2", directory=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_keras_tuner_strategies_take_accuracy_only(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="scoring='balanced_accuracy': strategy='hyperband' "
                                         "scores its trials by accuracy only"):
        tune(X, np.array([0, 1, 2] * 10), SPACE, strategy="hyperband",
             scoring="balanced_accuracy", directory=tmp_path / "s")


# ----------------------------------------------------------------------
# a real search scored by a named scorer
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_tune_scores_every_fold_and_the_baseline_with_the_named_scorer(diabetes, tmp_path):
    X, y = diabetes
    result = tune(X, y, SPACE, strategy="random", n_trials=2, cv=2, directory=tmp_path,
                  scoring="neg_mean_absolute_error", estimator_params=TINY)
    assert result.task_ == "regression" and result.scoring_ == "neg_mean_absolute_error"
    # every fold's recorded score is minus a mean absolute error in the target's units
    # (R^2 would lie near or below 1; the target's spread is about 77)
    folds = [r["score"] for r in read_records(tmp_path / "trials.jsonl") if r["status"] == "ok"]
    assert len(folds) == 4 and all(-200 < s < -20 for s in folds)
    np.testing.assert_allclose(sorted(result.trials["score"]),
                               sorted([np.mean(folds[:2]), np.mean(folds[2:])]))
    assert result.baseline_.attrs["scoring"] == "neg_mean_absolute_error"
    ridge = result.baseline_.loc["RidgeCV", "mean"]
    assert -80 < ridge < -30  # RidgeCV's MAE on diabetes is about 45
    assert "best score" in result.summary() and "(neg_mean_absolute_error)" in result.summary()
    assert "(neg_mean_absolute_error; corrected" in repr(result.baseline_)
    # the refitted model's own MAE on its training data, through the same scorer
    assert isinstance(result.best_estimator_, KerasMLPRegressor)
    assert score_with(result.best_estimator_, X, y, "neg_mean_absolute_error") == \
        pytest.approx(-mean_absolute_error(y, result.best_estimator_.predict(X)))
    # the search's record names its scorer: resuming with another is refused
    with pytest.raises(ValueError, match="scoring was 'neg_mean_absolute_error', now None"):
        tune(X, y, SPACE, strategy="random", n_trials=2, cv=2, directory=tmp_path,
             estimator_params=TINY, resume=True)
