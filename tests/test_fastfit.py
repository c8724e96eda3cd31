"""The fast training path trains the same model as Model.fit, without retracing per fit."""

from __future__ import annotations

import gc
import pickle

import keras
import numpy as np
import pytest

from kerastune_kit import KerasMLPClassifier, KerasMLPRegressor, StepDecay, TrainingDiverged, build_mlp, make_callbacks
from kerastune_kit import fastfit
from kerastune_kit._lean_trace import _gradient_functions
from kerastune_kit._template import VariableRateDropout
from kerastune_kit.builders import BUILD_ARGUMENTS
from kerastune_kit.callbacks import DivergenceGuard


@pytest.fixture(autouse=True)
def fresh_programs():
    fastfit.clear_programs()
    yield
    fastfit.clear_programs()


def _program(model):
    return fastfit._program_for(model)


CONFIGS = [
    dict(nodes=32, n_layers=2),
    dict(nodes=16, n_layers=1, activation="tanh", kernel_l2=1e-3, optimizer="sgd",
         momentum=0.9, learning_rate=0.05),
    dict(hidden_layer_sizes=(24, 12), batch_norm=True, optimizer="rmsprop",
         activity_l1=1e-4, max_norm=2.0),
    dict(n_layers=0, optimizer="nadam", learning_rate=0.01),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values()))[:40])
def test_fast_fit_follows_keras_fit_step_for_step(iris, config):
    """Same seed, same batches in the same order: the same losses and weights as Model.fit."""
    X, y = iris
    kwargs = dict(epochs=4, batch_size=16, shuffle=False, verbose=0,
                  validation_data=(X[:30], y[:30]))
    plain = build_mlp(**config, input_shape=4, n_classes=3, seed=3)
    fast = build_mlp(**config, input_shape=4, n_classes=3, seed=3)
    expected = plain.fit(X, y, **kwargs).history
    got = fastfit.fast_fit(fast, X, y, **kwargs).history
    assert _program(fast) is not None, "this configuration should take the fast path"
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=2e-3, atol=2e-4, err_msg=key)
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)
    assert int(fast.optimizer.iterations) == int(plain.optimizer.iterations) == 4 * -(-len(X) // 16)


class _WeightWatcher(keras.callbacks.Callback):
    """Reads the model's first kernel after every epoch (so it needs them copied back)."""

    def on_train_begin(self, logs=None):
        self.sums = []

    def on_epoch_end(self, epoch, logs=None):
        self.sums.append(float(np.sum(self.model.get_weights()[0])))


def test_callbacks_that_read_weights_see_every_epochs_and_others_cost_no_copies(iris, monkeypatch):
    X, y = iris
    kwargs = dict(epochs=3, batch_size=16, shuffle=False, verbose=0)
    plain, watched, quiet = (build_mlp(nodes=16, input_shape=4, n_classes=3, seed=5)
                             for _ in range(3))
    expected = _WeightWatcher()
    plain.fit(X, y, callbacks=[expected], **kwargs)
    watcher = _WeightWatcher()
    fastfit.fast_fit(watched, X, y, callbacks=[watcher], **kwargs)
    np.testing.assert_allclose(watcher.sums, expected.sums, rtol=1e-4)

    pulls = []
    program = _program(watched)
    monkeypatch.setattr(program, "pull_weights", lambda m: pulls.append(m) or
                        type(program).pull_weights(program, m))
    fastfit.fast_fit(quiet, X, y, callbacks=[StepDecay(0.01, drop=0.5, epochs_per_drop=1)],
                     **kwargs)
    assert len(pulls) == 1  # a schedule only sets the rate: one copy back, at the end
    pulls.clear()
    fastfit.fast_fit(build_mlp(nodes=16, input_shape=4, n_classes=3, seed=5), X, y,
                     callbacks=[_WeightWatcher()], **kwargs)
    assert len(pulls) == 3  # one per epoch, for the callback


@pytest.mark.parametrize("rate", [0.2, 1 / 3, 0.6, 0.7])
def test_template_dropout_draws_keras_masks_bit_for_bit(rate):
    """The template's variable-rate dropout gives Keras' Dropout outputs, whatever the rate."""
    x = keras.random.normal((8, 16), seed=1)
    keras_layer = keras.layers.Dropout(rate, seed=4)
    template_layer = VariableRateDropout.adopt(keras.layers.Dropout(0.5, seed=4))
    template_layer.set_from(keras_layer)
    for _ in range(3):  # both seed generators advance alike
        np.testing.assert_array_equal(template_layer(x, training=True),
                                      keras_layer(x, training=True))
    np.testing.assert_array_equal(template_layer(x), x)


def _fits_sharing_one_program(X, y, runs):
    """Fast-fit each config (seed = its index); those at the template's width also with Model.fit.

    Returns each fit's history and weights, after checking they share one program.
    """
    kwargs = dict(epochs=3, batch_size=16, shuffle=False, verbose=0,
                  validation_data=(X[:30], y[:30]))
    results = []
    for seed, config in enumerate(runs):
        fast = build_mlp(**config, input_shape=4, n_classes=3, seed=seed)
        got = fastfit.fast_fit(fast, X, y, **kwargs).history
        results.append((got, fast.get_weights()))
        if config["nodes"] == 64:  # at the template's width the dropout masks are Keras' own
            plain = build_mlp(**config, input_shape=4, n_classes=3, seed=seed)
            expected = plain.fit(X, y, **kwargs).history
            for key in expected:
                np.testing.assert_allclose(got[key], expected[key], rtol=2e-3, atol=2e-4,
                                           err_msg=f"{config}: {key}")
            for a, b in zip(fast.get_weights(), plain.get_weights()):
                np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)
    assert len(fastfit._PROGRAMS) == 1
    assert _program(fast)._train.experimental_get_tracing_count() == 1
    for seed, (config, (got, weights)) in enumerate(zip(runs, results)):
        fastfit.clear_programs()  # a template made for this config alone: the same numbers
        alone = build_mlp(**config, input_shape=4, n_classes=3, seed=seed)
        assert fastfit.fast_fit(alone, X, y, **kwargs).history == got
        for a, b in zip(alone.get_weights(), weights):
            np.testing.assert_array_equal(a, b)


def test_dropout_rates_share_one_program(iris):
    """Only whether dropout is on is traced: each rate trains as on its own program, and as Keras does."""
    X, y = iris
    _fits_sharing_one_program(X, y, [dict(dropout=0.4, nodes=40), dict(dropout=0.2, nodes=64),
                                     dict(dropout=0.6, nodes=64)])  # one 64-unit template
    without = build_mlp(nodes=64, input_shape=4, n_classes=3, seed=0)
    assert _program(without) is not None and len(fastfit._PROGRAMS) == 2


def test_penalty_strengths_share_one_program(iris):
    """Only which L1/L2 penalties are on is traced, not their strengths."""
    X, y = iris
    _fits_sharing_one_program(X, y, [
        dict(nodes=40, n_layers=1, kernel_l2=1e-3, activity_l1=1e-4),
        dict(nodes=64, n_layers=1, kernel_l2=0.05, activity_l1=0.01),
        dict(nodes=64, n_layers=1, kernel_l2=2e-4, activity_l1=0.3),
    ])
    for other in (dict(kernel_l2=1e-3), dict(kernel_l2=1e-3, activity_l1=1e-4, kernel_l1=1e-5)):
        model = build_mlp(nodes=64, n_layers=1, **other, input_shape=4, n_classes=3, seed=0)
        assert _program(model) is not None
    assert len(fastfit._PROGRAMS) == 3


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    dict(nodes=64, dropout=0.3),
    dict(nodes=32, n_layers=3, activation="elu", kernel_l1=1e-4, optimizer="adamw",
         weight_decay=1e-3),
    dict(nodes=16, optimizer="sgd", learning_rate=0.1, batch_size=8),
])
def test_fast_estimator_reaches_the_accuracy_of_plain_keras(penguins_split, config):
    """With shuffling and dropout the paths draw different random numbers: same accuracy within noise."""
    X_train, X_test, y_train, y_test = penguins_split
    batch_size = config.pop("batch_size", 16)
    fast_scores, plain_scores = [], []
    for seed in range(3):
        est = KerasMLPClassifier(**config, epochs=15, batch_size=batch_size, random_state=seed)
        fast_scores.append(est.fit(X_train, y_train).score(X_test, y_test))
        # Model.fit shuffles with TensorFlow's global random state: seed it, so that the plain
        # side's scores do not depend on what ran before in the process (the test order)
        keras.utils.set_random_seed(seed)
        model = build_mlp(**config, input_shape=X_train.shape[1], n_classes=3, seed=seed)
        model.fit(X_train, y_train, epochs=15, batch_size=batch_size, verbose=0)
        plain_scores.append(float(np.mean(model.predict(X_test, verbose=0).argmax(1) == y_test)))
    assert abs(np.mean(fast_scores) - np.mean(plain_scores)) <= 0.05, (fast_scores, plain_scores)
    assert min(fast_scores) >= 0.85


@pytest.fixture(scope="module")
def penguins_split():
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder

    from kerastune_kit import load_penguins, make_preprocessor

    X, y = load_penguins(return_X_y=True)
    y = LabelEncoder().fit_transform(y)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    pre = make_preprocessor().fit(X_train)
    return (pre.transform(X_train).astype("float32"), pre.transform(X_test).astype("float32"),
            y_train, y_test)


def test_one_trace_serves_every_fit_of_an_architecture(iris):
    X, y = iris
    models = []
    for lr, batch_size in [(1e-3, 8), (5e-3, 13), (2e-2, 32), (1e-2, 150)]:
        est = KerasMLPClassifier(nodes=8, learning_rate=lr, batch_size=batch_size, epochs=2,
                                 validation_split=0.2, random_state=0)
        est.fit(X, y)
        est.predict(X)
        models.append(est)
    program = _program(models[0].model_)
    assert len(fastfit._PROGRAMS) == 1
    assert program._train.experimental_get_tracing_count() == 1
    assert program._test.experimental_get_tracing_count() == 1
    # each estimator kept its own network, trained with its own learning rate
    weights = [est.model_.get_weights()[0] for est in models]
    assert not any(np.allclose(weights[0], w) for w in weights[1:])
    assert [float(est.model_.optimizer.learning_rate) for est in models] == pytest.approx(
        [1e-3, 5e-3, 2e-2, 1e-2])


def test_a_later_fit_does_not_touch_an_earlier_estimators_model(iris):
    X, y = iris
    first = KerasMLPClassifier(nodes=8, epochs=3, random_state=0).fit(X, y)
    before = first.predict_proba(X)
    KerasMLPClassifier(nodes=8, epochs=3, learning_rate=0.05, random_state=1).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), before)


def test_predictions_match_the_models_own_predict(iris):
    X, y = iris
    est = KerasMLPClassifier(nodes=8, epochs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X), est.model_.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_same_seed_same_result(iris):
    X, y = iris
    a = KerasMLPClassifier(nodes=8, dropout=0.3, epochs=3, random_state=5).fit(X, y)
    b = KerasMLPClassifier(nodes=8, dropout=0.3, epochs=3, random_state=5).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_ == b.history_


def test_warm_start_continues_optimizer_and_weights(iris):
    X, y = iris
    est = KerasMLPClassifier(nodes=8, epochs=2, batch_size=50, warm_start=True, random_state=0)
    est.fit(X, y)
    assert int(est.model_.optimizer.iterations) == 6
    est.fit(X, y)
    assert int(est.model_.optimizer.iterations) == 12


def _no_keras_fit(monkeypatch):
    """Make ``Model.fit`` fail: what trains from here on must take the fast path."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("Model.fit was called: the fast path was not taken")
    monkeypatch.setattr(keras.Model, "fit", refuse)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_a_pickled_estimator_keeps_the_fast_path_and_trains_like_the_original(
        iris, monkeypatch, estimator, how):
    """Keras' saving drops the build arguments and the dropout seed states: they travel too."""
    X, y = iris
    if estimator is KerasMLPRegressor:
        y = X[:, 0] - 0.5 * X[:, 1]
    kept = estimator(nodes=8, dropout=0.3, epochs=2, batch_size=16, warm_start=True,
                     random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(kept))
    assert _program(loaded.model_) is _program(kept.model_)  # the same cached program
    _no_keras_fit(monkeypatch)
    for est in (kept, loaded):
        est.fit(X, y) if how == "warm_start" else est.partial_fit(X, y)
    assert len(fastfit._PROGRAMS) == 1
    assert _program(kept.model_)._train.experimental_get_tracing_count() == 1
    assert int(loaded.model_.optimizer.iterations) == int(kept.model_.optimizer.iterations)
    for a, b in zip(loaded.model_.get_weights(), kept.model_.get_weights()):
        np.testing.assert_array_equal(a, b)  # same shuffling, same dropout masks: bit for bit
    assert loaded.history_ == kept.history_
    np.testing.assert_array_equal(loaded.predict(X), kept.predict(X))


def test_a_pickled_unfitted_estimator_fits_on_the_fast_path_like_the_original(iris, monkeypatch):
    X, y = iris
    kept = KerasMLPClassifier(nodes=8, dropout=0.3, epochs=2, random_state=0)
    loaded = pickle.loads(pickle.dumps(kept))
    _no_keras_fit(monkeypatch)
    kept.fit(X, y)
    loaded.fit(X, y)
    assert len(fastfit._PROGRAMS) == 1
    for a, b in zip(loaded.model_.get_weights(), kept.model_.get_weights()):
        np.testing.assert_array_equal(a, b)


def _training_graphs() -> int:
    """Traced training graphs of the fast path still alive after a full collection."""
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, FuncGraph) and o.name.startswith("_train_span"))


def _runtime_functions(part: str) -> set:
    """Names of the functions in TensorFlow's runtime with ``part`` in them."""
    from tensorflow.python.eager import context

    gc.collect()
    return {name for name in context.context().list_function_names() if part in name}


def test_programs_keep_no_graph_and_a_dropped_one_leaves_tensorflow(iris, monkeypatch):
    """A trace keeps only its runtime function (no Python graph, no gradient entry left in
    TensorFlow's table); a program dropped from the cache takes its functions with it."""
    monkeypatch.setattr(fastfit, "_MAX_PROGRAMS", 1)
    X, y = iris
    graphs, entries = _training_graphs(), set(_gradient_functions())
    before = _runtime_functions("_train_span")
    first = KerasMLPClassifier(nodes=8, epochs=1, random_state=0).fit(X, y)
    assert _program(first.model_)._train.experimental_get_tracing_count() == 1
    mine = _runtime_functions("_train_span") - before
    assert len(mine) == 1  # its training function is in the runtime ...
    assert _training_graphs() == graphs  # ... without the Python graph it was traced from
    assert set(_gradient_functions()) == entries  # (Keras' optimiser registered one: removed)
    KerasMLPClassifier(nodes=8, activation="tanh", epochs=1, random_state=0).fit(X, y)
    assert len(fastfit._PROGRAMS) == 1  # the first program was dropped for the second
    assert not mine & _runtime_functions("_train_span")
    # the first estimator trains on (through a new program), and clear_programs frees all
    first.set_params(warm_start=True).fit(X, y)
    assert int(first.model_.optimizer.iterations) == 2 * -(-len(X) // 32)
    fastfit.clear_programs()
    assert _runtime_functions("_train_span") == before


def test_per_epoch_schedule_and_guard_run_in_whole_epoch_spans(iris):
    X, y = iris
    callbacks = make_callbacks(schedule=StepDecay(0.1, drop=0.5, epochs_per_drop=1),
                               patience=None)
    est = KerasMLPClassifier(nodes=8, epochs=3, callbacks=callbacks, random_state=0).fit(X, y)
    assert est.history_["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert not any(fastfit._needs_every_step(cb) for cb in callbacks.build())


def test_per_step_schedule_sees_every_step(iris):
    X, y = iris

    class Steps(keras.callbacks.Callback):  # an unknown callback with batch hooks
        def on_train_batch_end(self, batch, logs=None):
            self.seen = getattr(self, "seen", []) + [batch]

    steps = Steps()
    model = build_mlp(nodes=8, input_shape=4, n_classes=3, seed=0)
    fastfit.fast_fit(model, X, y, epochs=2, batch_size=50, callbacks=[steps], verbose=0)
    assert steps.seen == [0, 1, 2, 0, 1, 2]
    assert StepDecay(0.1, per_step=True).needs_every_step()
    assert not StepDecay(0.1).needs_every_step()


def test_divergence_is_caught_on_the_fast_path(iris):
    X, y = iris
    est = KerasMLPClassifier(nodes=8, activation="linear", optimizer="sgd", learning_rate=100.0,
                             epochs=3,
                             callbacks=[DivergenceGuard()], random_state=0)
    with pytest.raises(TrainingDiverged):
        est.fit(X, y)
    assert _program(est.model_) is not None


def test_what_the_fast_path_does_not_cover_goes_to_keras(iris, monkeypatch):
    X, y = iris
    model = build_mlp(nodes=8, input_shape=4, n_classes=3, seed=0)
    history = fastfit.fast_fit(model, X, y, epochs=2, class_weight={0: 1.0, 1: 2.0, 2: 1.0},
                               verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.train_function is not None  # Keras' own fit ran
    assert _program(model)._train.experimental_get_tracing_count() == 0

    monkeypatch.setenv("KERASTUNE_FAST_FIT", "0")
    fastfit.clear_programs()
    est = KerasMLPClassifier(nodes=8, epochs=2, random_state=0).fit(X, y)
    assert len(fastfit._PROGRAMS) == 0 and est.model_.train_function is not None


def test_models_with_objects_in_their_settings_have_no_program():
    model = build_mlp(nodes=8, input_shape=4, n_classes=3,
                      optimizer=keras.optimizers.Adam(1e-3))
    assert _program(model) is None
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    assert _program(build_mlp(nodes=8, input_shape=4, n_classes=3, learning_rate=schedule)) is None
    assert _program(build_mlp(nodes=8, input_shape=4, n_classes=3, run_eagerly=True)) is None


def test_keras_tuner_trials_run_in_whole_epoch_spans(tmp_path):
    """Keras Tuner's TunerCallback has batch hooks that call no-op tuner methods: not per step."""
    import keras_tuner as kt
    from keras_tuner.src.engine.tuner_utils import TunerCallback

    from kerastune_kit.hypermodel import Hyperband, MLPHyperModel
    from kerastune_kit.space import Int, SearchSpace

    hypermodel = MLPHyperModel(SearchSpace(nodes=Int(8, 16, step=8)), input_shape=4, n_classes=3)
    stock = Hyperband(hypermodel, objective="val_accuracy", max_epochs=2,
                      directory=str(tmp_path), project_name="stock")
    assert not fastfit._needs_every_step(TunerCallback(stock, trial=None))

    class Watching(kt.RandomSearch):
        def on_batch_end(self, trial, model, batch, logs=None):
            pass

    watching = Watching(hypermodel, objective="val_accuracy", max_trials=1,
                        directory=str(tmp_path), project_name="watching")
    assert fastfit._needs_every_step(TunerCallback(watching, trial=None))


def test_state_copies_are_traced_once_for_all_programs(iris):
    """Weights and optimiser state, in and out: one trace each for every program with the
    same variables (count, dtypes, ranks), not one per fit, width or program."""
    from kerastune_kit import _template

    X, y = iris
    counts = lambda: (_template._LOAD.experimental_get_tracing_count(),  # noqa: E731
                      _template._READ.experimental_get_tracing_count())
    before = counts()
    for lr in (1e-3, 1e-2, 3e-2):
        for nodes in (20, 24, 40):  # all share the 64-unit template
            est = KerasMLPClassifier(nodes=nodes, epochs=2, learning_rate=lr, random_state=0)
            est.fit(X, y).model_.optimizer.variables  # (its optimiser state read back)
    after_one = counts()
    assert all(a - b <= 2 for a, b in zip(after_one, before))
    for activation in ("tanh", "elu"):  # other programs, the same variables
        KerasMLPClassifier(nodes=100, activation=activation, epochs=2, random_state=0).fit(X, y)
    assert len(fastfit._PROGRAMS) == 3 and counts() == after_one


def test_many_architectures_do_not_log_retracing_warnings(iris, caplog):
    """One trace per program is by design: TensorFlow never warns of retracing for them."""
    import logging

    X, y = iris
    caplog.set_level(logging.WARNING)
    for nodes in (8, 80, 300):
        for activation in ("relu", "tanh", "sigmoid"):
            KerasMLPClassifier(nodes=nodes, activation=activation, n_layers=1, epochs=1,
                               random_state=0).fit(X, y)
    assert len(fastfit._PROGRAMS) >= 6
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


@pytest.mark.parametrize("epochs", [1, 3])
def test_a_fit_never_starts_from_another_fits_weights(iris, epochs):
    """Isolation: B, trained after A on the same architecture, starts from its own initial weights."""
    X, y = iris
    KerasMLPClassifier(nodes=8, epochs=5, learning_rate=0.05, random_state=0).fit(X, y)  # A
    b = KerasMLPClassifier(nodes=8, epochs=epochs, random_state=1).fit(X, y)
    alone = build_mlp(nodes=8, input_shape=4, n_classes=3, seed=1)
    fastfit.clear_programs()
    expected = KerasMLPClassifier(nodes=8, epochs=epochs, random_state=1).fit(X, y)
    for mine, theirs in zip(b.model_.get_weights(), expected.model_.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    assert len(alone.get_weights()) == len(b.model_.get_weights())


def test_a_fit_of_no_epochs_keeps_the_models_own_weights(iris):
    X, y = iris
    KerasMLPClassifier(nodes=8, epochs=5, learning_rate=0.05, random_state=0).fit(X, y)
    model = build_mlp(nodes=8, input_shape=4, n_classes=3, seed=1)
    before = [w.copy() for w in model.get_weights()]
    fastfit.fast_fit(model, X, y, epochs=0, verbose=0)  # the template holds the other fit's
    for mine, initial in zip(model.get_weights(), before):
        np.testing.assert_array_equal(mine, initial)


def test_hidden_widths_pad_to_the_next_power_of_two(iris):
    """2 x 100 units train in a 2 x 128 template (not 2 x 256), as on a template of their own.

    One hidden layer pads to 256, 1024, ... (fewer tracings; its steps cost the same).
    """
    assert [fastfit.padded_width(w) for w in (1, 16, 64, 65, 100, 128, 129, 1000)] == [
        64, 64, 64, 128, 128, 128, 256, 1024]
    assert [fastfit.padded_width(w, 1) for w in (16, 100, 256, 257, 1024, 1025)] == [
        256, 256, 256, 1024, 1024, 4096]
    one_layer = build_mlp(nodes=16, n_layers=1, input_shape=4, n_classes=3)
    assert fastfit.architecture_key(getattr(one_layer, BUILD_ARGUMENTS))[1][
        "hidden_layer_sizes"] == (256,)
    X, y = iris
    kwargs = dict(epochs=2, batch_size=16, shuffle=False, verbose=0)
    shared = build_mlp(nodes=100, n_layers=2, input_shape=4, n_classes=3, seed=2)
    history = fastfit.fast_fit(shared, X, y, **kwargs).history
    program = _program(shared)
    assert [layer.units for layer in program.model.layers
            if isinstance(layer, keras.layers.Dense)] == [128, 128, 3]
    assert _program(build_mlp(nodes=72, n_layers=2, input_shape=4, n_classes=3)) is program
    plain = build_mlp(nodes=100, n_layers=2, input_shape=4, n_classes=3, seed=2)
    expected = plain.fit(X, y, **kwargs).history
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=2e-3, atol=2e-4)
    for a, b in zip(shared.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)


# -- deferred optimiser state -------------------------------------------------------
def _optimizer_state(model) -> list:
    return [np.asarray(v) for v in model.get_weights()] + [
        keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]


def _pending(est) -> bool:
    from kerastune_kit._template import PENDING_OPTIMIZER

    return PENDING_OPTIMIZER in vars(est.__dict__["model_"])


def _continue(est, X, y, how, tmp_path, monkeypatch):
    """Whatever reads the optimiser state after a fit; returns the state it ends with."""
    if how == "read":
        return _optimizer_state(est.model_)
    if how == "warm_start":
        return _optimizer_state(est.fit(X, y).model_)
    if how == "partial_fit":
        return _optimizer_state(est.partial_fit(X, y).model_)
    if how == "pickle":
        return _optimizer_state(pickle.loads(pickle.dumps(est)).fit(X, y).model_)
    if how == "save":
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.keras"
        est.model_.save(path)
        return _optimizer_state(keras.models.load_model(path))
    if how == "keras_fit":
        with monkeypatch.context() as patch:
            patch.setenv("KERASTUNE_FAST_FIT", "0")
            return _optimizer_state(est.fit(X, y).model_)
    raise ValueError(how)


@pytest.mark.parametrize("schedule", [False, True], ids=["constant-rate", "schedule"])
@pytest.mark.parametrize("how", ["read", "warm_start", "partial_fit", "pickle", "save",
                                 "keras_fit"])
def test_deferred_optimizer_state_is_what_the_fit_left(iris, tmp_path, monkeypatch, how,
                                                       schedule):
    """Every reader of a fit's optimiser state sees what creating it at the end of the fit gave.

    A schedule callback (which does not touch the weights, so the state is
    deferred) sets the model's learning rate around the end of the fit.
    """
    X, y = iris
    callbacks = [StepDecay(0.01, drop=0.5, epochs_per_drop=1)] if schedule else None

    def run(defer):
        with monkeypatch.context() as patch:
            if not defer:  # the state copied into the optimiser's variables at the end of the fit
                patch.setattr(fastfit.Program, "stash_optimizer", fastfit.Program.pull_optimizer)
            est = KerasMLPClassifier(hidden_layer_sizes=(20, 30), dropout=0.2, epochs=2,
                                     batch_size=16, warm_start=True, callbacks=callbacks,
                                     random_state=3).fit(X, y)
            assert _pending(est) == defer
            est.score(X, y)  # scoring needs no optimiser state: still pending
            assert _pending(est) == defer
            return _continue(est, X, y, how, tmp_path, monkeypatch)

    deferred, settled = run(True), run(False)
    assert len(deferred) == len(settled)
    for a, b in zip(deferred, settled):
        np.testing.assert_array_equal(a, b)


def test_optimizer_state_is_made_at_the_end_of_a_fit_whose_callbacks_read_weights(iris):
    class Watcher(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    X, y = iris
    est = KerasMLPClassifier(nodes=8, epochs=2, callbacks=[Watcher()], random_state=0).fit(X, y)
    assert not _pending(est) and est.__dict__["model_"].optimizer.built
    est = KerasMLPClassifier(nodes=8, epochs=2, random_state=0).fit(X, y)
    assert _pending(est) and not est.__dict__["model_"].optimizer.built
    assert est.model_.optimizer.built and not _pending(est)


@pytest.mark.slow
def test_many_fits_of_one_architecture_do_not_grow_the_process(iris, monkeypatch):
    """TensorFlow keeps kernels of every network's variables; the fast path clears them now and then.

    Measured without the clearing: +36 MB over 300 fits of this size, and on
    for as long as the process lives.
    """
    import gc
    import os

    def rss_mb():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    X, y = iris
    monkeypatch.setattr(fastfit, "NETWORKS_PER_FLUSH", 50)

    def fits(n):
        for _ in range(n):
            KerasMLPClassifier(nodes=8, dropout=0.2, epochs=1, batch_size=32,
                               random_state=0).fit(X, y)
        gc.collect()

    fits(60)
    before = rss_mb()
    fits(300)
    assert rss_mb() - before < 18


def test_a_mixed_precision_fit_trains_on_tensorflows_default_executor(iris):
    """Its training hung on the single-threaded executor (Keras' LossScaleOptimizer)."""
    X, y = iris
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        est = KerasMLPClassifier(nodes=8, epochs=3, learning_rate=0.01, random_state=0).fit(X, y)
        program = _program(est.model_)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert program is not None and not program.lean
    loss = est.history_["loss"]
    assert len(loss) == 3 and np.isfinite(loss).all() and loss[-1] < loss[0]
    plain = KerasMLPClassifier(nodes=8, epochs=1, random_state=0).fit(X, y)
    assert _program(plain.model_).lean
