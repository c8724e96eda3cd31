"""optuna_integration.OptunaSearchCV with pruning on KerasMLPClassifier: partial_fit is one epoch a call."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("optuna")
optuna_integration = pytest.importorskip("optuna_integration")

from kerastune_kit import KerasMLPClassifier  # noqa: E402
from kerastune_kit.errors import InvalidParameterError  # noqa: E402
from kerastune_kit.space import Categorical, Float, Int, SearchSpace  # noqa: E402


def test_partial_fit_is_one_epoch_a_call_with_the_checks_of_fit(iris):
    X, y = iris
    clf = KerasMLPClassifier(nodes=8, random_state=0)
    for epochs in (1, 2, 3):
        clf.partial_fit(X, y, classes=np.unique(y))
        assert len(clf.history_["loss"]) == epochs
    with pytest.raises(InvalidParameterError, match="epochs"):
        KerasMLPClassifier(epochs=0).partial_fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        KerasMLPClassifier().partial_fit(np.full_like(X, np.nan), y)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:OptunaSearchCV is experimental",
                            "ignore:`optuna.terminator` module has been deprecated")
def test_optuna_search_cv_prunes_keras_mlp_classifier_trials(iris):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = iris
    space = SearchSpace(nodes=Int(4, 16, step=4), learning_rate=Float(1e-4, 1e-1, scale="log"),
                        activation=Categorical(["relu", "tanh"]))
    search = optuna_integration.OptunaSearchCV(
        KerasMLPClassifier(random_state=0), space.to_optuna_distributions(), cv=2,
        enable_pruning=True, max_iter=6, n_trials=8, random_state=0,
        study=optuna.create_study(direction="maximize",
                                  sampler=optuna.samplers.TPESampler(seed=0),
                                  pruner=optuna.pruners.SuccessiveHalvingPruner()),
        error_score="raise")
    search.fit(X, y)
    states = [t.state.name for t in search.trials_]
    assert len(states) == 8 and "PRUNED" in states and "COMPLETE" in states
    pruned = [t for t in search.trials_ if t.state.name == "PRUNED"]
    assert all(max(t.intermediate_values) < 5 for t in pruned)  # stopped before max_iter
    best = search.best_estimator_
    assert isinstance(best, KerasMLPClassifier) and best.score(X, y) > 0.8
    assert space.from_optuna(search.best_params_)["nodes"] == best.nodes
