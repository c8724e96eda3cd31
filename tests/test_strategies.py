"""The strategy family: the registry, the declared properties, the journaled search classes,
and a strategy written here, outside the package, run through tune and the CLI."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor
from kerastune_kit.builders import build_mlp
from kerastune_kit.cli import main
from kerastune_kit.estimators import BUILDER_PARAMS
from kerastune_kit.search import STRATEGIES, expected_fits, register_strategy, tune
from kerastune_kit.space import Categorical, Float, Int, SearchSpace
from kerastune_kit.strategies import SearchSettings, Strategy, StrategyOutcome
from kerastune_kit.trials import TRIAL_COLUMNS, TRIAL_TAIL, trial_row, trials_table


class OneCandidate(Strategy):
    """A toy strategy: train the space's first sampled candidate once, score it on the training data."""

    name = "one-candidate"
    summary = "train one sampled candidate (a test's toy)"
    uses_folds = False

    def expected_fits(self, space):
        return 1

    def run(self, job):
        values = job.space.sample(self.settings.random_state, 1)[0]
        model = job.refit(values)
        history = (model[-1] if hasattr(model, "steps") else model).history_
        rows = [trial_row(trial=0, strategy=self.name, values=values,
                          score=model.score(job.X, job.y), epochs_trained=len(history["loss"]),
                          fit_time=0.01, train_curve=history["accuracy"])]
        return StrategyOutcome(trials_table(rows, job.space.names), search=model)


@pytest.fixture
def toy_registered():
    register_strategy(OneCandidate)
    yield OneCandidate
    del STRATEGIES[OneCandidate.name]


@pytest.fixture(scope="module")
def penguins():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    return X, y


SPACE = SearchSpace(nodes=Int(8, 16, step=8), learning_rate=Float(0.01, 0.03, step=0.02))


# ----------------------------------------------------------------------
# the registry, without training
# ----------------------------------------------------------------------
def test_the_registry_names_every_strategy_once_with_its_declared_properties():
    assert list(STRATEGIES) == ["grid", "random", "halving", "coarse-to-fine", "hyperband",
                                "bayesian", "kt-random", "optuna"]
    for name, cls in STRATEGIES.items():
        assert cls.name == name and issubclass(cls, Strategy)
        assert cls.summary and "\n" not in cls.summary
    on_folds = {n for n, c in STRATEGIES.items() if c.uses_folds}
    assert on_folds == {"grid", "random", "halving", "coarse-to-fine", "optuna"}
    assert {n for n, c in STRATEGIES.items() if c.owns_epochs} == {"halving", "hyperband"}
    assert {n for n, c in STRATEGIES.items() if not c.uses_n_trials} == {"grid", "hyperband"}


def test_expected_fits_come_from_the_strategies():
    grid = SearchSpace(nodes=Categorical([8, 16, 32]), dropout=Categorical([0.0, 0.2]))
    assert expected_fits("grid", grid, cv=3) == 18
    assert expected_fits("random", grid, n_trials=7, cv=2) == 14
    assert expected_fits("coarse-to-fine", grid, n_trials=5, cv=3, rounds=2) == 30
    assert expected_fits("kt-random", grid, n_trials=4) == 4 * 3  # a history record a fold
    assert expected_fits("kt-random", grid, n_trials=4, cv=None) == 4  # one split
    assert expected_fits("kt-random", grid, n_trials=4, n_rows=10**5) == 4  # cv="auto", big
    assert expected_fits("hyperband", grid) is None and expected_fits("halving", grid) is None
    with pytest.raises(ValueError, match="Did you mean 'random'"):
        expected_fits("randm", grid)


def test_a_strategy_is_refused_by_the_registry_when_it_is_not_one():
    with pytest.raises(TypeError, match="subclass of kerastune_kit.strategies.Strategy"):
        register_strategy(dict)

    class Unnamed(Strategy):
        pass

    with pytest.raises(ValueError, match="non-empty lower-case"):
        register_strategy(Unnamed)

    class Clash(Strategy):
        name = "random"

    with pytest.raises(ValueError, match="'random' is taken by RandomStrategy"):
        register_strategy(Clash)
    assert STRATEGIES["random"].__name__ == "RandomStrategy"


def test_settings_are_checked_once_with_the_parameter_named():
    with pytest.raises(ValueError, match=r"rounds=0 must be a positive integer"):
        SearchSettings(strategy="random", rounds=0)
    with pytest.raises(ValueError, match=r"factor=1 must be at least 2"):
        SearchSettings(strategy="hyperband", factor=1)
    with pytest.raises(TypeError, match=r"resume='yes'.*True or False"):
        SearchSettings(strategy="random", resume="yes")
    with pytest.raises(ValueError, match="resume=True.*directory="):
        SearchSettings(strategy="random", resume=True)
    settings = SearchSettings.complete(STRATEGIES["random"], random_state=3,
                                       estimator_params={"epochs": 2})
    assert dict(settings.estimator_params) == {"epochs": 2, "random_state": 3,
                                               "validation_split": 0.2}
    kt = SearchSettings.complete(STRATEGIES["hyperband"], random_state=3)
    assert "validation_split" not in kt.estimator_params  # the folds' held-out parts score
    assert kt.cv == 3 and kt.record(SPACE, np.zeros((4, 2)), np.array([0, 1, 0, 1]))[
        "trial_folds"] == 3


def test_the_record_keeps_the_keys_older_records_have():
    # a search recorded before the strategies became classes must resume: same keys
    settings = SearchSettings.complete(STRATEGIES["random"])
    record = settings.record(SPACE, np.zeros((4, 2)), np.array([0, 1, 0, 1]))
    assert sorted(record) == sorted([
        "strategy", "space", "n_trials", "cv", "validation_split", "max_epochs", "factor",
        "rounds", "top_k", "random_state", "preprocessor", "project_name", "estimator_params",
        "data"])
    json.dumps(record)  # plain data


def test_builder_params_are_exactly_build_mlps_network_parameters():
    # every build_mlp argument except what the estimator works out itself
    signature = set(inspect.signature(build_mlp).parameters)
    worked_out = {"input_shape", "n_classes", "seed", "meta", "optimizer_kwargs",
                  "output", "n_outputs"}  # output layer: worked out from the target
    assert set(BUILDER_PARAMS) == signature - worked_out
    assert len(BUILDER_PARAMS) == len(set(BUILDER_PARAMS))


def test_journaled_searches_take_the_failure_limit_and_journal_as_parameters(tmp_path):
    from kerastune_kit.strategies._journaled import (
        CoarseToFineSearchCV, JournaledGridSearchCV, JournaledHalvingRandomSearchCV,
        JournaledMLPClassifier, JournaledRandomizedSearchCV,
    )

    model = JournaledMLPClassifier(journal=str(tmp_path / "j.jsonl"), replay=True, nodes=8)
    searches = [
        JournaledGridSearchCV(model, {"nodes": [8]}, failure_limit=2, journal="a.jsonl"),
        JournaledRandomizedSearchCV(model, {"nodes": [8]}, n_iter=1, failure_limit=2,
                                    journal="a.jsonl"),
        JournaledHalvingRandomSearchCV(model, {"nodes": [8]}, resource="epochs",
                                       failure_limit=2, journal="a.jsonl"),
        CoarseToFineSearchCV(model, SPACE, n_iter=2, rounds=3, failure_limit=2,
                             journal="a.jsonl"),
    ]
    for search in searches:
        params = search.get_params(deep=False)
        assert params["failure_limit"] == 2 and params["journal"] == "a.jsonl"
        copy = clone(search)
        assert copy.failure_limit == 2 and copy.journal == "a.jsonl"
        assert copy.estimator.journal == model.journal and copy.estimator.replay is True
    assert clone(searches[-1]).get_params(deep=False)["rounds"] == 3


# ----------------------------------------------------------------------
# a strategy from outside the package, through tune and the CLI
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_strategy_written_outside_the_package_runs_through_tune(penguins, toy_registered,
                                                                   tmp_path):
    X, y = penguins
    result = tune(X, y, SPACE, strategy="one-candidate", preprocessor=make_preprocessor(),
                  estimator_params={"epochs": 2}, directory=tmp_path, compare_baseline=True,
                  cv=2)
    assert result.strategy == "one-candidate" and len(result.trials) == 1
    assert list(result.trials.columns) == [*TRIAL_COLUMNS, *SPACE.names, *TRIAL_TAIL]
    assert result.best_params_["nodes"] in (8, 16)
    assert result.best_estimator_[-1].nodes == result.best_params_["nodes"]
    assert list(result.baseline_.index) == ["KerasMLPClassifier", "LogisticRegression", "difference"]
    assert json.loads((tmp_path / "search.json").read_text())["strategy"] == "one-candidate"


@pytest.mark.slow
def test_a_strategy_written_outside_the_package_runs_through_the_cli(toy_registered, tmp_path,
                                                                     capsys):
    out = tmp_path / "run"
    code = main(["tune", "--strategy", "one-candidate", "--epochs", "2", "--cv", "2",
                 "--set", "nodes=8,16", "--set", "n_layers=1", "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "Test accuracy (test split, used once)" in printed
    assert json.loads((out / "best_params.json").read_text())["strategy"] == "one-candidate"
    assert (out / "report.html").exists()


def test_the_cli_lists_a_registered_strategy_in_its_help(toy_registered, capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "one-candidate: train one sampled candidate" in printed
