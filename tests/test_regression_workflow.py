"""A regression target through sweep, the plots, the report and the CLI's sweep and tune.

Real networks on a slice of scikit-learn's diabetes data, a few epochs each.
"""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from kerastune_kit import KerasMLPClassifier, KerasMLPRegressor, cli, plots, sweep  # noqa: E402
from kerastune_kit.report import render_report  # noqa: E402
from kerastune_kit.results import load_result, save_result  # noqa: E402
from kerastune_kit.search import TuneResult  # noqa: E402
from kerastune_kit.space import Float, SearchSpace  # noqa: E402
from kerastune_kit.strategies.base import split_for_validation  # noqa: E402
from kerastune_kit.trials import trial_row, trials_table  # noqa: E402

TINY = dict(nodes=8, n_layers=1, epochs=2, batch_size=32)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def fitted(diabetes):
    X, y = diabetes
    est = KerasMLPRegressor(**{**TINY, "epochs": 20}, learning_rate=0.01, random_state=0)
    return est.fit(X[:120], y[:120]), X[120:], y[120:]


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    X.iloc[:200].assign(y=y.iloc[:200]).to_csv(path, index=False)
    return path


# ----------------------------------------------------------------------
# sweep
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_sweep_on_a_regression_target_trains_regressors_on_a_plain_split(diabetes):
    X, y = diabetes
    table = sweep(X, y, "nodes", [4, 8], seeds=(0,), preprocessor=None, **TINY)
    assert list(table["scoring"]) == ["r2", "r2"]
    assert all(len(c) == 2 for c in table["train_curve"])  # per-epoch loss
    # the same network, trained by hand on the same shuffled (not stratified) split:
    # the sweep's validation score is its R^2 there
    X_train, X_val, y_train, y_val, encoder = split_for_validation(X, y, 0.2, 0, None,
                                                                   stratify=False)
    assert encoder is None and np.issubdtype(y_val.dtype, np.floating)
    by_hand = KerasMLPRegressor(**{**TINY, "nodes": 4}, random_state=0).fit(
        X_train, y_train, validation_data=(X_val, y_val))
    np.testing.assert_allclose(table.loc[0, "val_score"], by_hand.score(X_val, y_val),
                               rtol=1e-5)
    np.testing.assert_allclose(table.loc[0, "train_curve"], by_hand.history_["loss"], rtol=1e-5)
    ax = plots.plot_sweep(table)
    assert ax.get_ylabel() == "r2"


@pytest.mark.slow
def test_sweep_takes_a_named_scorer_and_a_task(diabetes):
    X, y = diabetes
    table = sweep(X, y, "nodes", [4], seeds=(0,), preprocessor=None,
                  scoring="neg_mean_absolute_error", **TINY)
    assert table.loc[0, "scoring"] == "neg_mean_absolute_error"
    assert table.loc[0, "val_score"] < -20  # minus an error in the target's units
    # integer labels with few values are classes by default; task= says otherwise
    labels = (y > np.median(y)).astype(int)
    classes = sweep(X, labels, "nodes", [4], seeds=(0,), preprocessor=None, **TINY)
    assert classes.loc[0, "scoring"] == "accuracy"
    assert 0 <= classes.loc[0, "val_score"] <= 1


@pytest.mark.parametrize("kwargs, fragment", [
    ({"scoring": "accuracy"}, "scoring='accuracy' is a classification score"),
    ({"task": "regresion"}, "task='regresion'"),
    ({"y": np.arange(160) % 15}, "task='regression'"),
    ({"param": "class_weight"}, "param='class_weight' is not a KerasMLPRegressor parameter"),
])
def test_sweep_refuses_before_training(diabetes, kwargs, fragment):
    X, y = diabetes
    kwargs = {"y": y, "param": "nodes", **kwargs}
    with pytest.raises(ValueError, match=re.escape(fragment)):
        sweep(X, kwargs.pop("y"), kwargs.pop("param"), [4], **kwargs)


# ----------------------------------------------------------------------
# plots of a regressor's predictions
# ----------------------------------------------------------------------
def test_predicted_vs_actual_draws_every_row_and_the_diagonal(fitted, tmp_path):
    est, X, y = fitted
    ax = plots.plot_predicted_vs_actual(est, X, y)
    ax.figure.savefig(tmp_path / "pva.png")
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], y)
    np.testing.assert_allclose(points[:, 1], est.predict(X), rtol=1e-6)
    diagonal = ax.lines[0]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert ax.get_title() == f"R^2 {r2_score(y, est.predict(X)):.3f} on {len(y)} rows"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("actual", "predicted")


def test_residuals_are_actual_minus_predicted_around_a_zero_line(fitted):
    est, X, y = fitted
    fig, axes = plt.subplots(1, 2)
    ax = plots.plot_residuals(est, X, y, ax=axes[1])
    assert ax is axes[1]
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], est.predict(X), rtol=1e-6)
    np.testing.assert_allclose(points[:, 1], y - est.predict(X), rtol=1e-5, atol=1e-6)
    assert list(ax.lines[0].get_ydata()) == [0.0, 0.0]
    rmse = np.sqrt(np.mean((y - est.predict(X)) ** 2))
    assert f"RMSE {rmse:.3g}" in ax.get_title()


def test_regression_plots_with_several_targets_and_bad_input(fitted, diabetes):
    est, X, y = fitted
    X_all, y_all = diabetes
    two = KerasMLPRegressor(**TINY, random_state=0).fit(X_all, np.column_stack([y_all, -y_all]))
    ax = plots.plot_predicted_vs_actual(two, X, np.column_stack([y, -y]))
    assert len(ax.collections) == 2 and [t.get_text() for t in ax.get_legend().get_texts()] == [
        "target 0", "target 1"]
    with pytest.raises(ValueError,
                       match=r"y has 1 target column\(s\) but the estimator predicts 2"):
        plots.plot_residuals(two, X, y)
    with pytest.raises(NotFittedError):
        plots.plot_residuals(KerasMLPRegressor(), X, y)


# ----------------------------------------------------------------------
# the report shows the refitted model's test-set predictions
# ----------------------------------------------------------------------
def _tune_result(estimator, task, scoring) -> TuneResult:
    rows = [trial_row(trial=i, strategy="random", values={"learning_rate": lr}, score=score,
                      epochs_trained=2, fit_time=0.1, train_curve=[1.0, 0.8],
                      val_curve=[1.1, 0.9])
            for i, (lr, score) in enumerate([(0.001, 0.3), (0.01, 0.4)])]
    return TuneResult(trials=trials_table(rows, ["learning_rate"]),
                      best_params_={"learning_rate": 0.01}, best_score_=0.4, strategy="random",
                      space=SearchSpace(learning_rate=Float(1e-3, 1e-2, scale="log")),
                      best_estimator_=estimator, task_=task, scoring_=scoring)


def _captions(report: str) -> list[str]:
    return re.findall(r"<figcaption>(.*?)</figcaption>", report)


def test_a_regression_report_shows_predicted_vs_actual_and_residuals(fitted):
    est, X, y = fitted
    result = _tune_result(est, "regression", "r2")
    report = render_report(result, test_data=(X, y))
    captions = _captions(report)
    assert captions[0] == "Best trials: validation (solid) and training (dashed) loss per epoch"
    assert captions[-2:] == [
        f"Predicted against actual values of the refitted best model on the test split "
        f"({len(y)} rows, used once)",
        f"Residuals of the refitted best model on the test split ({len(y)} rows, used once)"]
    assert "<td style='text-align:left'>0.4000 (r2)</td>" in report
    without = _captions(render_report(result))
    assert without == captions[:-2]  # no test data, no prediction plots


def test_a_classification_report_shows_the_confusion_matrix(diabetes):
    X, y = diabetes
    labels = np.where(y > np.median(y), "high", "low")
    est = KerasMLPClassifier(**TINY, random_state=0).fit(X[:120], labels[:120])
    captions = _captions(render_report(_tune_result(est, "classification", "accuracy"),
                                       test_data=(X[120:], labels[120:])))
    assert captions[0].endswith("accuracy per epoch")
    assert captions[-1] == ("Confusion matrix of the refitted best model on the test split "
                            "(40 rows, used once)")


def test_task_and_scoring_are_saved_and_read_back(fitted, tmp_path):
    est, _, _ = fitted
    result = _tune_result(None, "regression", "neg_mean_absolute_error")
    save_result(result, tmp_path)
    saved = json.loads((tmp_path / "best_params.json").read_text())
    assert (saved["task"], saved["scoring"]) == ("regression", "neg_mean_absolute_error")
    loaded = load_result(tmp_path)
    assert (loaded.task_, loaded.scoring_) == ("regression", "neg_mean_absolute_error")
    assert "best score 0.4000 (neg_mean_absolute_error)" in loaded.summary()
    assert plots.plot_scores(loaded).axes[0].get_ylabel() == "score (neg_mean_absolute_error)"


# ----------------------------------------------------------------------
# the command line
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_cli_sweep_on_a_regression_csv(diabetes_csv, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--dataset", str(diabetes_csv), "--target", "y", "--param",
                     "nodes", "--values", "4,8", "--seeds", "0", "--epochs", "2",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Task: regression (the target holds" in printed and "override with --task" in printed
    assert "regression, scores are r2" in printed
    table = pd.read_csv(out / "sweep.csv")
    assert set(table["scoring"]) == {"r2"} and (out / "sweep.png").exists()


@pytest.mark.slow
def test_cli_sweep_task_and_scoring_options(diabetes_csv, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--dataset", str(diabetes_csv), "--target", "y", "--param",
                     "nodes", "--values", "4", "--seeds", "0", "--epochs", "1", "--task",
                     "regression", "--scoring", "neg_mean_absolute_error",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Task:" not in printed  # given, not detected
    assert "scores are neg_mean_absolute_error" in printed
    assert (pd.read_csv(out / "sweep.csv")["val_score"] < 0).all()


@pytest.mark.parametrize("command", ["sweep", "tune", "baseline"])
def test_cli_refuses_a_bad_scorer_before_training(command, diabetes_csv, tmp_path, capsys):
    extra = {"sweep": ["--param", "nodes", "--values", "4", "--out", str(tmp_path / "run")],
             "tune": ["--out", str(tmp_path / "run")], "baseline": []}[command]
    code = cli.main([command, "--dataset", str(diabetes_csv), "--target", "y", *extra,
                     "--scoring", "accuracy"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--scoring 'accuracy' is a classification score" in err
    assert "neg_mean_absolute_error" in err and "leave --scoring out for r2" in err
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


@pytest.mark.slow
def test_cli_baseline_with_a_named_scorer(diabetes_csv, capsys):
    assert cli.main(["baseline", "--dataset", str(diabetes_csv), "--target", "y", "--cv", "2",
                     "--epochs", "2", "--scoring", "neg_root_mean_squared_error"]) == 0
    printed = capsys.readouterr().out
    assert "KerasMLPRegressor" in printed and "RidgeCV" in printed
    assert "(neg_root_mean_squared_error; corrected resampled t-test" in printed


@pytest.mark.slow
def test_cli_tune_with_a_named_scorer_labels_every_score(diabetes_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["tune", "--dataset", str(diabetes_csv), "--target", "y", "--budget", "1",
                     "--epochs", "2", "--cv", "2", "--set", "n_layers=1", "--set", "nodes=8",
                     "--scoring", "neg_mean_absolute_error", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(neg_mean_absolute_error)" in printed  # the best score
    assert "(neg_mean_absolute_error; corrected" in printed  # the comparison
    assert "Test neg_mean_absolute_error (test split, used once): KerasMLPRegressor -" in printed
    saved = json.loads((out / "best_params.json").read_text())
    assert saved["scoring"] == "neg_mean_absolute_error"
    assert set(saved["extra"]["test_neg_mean_absolute_error"]) == {"KerasMLPRegressor", "RidgeCV"}
    report = (out / "report.html").read_text()
    assert "Residuals of the refitted best model on the test split (40 rows" in report
    assert "test neg_mean_absolute_error (test split, used once)" in report
    # `kerastune-kit report` rebuilds it from the folder, with the same labels
    assert cli.main(["report", str(out)]) == 0
    rebuilt = (out / "report.html").read_text()
    assert "(neg_mean_absolute_error)" in rebuilt
    assert "test neg_mean_absolute_error (used once)" in rebuilt
