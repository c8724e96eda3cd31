"""Learning-rate schedules: the rates a real training run used match each formula."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from kerastune_kit import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    KerasMLPClassifier,
    LinearWarmup,
    ReduceLROnPlateau,
    StepDecay,
    build_mlp,
    load_checkpoint,
)

EPOCHS = 8


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _cos(x):
    return 0.5 * (1 + math.cos(math.pi * x))


# Expected rates per epoch, worked out by hand from each formula.
CASES = [
    (StepDecay(0.2, drop=0.5, epochs_per_drop=3), [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05]),
    (ExponentialDecay(0.1, decay_rate=0.5), [0.1 * 0.5**e for e in range(EPOCHS)]),
    (CosineDecay(0.1, decay_epochs=4, alpha=0.1),
     [0.1 * (0.1 + 0.9 * _cos(min(e, 4) / 4)) for e in range(EPOCHS)]),
    # restarts at epochs 2 and 6 (cycles of 2, 4, 8 epochs)
    (CosineDecayRestarts(0.1, first_decay_epochs=2, t_mul=2.0),
     [0.1 * v for v in (1, _cos(1 / 2), 1, _cos(1 / 4), _cos(2 / 4), _cos(3 / 4), 1, _cos(1 / 8))]),
    (CosineDecayRestarts(0.1, first_decay_epochs=3, t_mul=1.0, m_mul=0.5),
     [0.1, 0.1 * _cos(1 / 3), 0.1 * _cos(2 / 3), 0.05, 0.05 * _cos(1 / 3), 0.05 * _cos(2 / 3),
      0.025, 0.025 * _cos(1 / 3)]),
    (LinearWarmup(StepDecay(0.08, 0.5, 2), warmup_epochs=4, start=0.0),
     [0.0, 0.02, 0.04, 0.06, 0.08, 0.08, 0.04, 0.04]),
]


@pytest.mark.parametrize("schedule, expected", CASES, ids=lambda c: type(c).__name__)
def test_formula_per_epoch(schedule, expected):
    np.testing.assert_allclose([schedule(e) for e in range(EPOCHS)], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("schedule, expected", CASES, ids=lambda c: type(c).__name__)
def test_keras_schedule_matches_formula_at_epoch_boundaries(schedule, expected):
    steps = 5
    keras_schedule = schedule.as_keras_schedule(steps_per_epoch=steps)
    got = [float(keras_schedule(e * steps)) for e in range(EPOCHS)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("schedule, expected", CASES[:4], ids=lambda c: type(c).__name__)
def test_training_uses_and_records_the_scheduled_rates(iris, schedule, expected):
    X, y = iris
    est = KerasMLPClassifier(nodes=8, epochs=EPOCHS, callbacks=[schedule], random_state=0)
    est.fit(X, y)
    np.testing.assert_allclose(est.history_["learning_rate"], expected, rtol=1e-6)
    # the optimiser really ran with the last epoch's rate
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(expected[-1], rel=1e-6)


def test_per_step_callback_changes_the_rate_inside_an_epoch(iris):
    X, y = iris
    schedule = ExponentialDecay(0.1, decay_rate=0.5, per_step=True)
    est = KerasMLPClassifier(nodes=8, epochs=3, batch_size=50, callbacks=[schedule]).fit(X, y)
    # 150 rows / 50 = 3 steps an epoch; the last step of epoch 2 runs at t = 2 + 2/3
    assert est.history_["learning_rate"][-1] == pytest.approx(0.1 * 0.5 ** (2 + 2 / 3), rel=1e-6)


def test_keras_schedule_trains_and_survives_a_safe_mode_reload(iris, tmp_path):
    X, y = iris
    schedule = StepDecay(0.05, 0.5, 1).as_keras_schedule(steps_per_epoch=5)
    model = build_mlp(input_shape=4, n_classes=3, nodes=8, learning_rate=schedule, seed=0)
    model.fit(X, y, epochs=2, batch_size=30, verbose=0)  # 10 steps
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05 * 0.5**2, rel=1e-5)
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = load_checkpoint(path)
    np.testing.assert_allclose(reloaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-5)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(0.05 * 0.5**2, rel=1e-5)


def test_reduce_on_plateau_records_its_rate(iris):
    X, y = iris
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    est = KerasMLPClassifier(nodes=8, epochs=3, learning_rate=0.01, callbacks=[cb]).fit(X, y)
    # epoch 0 always improves on the initial best; with min_delta=10 epochs 1 and 2
    # do not, so the rate is halved after each of them
    assert est.history_["learning_rate"] == pytest.approx([0.01, 0.01, 0.005])
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(0.0025)


def test_schedule_and_keras_schedule_together_is_refused(iris):
    X, y = iris
    est = KerasMLPClassifier(
        nodes=8, epochs=1, callbacks=[StepDecay(0.1)],
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
    )
    with pytest.raises(ValueError, match="Use one or the other"):
        est.fit(X, y)


def test_schedules_are_parameters_clone_and_set_params():
    schedule = StepDecay(0.2, drop=0.5, epochs_per_drop=3)
    assert schedule.get_params() == {"initial": 0.2, "drop": 0.5, "epochs_per_drop": 3, "per_step": False}
    copy = clone(schedule).set_params(drop=0.7)
    assert copy.drop == 0.7 and schedule.drop == 0.5
    warm = clone(LinearWarmup(after=schedule, warmup_epochs=2))
    assert warm.get_params()["after__drop"] == 0.5


@pytest.mark.parametrize(
    "schedule, fragment",
    [
        (StepDecay(0.1, drop=1.5), "drop=1.5"),
        (StepDecay(-0.1), "initial=-0.1"),
        (ExponentialDecay(0.1, decay_rate=0.0), "decay_rate=0.0"),
        (CosineDecay(0.1, decay_epochs=0), "decay_epochs=0"),
        (CosineDecayRestarts(0.1, t_mul=0.5), "t_mul=0.5"),
        (LinearWarmup(0.1, warmup_epochs=-1), "warmup_epochs=-1"),
    ],
)
def test_bad_schedule_settings_are_named(schedule, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        schedule(0)
