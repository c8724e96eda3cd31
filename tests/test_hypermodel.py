"""MLPHyperModel: the SearchSpace drives Keras Tuner's tuners, fit settings included."""

from __future__ import annotations

import json

import keras_tuner as kt
import pytest

from kerastune_kit.hypermodel import MLPHyperModel, trial_key
from kerastune_kit.space import Categorical, Fixed, Float, Int, SearchSpace


def test_build_follows_the_space():
    space = SearchSpace(nodes=Int(16, 64, step=16), n_layers=Fixed(3),
                        learning_rate=Float(1e-4, 1e-2, scale="log"), optimizer=Categorical(["sgd", "adam"]))
    hp = kt.HyperParameters()
    model = MLPHyperModel(space, input_shape=4, n_classes=3).build(hp)
    widths = [layer.units for layer in model.layers if hasattr(layer, "units")]
    assert widths[:-1] == [hp.values["nodes"]] * 3 and widths[-1] == 3
    assert 1e-4 * (1 - 1e-6) <= float(model.optimizer.learning_rate) <= 1e-2 * (1 + 1e-6)  # float32


def test_unknown_names_are_refused_with_a_suggestion():
    with pytest.raises(ValueError, match="Did you mean 'dropout'"):
        MLPHyperModel(SearchSpace(dropuot=Float(0, 0.5)), input_shape=4, n_classes=3)


@pytest.mark.slow
def test_random_search_honours_epochs_and_batch_size_from_the_space(iris, tmp_path):
    X, y = iris
    space = SearchSpace(nodes=Int(8, 16, step=8), epochs=Int(2, 3), batch_size=Categorical([16, 50]))
    records = tmp_path / "histories.jsonl"
    tuner = kt.RandomSearch(MLPHyperModel(space, input_shape=4, n_classes=3, seed=0, record_path=records),
                            objective="val_accuracy", max_trials=3, directory=tmp_path, seed=1)
    tuner.search(X[30:], y[30:], validation_data=(X[:30], y[:30]), verbose=0)
    recorded = {r["key"]: r for r in map(json.loads, records.read_text().splitlines())}
    trials = list(tuner.oracle.trials.values())
    assert len(recorded) == len(trials) == 3
    for trial in trials:
        values = trial.hyperparameters.values
        record = recorded[trial_key(values)]
        assert len(record["history"]["val_accuracy"]) == values["epochs"]  # epochs honoured
        assert len(record["history"]["epoch_seconds"]) == values["epochs"]
        assert record["steps"] == -(-120 // values["batch_size"])  # batch size honoured


@pytest.mark.slow
@pytest.mark.parametrize("tuner_cls", [kt.GridSearch, kt.BayesianOptimization, kt.Hyperband])
def test_other_tuners_run_on_it(iris, tmp_path, tuner_cls):
    X, y = iris
    space = SearchSpace(nodes=Categorical([8, 16]), dropout=Categorical([0.0, 0.2]))
    hypermodel = MLPHyperModel(space, input_shape=4, n_classes=3, seed=0)
    options = {"max_epochs": 2, "factor": 2} if tuner_cls is kt.Hyperband else {"max_trials": 4}
    tuner = tuner_cls(hypermodel, objective="val_accuracy", directory=tmp_path, seed=0, **options)
    fit = {} if tuner_cls is kt.Hyperband else {"epochs": 2}
    tuner.search(X[30:], y[30:], validation_data=(X[:30], y[:30]), verbose=0, **fit)
    trials = list(tuner.oracle.trials.values())
    assert trials and all(t.status == "COMPLETED" for t in trials)
    if tuner_cls is kt.GridSearch:
        seen = {(t.hyperparameters.values["nodes"], t.hyperparameters.values["dropout"]) for t in trials}
        assert seen == {(8, 0.0), (8, 0.2), (16, 0.0), (16, 0.2)}
