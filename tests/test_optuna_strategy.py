"""tune(strategy="optuna"): settings refused before training, pruning that saves epochs, the SQLite
study, parallel processes on one study, multi-objective Pareto fronts; real training, tiny data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

optuna = pytest.importorskip("optuna")

from kerastune_kit import load_digits, load_penguins, make_preprocessor  # noqa: E402
from kerastune_kit.errors import GridConversionError, InvalidParameterError  # noqa: E402
from kerastune_kit.search import tune  # noqa: E402
from kerastune_kit.space import Categorical, Float, Int, SearchSpace  # noqa: E402

SPACE = SearchSpace(nodes=Int(4, 32, step=4), learning_rate=Float(1e-4, 1e-1, scale="log"))


@pytest.fixture(scope="module")
def penguins():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=120, stratify=y, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=300, stratify=y, random_state=0)
    return X, y


def _tune(X, y, directory, *, preprocess=True, epochs=6, **kwargs):
    kwargs.setdefault("strategy", "optuna")
    return tune(X, y, kwargs.pop("space", SPACE), n_trials=kwargs.pop("n_trials", 8), cv=2,
                directory=directory, compare_baseline=False,
                preprocessor=make_preprocessor() if preprocess else None,
                estimator_params={"epochs": epochs}, **kwargs)


# ----------------------------------------------------------------------
# refused before anything trains
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(sampler="bohb"), "sampler='bohb' is not an Optuna sampler"),
    (dict(sampler=3), "must be one of"),
    (dict(pruner="patient"), "pruner='patient' is not a pruner"),
    (dict(objectives=("accuracy", "n_params"), pruner="median"), "cannot prune a multi"),
    (dict(objectives=("n_params",)), "'accuracy' among them"),
    (dict(objectives="accuracy"), "must be a tuple"),
    (dict(objectives=("accuracy", "size")), "at most once"),
    (dict(objectives=("accuracy", "n_params"), sampler="cmaes"), "sampler='nsga2'"),
    (dict(select_best=lambda front: 0), "multi-objective search only"),
    (dict(callbacks=[]), "Remove callbacks="),
    (dict(strategy="random", sampler="tpe"), "sampler='tpe' is not read by strategy='random'"),
    (dict(space=SearchSpace(nodes=Int(2, 32, step=2, log=True))), r"use Int\(2, 32, log=True\)"),
])
def test_settings_optuna_cannot_use_are_refused_with_the_fix(penguins, tmp_path, kwargs, match):
    with pytest.raises((InvalidParameterError, GridConversionError), match=match):
        _tune(*penguins, tmp_path, **kwargs)
    assert not (tmp_path / "optuna.db").exists()


# ----------------------------------------------------------------------
# a search, its study, its table
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_search_keeps_its_study_in_sqlite_and_reports_pruned_trials(penguins, tmp_path):
    space = SPACE.with_values(beta_1=Float(0.9, 0.999, scale="reverse_log"),
                              hidden_layer_sizes=Categorical([(8,), (8, 8)]))
    result = _tune(*penguins, tmp_path, space=space, pruner="halving", n_trials=8)
    trials = result.trials
    assert set(trials["status"]) <= {"ok", "pruned"} and (trials["status"] == "pruned").any()
    pruned = trials[trials["status"] == "pruned"]
    assert (pruned["epochs_trained"] < 6).all() and np.isfinite(pruned["score"]).all()
    assert (trials.loc[trials["status"] == "ok", "epochs_trained"] == 6).all()
    best = trials.loc[trials["status"] == "ok", "score"].idxmax()
    assert result.best_score_ == trials.loc[best, "score"]
    assert {tuple(v) if isinstance(v, list) else v for v in trials["hidden_layer_sizes"]} \
        <= {(8,), (8, 8)}
    assert "pruned" in repr(result)
    # the study is a real SQLite file that Optuna (and optuna-dashboard) open by URL
    study = optuna.load_study(study_name="kerastune", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert len(study.trials) == 8
    assert [t.state.name for t in study.trials].count("PRUNED") == len(pruned)
    first = study.trials[0]
    assert first.user_attrs["beta_1"] == pytest.approx(trials.loc[0, "beta_1"])
    assert first.intermediate_values  # per-epoch mean fold accuracy, step = epochs trained


@pytest.mark.slow
def test_same_seed_same_trials(penguins, tmp_path):
    a = _tune(*penguins, tmp_path / "a", n_trials=4, pruner="median")
    b = _tune(*penguins, tmp_path / "b", n_trials=4, pruner="median")
    cols = ["status", "score", "nodes", "learning_rate", "epochs_trained"]
    assert a.trials[cols].equals(b.trials[cols])


@pytest.mark.slow
@pytest.mark.parametrize("sampler, pruner", [("cmaes", "hyperband"), ("random", "median"),
                                             ("nsga2", None)])
def test_every_named_sampler_and_pruner_runs(penguins, tmp_path, sampler, pruner):
    result = _tune(*penguins, tmp_path, sampler=sampler, pruner=pruner, n_trials=6, epochs=4)
    study = result.search_
    assert type(study.sampler).__name__.lower().startswith(sampler[:4])
    assert len(result.trials) == 6 and (result.trials["status"] != "failed").all()


def test_gp_without_pytorch_says_how_to_install_it(penguins, tmp_path):
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed")
    with pytest.raises(ImportError, match="sampler='gp' needs the 'torch' package.*pip install"):
        _tune(*penguins, tmp_path, sampler="gp", n_trials=2)


def _epochs(result) -> int:
    return int(result.trials["epochs_trained"].sum()) * 2  # both folds train every epoch


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["penguins", "digits"])
def test_halving_prunes_saves_epochs_and_finds_as_good_a_network_as_random_search(
        dataset, request, tmp_path):
    X, y = request.getfixturevalue(dataset)
    preprocess = dataset == "penguins"
    pruned = _tune(X, y, tmp_path / "pruned", preprocess=preprocess, n_trials=30,
                   pruner="halving")
    full = _tune(X, y, tmp_path / "full", preprocess=preprocess, n_trials=30)
    random = _tune(X, y, tmp_path / "random", preprocess=preprocess, n_trials=30,
                   strategy="random")
    n_pruned = int((pruned.trials["status"] == "pruned").sum())
    assert n_pruned > 0 and (full.trials["status"] == "ok").all()
    assert _epochs(pruned) < _epochs(full) == 30 * 6 * 2
    # within noise: one standard error of the random search's best trial across its 2 folds,
    # and at least 2 points of accuracy
    best = random.trials.loc[random.trials["score"].idxmax()]
    noise = max(2 * best["score_std"] / math.sqrt(2), 0.02)
    print(f"\n{dataset}: epochs pruned {_epochs(pruned)} vs unpruned {_epochs(full)}; "
          f"{n_pruned}/30 pruned; best score pruned {pruned.best_score_:.4f}, unpruned "
          f"{full.best_score_:.4f}, random search {random.best_score_:.4f} (noise {noise:.4f})")
    assert pruned.best_score_ >= random.best_score_ - noise


# ----------------------------------------------------------------------
# several processes on one study
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_two_processes_share_the_study_and_finish_the_budget_without_duplicates(
        penguins, tmp_path):
    result = _tune(*penguins, tmp_path, n_trials=8, n_jobs=2, pruner="median")
    study = result.search_
    assert len(study.trials) == 8 and len(result.trials) == 8
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "PRUNED"}
    assert {t.user_attrs["worker"] for t in study.trials} == {0, 1}  # both trained trials
    params = {(t.params["nodes"], t.params["learning_rate"]) for t in study.trials}
    assert len(params) == 8  # the two processes' samplers are seeded apart


# ----------------------------------------------------------------------
# several objectives: a Pareto front
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_multi_objective_search_returns_a_front_of_non_dominated_trials(penguins, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from kerastune_kit.plots import plot_pareto_front

    result = _tune(*penguins, tmp_path, n_trials=10, objectives=("accuracy", "n_params"))
    trials, front = result.trials, result.pareto_front_
    assert len(front) >= 1 and front["pareto"].all() and (front["status"] == "ok").all()
    ok = trials[trials["status"] == "ok"]
    for _, row in front.iterrows():  # checked here, not trusted from the code under test
        better_or_equal = (ok["score"] >= row["score"]) & (ok["n_params"] <= row["n_params"])
        strictly = (ok["score"] > row["score"]) | (ok["n_params"] < row["n_params"])
        assert not (better_or_equal & strictly).any()
    assert not trials.loc[~trials["pareto"]].index.isin(front.index).any()
    # the default rule: the smallest front model within one standard error of the best score
    top = front.loc[front["score"].idxmax()]
    close = front[front["score"] >= top["score"] - top["score_std"] / math.sqrt(2) - 1e-12]
    assert result.best_params_["nodes"] == close.loc[close["n_params"].idxmin(), "nodes"]
    assert result.best_score_ == close.loc[close["n_params"].idxmin(), "score"]
    ax = plot_pareto_front(result)
    assert len(ax.collections) >= 2 and ax.get_xlabel() == "n_params"
    # the rule can be overridden: the most accurate trial of the front
    chosen = _tune(*penguins, tmp_path / "mine", n_trials=10, objectives=("accuracy", "n_params"),
                   select_best=lambda f: int(f.loc[f["score"].idxmax(), "trial"]))
    assert chosen.best_score_ == chosen.pareto_front_["score"].max()


# ----------------------------------------------------------------------
# plots and report of pruned trials and fronts, without training
# ----------------------------------------------------------------------
def _table():
    import pandas as pd

    from kerastune_kit.pareto import pareto_mask
    from kerastune_kit.trials import trial_row, trials_table

    rows = [trial_row(trial=i, strategy="optuna", values={"nodes": n, "learning_rate": lr},
                      score=s, score_std=0.01, epochs_trained=e, fit_time=0.1,
                      train_curve=[s] * e, val_curve=[s] * e, pruned=p)
            for i, (n, lr, s, e, p) in enumerate([(8, 1e-3, 0.9, 6, False),
                                                  (16, 1e-2, 0.95, 6, False),
                                                  (4, 1e-4, 0.5, 1, True),
                                                  (32, 1e-2, 0.94, 6, False),
                                                  (8, 1e-1, float("nan"), 2, False)])]
    table = trials_table(rows, ["nodes", "learning_rate"])
    table["n_params"] = pd.Series([100.0, 300.0, 50.0, 900.0, float("nan")])
    table["pareto"] = pareto_mask(table, ["accuracy", "n_params"])
    return table


def test_pruned_trials_are_a_status_of_their_own_never_the_best():
    from kerastune_kit.trials import best_params

    table = _table()
    assert list(table["status"]) == ["ok", "ok", "pruned", "ok", "failed"]
    assert table.loc[2, "error"] == "" and table.loc[2, "score"] == 0.5
    assert best_params(table, ["nodes", "learning_rate"]) == {"nodes": 16, "learning_rate": 1e-2}
    assert list(table["pareto"]) == [True, True, False, False, False]


def test_plots_and_report_show_pruned_trials_and_the_front(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from kerastune_kit.plots import plot_pareto_front, plot_scores
    from kerastune_kit.report import render_report
    from kerastune_kit.trials import SearchResult

    result = SearchResult(trials=_table(), best_params_={"nodes": 8, "learning_rate": 1e-3},
                          best_score_=0.9, strategy="optuna", space=SPACE)
    fig = plot_scores(result)
    assert "1 failed" in fig._suptitle.get_text() and "1 pruned" in fig._suptitle.get_text()
    ax = plot_pareto_front(result)
    assert ax.get_title() == "Pareto front: 2 of 3 finished trials"
    page = render_report(result)
    assert "1 pruned (stopped early after 1 epochs in all)" in page
    assert "<h2>Pareto front</h2>" in page and page.count("data:image/png") >= 3


# ----------------------------------------------------------------------
# the command line
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_cli_runs_an_optuna_search_with_sampler_and_pruner(tmp_path, capsys):
    from kerastune_kit.cli import main

    code = main(["tune", "--strategy", "optuna", "--sampler", "random", "--pruner", "median",
                 "--budget", "6", "--epochs", "3", "--cv", "2", "--set", "nodes=4:16:4",
                 "--out", str(tmp_path / "run"), "-q"])
    assert code == 0
    assert (tmp_path / "run" / "search" / "optuna.db").exists()
    assert (tmp_path / "run" / "report.html").exists()
    assert main(["tune", "--strategy", "random", "--pruner", "median", "--budget", "2",
                 "--out", str(tmp_path / "other"), "-q"]) == 2
    assert "pruner='median' is not read by strategy='random'" in capsys.readouterr().err
