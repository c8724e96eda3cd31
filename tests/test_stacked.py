"""Folds trained together (stacked weights, one traced program) against the same fits one by one.

Real Keras models from build_mlp, real training on both sides: the lone side is
the fast path every estimator fit takes (itself checked against Model.fit in
test_fastfit.py), the stacked side kerastune_kit.stacked.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import KerasMLPClassifier, SearchSpace, build_mlp, load_penguins, tune
from kerastune_kit.callbacks import starting_loss
from kerastune_kit.fold_batches import STATS, fit_together
from kerastune_kit.space import Categorical, Float, Int
from kerastune_kit.stacked import StackedRun, stack_key, train_stacked
from kerastune_kit.training import fit_network


def _data(n=260, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 0.5)
    return x, y


X, Y = _data()
VAL = (X[200:], Y[200:])
#: Members of different sizes: with batches of 7 they take 27, 27 and 22 steps an epoch,
#: and their last batches hold 1, 2 and 3 rows.
SIZES = (183, 184, 157)


def _model(**kwargs):
    options = dict(input_shape=6, n_classes=3, nodes=16, seed=0, learning_rate=0.01)
    return build_mlp(**{**options, **kwargs})


def _stack(build, fit, sizes=SIZES, defer=False):
    runs = [StackedRun(build(), X[:n], Y[:n], seed=i, defer_optimizer=defer, fit_kwargs=fit)
            for i, n in enumerate(sizes)]
    train_stacked(runs)
    return runs


def _close(a, b, tol):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b, strict=True)) <= tol


@pytest.mark.parametrize("options", [
    dict(activation="tanh"),
    dict(activation="tanh", kernel_l1=1e-3, kernel_l2=1e-3, activity_l1=1e-4, activity_l2=1e-4),
    dict(activation="elu", optimizer="sgd", momentum=0.9),
    dict(activation="tanh", optimizer="sgd", n_layers=3, kernel_l2=1e-3),
], ids=["adam", "adam-penalties", "sgd-momentum", "sgd-three-layers"])
def test_without_dropout_each_member_trains_as_it_would_alone(options):
    fit = dict(batch_size=7, epochs=4, verbose=0, validation_data=VAL)
    assert stack_key(_model(**options), X, Y, fit) is not None
    runs = _stack(lambda: _model(**options), fit)
    for i, (run, n) in enumerate(zip(runs, SIZES)):
        alone = _model(**options)
        # the loss before training, which the divergence check compares the epochs with
        assert run.starting_loss == pytest.approx(starting_loss(alone, X[:n], Y[:n]), rel=1e-5)
        history = fit_network(alone, X[:n], Y[:n], seed=i, **fit)
        assert _close(run.model.get_weights(), alone.get_weights(), 2e-5)
        assert run.history.history.keys() == history.history.keys()
        for name, values in history.history.items():
            np.testing.assert_allclose(run.history.history[name], values, rtol=1e-4, atol=1e-5)
        # the optimiser state too: the same steps taken, the same moments
        stacked_state = [np.asarray(v) for v in run.model.optimizer.variables]
        alone_state = [np.asarray(v) for v in alone.optimizer.variables]
        assert int(run.model.optimizer.iterations) == int(alone.optimizer.iterations)
        assert _close(stacked_state, alone_state, 2e-5)


def test_a_member_with_fewer_batches_waits_unchanged_while_the_others_step():
    fit = dict(batch_size=7, epochs=2, verbose=0)
    runs = _stack(lambda: _model(activation="tanh"), fit)
    steps = [int(r.model.optimizer.iterations) for r in runs]
    assert steps == [2 * 27, 2 * 27, 2 * 23]  # 157 rows: 23 batches of 7, the last of 3


def test_a_seeded_stack_repeats_exactly_with_dropout():
    fit = dict(batch_size=8, epochs=3, verbose=0, validation_data=VAL)
    first = _stack(lambda: _model(dropout=0.3), fit)
    second = _stack(lambda: _model(dropout=0.3), fit)
    for a, b in zip(first, second):
        assert all(np.array_equal(u, v) for u, v in zip(a.model.get_weights(),
                                                        b.model.get_weights()))
        assert a.history.history == b.history.history


def test_deferred_optimizer_state_is_what_a_lone_fit_leaves():
    fit = dict(batch_size=16, epochs=2, verbose=0)
    runs = _stack(lambda: _model(activation="tanh"), fit, defer=True)
    alone = _model(activation="tanh")
    fit_network(alone, X[:SIZES[0]], Y[:SIZES[0]], seed=0, **fit)
    model = runs[0].model
    assert not model.optimizer.built  # nothing made until something reads it
    from kerastune_kit._template import settle_optimizer

    settle_optimizer(model)
    assert _close([np.asarray(v) for v in model.optimizer.variables],
                  [np.asarray(v) for v in alone.optimizer.variables], 2e-5)


@pytest.mark.parametrize("change", [
    dict(build=dict(batch_norm=True)), dict(build=dict(max_norm=2.0)),
    dict(build=dict(optimizer="rmsprop")), dict(build=dict(weight_decay=0.01, optimizer="adamw")),
    dict(fit=dict(sample_weight=np.ones(len(X)))), dict(fit=dict(class_weight={0: 1.0, 1: 2.0, 2: 1.0})),
    dict(fit=dict(initial_epoch=1)), dict(fit=dict(verbose=1)),
], ids=["batch-norm", "max-norm", "rmsprop", "adamw", "sample-weight", "class-weight",
        "initial-epoch", "progress-bar"])
def test_what_the_stack_does_not_cover_trains_alone(change):
    import keras

    model = _model(**change.get("build", {}))
    fit = dict(batch_size=8, epochs=2, **change.get("fit", {}))
    assert stack_key(model, X, Y, fit) is None
    # and a callback of the user's, which would need the weights after every epoch
    assert stack_key(_model(), X, Y, dict(callbacks=[keras.callbacks.EarlyStopping()])) is None


def test_fits_together_each_get_their_own_result_and_error():
    """Three estimator fits in one group: two stack, one fails before training, one cannot stack."""
    before = dict(STATS)

    def fit(**params):
        return lambda: KerasMLPClassifier(nodes=8, epochs=2, random_state=0, **params).fit(X, Y)

    def broken():
        raise RuntimeError("before training")

    results = fit_together([fit(), broken, fit(), fit(batch_norm=True)])
    assert [error is None for _, error in results] == [True, False, True, True]
    assert str(results[1][1]) == "before training"
    assert STATS["stacked"] - before["stacked"] == 2 and STATS["alone"] - before["alone"] == 1
    # the two stacked ones are the same candidate on the same rows: the same network
    a, b = results[0][0], results[2][0]
    assert all(np.array_equal(u, v) for u, v in zip(a.model_.get_weights(),
                                                    b.model_.get_weights()))
    assert a.history_["loss"] == b.history_["loss"]
    assert a.score(X, Y) == b.score(X, Y)


def test_each_fit_together_sees_the_callers_keras_settings():
    """Keras keeps its global dtype policy per thread: the fits' threads get the caller's."""
    import keras

    before = STATS["alone"]
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        [(fitted, error)] = fit_together(
            [lambda: KerasMLPClassifier(nodes=8, epochs=1, random_state=0).fit(X, Y)])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert error is None
    assert fitted.model_.layers[1].dtype_policy.name == "mixed_float16"
    assert STATS["alone"] == before + 1  # a mixed-precision network trains alone


@pytest.fixture(scope="module")
def penguins():
    X_all, y_all = load_penguins(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X_all, y_all, train_size=150, stratify=y_all,
                                              random_state=0)
    return X_train, y_train


def _search(X_train, y_train, monkeypatch, stacked: bool, space, **estimator):
    monkeypatch.setenv("KERASTUNE_STACK_FOLDS", "1" if stacked else "0")
    before = STATS["stacked"]
    result = tune(X_train, y_train, space, strategy="random", n_trials=4, cv=3,
                  estimator_params={"epochs": 4, **estimator}, random_state=0,
                  compare_baseline=False)
    assert (STATS["stacked"] > before) == stacked
    return result


def test_a_stacked_search_scores_each_candidate_as_the_one_by_one_search(penguins, monkeypatch):
    """Without dropout, tanh: the same candidates, the same fold scores, the same best."""
    space = SearchSpace(learning_rate=Float(1e-3, 3e-2, scale="log"), batch_size=Int(4, 16))
    lone = _search(*penguins, monkeypatch, False, space, activation="tanh")
    stacked = _search(*penguins, monkeypatch, True, space, activation="tanh")
    np.testing.assert_allclose(stacked.trials["score"], lone.trials["score"], atol=1e-9)
    assert stacked.best_params_ == lone.best_params_
    for a, b in zip(stacked.trials["train_curve"], lone.trials["train_curve"]):
        np.testing.assert_allclose(a, b, rtol=1e-4)


@pytest.mark.slow
def test_with_dropout_stacked_scores_match_one_by_one_within_noise(penguins, monkeypatch):
    space = SearchSpace(learning_rate=Float(3e-3, 3e-2, scale="log"),
                        dropout=Categorical([0.1, 0.3]))
    lone = _search(*penguins, monkeypatch, False, space, batch_size=8)
    stacked = _search(*penguins, monkeypatch, True, space, batch_size=8)
    # other dropout masks: each candidate's mean over 3 folds of 50 rows moves a little
    assert np.max(np.abs(stacked.trials["score"] - lone.trials["score"])) <= 0.06
    assert abs(stacked.trials["score"].mean() - lone.trials["score"].mean()) <= 0.03


def test_a_stacked_fit_that_diverges_is_recorded_as_failed_like_a_lone_one(penguins, monkeypatch):
    space = SearchSpace(learning_rate=Categorical([3e-3, 300.0]))
    tables = [_search(*penguins, monkeypatch, stacked, space, optimizer="sgd").trials
              for stacked in (False, True)]
    for table in tables:
        failed = table[table["learning_rate"] == 300.0]
        assert len(failed) and (failed["status"] == "failed").all()
        assert failed["error"].str.contains("diverged").all()
        assert (table.loc[table["learning_rate"] != 300.0, "status"] == "ok").all()
