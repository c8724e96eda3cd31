"""Plots: each one is rendered to PNG and its drawn content is checked.

The real search, sweep and fitted network are built once per module with tiny
budgets; synthetic tables cover the cases those cannot (failed trials, empty
curves, categories, many folds).
"""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from kerastune_kit import plots  # noqa: E402
from kerastune_kit.datasets import load_digits, load_penguins, make_preprocessor  # noqa: E402
from kerastune_kit.space import Categorical, Float, Int, SearchSpace  # noqa: E402


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch):
    """Fail if a plot calls plt.show() or changes rcParams; close every figure afterwards."""
    def show(*args, **kwargs):
        raise AssertionError("a plot function called plt.show()")

    monkeypatch.setattr(plt, "show", show)
    before = dict(plt.rcParams)
    yield
    after = dict(plt.rcParams)
    plt.close("all")
    assert after == before


@pytest.fixture(scope="module")
def penguins():
    X, y = load_penguins(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)


@pytest.fixture(scope="module")
def result(penguins, tmp_path_factory):
    from kerastune_kit.search import tune

    X_train, _, y_train, _ = penguins
    space = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 1e-1, scale="log"))
    return tune(X_train, y_train, space, strategy="random", n_trials=4, cv=2,
                preprocessor=make_preprocessor(), estimator_params={"epochs": 3},
                directory=tmp_path_factory.mktemp("plots_tune"), compare_baseline=True)


@pytest.fixture(scope="module")
def sweep_table(penguins):
    from kerastune_kit.search import sweep

    X_train, _, y_train, _ = penguins
    return sweep(X_train, y_train, "n_layers", [1, 2], seeds=(0, 1), epochs=3, nodes=8,
                 preprocessor=make_preprocessor())


@pytest.fixture(scope="module")
def digits():
    from kerastune_kit.estimators import KerasMLPClassifier
    from kerastune_kit.schedules import StepDecay

    X, y = load_digits(return_X_y=True, images=True)
    est = KerasMLPClassifier(n_layers=1, nodes=16, epochs=2, validation_split=0.2,
                             callbacks=[StepDecay(initial=0.02, drop=0.05, epochs_per_drop=1)],
                             random_state=0)
    return est.fit(X[:600], y[:600]), X[600:800], y[600:800]


def _synthetic_trials() -> pd.DataFrame:
    rows = []
    for i, (status, score, act) in enumerate([
            ("ok", 0.71, "relu"), ("ok", 0.93, "tanh"), ("failed", np.nan, "relu"),
            ("ok", 0.85, "relu"), ("ok", 0.60, "tanh"), ("ok", 0.99, "relu"),
            ("ok", 0.42, "tanh")]):
        curves = [] if i == 3 else [0.3 + 0.1 * e + 0.01 * i for e in range(4)]
        rows.append({"trial": i, "round": 0, "strategy": "random", "status": status,
                     "score": score, "score_std": 0.0, "nodes": 8 * (i + 1),
                     "learning_rate": 10.0 ** -(1 + i % 3), "activation": act,
                     "epochs_trained": len(curves), "fit_time": 1.0,
                     "train_curve": [c + 0.05 for c in curves], "val_curve": curves})
    return pd.DataFrame(rows)


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


# ----------------------------------------------------------------------------- searches
def test_best_trials_real_result(result, tmp_path):
    fig = plots.plot_best_trials(result, k=20, ncols=5)
    fig.savefig(tmp_path / "best.png")
    ok = result.trials[result.trials["status"] == "ok"].sort_values("score", ascending=False)
    panels = _panels(fig)
    assert len(panels) == len(ok) == 4
    scores = [float(ax.get_title()[len("Best-1 ("):-1]) for ax in panels]
    assert [ax.get_title().split(" ")[0] for ax in panels] == [f"Best-{i}" for i in range(1, 5)]
    assert scores == sorted(scores, reverse=True)
    np.testing.assert_allclose(scores, ok["score"].round(3).to_numpy())
    for ax, (_, row) in zip(panels, ok.iterrows()):
        styles = {line.get_linestyle(): line for line in ax.lines}
        assert len(ax.lines) == 2 and set(styles) == {"-", "--"}
        np.testing.assert_allclose(styles["-"].get_ydata(), row["val_curve"])
        np.testing.assert_allclose(styles["--"].get_ydata(), row["train_curve"])
        texts = " ".join(t.get_text() for t in ax.texts)
        assert f"nodes {row['nodes']}" in texts and f"lr {row['learning_rate']:.1e}" in texts
    assert panels[0].get_shared_y_axes().joined(panels[0], panels[-1])
    assert len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["validation accuracy", "training accuracy"]


def test_best_trials_grid_failed_and_empty_curves(tmp_path):
    trials = _synthetic_trials()
    fig = plots.plot_best_trials(trials, k=20, ncols=4)
    fig.savefig(tmp_path / "grid.png")
    panels = _panels(fig)
    assert len(panels) == 6  # the failed trial is left out, the empty grid cells removed
    assert panels[0].get_title() == "Best-1 (0.990)"
    assert panels[-1].get_title() == "Best-6 (0.420)"
    empty = next(ax for ax in panels if ax.get_title() == "Best-3 (0.850)")
    assert len(empty.lines) == 0 and any("no per-epoch" in t.get_text() for t in empty.texts)
    fig2 = plots.plot_best_trials(trials, k=2)
    assert [ax.get_title() for ax in _panels(fig2)] == ["Best-1 (0.990)", "Best-2 (0.930)"]


def test_plot_scores_log_axis_and_points(result, tmp_path):
    fig = plots.plot_scores(result)
    fig.savefig(tmp_path / "scores.png")
    panels = _panels(fig)
    assert [ax.get_xlabel() for ax in panels] == ["nodes", "learning_rate"]
    assert [ax.get_xscale() for ax in panels] == ["linear", "log"]
    ok = result.trials[result.trials["status"] == "ok"]
    offsets = panels[1].collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(ok["learning_rate"]))
    np.testing.assert_allclose(np.sort(offsets[:, 1]), np.sort(ok["score"]))
    # a bare DataFrame has no space: linear unless one is passed
    assert _panels(plots.plot_scores(result.trials))[1].get_xscale() == "linear"
    assert _panels(plots.plot_scores(result.trials, space=result.space))[1].get_xscale() == "log"


def test_plot_scores_categories_and_failed(tmp_path):
    fig = plots.plot_scores(_synthetic_trials(), params=["activation"])
    fig.savefig(tmp_path / "cat.png")
    (ax,) = _panels(fig)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh"]
    points = ax.collections[-1].get_offsets()
    assert len(points) == 6  # the failed trial is not plotted
    assert "1 failed" in fig.get_suptitle()
    with pytest.raises(ValueError, match="Did you mean 'nodes'"):
        plots.plot_scores(_synthetic_trials(), params=["nodez"])


def test_param_heatmap_real_result(result, tmp_path):
    ax = plots.plot_param_heatmap(result, "nodes", "learning_rate", bins=6)
    ax.figure.savefig(tmp_path / "heat.png")
    ok = result.trials[result.trials["status"] == "ok"]
    lr = ok["learning_rate"].to_numpy()
    edges = np.geomspace(lr.min(), lr.max(), 7)
    lr_bin = np.clip(np.searchsorted(edges, lr, side="right") - 1, 0, 5)
    cells = set(zip(ok["nodes"], lr_bin))
    grid = ax.images[0].get_array()
    assert grid.shape == (len(set(lr_bin)), ok["nodes"].nunique())
    assert int((~np.ma.getmaskarray(grid)).sum()) == len(ax.texts) == len(cells)
    assert ax.get_xlabel() == "nodes" and ax.get_ylabel() == "learning_rate"


def test_param_heatmap_means_and_bins(tmp_path):
    table = pd.DataFrame({"status": "ok", "score": [0.6, 0.8, 0.5, 0.9],
                          "x": [8, 8, 16, 16], "y": ["a", "a", "a", "b"]})
    ax = plots.plot_param_heatmap(table, "x", "y")
    ax.figure.savefig(tmp_path / "means.png")
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 2) and np.ma.getmaskarray(grid)[1, 0]
    np.testing.assert_allclose(grid[0], [0.7, 0.5])
    assert sorted(t.get_text() for t in ax.texts) == ["0.500", "0.700", "0.900"]
    many = pd.DataFrame({"status": "ok", "score": np.linspace(0, 1, 20),
                         "x": np.arange(20), "y": 1})
    assert plots.plot_param_heatmap(many, "x", "y", bins=4).images[0].get_array().shape == (1, 4)
    with pytest.raises(ValueError, match="Did you mean 'x'"):
        plots.plot_param_heatmap(table, "xx", "y")


def test_plot_sweep_real(sweep_table, tmp_path):
    ax = plots.plot_sweep(sweep_table)
    ax.figure.savefig(tmp_path / "sweep.png")
    styles = {line.get_linestyle(): line for line in ax.lines}
    assert len(ax.lines) == 2 and set(styles) == {"-", "--"}
    for line in ax.lines:
        np.testing.assert_allclose(line.get_xdata(), [1, 2])
    means = sweep_table.groupby("value")[["val_score", "train_score"]].mean()
    np.testing.assert_allclose(styles["-"].get_ydata(), means["val_score"])
    np.testing.assert_allclose(styles["--"].get_ydata(), means["train_score"])
    assert len(ax.collections) == 2 and ax.get_xlabel() == "n_layers"
    assert ax.get_xscale() == "linear" and "2 seed" in ax.get_title()
    only = plots.plot_sweep(sweep_table, metric="train_score")
    assert [line.get_linestyle() for line in only.lines] == ["--"]
    with pytest.raises(ValueError, match="metric"):
        plots.plot_sweep(sweep_table, metric="test_score")


def test_plot_sweep_categories_and_log():
    table = pd.DataFrame({"param": "hidden_layer_sizes", "value": [(64,), (64, 32)] * 2,
                          "seed": [0, 0, 1, 1], "train_score": [0.9, 0.8, 0.7, 0.6],
                          "val_score": [0.5, 0.6, 0.7, 0.8]})
    ax = plots.plot_sweep(table, metric="val_score")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 1])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.6, 0.7])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["(64)", "(64, 32)"]
    rates = pd.DataFrame({"param": "learning_rate", "value": [1e-4, 1e-3, 1e-2, 1e-1],
                          "seed": 0, "train_score": 0.5, "val_score": 0.5})
    assert plots.plot_sweep(rates).get_xscale() == "log"
    assert plots.plot_sweep(rates, logx=False).get_xscale() == "linear"


# ----------------------------------------------------------------------------- training
def test_lr_schedule_from_history_and_schedule(digits, tmp_path):
    from kerastune_kit.schedules import StepDecay

    est = digits[0]
    ax = plots.plot_lr_schedule(est)
    ax.figure.savefig(tmp_path / "lr.png")
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), [1, 2])
    np.testing.assert_allclose(line.get_ydata(), est.history_["learning_rate"])
    np.testing.assert_allclose(line.get_ydata(), [0.02, 0.001])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    schedule = StepDecay(initial=0.01, drop=0.5, epochs_per_drop=3)
    ax2 = plots.plot_lr_schedule(schedule, epochs=6)
    np.testing.assert_allclose(ax2.lines[0].get_ydata(), [schedule(e) for e in range(6)])
    assert ax2.get_yscale() == "linear"
    with pytest.raises(ValueError, match="epochs"):
        plots.plot_lr_schedule(schedule)
    with pytest.raises(ValueError, match="learning_rate"):
        plots.plot_lr_schedule({"loss": [1.0, 0.5]})


def test_plot_history(digits, tmp_path):
    est = digits[0]
    fig = plots.plot_history(est)
    fig.savefig(tmp_path / "history.png")
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["loss", "accuracy"]
    for ax, metric in zip(panels, ["loss", "accuracy"]):
        styles = {line.get_linestyle(): line for line in ax.lines}
        assert len(ax.lines) == 2 and set(styles) == {"-", "--"}
        np.testing.assert_allclose(styles["--"].get_ydata(), est.history_[metric])
        np.testing.assert_allclose(styles["-"].get_ydata(), est.history_["val_" + metric])
    fig2, axes = plt.subplots(1, 2)
    assert plots.plot_history({"loss": [3.0, 2.0, 1.0]}, metrics="loss", axes=axes) is fig2
    assert len(axes[0].lines) == 1 and len(axes[1].lines) == 0
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        plots.plot_history(est, metrics=("acuracy",))


def test_confusion_matrix(digits, tmp_path):
    est, X, y = digits
    ax = plots.plot_confusion_matrix(est, X, y)
    ax.figure.savefig(tmp_path / "cm.png")
    matrix = ax.images[0].get_array()
    assert matrix.shape == (10, 10) and matrix.sum() == len(y)
    assert ax.get_title() == f"accuracy {est.score(X, y):.3f}"
    normed = plots.plot_confusion_matrix(est, X, y, normalize="true").images[0].get_array()
    np.testing.assert_allclose(normed.sum(axis=1)[np.bincount(y, minlength=10) > 0], 1.0)


def test_baseline_comparison(result, tmp_path):
    ax = plots.plot_baseline_comparison(result)
    ax.figure.savefig(tmp_path / "baseline.png")
    table = result.baseline_
    assert len(ax.lines) == 2  # cv=2: one line per fold
    for i, line in enumerate(ax.lines):
        np.testing.assert_allclose(line.get_ydata(), table[f"fold_{i}"].iloc[:2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["KerasMLPClassifier", "LogisticRegression"]
    p = table.loc["difference", "p_value"]
    assert f"{table.loc['difference', 'mean']:+.3f}" in ax.get_title()
    assert f"p = {p:.3g}" in ax.get_title()
    five = pd.DataFrame(np.random.default_rng(0).uniform(0.7, 1, (2, 5)),
                        index=["mlp", "logreg"], columns=[f"fold_{i}" for i in range(5)])
    assert len(plots.plot_baseline_comparison(five).lines) == 5
    with pytest.raises(ValueError, match="fold_0"):
        plots.plot_baseline_comparison(five[["fold_0"]].rename(columns={"fold_0": "a"}))


def test_first_layer_weights(digits, tmp_path):
    import keras

    est = digits[0]
    fig = plots.plot_first_layer_weights(est, n=16, ncols=8)
    fig.savefig(tmp_path / "weights.png")
    panels = [ax for ax in _panels(fig) if ax.images]
    assert len(panels) == len(fig.axes) == 16
    kernel = keras.ops.convert_to_numpy(est.model_.get_layer("hidden_0").kernel)
    np.testing.assert_allclose(panels[3].images[0].get_array(), kernel[:, 3].reshape(8, 8))
    pipe = Pipeline([("identity", FunctionTransformer()), ("model", est)])
    assert len(plots.plot_first_layer_weights(pipe, n=4).axes) == 4

    rgb = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                            keras.layers.Dense(6)])
    images = [ax.images[0].get_array() for ax in plots.plot_first_layer_weights(rgb).axes]
    assert len(images) == 6 and images[0].shape == (4, 4, 3)
    assert images[0].min() == 0 and images[0].max() == 1

    flat = keras.Sequential([keras.Input((64,)), keras.layers.Dense(5)])
    with pytest.raises(ValueError, match=r"image_shape=\(8, 8\)"):
        plots.plot_first_layer_weights(flat)
    assert plots.plot_first_layer_weights(flat, image_shape=(8, 8)).axes[0].images[0] \
        .get_array().shape == (8, 8)
    with pytest.raises(ValueError, match="image_shape"):
        plots.plot_first_layer_weights(flat, image_shape=(7, 7))


# ----------------------------------------------------------------------------- input errors
def test_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        plots.plot_best_trials(_synthetic_trials().iloc[:0])
    with pytest.raises(TypeError, match="trials"):
        plots.plot_scores([1, 2, 3])
    failed = _synthetic_trials().assign(status="failed")
    with pytest.raises(ValueError, match="none of the 7 trials finished"):
        plots.plot_scores(failed)
    with pytest.raises(ValueError, match="no baseline comparison"):
        plots.plot_baseline_comparison(type("R", (), {"baseline_": None})())


def test_module_does_not_import_keras():
    code = ("import sys, kerastune_kit.plots; "
            "assert not {'keras', 'tensorflow'} & set(sys.modules), 'keras imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- readable panels
def _readable_trials() -> pd.DataFrame:
    """Five parameters, one a Categorical of numbers and one on a reverse-log scale."""
    table = _synthetic_trials().drop(columns=["activation"])
    table["batch_size"] = [16, 32, 64, 16, 32, 64, 16]
    table["beta_1"] = [0.995, 0.9, 0.95, 0.99, 0.92, 0.999, 0.93]
    table["dropout"] = [0.0, 0.2, 0.0, 0.2, 0.2, 0.0, 0.2]
    return table


READABLE_SPACE = SearchSpace(nodes=Int(8, 64, step=8), learning_rate=Float(1e-3, 1e-1, scale="log"),
                             batch_size=Categorical([16, 32, 64]),
                             beta_1=Float(0.9, 0.999, scale="reverse_log"),
                             dropout=Categorical([0.0, 0.2, 0.4]))


def test_plot_scores_wraps_rows_and_ticks_numeric_choices():
    fig = plots.plot_scores(_readable_trials(), space=READABLE_SPACE)
    panels = {ax.get_title(): ax for ax in _panels(fig)}
    assert len(panels) == 5
    # five parameters: two balanced rows (3 + 2), not one row of five
    assert len({round(ax.get_position().y0, 2) for ax in panels.values()}) == 2
    assert list(panels["batch_size"].get_xticks()) == [16, 32, 64]
    assert [t.get_text() for t in panels["dropout"].get_xticklabels()] == ["0", "0.2", "0.4"]


def test_plot_best_trials_labels_reverse_log_values_plainly():
    from kerastune_kit.results import SavedResult  # a result carries its space

    saved = SavedResult(trials=_readable_trials(), best_params_={}, best_score_=0.99,
                        strategy="random", space=READABLE_SPACE)
    fig = plots.plot_best_trials(saved, k=1)
    line = " ".join(t.get_text() for ax in _panels(fig) for t in ax.texts).replace("\n", " ")
    # beta_1 0.999, not 1.0e+00; a log-scale learning rate keeps its e-notation
    assert "beta_1 0.999" in line and "lr 1.0e-03" in line, line
