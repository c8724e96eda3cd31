"""Early stopping, divergence guard, checkpoints and the callback factory, in real searches."""

from __future__ import annotations

import pickle
import warnings

import keras
import keras_tuner as kt
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

from kerastune_kit import (
    BestCheckpoint,
    CallbackSet,
    DivergenceGuard,
    EarlyStopping,
    KerasMLPClassifier,
    StepDecay,
    TrainingDiverged,
    build_mlp,
    load_checkpoint,
    make_callbacks,
)

FAST = dict(nodes=16, n_layers=1, batch_size=16, learning_rate=0.02, random_state=0)


def test_early_stopping_restores_the_best_epoch(iris):
    X, y = iris
    X_val, y_val = X[:40], y[:40]
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    est = KerasMLPClassifier(**{**FAST, "learning_rate": 0.3, "optimizer": "sgd"},
                             epochs=40, callbacks=[stopper])
    est.fit(X[40:], y[40:], validation_data=(X_val, y_val))
    val_losses = est.history_["val_loss"]
    assert stopper.best_epoch_ == int(np.argmin(val_losses))
    restored = est.model_.evaluate(X_val, y_val, verbose=0, return_dict=True)["loss"]
    assert restored == pytest.approx(min(val_losses), rel=1e-4)
    if stopper.stopped_epoch_ is not None:
        assert len(val_losses) == stopper.stopped_epoch_ + 1


def test_min_epochs_delays_stopping(iris):
    X, y = iris
    stopper = EarlyStopping(monitor="loss", patience=0, min_delta=100.0, min_epochs=5)
    est = KerasMLPClassifier(**FAST, epochs=20, callbacks=[stopper]).fit(X, y)
    # no epoch improves by 100, so it stops as soon as it may: after epoch 5
    assert len(est.history_["loss"]) == 5
    assert stopper.stopped_epoch_ == 4


def test_one_instance_is_reset_for_every_fit(iris):
    X, y = iris
    stopper = EarlyStopping(monitor="loss", patience=0, min_delta=100.0, min_epochs=2)
    est = KerasMLPClassifier(**FAST, epochs=10, callbacks=[stopper])
    lengths = [len(est.fit(X, y).history_["loss"]) for _ in range(2)]
    assert lengths == [2, 2]  # a stale wait counter would stop the second fit after 1


def test_missing_validation_data_is_an_error_not_a_silent_no_op(iris):
    X, y = iris
    est = KerasMLPClassifier(**FAST, epochs=3, callbacks=[EarlyStopping(monitor="val_accuracy")])
    with pytest.raises(ValueError, match="validation_split=0.2"):
        est.fit(X, y)


def test_validation_split_is_stratified_even_on_sorted_data(iris):
    X, y = iris
    order = np.argsort(y, kind="stable")
    est = KerasMLPClassifier(**FAST, epochs=20, validation_split=0.2,
                             callbacks=[EarlyStopping(monitor="val_accuracy", patience=5)])
    est.fit(X[order], y[order])
    # Keras' own split would take the last 30 rows: all class 2
    assert max(est.history_["val_accuracy"]) > 0.8


def test_divergent_candidate_fails_and_the_search_completes(iris):
    X, y = iris
    est = KerasMLPClassifier(**{**FAST, "optimizer": "sgd"}, epochs=3, callbacks=make_callbacks(patience=None))
    search = GridSearchCV(est, {"learning_rate": [0.05, 100.0]}, cv=2, error_score=np.nan)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and scores[0] > 0.6
    assert search.best_params_ == {"learning_rate": 0.05}
    messages = " ".join(str(w.message) for w in caught if issubclass(w.category, FitFailedWarning))
    assert "TrainingDiverged" in messages and "diverged" in messages


def test_guard_without_raising_just_stops(iris):
    X, y = iris
    guard = DivergenceGuard(raise_error=False)
    est = KerasMLPClassifier(**{**FAST, "optimizer": "sgd", "learning_rate": 1e4}, epochs=5,
                             callbacks=[guard]).fit(X, y)
    assert guard.diverged_ is not None and guard.diverged_.startswith("epoch 1")
    assert len(est.history_["loss"]) == 1


def test_checkpoints_of_a_search_are_distinct_and_loadable(iris, tmp_path):
    X, y = iris
    est = KerasMLPClassifier(**FAST, epochs=3, validation_split=0.25,
                             callbacks=make_callbacks(patience=None, checkpoint_dir=tmp_path))
    GridSearchCV(est, {"nodes": [4, 8, 12]}, cv=2, refit=False).fit(X, y)
    files = sorted(tmp_path.glob("*.keras"))
    assert len(files) == 6  # 2 folds x 3 candidates, none overwritten
    widths = sorted(load_checkpoint(f).get_layer("hidden_0").units for f in files)
    assert widths == [4, 4, 8, 8, 12, 12]
    assert not list(tmp_path.glob(".*partial*"))


def test_a_crash_while_writing_leaves_the_previous_checkpoint(iris, tmp_path):
    X, y = iris
    checkpoint = BestCheckpoint(tmp_path, monitor="loss")
    est = KerasMLPClassifier(**FAST, epochs=2, callbacks=[checkpoint]).fit(X, y)
    expected = load_checkpoint(checkpoint.path_).predict(X, verbose=0)

    model = est.model_
    real_save = model.save

    def crash_half_way(path, *args, **kwargs):
        real_save(path, *args, **kwargs)
        with open(path, "r+b") as handle:  # the process dies mid-write
            handle.truncate(100)
        raise OSError("disk full")

    model.save = crash_half_way
    checkpoint.set_model(model)
    with pytest.raises(OSError, match="disk full"):
        checkpoint._save(checkpoint.path_)
    np.testing.assert_allclose(load_checkpoint(checkpoint.path_).predict(X, verbose=0), expected)
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.path_.name]


def test_callbacks_survive_clone_pickle_and_parallel_cv(iris):
    X, y = iris
    cbs = make_callbacks(schedule=StepDecay(0.05, 0.5, 2), patience=2, monitor="val_accuracy")
    est = KerasMLPClassifier(**FAST, epochs=4, validation_split=0.25, callbacks=cbs)
    copy = clone(est)
    assert copy.callbacks is not cbs and copy.callbacks.schedule.get_params() == cbs.schedule.get_params()
    fitted = clone(est).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict_proba(X), fitted.predict_proba(X), rtol=1e-6)
    assert restored.callbacks.schedule._model is None  # the model is not dragged along
    scores = cross_val_score(est, X, y, cv=2, n_jobs=2)
    assert scores.min() > 0.5


def test_a_search_can_vary_the_callbacks_parameters(iris):
    X, y = iris
    est = KerasMLPClassifier(**FAST, epochs=4, callbacks=CallbackSet(schedule=StepDecay(0.04, 0.5, 1)))
    assert est.get_params()["callbacks__schedule__drop"] == 0.5
    search = GridSearchCV(est, {"callbacks__schedule__drop": [0.25, 0.75]}, cv=2).fit(X, y)
    drop = search.best_params_["callbacks__schedule__drop"]
    assert search.best_estimator_.callbacks.schedule.drop == drop
    np.testing.assert_allclose(search.best_estimator_.history_["learning_rate"],
                               [0.04 * drop**e for e in range(4)], rtol=1e-6)
    assert est.callbacks.schedule.drop == 0.5  # the user's object is untouched


def test_tensorboard_logging_is_off_by_default_and_per_run_when_on(iris, tmp_path):
    X, y = iris
    assert not any(isinstance(cb, keras.callbacks.TensorBoard) for cb in make_callbacks().build())
    cbs = make_callbacks(patience=None, tensorboard_dir=tmp_path)
    est = KerasMLPClassifier(**FAST, epochs=1, callbacks=cbs)
    est.fit(X, y)
    est.fit(X, y)
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(runs) == 2 and all(list(run.rglob("events.out.tfevents.*")) for run in runs)


@pytest.mark.slow
def test_the_same_callback_objects_in_gridsearchcv_and_hyperband(iris, tmp_path):
    X, y = iris
    cbs = make_callbacks(schedule=StepDecay(0.05, 0.5, 2), patience=2, monitor="val_accuracy",
                         checkpoint_dir=tmp_path / "ckpt", tensorboard_dir=tmp_path / "tb")
    before = cbs.get_params(deep=True).copy()

    est = KerasMLPClassifier(**FAST, epochs=4, validation_split=0.25, callbacks=cbs)
    GridSearchCV(est, {"nodes": [8, 16]}, cv=2).fit(X, y)

    def build(hp):
        return build_mlp(input_shape=4, n_classes=3, nodes=hp.Int("units", 8, 32, step=8),
                         learning_rate=0.05, seed=0)

    tuner = kt.Hyperband(build, objective="val_accuracy", max_epochs=4, factor=3,
                         directory=tmp_path / "kt", project_name="iris", seed=0)
    tuner.search(X[30:], y[30:], validation_data=(X[:30], y[:30]), batch_size=16,
                 callbacks=cbs.build(), verbose=0)
    trials = tuner.oracle.trials.values()
    assert trials and all(t.status == "COMPLETED" for t in trials)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.metrics.get_history("learning_rate")  # the schedule logged its rate
    assert (tmp_path / "kt" / "iris" / "oracle.json").exists()
    # Keras Tuner's HParams view: its TensorBoard folders carry the hparams plugin data
    event_files = list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert any(b"hparams" in f.read_bytes() for f in event_files)
    assert cbs.get_params(deep=True).keys() == before.keys()
    assert all(cbs.get_params(deep=True)[k] is before[k] for k in before)


@pytest.mark.parametrize(
    "callbacks, error, fragment",
    [
        ("early", TypeError, "callbacks='early'"),
        ([EarlyStopping(), "x"], TypeError, "callbacks[1]='x'"),
        ([EarlyStopping(monitor="loss", mode="best")], ValueError, "mode='best'"),
        ([EarlyStopping(monitor="loss", patience=-1)], ValueError, "patience=-1"),
        (CallbackSet(schedule="step"), TypeError, "schedule='step'"),
    ],
)
def test_bad_callbacks_are_named(iris, callbacks, error, fragment):
    X, y = iris
    with pytest.raises(error) as info:
        KerasMLPClassifier(**FAST, epochs=1, callbacks=callbacks).fit(X, y)
    assert fragment in str(info.value)


def test_training_diverged_is_a_keras_tuner_failed_trial():
    assert issubclass(TrainingDiverged, kt.errors.FailedTrialError)
