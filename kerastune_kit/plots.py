"""Plots of searches, sweeps, training histories and fitted networks (matplotlib).

Every function takes a search result (a :class:`~kerastune_kit.TuneResult`, a
loaded result, or its ``trials`` DataFrame), draws on an optional ``ax`` /
``axes`` and returns the Axes (one panel) or the Figure (several panels). None
calls ``plt.show()`` or changes rcParams. Keras is imported only by
:func:`plot_first_layer_weights`.
"""

from __future__ import annotations

import json
import math
import numbers
import textwrap
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._validation import check_choice, check_positive_int, did_you_mean
from ._columns import TRIAL_COLUMNS, TRIAL_TAIL

__all__ = ["plot_best_trials", "plot_scores", "plot_param_heatmap", "plot_sweep",
           "plot_lr_schedule", "plot_history", "plot_confusion_matrix",
           "plot_baseline_comparison", "plot_first_layer_weights"]

_HEAD, _TAIL = TRIAL_COLUMNS, TRIAL_TAIL
_SHORT = {"learning_rate": "lr", "hidden_layer_sizes": "hidden", "batch_size": "batch"}


# ----------------------------------------------------------------------------- helpers
def _trials(results: Any) -> tuple[pd.DataFrame, Any]:
    """``(trials table, space or None)`` of a result object or a DataFrame."""
    if isinstance(results, pd.DataFrame):
        table, space = results, None
    elif isinstance(getattr(results, "trials", None), pd.DataFrame):
        table, space = results.trials, getattr(results, "space", None)
    else:
        raise TypeError(f"results={type(results).__name__} must be a TuneResult (or a loaded "
                        "result) with a .trials table, or that trials DataFrame.")
    if table.empty:
        raise ValueError("the trials table is empty: there is nothing to plot.")
    _require(table, ("status", "score"), "the trials table")
    return table, space


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    have = [str(c) for c in table.columns]
    for column in columns:
        if column not in table.columns:
            raise ValueError(f"{what} has no column {column!r}." + did_you_mean(column, have)
                             + f" Columns: {have}")


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    ok = table[(table["status"] == "ok") & table["score"].notna()]
    if ok.empty:
        raise ValueError(f"none of the {len(table)} trials finished (status 'ok'); "
                         "there are no scores to plot.")
    return ok


def _param_names(table: pd.DataFrame, space: Any, params: Sequence[str] | None,
                 required: bool = True) -> list[str]:
    if params is None:
        if space is not None:
            params = [n for n in space.names if n in table.columns]
        else:
            params = [c for c in table.columns if c not in _HEAD and c not in _TAIL]
    elif isinstance(params, str):
        params = [params]
    params = list(params)
    if not params and required:
        raise ValueError("no parameter columns to plot; pass params=[...] naming some.")
    _require(table, params, "the trials table")
    return params


def _is_log(space: Any, name: str) -> bool:
    return bool(space is not None and name in space and getattr(space[name], "is_log", False))


def _numeric(values: Sequence[Any]) -> bool:
    """True when every value is a finite real number (not a bool)."""
    return len(values) > 0 and all(isinstance(v, numbers.Real) and math.isfinite(v)
                                   and not isinstance(v, (bool, np.bool_)) for v in values)


def _fmt(value: Any, log: bool = False) -> str:
    """Short text of a parameter value: ``1.2e-03`` (always so when ``log``), ``64``, ``relu``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Number, list, tuple)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if v != 0 and math.isfinite(v) and (log or abs(v) < 1e-2 or abs(v) >= 1e4):
        return f"{v:.1e}"
    return f"{v:.3g}"


def _short(name: str) -> str:
    name = str(name).split("__")[-1]
    return _SHORT.get(name, name)


def _curve(value: Any) -> list[float]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [float(v) for v in value]


def _categories(values: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Labels of ``values`` and the distinct labels (numbers sorted, others by first appearance)."""
    labels = [_fmt(v) for v in values]
    distinct = list(dict.fromkeys(labels))
    if _numeric(values):
        first = dict(zip(labels, values))
        distinct.sort(key=lambda label: float(first[label]))
    return labels, distinct


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(layout="constrained")[1] if ax is None else ax


def _history(source: Any) -> dict:
    if isinstance(source, Mapping):
        return dict(source)
    if hasattr(source, "history_"):
        return dict(source.history_)
    if isinstance(getattr(source, "history", None), Mapping):  # keras.callbacks.History
        return dict(source.history)
    if hasattr(source, "fit"):
        raise ValueError(f"{type(source).__name__} has no history_: fit it first.")
    raise TypeError(f"source={type(source).__name__} must be a fitted estimator (history_), a "
                    "Keras History or a history dict of per-epoch lists.")


# ----------------------------------------------------------------------------- searches
def plot_best_trials(results: Any, k: int = 20, ncols: int = 5,
                     metric_label: str = "accuracy") -> Figure:
    """Per-epoch curves of the ``k`` best finished trials, one small panel each.

    Parameters
    ----------
    results : TuneResult, loaded result or trials DataFrame
    k, ncols : int, default 20 and 5
        Trials to draw (best first) and panels per row: a 4x5 grid by default.
    metric_label : str, default "accuracy"
        Name of the curves' metric (y label, legend).

    Returns
    -------
    Figure
        Panels titled ``"Best-i (score)"`` with the parameters in small text;
        validation solid, training dashed, shared y, one legend. A trial
        without curves gets a panel with a note.
    """
    check_positive_int("k", k), check_positive_int("ncols", ncols)
    table, space = _trials(results)
    _require(table, ("train_curve", "val_curve"), "the trials table")
    best = _finished(table).sort_values("score", ascending=False, kind="stable").head(k)
    params = _param_names(table, space, None, required=False)
    ncols = min(ncols, len(best))
    nrows = math.ceil(len(best) / ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(2.4 * ncols + 0.6, 2.0 * nrows + 0.8), layout="constrained")
    flat = axes.ravel()
    for i, (ax, (_, row)) in enumerate(zip(flat, best.iterrows()), start=1):
        val, train = _curve(row["val_curve"]), _curve(row["train_curve"])
        if val:
            ax.plot(range(1, len(val) + 1), val, "-", color="C0")
        if train:
            ax.plot(range(1, len(train) + 1), train, "--", color="C1")
        if not (val or train):
            ax.text(0.5, 0.5, "no per-epoch\ncurve recorded", ha="center", va="center",
                    fontsize=8, color="0.4", transform=ax.transAxes)
        ax.set_title(f"Best-{i} ({row['score']:.3f})", fontsize=9)
        line = ", ".join(f"{_short(p)} {_fmt(row[p], _is_log(space, p))}" for p in params)
        ax.text(0.97, 0.04, "\n".join(textwrap.wrap(line, 30)), ha="right", va="bottom",
                fontsize=6.5, transform=ax.transAxes,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in flat[len(best):]:
        ax.remove()
    handles = [Line2D([], [], ls="-", color="C0", label=f"validation {metric_label}"),
               Line2D([], [], ls="--", color="C1", label=f"training {metric_label}")]
    fig.legend(handles=handles, loc="outside upper center", ncols=2, fontsize=8, frameon=False)
    fig.supxlabel("epoch", fontsize=9), fig.supylabel(metric_label, fontsize=9)
    return fig


def plot_scores(results: Any, params: Sequence[str] | None = None, space: Any = None) -> Figure:
    """Score against each parameter, one panel per parameter.

    Parameters
    ----------
    results : TuneResult, loaded result or trials DataFrame
    params : list of str, optional
        Default: the space's names, or the columns between the trial columns
        and ``epochs_trained ... val_curve``.
    space : SearchSpace, optional
        Overrides ``results.space``; ``is_log`` dimensions get a log x axis.

    Returns
    -------
    Figure
        Numbers as a scatter, other values (strings, tuples) as box plots
        with points. Failed trials are not drawn; the title counts them.
    """
    table, own_space = _trials(results)
    space = own_space if space is None else space
    names = _param_names(table, space, params)
    ok = _finished(table)
    fig, axes = plt.subplots(1, len(names), sharey=True, squeeze=False,
                             figsize=(3.2 * len(names), 3.2), layout="constrained")
    for ax, name in zip(axes.ravel(), names):
        values, scores = list(ok[name]), ok["score"].to_numpy(float)
        if _numeric(values):
            ax.scatter(np.asarray(values, float), scores, alpha=0.75, edgecolor="k", lw=0.3)
            if _is_log(space, name) and min(values) > 0:
                ax.set_xscale("log")
        else:
            labels, distinct = _categories(values)
            groups = [scores[[lab == d for lab in labels]] for d in distinct]
            ax.boxplot(groups, positions=range(len(distinct)), widths=0.5, showfliers=False)
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(scores))
            ax.scatter([distinct.index(lab) for lab in labels] + jitter, scores, alpha=0.75,
                       edgecolor="k", lw=0.3, zorder=3)
            ax.set_xticks(range(len(distinct)), distinct, rotation=30 if len(distinct) > 4 else 0)
        ax.set_xlabel(name), ax.set_title(name, fontsize=10)
    axes[0, 0].set_ylabel("score")
    if len(table) > len(ok):
        fig.suptitle(f"{len(table) - len(ok)} failed trial(s) not shown", fontsize=9)
    return fig


def _cells(values: Sequence[Any], log: bool, bins: int) -> tuple[list[str], list[str]]:
    """Cell labels of ``values``: numbers with fractions or more than ``bins`` values are binned."""
    distinct = set(_fmt(v) for v in values)
    binned = _numeric(values) and len(distinct) > 1 and (
        len(distinct) > bins or any(float(v) != int(v) for v in values))
    if not binned:
        return _categories(values)
    x = np.asarray(values, float)
    log = log or (x.min() > 0 and x.max() / x.min() > 100)
    edges = np.geomspace(x.min(), x.max(), bins + 1) if log and x.min() > 0 else \
        np.linspace(x.min(), x.max(), bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    names = [f"{_fmt(lo, log)}-{_fmt(hi, log)}" for lo, hi in zip(edges[:-1], edges[1:])]
    return [names[i] for i in index], [names[i] for i in sorted(set(index))]


def plot_param_heatmap(results: Any, x: str, y: str, ax: Axes | None = None,
                       bins: int = 6) -> Axes:
    """Mean score of the finished trials per (``x``, ``y``) cell, annotated.

    Parameters
    ----------
    results : TuneResult, loaded result or trials DataFrame
    x, y : str
        Parameter columns.
    ax : Axes, optional
    bins : int, default 6
        Numbers with fractions or more than ``bins`` distinct values are cut
        into ``bins`` bins (log-spaced for log dimensions, or, without a space,
        when positive and spanning > 2 decades); only bins with trials are
        kept. Other values get one cell each.

    Returns
    -------
    Axes
        Empty cells are blank.
    """
    check_positive_int("bins", bins)
    table, space = _trials(results)
    _param_names(table, space, [x, y])
    ok = _finished(table)
    xs, x_order = _cells(list(ok[x]), _is_log(space, x), bins)
    ys, y_order = _cells(list(ok[y]), _is_log(space, y), bins)
    cells = pd.DataFrame({"x": xs, "y": ys, "score": ok["score"].to_numpy(float)})
    grid = cells.groupby(["y", "x"])["score"].mean().unstack()
    grid = grid.reindex(index=y_order, columns=x_order).to_numpy(float)
    ax = _axes(ax)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto", origin="lower")
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8,
                    color="white" if value < np.nanmean(grid) else "black")
    ax.set_xticks(range(len(x_order)), x_order, rotation=30 if len(x_order) > 3 else 0)
    ax.set_yticks(range(len(y_order)), y_order)
    ax.set(xlabel=x, ylabel=y, title=f"mean score by {x} and {y}")
    ax.figure.colorbar(image, ax=ax, label="mean score")
    return ax


def plot_sweep(sweep_table: pd.DataFrame, ax: Axes | None = None, metric: str = "both",
               logx: bool | None = None) -> Axes:
    """Score against the swept value: mean over seeds with a ±1 std band.

    Parameters
    ----------
    sweep_table : DataFrame
        :func:`~kerastune_kit.sweep`'s table (``param, value, seed,
        train_score, val_score, ...``).
    ax : Axes, optional
    metric : {"both", "val_score", "train_score"}, default "both"
        Validation solid, training dashed.
    logx : bool, optional
        Default: log when all values are positive numbers spanning more than
        two decades. Strings and tuples sit at positions 0, 1, ...

    Returns
    -------
    Axes
    """
    metric = check_choice("metric", metric, ("both", "val_score", "train_score"), what="metric")
    if not isinstance(sweep_table, pd.DataFrame):
        raise TypeError(f"sweep_table={type(sweep_table).__name__} must be sweep()'s DataFrame.")
    if sweep_table.empty:
        raise ValueError("sweep_table is empty: there is nothing to plot.")
    metrics = ["val_score", "train_score"] if metric == "both" else [metric]
    _require(sweep_table, ["param", "value", *metrics], "sweep_table")
    labels, distinct = _categories(list(sweep_table["value"]))
    numeric = _numeric(list(sweep_table["value"]))
    first = dict(zip(labels, sweep_table["value"]))
    positions = [float(first[d]) for d in distinct] if numeric else list(range(len(distinct)))
    if logx is None:
        logx = numeric and min(positions) > 0 and max(positions) / min(positions) > 100
    ax = _axes(ax)
    grouped = sweep_table.assign(_label=labels).groupby("_label", sort=False)
    n_seeds = int(grouped.size().max())
    for name in metrics:
        mean = grouped[name].mean().reindex(distinct).to_numpy(float)
        std = grouped[name].std(ddof=1).reindex(distinct).fillna(0.0).to_numpy(float)
        style, color = ("-", "C0") if name == "val_score" else ("--", "C1")
        ax.plot(positions, mean, style, marker="o", color=color,
                label=("validation" if name == "val_score" else "training"))
        ax.fill_between(positions, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    if logx:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(positions, distinct)
    param = ", ".join(map(str, sweep_table["param"].unique()))
    ax.set(xlabel=param, ylabel="accuracy", title=f"{param}: mean ± 1 std over {n_seeds} seed(s)")
    ax.legend()
    return ax


# ----------------------------------------------------------------------------- training
def plot_lr_schedule(source: Any, epochs: int | None = None, ax: Axes | None = None) -> Axes:
    """Learning rate per epoch (x from 1), from a history or a schedule.

    Parameters
    ----------
    source : fitted estimator, history dict, keras History, or schedule
        A history needs ``learning_rate`` (the schedule callbacks write it);
        a schedule is called as ``source(epoch)``, ``epoch = 0 .. epochs-1``.
    epochs : int, optional
        Required for a schedule; for a history, keeps the first ``epochs``.
    ax : Axes, optional

    Returns
    -------
    Axes
        A marker per epoch; log y when the rates span more than one decade.
    """
    check_positive_int("epochs", epochs, allow_none=True)
    if callable(source) and not hasattr(source, "history_") and not isinstance(source, Mapping):
        if epochs is None:
            raise ValueError(f"source is a schedule ({type(source).__name__}): pass epochs=, "
                             "the number of epochs to draw.")
        rates = [float(source(epoch)) for epoch in range(epochs)]
        title = type(source).__name__
    else:
        history = _history(source)
        if "learning_rate" not in history:
            raise ValueError("the history has no 'learning_rate' (keys: "
                             f"{sorted(history)}); train with a schedule callback such as "
                             "StepDecay, or pass the schedule itself with epochs=.")
        rates = [float(v) for v in history["learning_rate"]][:epochs]
        title = "learning rate used per epoch"
    if not rates:
        raise ValueError("there are no learning rates to plot (0 epochs).")
    ax = _axes(ax)
    ax.plot(range(1, len(rates) + 1), rates, "-o", ms=4)
    positive = [r for r in rates if r > 0]
    if len(positive) == len(rates) and max(rates) / min(rates) > 10:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="learning rate", title=title)
    return ax


def plot_history(source: Any, metrics: str | Sequence[str] = ("loss", "accuracy"),
                 axes: Any = None) -> Figure:
    """Training curves, one panel per metric: training solid, validation dashed.

    Parameters
    ----------
    source : fitted estimator, history dict or keras History
    metrics : str or sequence of str, default ("loss", "accuracy")
    axes : array of Axes, optional
        At least one per metric.

    Returns
    -------
    Figure
    """
    history = _history(source)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for metric in metrics:
        if metric not in history:
            raise ValueError(f"the history has no metric {metric!r}."
                             + did_you_mean(metric, history) + f" Keys: {sorted(history)}")
    if axes is None:
        axes = plt.subplots(1, len(metrics), squeeze=False, figsize=(4 * len(metrics), 3.2),
                            layout="constrained")[1]
    axes = list(np.ravel(axes))
    if len(axes) < len(metrics):
        raise ValueError(f"axes has {len(axes)} Axes for {len(metrics)} metrics {metrics}.")
    for ax, metric in zip(axes, metrics):
        values = history[metric]
        # one rule in every plot: validation solid, training dashed
        ax.plot(range(1, len(values) + 1), values, "--", color="C1", label="training")
        if history.get("val_" + metric):
            ax.plot(range(1, len(history["val_" + metric]) + 1), history["val_" + metric], "-",
                    color="C0", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.legend(fontsize=8)
    return axes[0].figure


def plot_confusion_matrix(estimator: Any, X: Any, y: Any, ax: Axes | None = None,
                          normalize: str | None = None) -> Axes:
    """Confusion matrix of a fitted classifier on ``(X, y)``, titled with the accuracy.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X, y : evaluation data (e.g. the test split)
    ax : Axes, optional
    normalize : {None, "true", "pred", "all"}
        As in scikit-learn's ``ConfusionMatrixDisplay``.

    Returns
    -------
    Axes
    """
    from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    # from_predictions with the estimator's classes is from_estimator without
    # predicting twice (the accuracy needs the same predictions).
    y_pred = estimator.predict(X)
    display = ConfusionMatrixDisplay.from_predictions(
        y, y_pred, labels=getattr(estimator, "classes_", None), normalize=normalize, ax=ax,
        colorbar=False, values_format=".2f" if normalize else "d")
    display.ax_.set_title(f"accuracy {accuracy_score(y, y_pred):.3f}"
                          + (f" (normalised: {normalize})" if normalize else ""))
    return display.ax_


def plot_baseline_comparison(table: Any, ax: Axes | None = None) -> Axes:
    """Per-fold scores of a model and its baseline, paired fold by fold.

    Parameters
    ----------
    table : DataFrame or result with ``baseline_``
        :func:`~kerastune_kit.compare_with_baseline`'s table (rows model,
        baseline, ``"difference"``; columns ``fold_0 ...``, ``p_value``).
    ax : Axes, optional

    Returns
    -------
    Axes
        One thin line per fold joining the two scores, fold points, means as
        large diamonds; the title gives the mean difference and p-value.
    """
    if not isinstance(table, pd.DataFrame):
        if getattr(table, "baseline_", None) is None:
            raise ValueError("there is no baseline comparison: pass compare_with_baseline()'s "
                             "table or a result of tune(..., compare_baseline=True).")
        table = table.baseline_
    folds = sorted((c for c in table.columns if str(c).startswith("fold_")),
                   key=lambda c: int(str(c)[5:]) if str(c)[5:].isdigit() else 0)
    models = [name for name in table.index if name != "difference"]
    if not folds or len(models) < 2:
        raise ValueError("table must have the rows of two models and fold_0, fold_1, ... "
                         f"columns (got index {list(table.index)}, columns {list(table.columns)}).")
    scores = table.loc[models[:2], folds].to_numpy(float)
    ax = _axes(ax)
    for fold in scores.T:
        ax.plot([0, 1], fold, "-", color="0.6", lw=0.8, zorder=1)
    for i in range(2):
        ax.scatter(np.full(len(folds), i), scores[i], color=f"C{i}", s=25, zorder=2)
    ax.scatter([0, 1], scores.mean(axis=1), color=["C0", "C1"], s=140, marker="D",
               edgecolor="k", zorder=3)
    ax.set_xticks([0, 1], [str(m) for m in models[:2]])
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylabel(table.attrs.get("scoring", "score"))
    diff = float(np.mean(scores[0] - scores[1]))
    p = table.loc["difference", "p_value"] if ("difference" in table.index
                                               and "p_value" in table.columns) else np.nan
    ax.set_title(f"mean difference {diff:+.3f}" + ("" if pd.isna(p) else f", p = {float(p):.3g}")
                 + f" ({len(folds)} folds)")
    ax.legend(handles=[Line2D([], [], ls="", marker="D", ms=9, mfc="0.7", mec="k", label="mean"),
                       Line2D([], [], color="0.6", lw=0.8, label="one fold")], fontsize=8)
    return ax


def plot_first_layer_weights(model_or_estimator: Any, image_shape: Sequence[int] | None = None,
                             n: int = 16, ncols: int = 8) -> Figure:
    """Incoming weights of the first Dense layer's units, drawn as images.

    Parameters
    ----------
    model_or_estimator : keras Model, fitted KerasMLPClassifier, or Pipeline ending in one
    image_shape : tuple of int, optional
        ``(h, w)`` or ``(h, w, 3)``; default the network's input shape, which
        must then have more than one dimension (flat 64-pixel digits need
        ``image_shape=(8, 8)``).
    n, ncols : int, default 16 and 8
        Units to draw (the first ``n``) and panels per row.

    Returns
    -------
    Figure
        Grey images; RGB ones scaled to [0, 1] unit by unit.
    """
    import keras

    check_positive_int("n", n), check_positive_int("ncols", ncols)
    model = model_or_estimator
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    if not isinstance(model, keras.Model):
        if getattr(model, "model_", None) is None:
            raise ValueError(f"{type(model).__name__} has no model_: pass a fitted "
                             "KerasMLPClassifier, a Pipeline ending in one, or a keras Model.")
        model = model.model_
    dense = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None:
        raise ValueError(f"the model {model.name!r} has no Dense layer.")
    kernel = keras.ops.convert_to_numpy(dense.kernel)
    n_in, units = kernel.shape
    if image_shape is None:
        image_shape = tuple(int(d) for d in model.input_shape[1:])
        if len(image_shape) < 2:
            side, rgb = math.isqrt(n_in), math.isqrt(n_in // 3)
            hint = (f"image_shape=({side}, {side})" if side * side == n_in else
                    f"image_shape=({rgb}, {rgb}, 3)" if 3 * rgb * rgb == n_in else
                    "image_shape=(h, w)")
            raise ValueError(f"the network's input is flat ({n_in} features), so the images' "
                             f"shape is unknown: pass {hint}.")
    image_shape = tuple(int(d) for d in image_shape)
    if int(np.prod(image_shape)) != n_in or len(image_shape) not in (2, 3) or (
            len(image_shape) == 3 and image_shape[2] not in (1, 3)):
        raise ValueError(f"image_shape={image_shape} must be (h, w) or (h, w, 3) with h*w*c = "
                         f"{n_in}, the first Dense layer's inputs.")
    n = min(n, units)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(1.3 * ncols, 1.4 * nrows + 0.4),
                             layout="constrained")
    for unit, ax in enumerate(axes.ravel()):
        if unit >= n:
            ax.remove()
            continue
        image = kernel[:, unit].reshape(image_shape)
        if image.ndim == 3 and image.shape[2] == 3:
            span = float(image.max() - image.min()) or 1.0
            ax.imshow((image - image.min()) / span)
        else:
            ax.imshow(image.reshape(image_shape[:2]), cmap="gray")
        ax.set_title(f"unit {unit}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"first Dense layer {dense.name!r}: {n} of {units} units", fontsize=9)
    return fig
