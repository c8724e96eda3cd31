"""tune(): one SearchSpace, every strategy, one results table; coarse-to-fine; sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from kerastune_kit import KerasMLPClassifier, load_penguins, make_preprocessor
from kerastune_kit.search import TRIAL_COLUMNS, TRIAL_TAIL, sweep, tune
from kerastune_kit.space import Categorical, Float, Int, SearchSpace


@pytest.fixture(scope="module")
def penguins():
    X, y = load_penguins(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)


SMALL = SearchSpace(nodes=Int(8, 16, step=8), learning_rate=Float(0.01, 0.03, step=0.02))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["grid", "random", "halving", "hyperband", "bayesian", "kt-random"])
def test_one_space_drives_every_strategy_with_the_same_columns(penguins, strategy, tmp_path):
    X_train, X_test, y_train, y_test = penguins
    result = tune(
        X_train, y_train, SMALL, strategy=strategy, n_trials=2, cv=2, max_epochs=3,
        preprocessor=make_preprocessor(), estimator_params={"epochs": 3, "batch_size": 32},
        directory=tmp_path, compare_baseline=False,
    )
    trials = result.trials
    assert list(trials.columns) == [*TRIAL_COLUMNS, "nodes", "learning_rate", *TRIAL_TAIL]
    assert len(trials) >= 2 and (trials["status"] == "ok").all()
    assert trials["nodes"].isin([8, 16]).all()
    assert trials["learning_rate"].round(9).isin([0.01, 0.03]).all()  # the step is honoured
    assert trials["score"].between(0, 1).all()
    assert all(len(curve) == n for curve, n in zip(trials["train_curve"], trials["epochs_trained"]))
    assert all(len(curve) == n for curve, n in zip(trials["val_curve"], trials["epochs_trained"]))
    if strategy != "halving":  # halving trains candidates for 1, then 3 epochs
        assert (trials["epochs_trained"] == 3).all() or strategy == "hyperband"
    assert (trials["fit_time"] > 0).all()
    assert set(result.best_params_) == {"nodes", "learning_rate"}
    assert result.best_score_ == trials["score"].max()
    # the refitted best model is a scikit-learn estimator trained on all the training data
    assert isinstance(result.best_estimator_, Pipeline)
    assert isinstance(result.best_estimator_[-1], KerasMLPClassifier)
    assert result.best_estimator_[-1].nodes == result.best_params_["nodes"]
    assert result.best_estimator_.score(X_test, y_test) > 0.5
    if strategy in ("grid",):
        assert len(trials) == 4
    if strategy in ("hyperband", "bayesian", "kt-random"):
        assert (tmp_path / "kerastune" / "oracle.json").exists()  # a real Keras Tuner project


@pytest.mark.slow
def test_hyperband_on_penguins_beats_095_on_the_held_out_test_split(penguins, tmp_path):
    X_train, X_test, y_train, y_test = penguins
    space = SearchSpace(
        nodes=Int(16, 256, step=16),
        dropout=Categorical([0.2, 0.4, 0.6]),
        learning_rate=Float(1e-4, 1e-1, scale="log"),
    )
    result = tune(X_train, y_train, space, strategy="hyperband", max_epochs=10, factor=3,
                  preprocessor=make_preprocessor(), directory=tmp_path, random_state=0,
                  compare_baseline=True)
    assert len(result.trials) >= 10
    assert result.best_estimator_.score(X_test, y_test) >= 0.95  # test split used once
    baseline = result.baseline_
    assert list(baseline.index) == ["KerasMLPClassifier", "LogisticRegression", "difference"]
    assert 0 <= baseline.loc["difference", "p_value"] <= 1


@pytest.mark.slow
def test_coarse_to_fine_zooms_into_the_best_region(penguins, tmp_path):
    X_train, _, y_train, _ = penguins
    space = SearchSpace(learning_rate=Float(1e-5, 1.0, scale="log"), nodes=Int(4, 64, step=4))
    result = tune(X_train, y_train, space, strategy="coarse-to-fine", rounds=2, n_trials=5,
                  top_k=2, cv=2, preprocessor=make_preprocessor(),
                  estimator_params={"epochs": 3}, directory=tmp_path, compare_baseline=False)
    trials = result.trials
    assert sorted(trials["round"].unique()) == [0, 1] and len(trials) == 10
    assert trials["trial"].tolist() == list(range(10))
    first, second = result.spaces_
    lr1, lr2 = first["learning_rate"], second["learning_rate"]
    assert lr1.low <= lr2.low < lr2.high <= lr1.high  # round 2 inside round 1
    assert np.log10(lr2.high / lr2.low) < np.log10(lr1.high / lr1.low)
    best = trials[trials["round"] == 0].sort_values("score", ascending=False).head(2)
    assert best["learning_rate"].between(lr2.low, lr2.high).all()  # centred on the best
    round2 = trials[trials["round"] == 1]
    assert round2["learning_rate"].between(lr2.low, lr2.high).all()
    assert round2["nodes"].between(second["nodes"].low, second["nodes"].high).all()


@pytest.mark.slow
def test_sweep_repeats_each_value_over_seeds(penguins):
    X_train, _, y_train, _ = penguins
    table = sweep(X_train, y_train, "n_layers", [0, 2], seeds=(0, 1),
                  preprocessor=make_preprocessor(), epochs=4, nodes=16)
    assert len(table) == 4
    assert sorted(table["value"].unique()) == [0, 2] and sorted(table["seed"].unique()) == [0, 1]
    assert all(len(c) == 4 for c in table["train_curve"]) and all(len(c) == 4 for c in table["val_curve"])
    assert table["val_score"].between(0, 1).all()
    ratio = sweep(X_train, y_train, "hidden_layer_sizes", [(8, 32), (32, 8)], seeds=(0,),
                  preprocessor=make_preprocessor(), epochs=2)
    assert ratio["value"].tolist() == [(8, 32), (32, 8)]


def test_search_bookkeeping_without_training(penguins):
    X_train, _, y_train, _ = penguins
    with pytest.raises(ValueError, match="Did you mean 'nodes'"):
        tune(X_train, y_train, SearchSpace(nodez=Int(1, 3)))
    with pytest.raises(ValueError, match="strategy='hyperbnd'.*Did you mean 'hyperband'"):
        tune(X_train, y_train, SMALL, strategy="hyperbnd")
    with pytest.raises(TypeError, match="must be a SearchSpace"):
        tune(X_train, y_train, {"nodes": [1, 2]})
    with pytest.raises(ValueError, match="empty"):
        tune(X_train, y_train, SearchSpace())
    with pytest.raises(ValueError, match="max_epochs"):
        tune(X_train, y_train, SMALL.with_values(epochs=Int(1, 3)), strategy="hyperband")
    with pytest.raises(ValueError, match="step"):
        tune(X_train, y_train, SearchSpace(learning_rate=Float(1e-3, 1e-1, scale="log")),
             strategy="grid", preprocessor=make_preprocessor())
    with pytest.raises(ValueError, match="param='nodez'"):
        sweep(X_train, y_train, "nodez", [1])
    assert isinstance(pd.DataFrame(columns=[*TRIAL_COLUMNS, *TRIAL_TAIL]), pd.DataFrame)


# ----------------------------------------------------------------------
# no litter: a temporary folder lives as long as the result
# ----------------------------------------------------------------------
def _our_temp_folders() -> set:
    import glob
    import os
    import tempfile

    return set(glob.glob(os.path.join(tempfile.gettempdir(), "kerastune-*")))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["random", "kt-random"])
def test_a_temporary_search_folder_goes_with_its_result(penguins, strategy, tmp_path,
                                                        monkeypatch):
    import gc
    import tempfile

    # a temporary folder of this test's own: another test process's searches make theirs
    # in the shared one at any moment (pytest -n 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    X, _, y, _ = penguins
    before = _our_temp_folders()
    result = tune(X, y, SearchSpace(nodes=Int(8, 16, step=8)), strategy=strategy, n_trials=1,
                  cv=2, preprocessor=make_preprocessor(), estimator_params={"epochs": 1},
                  compare_baseline=False)
    made = _our_temp_folders() - before
    assert len(made) == 1  # the search's records, while the result is in use
    del result
    gc.collect()
    assert _our_temp_folders() - before == set()


@pytest.mark.slow
def test_a_failed_search_removes_its_temporary_folder_at_once(penguins, tmp_path, monkeypatch):
    import tempfile

    from kerastune_kit.errors import TooManyFailures

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # (see the test above)
    X, _, y, _ = penguins
    before = _our_temp_folders()
    with pytest.raises(TooManyFailures):  # every trial diverges: the search stops
        tune(X, y, SearchSpace(learning_rate=Categorical([1e4])), n_trials=2, cv=2,
             preprocessor=make_preprocessor(), max_consecutive_failures=1,
             estimator_params={"epochs": 2, "optimizer": "sgd"}, compare_baseline=False)
    assert _our_temp_folders() - before == set()


def test_a_given_directory_is_kept(penguins, tmp_path):
    X, _, y, _ = penguins
    folder = tmp_path / "kept"
    tune(X, y, SearchSpace(nodes=Categorical([8])), n_trials=1, cv=2,
         preprocessor=make_preprocessor(), estimator_params={"epochs": 1},
         directory=folder, compare_baseline=False)
    assert (folder / "search.json").exists() and (folder / "trials.jsonl").exists()


@pytest.mark.slow
def test_raw_penguins_just_work_with_the_automatic_preprocessor_and_say_so(penguins):
    X, _, y, _ = penguins  # a raw DataFrame: text columns and missing values
    result = tune(X, y, SearchSpace(nodes=Categorical([8])), n_trials=1, cv=2,
                  estimator_params={"epochs": 1}, compare_baseline=False)
    assert result.preprocessing_.startswith("preprocessing: make_preprocessor()")
    assert "non-numeric column(s) ['island', 'sex']" in result.preprocessing_
    assert "missing values in" in result.preprocessing_
    assert result.preprocessing_ in result.summary()
    assert result.best_estimator_.steps[0][0] == "preprocess"
    numeric = tune(X[["bill_length_mm"]].fillna(40.0).to_numpy(), y,
                   SearchSpace(nodes=Categorical([8])), n_trials=1, cv=2,
                   estimator_params={"epochs": 1}, compare_baseline=False)
    assert numeric.preprocessing_ == "preprocessing: none (X is all numbers, no missing values)"
    assert not hasattr(numeric.best_estimator_, "steps")
