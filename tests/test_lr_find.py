"""Babysitting one model: the range test, the one-cycle schedule, continued fits, Float.around."""

from __future__ import annotations

import math

import keras
import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from kerastune_kit import (Float, KerasMLPClassifier, LRFindResult, OneCycle, TrainingDiverged,
                           cli, load_digits, load_penguins, lr_find, make_preprocessor)
from kerastune_kit.errors import InvalidParameterType, InvalidParameterValue
from kerastune_kit.plots import plot_history

matplotlib.use("Agg")


def _state(estimator):
    model = estimator.model_
    return ([w.copy() for w in model.get_weights()],
            [keras.ops.convert_to_numpy(v).copy() for v in model.optimizer.variables])


def _same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)
    assert len(a[0]) == len(b[0]) and len(a[1]) == len(b[1])


def _curve(rates, smoothed):
    smoothed = np.asarray(smoothed, dtype=float)
    return LRFindResult(np.asarray(rates, dtype=float), smoothed.copy(), smoothed)


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"low": 0.0}, InvalidParameterValue, "low=0.0"),
    ({"low": -1e-3}, InvalidParameterValue, "low=-0.001"),
    ({"low": "1e-6"}, InvalidParameterType, "low='1e-6' (type str)"),
    ({"high": math.inf}, InvalidParameterValue, "high=inf"),
    ({"low": 1.0, "high": 1e-3}, InvalidParameterValue, "swap them"),
    ({"low": 1e-3, "high": 5e-3}, InvalidParameterValue, "less than one decade"),
    ({"num_steps": 5}, InvalidParameterValue, "num_steps=5"),
    ({"num_steps": True}, InvalidParameterType, "num_steps=True"),
    ({"smoothing": 1.0}, InvalidParameterValue, "smoothing=1.0"),
    ({"diverge_factor": 1.0}, InvalidParameterValue, "diverge_factor=1.0"),
    ({"rule": "valley"}, InvalidParameterValue, "rule='valley'"),
])
def test_bad_bounds_get_clear_errors(kwargs, error, fragment, iris):
    X, y = iris
    with pytest.raises(error, match="lr_find: ") as info:
        lr_find(KerasMLPClassifier(), X, y, **kwargs)
    assert fragment in str(info.value)


def test_a_model_that_is_not_a_keras_estimator_is_refused(iris):
    with pytest.raises(InvalidParameterType, match="KerasMLPClassifier or a Pipeline"):
        lr_find(LogisticRegression(), *iris)


@pytest.mark.parametrize("rate, decades, fragment", [
    (0.0, 1, "rate=0.0"), (-1e-3, 1, "rate=-0.001"), ("1e-3", 1, "type str"),
    (1e-3, 0, "decades=0"), (1e-3, math.nan, "decades=nan")])
def test_float_around_refuses_bad_values(rate, decades, fragment):
    with pytest.raises((TypeError, ValueError), match="Float.around") as info:
        Float.around(rate, decades=decades)
    assert fragment in str(info.value) and "e.g. Float.around(3e-3" in str(info.value)


# ------------------------------------------------------------------------------- pure logic
def test_suggestion_rules_on_a_known_curve():
    rates = np.logspace(-6, 1, 71)                  # ten steps a decade
    t = np.log10(rates)
    smoothed = 2.0 - np.tanh(2 * (t + 2))           # falls fastest at 1e-2
    smoothed[t > -0.5] = 3.0 + t[t > -0.5]          # minimum just below 10**-0.5, then rises
    result = _curve(rates, smoothed)
    best = rates[int(np.argmin(smoothed))]
    assert result.suggest("min/10") == pytest.approx(best / 10)
    assert result.suggest("steepest") == pytest.approx(1e-2)
    assert result.suggestion == result.suggest("min/10")  # the default rule
    assert "suggestion=" in repr(result)


def test_float_around_and_one_cycle_take_a_range_test_result():
    result = _curve(np.logspace(-5, 0, 11), [3, 3, 2.9, 2.5, 1.5, 1, 0.8, 1.2, 3, 9, 20])
    assert result.suggestion == pytest.approx(1e-2 / 10)   # minimum at 1e-2
    assert Float.around(result) == Float(1e-4, 1e-2, scale="log")
    assert Float.around(3e-3, decades=0.5).low == pytest.approx(3e-3 / 10**0.5)
    schedule = OneCycle(result, total_epochs=4)
    assert schedule(0.3 * 4) == pytest.approx(1e-3)        # the peak is the suggestion
    assert schedule.as_keras_schedule(5).get_config()["schedule_params"]["peak"] == \
        pytest.approx(1e-3)


def _one_cycle_by_hand(t, peak, total, warm_frac, div, final_div, shape):
    start, warm = peak / div, warm_frac * total
    end = start / final_div
    ease = (lambda p: (1 - math.cos(math.pi * p)) / 2) if shape == "cos" else (lambda p: p)
    if t < warm:
        return start + (peak - start) * ease(t / warm)
    return end + (peak - end) * (1 - ease(min((t - warm) / (total - warm), 1.0)))


@pytest.mark.parametrize("shape", ["cos", "linear"])
def test_one_cycle_matches_its_formula_per_step(shape):
    schedule = OneCycle(0.05, total_epochs=3, warmup_fraction=0.25, div_factor=10,
                        final_div_factor=100, shape=shape)
    per_step = schedule.as_keras_schedule(steps_per_epoch=8)
    got = [float(per_step(step)) for step in range(30)]
    want = [_one_cycle_by_hand(step / 8, 0.05, 3, 0.25, 10, 100, shape) for step in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)  # float32 in Keras
    assert schedule(0) == pytest.approx(0.005) and schedule(0.75) == pytest.approx(0.05)
    assert schedule(3) == pytest.approx(5e-5) and schedule(10) == pytest.approx(5e-5)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"peak": 0.0}, "peak=0.0"), ({"warmup_fraction": 1.0}, "warmup_fraction=1.0"),
    ({"div_factor": 0.5}, "div_factor=0.5"), ({"shape": "triangle"}, "shape='triangle'")])
def test_one_cycle_refuses_bad_settings(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        OneCycle(**kwargs)(0)


# ------------------------------------------------------------------------------- training
def test_one_cycle_sets_the_rate_every_step_and_records_it(iris):
    X, y = iris                                      # 150 rows, batch 50: 3 steps an epoch

    class Rates(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.seen = getattr(self, "seen", []) + [
                float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))]

    schedule, rates = OneCycle(0.02, total_epochs=4, warmup_fraction=0.5, per_step=True), Rates()
    est = KerasMLPClassifier(nodes=8, epochs=4, batch_size=50, callbacks=[schedule, rates],
                             random_state=0).fit(X, y)
    want = [_one_cycle_by_hand(s / 3, 0.02, 4, 0.5, 25, 1e4, "cos") for s in range(12)]
    np.testing.assert_allclose(rates.seen, want, rtol=1e-6)
    np.testing.assert_allclose(est.history_["learning_rate"], want[2::3], rtol=1e-6)


def test_lr_find_leaves_the_estimator_as_it_was(iris):
    X, y = iris
    est = KerasMLPClassifier(nodes=8, epochs=2, batch_size=16, random_state=0).fit(X, y)
    before, history, params = _state(est), dict(est.history_), est.get_params()
    result = lr_find(est, X, y, num_steps=30)
    _same(before, _state(est))                       # weights and optimiser state (Adam moments)
    assert dict(est.history_) == history and est.get_params() == params
    assert est.get_params()["callbacks"] is None
    n = len(result.learning_rates)
    assert 10 <= n <= 30 and len(result.losses) == len(result.smoothed) == n
    np.testing.assert_allclose(result.learning_rates,
                               1e-6 * (1e7) ** (np.arange(n) / 29), rtol=1e-9)
    average = 0.0                                    # bias-corrected moving average, beta 0.9
    for i, loss in enumerate(result.losses):
        average = 0.9 * average + 0.1 * loss
        assert result.smoothed[i] == pytest.approx(average / (1 - 0.9 ** (i + 1)))
    ax = result.plot()
    assert ax.get_xscale() == "log" and len(ax.lines) >= 5


def test_lr_find_inside_a_pipeline_fits_the_preprocessing_on_its_data():
    X, y = load_penguins(return_X_y=True)
    pipe = Pipeline([("preprocess", make_preprocessor()),
                     ("model", KerasMLPClassifier(nodes=8, epochs=1, random_state=0))])
    pipe.fit(X, y)
    before = _state(pipe[-1])
    result = lr_find(pipe, X.iloc[:200], y.iloc[:200], num_steps=20, high=1.0)
    _same(before, _state(pipe[-1]))
    assert np.isfinite(result.suggestion) and 1e-6 <= result.suggestion <= 1.0


def test_a_warm_started_fit_with_a_new_rate_continues(iris):
    X, y = iris
    est = KerasMLPClassifier(nodes=16, epochs=6, batch_size=16, learning_rate=0.01,
                             warm_start=True, random_state=0).fit(X, y)
    first = list(est.history_["loss"])
    iterations = int(est.model_.optimizer.iterations)
    est.set_params(learning_rate=1e-3, epochs=3).fit(X, y)
    loss = est.history_["loss"]
    assert len(loss) == 9 and loss[:6] == first      # the history goes on
    assert abs(loss[6] - first[-1]) < 0.25 * (first[0] - first[-1])  # from where it was
    assert int(est.model_.optimizer.iterations) == iterations + 3 * 10  # Adam's step count
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(1e-3)
    est.set_params(callbacks=[OneCycle(0.005, total_epochs=2, per_step=True)], epochs=2).fit(X, y)
    assert est.history_["learning_rate"][:9] == pytest.approx([0.01] * 6 + [1e-3] * 3)
    assert [s["start"] for s in est.segments_] == [0, 6, 9]
    assert [s["learning_rate"] for s in est.segments_] == ["0.01", "0.001", "OneCycle(peak=0.005)"]
    est.set_params(callbacks=None).partial_fit(X, y)
    est.partial_fit(X, y)                            # same rate: the same stretch
    assert len(est.history_["loss"]) == 13 and est.segments_[-1] == {
        "start": 11, "epochs": 2, "learning_rate": "0.001", "rate": 1e-3}
    figure = plot_history(est, metrics=["loss"])
    assert len(figure.axes[0].get_lines()) >= 1 + 3  # the curve and a mark at each change
    fresh = KerasMLPClassifier(nodes=16, epochs=1, batch_size=16, random_state=0).fit(X, y)
    assert est.history_["loss"][6] < 0.5 * fresh.history_["loss"][0]


# ------------------------------------------------------------------------------- CLI
def test_cli_writes_the_plot(tmp_path, capsys):
    out = tmp_path / "lr"
    assert cli.main(["lr-find", "--steps", "40", "--set", "nodes=8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Suggested learning rate:" in printed and "--set learning_rate=" in printed
    assert (out / "lr_find.png").stat().st_size > 1000 and (out / "lr_find.csv").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["--low", "0"], "must be a positive number"),
    (["--low", "1e-2", "--high", "5e-2"], "less than one decade"),
    (["--set", "nodez=8"], "Did you mean 'nodes'"),
])
def test_cli_bad_bounds_exit_2(argv, fragment, tmp_path, capsys):
    out = tmp_path / "x"
    try:
        code = cli.main(["lr-find", *argv, "--out", str(out)])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2 and fragment in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------------------- the claim
@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_suggestion_lies_where_a_sweep_of_fixed_rates_is_best(optimizer, record_property):
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y,
                                                      random_state=0)
    network = dict(optimizer=optimizer, nodes=64, batch_size=32)
    suggestion = lr_find(KerasMLPClassifier(random_state=0, **network), X_train, y_train)
    exponents = np.arange(-4.0, 0.01, 0.5)           # half a decade apart, 1e-4 .. 1
    scores = []
    for e in exponents:
        runs = []
        for seed in (0, 1):
            try:
                clf = KerasMLPClassifier(learning_rate=10**e, epochs=5, random_state=seed,
                                         **network).fit(X_train, y_train)
                runs.append(clf.score(X_val, y_val))
            except TrainingDiverged:
                runs.append(0.0)
        scores.append(float(np.mean(runs)))
    scores = np.asarray(scores)
    best = exponents[int(np.argmax(scores))]
    near_best = exponents[scores >= scores.max() - 0.01]   # ties on a flat top
    diverged = exponents[(exponents > best) & (scores <= 0.2)].min()   # chance is 0.1
    found = math.log10(suggestion.suggestion)
    record_property("sweep", dict(zip(exponents.tolist(), scores.round(3).tolist())))
    record_property("suggestion", suggestion.suggestion)
    assert near_best.min() - 0.5 <= found <= near_best.max() + 0.5, (found, best, scores)
    assert found <= diverged - 1.0, (found, diverged)
