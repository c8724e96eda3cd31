"""Regression through the whole kit: task detection, the RidgeCV baseline, tune and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold

from kerastune_kit import (Float, KerasMLPRegressor, SearchSpace, cli, compare_with_baseline,
                           make_baseline, tune)
from kerastune_kit._targets import infer_task


@pytest.mark.parametrize("y, task", [
    (np.array(["a", "b", "c"] * 10), "classification"),
    (np.array([0, 1, 2] * 10), "classification"),
    (np.array([True, False] * 10), "classification"),
    (np.linspace(0, 1, 30), "regression"),
    (np.arange(100), "regression"),
    (np.arange(60) % 15, None),
])
def test_the_task_is_read_from_the_target(y, task):
    found, reason = infer_task(y)
    assert found == task and reason


def test_ambiguous_target_in_tune_names_task():
    X = np.random.default_rng(0).normal(size=(60, 3))
    with pytest.raises(ValueError, match="task='regression'"):
        tune(X, np.arange(60) % 15, SearchSpace(learning_rate=Float(1e-3, 1e-2)))


def test_regression_baseline_is_ridgecv_scored_by_r2_on_the_same_folds():
    X, y = load_diabetes(return_X_y=True)
    assert [name for name, _ in make_baseline(task="regression").steps] == ["preprocess", "ridge"]
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    table = compare_with_baseline(KerasMLPRegressor(nodes=8, n_layers=1, epochs=5,
                                                    random_state=0), X[:150], y[:150], cv=3)
    assert table.attrs["scoring"] == "r2"
    assert "RidgeCV" in table.attrs["baseline"]
    assert np.isfinite(table.loc["difference", "p_value"])
    assert len(folds) == table.attrs["n_splits"]


@pytest.mark.slow
def test_tune_on_a_regression_target(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    result = tune(X[:150], y[:150], SearchSpace(learning_rate=Float(1e-3, 1e-2, scale="log")),
                  strategy="random", n_trials=2, cv=2, directory=tmp_path,
                  estimator_params={"epochs": 5, "nodes": 8, "n_layers": 1})
    assert isinstance(result.best_estimator_, KerasMLPRegressor)
    assert list(result.baseline_.index) == ["KerasMLPRegressor", "RidgeCV", "difference"]
    assert result.baseline_.attrs["scoring"] == "r2"
    assert result.trials["score"].notna().all()


def test_keras_tuner_strategies_refuse_regression(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="tunes classifiers only"):
        tune(X[:60], y[:60], SearchSpace(learning_rate=Float(1e-3, 1e-2)), strategy="hyperband",
             directory=tmp_path)


@pytest.mark.slow
def test_cli_tune_on_a_regression_csv(tmp_path, capsys):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    csv = tmp_path / "diabetes.csv"
    X.assign(y=y).to_csv(csv, index=False)
    out = tmp_path / "run"
    assert cli.main(["tune", "--dataset", str(csv), "--target", "y", "--budget", "2",
                     "--epochs", "5", "--cv", "2", "--set", "n_layers=1", "--set", "nodes=16",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Task: regression" in printed and "--task" in printed
    assert "Comparison with the baseline on the same folds" in printed
    assert "KerasMLPRegressor" in printed and "RidgeCV" in printed and "(r2;" in printed
    assert "Test R^2 (test split, used once): KerasMLPRegressor " in printed
    report = (out / "report.html").read_text()
    assert "best score" in report and " (r2)</td>" in report
    assert "Predicted against actual values of the refitted best model on the test split" in report
    assert "Residuals of the refitted best model on the test split" in report
    assert "training (dashed) loss per epoch" in report


def test_cli_ambiguous_target_names_task(tmp_path, capsys):
    frame = pd.DataFrame({"a": np.arange(60.0), "y": np.arange(60) % 15})
    csv = tmp_path / "ambiguous.csv"
    frame.to_csv(csv, index=False)
    code = cli.main(["tune", "--dataset", str(csv), "--target", "y", "--out",
                     str(tmp_path / "run")])
    assert code == 2
    assert "--task" in capsys.readouterr().err
