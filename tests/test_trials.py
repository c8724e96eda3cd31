"""The trials table: one row shape for every strategy, and the result base class (no training)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kerastune_kit.space import Int, SearchSpace
from kerastune_kit.trials import (
    TRIAL_COLUMNS, TRIAL_TAIL, SearchResult, best_params, mean_curve, trial_row, trials_table,
)


def _rows():
    return [
        trial_row(trial=0, strategy="random", values={"nodes": 8}, score=0.8, score_std=0.1,
                  epochs_trained=2, fit_time=0.5, train_curve=[0.5, 0.7], val_curve=[0.6, 0.8]),
        trial_row(trial=1, strategy="random", values={"nodes": 16}, score=float("nan"),
                  error="TrainingDiverged: loss became nan", epochs_trained=1, fit_time=0.1),
        trial_row(trial=2, strategy="random", values={"nodes": 24}, score=0.9,
                  epochs_trained=3, fit_time=0.7),
        trial_row(trial=3, strategy="random", values={"nodes": 32}, score=0.9,
                  epochs_trained=3, fit_time=0.7),
    ]


def test_a_row_says_whether_the_trial_failed_and_why():
    ok, failed, *_ = _rows()
    assert ok["status"] == "ok" and ok["error"] == "" and ok["score"] == 0.8
    assert failed["status"] == "failed" and failed["error"].startswith("TrainingDiverged")
    assert math.isnan(failed["score_std"])  # a single split or a failed trial has no spread
    unexplained = trial_row(trial=4, strategy="grid", values={}, score=float("nan"),
                            epochs_trained=0, fit_time=0, error="")
    assert unexplained["error"] == "unknown error"
    assert trial_row(trial=5, strategy="grid", values={}, score=0.5, error="ignored",
                     epochs_trained=1, fit_time=0)["error"] == ""


def test_the_table_has_the_same_columns_for_every_strategy():
    table = trials_table(_rows(), ["nodes"])
    assert list(table.columns) == [*TRIAL_COLUMNS, "nodes", *TRIAL_TAIL]
    assert table["train_curve"].tolist()[0] == [0.5, 0.7]
    assert trials_table([], ["nodes", "dropout"]).columns.tolist() == [
        *TRIAL_COLUMNS, "nodes", "dropout", *TRIAL_TAIL]


def test_mean_curve_averages_epoch_by_epoch_as_long_as_the_shortest():
    histories = [{"accuracy": [0.2, 0.4, 0.6]}, {"accuracy": [0.4, 0.6]}, {"loss": [1.0]}]
    assert mean_curve(histories, "accuracy") == pytest.approx([0.3, 0.5])
    assert mean_curve(histories, "val_accuracy") == []


def test_the_best_parameters_are_the_first_of_equal_best_scores():
    table = trials_table(_rows(), ["nodes"])
    assert best_params(table, ["nodes"]) == {"nodes": 24}
    assert type(best_params(table, ["nodes"])["nodes"]) is int  # plain Python, not NumPy
    failed = table.assign(status="failed")
    with pytest.raises(RuntimeError, match="every trial failed"):
        best_params(failed, ["nodes"])


def test_a_result_shows_its_top_trials_without_curves_and_prints_short():
    table = trials_table(_rows(), ["nodes"])
    result = SearchResult(trials=table, best_params_={"nodes": 24}, best_score_=0.9,
                          strategy="random", space=SearchSpace(nodes=Int(8, 32, step=8)))
    top = result.top(2)
    assert top["nodes"].tolist() == [24, 32]
    assert not {"train_curve", "val_curve", "error"} & set(top.columns)
    assert len(result.top()) == 3  # the failed trial is left out
    assert repr(result) == ("SearchResult(strategy='random', trials=4 (3 ok), best_score_=0.9000, "
                            "best_params_={'nodes': 24})")
    assert isinstance(result.trials, pd.DataFrame) and result.baseline_ is None


def test_a_summary_fits_a_terminal_with_rounded_numbers_and_only_telling_columns():
    table = trials_table(_rows(), ["nodes"])
    table["learning_rate"] = [0.0123456789, 0.05, 0.1, 0.00034]
    result = SearchResult(trials=table, best_params_={"nodes": 24, "learning_rate": 0.0123456789},
                          best_score_=0.9, strategy="random",
                          space=SearchSpace(nodes=Int(8, 32, step=8)))
    text = result.summary(2)
    first = text.splitlines()[0]
    assert first == ("random search: 4 trials (3 finished); best score 0.9000 with nodes=24, "
                     "learning_rate=0.0123")
    header = text.splitlines()[3].split()
    assert "round" not in header and "strategy" not in header and "status" not in header
    assert "train_curve" not in text and "error" not in header
    assert "0.0123456789" not in text and "np.float64" not in text
    assert len(text.splitlines()) == 6  # the header and two trials, no comparison
    html = result._repr_html_()
    assert html.startswith("<p><b>random search</b>") and "<table" in html
