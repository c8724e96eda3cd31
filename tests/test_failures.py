"""Failed trials do not stop a search: they are recorded with their error, and a limit on
failures in a row stops a hopeless search with its finished trials kept."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import (
    Categorical, Float, Int, KerasMLPClassifier, SearchSpace, TooManyFailures, TrainingDiverged,
    load_penguins, make_preprocessor, tune,
)
from kerastune_kit.journal import read_records

SGD = {"optimizer": "sgd", "epochs": 3}


@pytest.fixture(scope="module")
def penguins_small():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    return X, y


def _diverging_space(**more):
    # plain SGD: a learning rate of 10-100 sends the loss to NaN within a few steps
    return SearchSpace(nodes=Int(8, 16, step=8), learning_rate=Float(1e-2, 100, scale="log"),
                       **more)


def _assert_failed_rows_explain_themselves(trials):
    failed = trials[trials["status"] == "failed"]
    ok = trials[trials["status"] == "ok"]
    assert len(failed) >= 1 and len(ok) >= 1, trials[["status", "learning_rate", "score"]]
    assert failed["score"].isna().all()
    assert failed["error"].str.contains("TrainingDiverged").all(), failed["error"].tolist()
    assert (failed["learning_rate"] > 1).all()  # the ones that failed are the wild ones
    assert (ok["error"] == "").all() and ok["score"].between(0, 1).all()


def test_a_plain_fit_whose_loss_becomes_nan_raises_with_the_fix(penguins_small):
    X, y = penguins_small
    model = KerasMLPClassifier(**SGD, learning_rate=80.0, nodes=8, random_state=0)
    from sklearn.pipeline import make_pipeline

    with pytest.raises(TrainingDiverged, match=r"learning_rate=80\).*Lower learning_rate"):
        make_pipeline(make_preprocessor(), model).fit(X, y)


@pytest.mark.parametrize("strategy", ["random", "hyperband"])
def test_a_search_with_diverging_candidates_completes_and_reports_them_failed(
        penguins_small, tmp_path, strategy):
    X, y = penguins_small
    options = dict(n_trials=8, cv=2) if strategy == "random" else dict(max_epochs=3, factor=3)
    with pytest.warns(UserWarning, match=r"trials failed \(first error: .*TrainingDiverged"):
        result = tune(X, y, _diverging_space(), strategy=strategy, preprocessor=make_preprocessor(),
                      estimator_params=SGD, directory=tmp_path, random_state=0,
                      compare_baseline=False, max_consecutive_failures=None, **options)
    _assert_failed_rows_explain_themselves(result.trials)
    assert result.best_params_["learning_rate"] < 10
    assert result.best_score_ == result.trials["score"].max()


def test_out_of_range_values_are_refused_before_any_trial(penguins_small, tmp_path):
    # a value the estimator refuses is a configuration error, not a failed trial: it is
    # found in the space before anything trains (issue 13; it used to fail its trial)
    X, y = penguins_small
    space = SearchSpace(activation=Categorical(["relu", "not_an_activation"]),
                        nodes=Categorical([8]))
    with pytest.raises(ValueError, match=r"space\['activation'\].*'not_an_activation'"):
        tune(X, y, space, strategy="grid", cv=2, preprocessor=make_preprocessor(),
             estimator_params={"epochs": 2}, directory=tmp_path, random_state=0,
             compare_baseline=False)
    assert not list(tmp_path.glob("*.jsonl"))  # nothing was recorded, nothing trained


@pytest.mark.parametrize("strategy", ["random", "hyperband"])
def test_a_configuration_error_inside_a_trial_stops_the_search_with_its_message(
        penguins_small, tmp_path, strategy):
    # a misspelt monitor is only found when the first epoch ends: every trial would fail
    # alike, so the search stops at once with the cause, not "every trial failed"
    from kerastune_kit import EarlyStopping
    from kerastune_kit.errors import InvalidParameterError

    X, y = penguins_small
    options = dict(n_trials=4, cv=2) if strategy == "random" else dict(max_epochs=3)
    with pytest.raises(InvalidParameterError, match=r"monitor='val_acc'.*Did you mean"):
        tune(X, y, SearchSpace(nodes=Int(8, 16, step=8)), strategy=strategy,
             preprocessor=make_preprocessor(), callbacks=[EarlyStopping(monitor="val_acc")],
             estimator_params={"epochs": 2}, directory=tmp_path, random_state=0,
             compare_baseline=False, **options)


def test_failures_in_a_row_stop_the_search_and_a_resume_goes_on(penguins_small, tmp_path):
    X, y = penguins_small
    # grid order: two diverging candidates first, then two sensible ones
    space = SearchSpace(learning_rate=Categorical([50.0, 80.0, 0.05, 0.1]))
    common = dict(strategy="grid", cv=2, preprocessor=make_preprocessor(), estimator_params={
        **SGD, "nodes": 8}, directory=tmp_path, random_state=0, compare_baseline=False)
    with pytest.raises(TooManyFailures, match=r"max_consecutive_failures=2: candidates 0, 1 "
                                              r"failed in a row \(last error: TrainingDiverged"):
        tune(X, y, space, max_consecutive_failures=2, **common)
    journal = tmp_path / "trials.jsonl"
    stopped = read_records(journal)
    assert [r["status"] for r in stopped] == ["failed"] * 4  # 2 candidates x 2 folds, kept

    with pytest.warns(UserWarning, match="2 of 4 trials failed"):
        result = tune(X, y, space, max_consecutive_failures=None, resume=True, **common)
    after = read_records(journal)
    assert after[:4] == stopped and len(after) == 8  # the failures were not run again
    assert result.trials["status"].tolist() == ["failed", "failed", "ok", "ok"]
    assert result.best_params_["learning_rate"] in (0.05, 0.1)


def test_keras_tuner_failures_in_a_row_stop_with_the_trials_on_disk(penguins_small, tmp_path):
    X, y = penguins_small
    space = SearchSpace(learning_rate=Float(40.0, 100.0), nodes=Int(8, 16, step=8))
    with pytest.raises(TooManyFailures, match=r"max_consecutive_failures=2: trials 0, 1 failed"):
        tune(X, y, space, strategy="kt-random", n_trials=5, preprocessor=make_preprocessor(),
             estimator_params=SGD, directory=tmp_path, random_state=0, compare_baseline=False,
             max_consecutive_failures=2)
    states = [json.loads(p.read_text()) for p in sorted((tmp_path / "kerastune").glob(
        "trial_*/trial.json"))]
    assert [s["status"] for s in states] == ["FAILED", "FAILED"]
    assert all("TrainingDiverged" in s["message"] for s in states)
    oracle = json.loads((tmp_path / "kerastune" / "oracle.json").read_text())
    assert oracle["ongoing_trials"] == {}  # a resume would not run the last one again
    assert np.all([s["score"] is None for s in states])
