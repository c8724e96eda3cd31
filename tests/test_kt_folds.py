"""Cross-validated Keras Tuner trials (kerastune_kit.kt_folds): fold scores reach the oracle,
ties go to the lower validation loss, the refit's epochs, one split on request, and the
Hyperband schedule's arithmetic (kerastune_kit.hyperband_schedule) checked against the oracle.

The kill-and-resume test of a cross-validated trial is in tests/test_resume.py (it shares
that file's child-process machinery).
"""

from __future__ import annotations

import math

import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor, tune
from kerastune_kit.hyperband_schedule import hyperband_schedule, schedule_epochs, schedule_trials
from kerastune_kit.hypermodel import trial_key
from kerastune_kit.journal import read_records
from kerastune_kit.kt_folds import best_epoch, refit_epochs
from kerastune_kit.space import Categorical, Float, Int, SearchSpace
from kerastune_kit.trials import best_params, ranked, trial_row, trials_table

SPACE = SearchSpace(nodes=Int(8, 24, step=8), learning_rate=Float(3e-3, 3e-2, scale="log"))


@pytest.fixture(scope="module")
def small_penguins():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    return X, y


def _search(X, y, directory, strategy="kt-random", **kwargs):
    options = dict(n_trials=2, cv=3, max_epochs=3, factor=3, estimator_params={"epochs": 3},
                   preprocessor=make_preprocessor(), directory=directory, random_state=0,
                   compare_baseline=False)
    return tune(X, y, SPACE, strategy=strategy, **{**options, **kwargs})


# ----------------------------------------------------------------------
# the folds' scores reach the oracle and the trials table
# ----------------------------------------------------------------------
def test_each_trial_trains_every_fold_and_the_oracle_gets_their_mean(small_penguins, tmp_path):
    X, y = small_penguins
    result = _search(X, y, tmp_path)
    records = read_records(tmp_path / "kerastune-histories.jsonl")
    oracle_trials = sorted(result.search_.oracle.trials.values(), key=lambda t: int(t.trial_id))
    assert len(records) == 2 * 3  # one record a fold of a trial
    for row, trial in zip(result.trials.itertuples(), oracle_trials):
        key = trial_key(trial.hyperparameters.values)
        folds = {r["fold"]: r["history"] for r in records if r["key"] == key}
        assert sorted(folds) == [0, 1, 2]
        best = [best_epoch(h["val_accuracy"], h["val_loss"]) for h in folds.values()]
        accuracy = [h["val_accuracy"][i] for h, i in zip(folds.values(), best)]
        loss = [h["val_loss"][i] for h, i in zip(folds.values(), best)]
        assert trial.score == pytest.approx(np.mean(accuracy))  # what the oracle ranks by
        assert row.score == pytest.approx(np.mean(accuracy))
        assert row.score_std == pytest.approx(np.std(accuracy))
        assert row.val_loss == pytest.approx(np.mean(loss))
        assert row.epochs_trained == 3 and len(row.val_curve) == 3
        assert row.val_curve[-1] == pytest.approx(np.mean([h["val_accuracy"][-1]
                                                           for h in folds.values()]))
    assert result.trials["score_std"].notna().all()


@pytest.mark.slow
def test_a_hyperband_continuation_trains_each_fold_on_from_its_parents_fold(
        small_penguins, tmp_path):
    X, y = small_penguins
    result = _search(X, y, tmp_path, strategy="hyperband")
    trials = result.search_.oracle.trials
    continued = [t for t in trials.values() if "tuner/trial_id" in t.hyperparameters.values]
    assert continued
    for trial in continued:
        parent = trials[trial.hyperparameters.values["tuner/trial_id"]]
        for fold in range(3):  # both have their own checkpoint of each fold
            for t in (trial, parent):
                assert (tmp_path / "kerastune" / f"trial_{t.trial_id}"
                        / f"checkpoint.fold{fold}.weights.h5").exists()
    row = result.trials.iloc[int(continued[0].trial_id)]
    parent_row = result.trials.iloc[int(continued[0].hyperparameters.values["tuner/trial_id"])]
    # the continuation's curve is its parent's followed by its own epochs
    assert row.epochs_trained == continued[0].hyperparameters.values["tuner/epochs"]
    assert row.val_curve[: parent_row.epochs_trained] == pytest.approx(parent_row.val_curve)


def test_one_split_on_request_and_a_resume_across_the_change_is_refused(
        small_penguins, tmp_path):
    X, y = small_penguins
    one = _search(X, y, tmp_path, n_trials=1, cv=None)
    records = read_records(tmp_path / "kerastune-histories.jsonl")
    assert len(records) == 1 and "fold" not in records[0]  # the records of old searches
    assert one.trials["score_std"].isna().all()  # one split has no spread
    assert one.trials["val_loss"].notna().all()
    with pytest.raises(ValueError, match=r"one validation split \(cv=None\), now on 3 folds"):
        _search(X, y, tmp_path, n_trials=1, cv=3, resume=True)
    with pytest.raises(ValueError, match="cv=None scores on one validation split"):
        _search(X, y, tmp_path / "other", strategy="random", cv=None)


def test_cv_auto_is_folds_for_small_data_and_one_split_for_large():
    from kerastune_kit.strategies import HyperbandStrategy, RandomStrategy
    from kerastune_kit.strategies.keras_tuner import FOLDS_BELOW_ROWS

    assert HyperbandStrategy.resolve_cv("auto", 275) == 3
    assert HyperbandStrategy.resolve_cv("auto", FOLDS_BELOW_ROWS) is None
    assert HyperbandStrategy.resolve_cv(5, 10**6) == 5  # an explicit number always holds
    assert RandomStrategy.resolve_cv("auto", 10**6) == 3


# ----------------------------------------------------------------------
# ties: the lower validation loss wins
# ----------------------------------------------------------------------
def test_equal_scores_are_ranked_by_the_lower_validation_loss():
    rows = [trial_row(trial=i, strategy="hyperband", values={"nodes": n}, score=s,
                      val_loss=loss, epochs_trained=e, fit_time=0.1)
            for i, (n, s, loss, e) in enumerate([(8, 1.0, 0.40, 2), (16, 0.9, 0.10, 10),
                                                 (24, 1.0, 0.05, 10), (32, 1.0, float("nan"), 4)])]
    table = trials_table(rows, ["nodes"])
    assert list(table.columns[:7]) == ["trial", "round", "strategy", "status", "score",
                                       "score_std", "val_loss"]
    assert best_params(table, ["nodes"]) == {"nodes": 24}  # not the first of the three 1.0s
    assert ranked(table)["trial"].tolist() == [2, 0, 3, 1]  # NaN loss after known losses
    # a table without the column (saved by an older version) keeps "the first of equal scores"
    assert best_params(table.drop(columns="val_loss"), ["nodes"]) == {"nodes": 8}


def test_best_epoch_prefers_the_lower_loss_among_equal_accuracies():
    assert best_epoch([0.9, 1.0, 1.0, 1.0], [0.9, 0.4, 0.2, 0.3]) == 2
    assert best_epoch([float("nan"), 0.5], [0.1, 0.9]) == 1


def test_hyperband_promotes_the_lower_loss_of_equal_scores(tmp_path):
    # the oracle's own promotion, driven by hand: no training
    from kerastune_kit.hypermodel import _HyperbandOracle  # noqa: the class under test

    oracle = _HyperbandOracle(objective=kt.Objective("val_accuracy", "max"), max_epochs=3,
                              factor=3, seed=1, hyperparameters=_hp())
    oracle._set_project_dir(str(tmp_path), "p")
    first = [oracle.create_trial(f"tuner{i}") for i in range(3)]  # the first round of bracket 1
    assert [t.hyperparameters.values["tuner/round"] for t in first] == [0] * 3
    for trial, (score, loss) in zip(first, [(1.0, 0.5), (0.5, 0.1), (1.0, 0.2)]):
        oracle.update_trial(trial.trial_id, {"val_accuracy": score, "val_loss": loss})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    promoted = oracle.create_trial("tuner0")
    assert promoted.hyperparameters.values["tuner/round"] == 1
    assert promoted.hyperparameters.values["tuner/trial_id"] == first[2].trial_id
    assert promoted.hyperparameters.values["tuner/epochs"] == 3


def _hp():
    hp = kt.HyperParameters()
    hp.Int("x", 0, 10**6)
    return hp


# ----------------------------------------------------------------------
# the refit's epochs
# ----------------------------------------------------------------------
def test_refit_epochs_are_the_folds_median_best_epoch_never_below_the_budget():
    assert refit_epochs(4, [6, 9, 8]) == (8, "median of the folds' best epochs [6, 9, 8]")
    epochs, rule = refit_epochs(10, [2, 3, 9])
    assert epochs == 10 and "budget of 10 epochs" in rule and "is 3" in rule
    assert refit_epochs(10, [9, 10])[0] == 10  # median 9.5 rounds up to 10
    assert refit_epochs(3, [5, 6])[0] == 6  # 5.5 rounds up
    assert refit_epochs(None, [])[0] is None
    assert refit_epochs(7, [float("nan")])[0] == 7


def test_the_result_says_how_many_epochs_the_refit_trained_and_why(small_penguins, tmp_path):
    X, y = small_penguins
    result = _search(X, y, tmp_path, estimator_params={"epochs": 4})
    best = result.trials.loc[result.trials["score"].idxmax()]
    assert result.refit_epochs_ >= 4  # never fewer than the trial's own budget
    assert "epochs" in result.refit_rule_
    model = result.best_estimator_[-1]
    assert len(model.history_["loss"]) == result.refit_epochs_
    assert best["epochs_trained"] == 4


# ----------------------------------------------------------------------
# Hyperband's schedule: Keras Tuner against the paper, without training
# ----------------------------------------------------------------------
def _oracle_schedule(tmp_path, max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    """Drive Keras Tuner's HyperbandOracle through one iteration with made-up scores."""
    oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("score", "max"),
                                        max_epochs=max_epochs, factor=factor,
                                        hyperband_iterations=1, seed=1, hyperparameters=_hp())
    oracle._set_project_dir(str(tmp_path), f"p{max_epochs}-{factor}")
    rng = np.random.default_rng(0)
    seen: dict = {}
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        values = trial.hyperparameters.values
        bracket = seen.setdefault(values["tuner/bracket"], {})
        count, epochs = bracket.get(values["tuner/round"], (0, values["tuner/epochs"]))
        bracket[values["tuner/round"]] = (count + 1, epochs)
        oracle.update_trial(trial.trial_id, {"score": float(rng.random())})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return [[seen[b][r] for r in sorted(seen[b])] for b in sorted(seen, reverse=True)]


@pytest.mark.parametrize("max_epochs, factor", [(81, 3), (10, 3), (27, 3), (16, 2), (100, 3)])
def test_the_keras_tuner_rule_is_what_the_oracle_runs(tmp_path, max_epochs, factor):
    assert _oracle_schedule(tmp_path, max_epochs, factor) == hyperband_schedule(
        max_epochs, factor, rule="keras-tuner")


def test_keras_tuner_rounds_survivors_up_where_the_paper_rounds_down():
    # Li et al. (JMLR 2018), Table 1: R=81, eta=3
    paper = hyperband_schedule(81, 3, rule="paper")
    assert paper == [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
                     [(34, 3), (11, 9), (3, 27), (1, 81)],
                     [(15, 9), (5, 27), (1, 81)],
                     [(8, 27), (2, 81)],
                     [(5, 81)]]
    keras_tuner = hyperband_schedule(81, 3)
    assert keras_tuner[1] == [(34, 3), (12, 9), (4, 27), (2, 81)]
    assert (schedule_trials(keras_tuner), schedule_trials(paper)) == (211, 206)
    assert (schedule_epochs(keras_tuner), schedule_epochs(paper)) == (1767, 1581)
    # max_epochs not a power of factor: brackets sized from ceil(1 + log3 10) = 4, not 3
    assert hyperband_schedule(10, 3) == [[(12, 2), (4, 4), (2, 10)], [(6, 4), (2, 10)],
                                         [(4, 10)]]
    assert hyperband_schedule(10, 3, rule="paper") == [[(9, 2), (3, 4), (1, 10)],
                                                       [(5, 4), (1, 10)], [(3, 10)]]
    assert (schedule_trials(hyperband_schedule(10, 3)),
            schedule_trials(hyperband_schedule(10, 3, rule="paper"))) == (30, 22)
    with pytest.raises(ValueError, match="rule="):
        hyperband_schedule(10, 3, rule="li")


# ----------------------------------------------------------------------
# penguins: the best Hyperband model is not worse than logistic regression
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_hyperband_on_penguins_picks_a_model_as_good_as_the_baseline():
    X, y = load_penguins(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    space = SearchSpace(nodes=Int(16, 256, step=16), dropout=Categorical([0.2, 0.4, 0.6]),
                        learning_rate=Float(1e-4, 1e-1, scale="log"),
                        beta_1=Float(0.9, 0.999, scale="reverse_log"))  # the README's
    result = tune(X_train, y_train, space, strategy="hyperband", max_epochs=10, factor=3,
                  preprocessor=make_preprocessor(), random_state=0)
    assert result.search_.oracle.trials  # Keras Tuner ran it
    assert result.trials["score_std"].notna().all()  # on folds, by default
    baseline = result.baseline_
    network, linear = baseline.loc[["KerasMLPClassifier", "LogisticRegression"], "mean"]
    assert network >= linear - 0.01, baseline
    assert result.refit_epochs_ >= 1 and result.refit_rule_
    assert math.isfinite(result.best_score_)
    assert isinstance(result.trials, pd.DataFrame)
