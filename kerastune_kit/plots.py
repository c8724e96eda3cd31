"""Plots of searches and sweeps, and (re-exported) of training runs (matplotlib).

Every search plot takes a search result (a :class:`~kerastune_kit.TuneResult`,
a loaded result, or its ``trials`` DataFrame), draws on an optional ``ax`` /
``axes`` and returns the Axes (one panel) or the Figure (several panels). None
calls ``plt.show()`` or changes rcParams. The plots of one training run
(history, learning-rate schedule, confusion matrix, a regressor's
predicted-vs-actual and residuals, first-layer weights) live
in :mod:`kerastune_kit.plots_training` and are importable from here too. Keras
is imported only by :func:`plot_first_layer_weights`.
"""

from __future__ import annotations

import math
import numbers
import textwrap
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._plot_helpers import (
    all_numeric,
    axes_or_new,
    category_labels,
    curve_values,
    finished_trials,
    format_value,
    is_log_param,
    require_columns,
    short_name,
    trials_and_space,
)
from ._validation import check_choice, check_positive_int
from .trials import TRIAL_COLUMNS, TRIAL_TAIL
from .plots_training import (
    plot_confusion_matrix,
    plot_first_layer_weights,
    plot_history,
    plot_lr_find,
    plot_lr_schedule,
    plot_predicted_vs_actual,
    plot_residuals,
)

__all__ = ["plot_best_trials", "plot_scores", "plot_pareto_front", "plot_param_heatmap", "plot_sweep",
           "plot_lr_schedule", "plot_history", "plot_confusion_matrix",
           "plot_predicted_vs_actual", "plot_residuals",
           "plot_baseline_comparison", "plot_first_layer_weights", "plot_lr_find"]

_HEAD, _TAIL = TRIAL_COLUMNS, TRIAL_TAIL


# ----------------------------------------------------------------------------- helpers
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
    require_columns(table, params, "the trials table")
    return params


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
    table, space = trials_and_space(results)
    require_columns(table, ("train_curve", "val_curve"), "the trials table")
    best = finished_trials(table).sort_values("score", ascending=False, kind="stable").head(k)
    params = _param_names(table, space, None, required=False)
    ncols = min(ncols, len(best))
    nrows = math.ceil(len(best) / ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(2.8 * ncols + 0.6, 2.4 * nrows + 0.8), layout="constrained")
    flat = axes.ravel()
    for i, (ax, (_, row)) in enumerate(zip(flat, best.iterrows()), start=1):
        val, train = curve_values(row["val_curve"]), curve_values(row["train_curve"])
        if val:
            ax.plot(range(1, len(val) + 1), val, "-", color="C0")
        if train:
            ax.plot(range(1, len(train) + 1), train, "--", color="C1")
        if not (val or train):
            ax.text(0.5, 0.5, "no per-epoch\ncurve recorded", ha="center", va="center",
                    fontsize=9, color="0.4", transform=ax.transAxes)
        ax.set_title(f"Best-{i} ({row['score']:.3f})", fontsize=10)
        line = ", ".join(f"{short_name(p)} {format_value(row[p], _exponent_label(space, p))}"
                         for p in params)
        ax.text(0.97, 0.04, "\n".join(textwrap.wrap(line, 26)), ha="right", va="bottom",
                fontsize=9, transform=ax.transAxes,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
        ax.tick_params(labelsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in flat[len(best):]:
        ax.remove()
    handles = [Line2D([], [], ls="-", color="C0", label=f"validation {metric_label}"),
               Line2D([], [], ls="--", color="C1", label=f"training {metric_label}")]
    fig.legend(handles=handles, loc="outside upper center", ncols=2, fontsize=10, frameon=False)
    fig.supxlabel("epoch", fontsize=10), fig.supylabel(metric_label, fontsize=10)
    return fig


def _exponent_label(space: Any, name: str) -> bool:
    """Label a value in e-notation: a log-scale parameter, but not a reverse-log one (a
    ``beta_1`` of 0.995 reads as 0.995, not 9.9e-01)."""
    return is_log_param(space, name) and getattr(space[name], "scale", "log") != "reverse_log"


def _numeric_choices(space: Any, name: str) -> list:
    """The choices of a Categorical of numbers in ``space`` (``[16, 32, 64]``), else ``[]``."""
    choices = getattr(space[name], "choices", None) if space is not None and name in space else None
    if not choices or not all_numeric(list(choices)):
        return []
    return sorted(choices)


def plot_scores(results: Any, params: Sequence[str] | None = None, space: Any = None) -> Figure:
    """Score against each parameter, one panel per parameter (at most four a row).

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
        with points; the y label names the score when the result does
        (``scoring_``). Pruned trials (stopped early, at the score they had
        then) are hollow grey circles on numeric panels, left out of the box
        plots; failed trials are not drawn. The title counts both.
    """
    table, own_space = trials_and_space(results)
    space = own_space if space is None else space
    names = _param_names(table, space, params)
    ok = finished_trials(table)
    pruned = table[(table["status"] == "pruned") & table["score"].notna()]
    # at most 4 panels a row, rows balanced (5 parameters: 3 + 2), so that the figure
    # scaled to a page or a notebook keeps its text readable
    nrows = math.ceil(len(names) / 4)
    ncols = math.ceil(len(names) / nrows)
    fig, axes = plt.subplots(nrows, ncols, sharey=True, squeeze=False,
                             figsize=(3.2 * ncols, 3.2 * nrows), layout="constrained")
    for ax in axes.ravel()[len(names):]:
        ax.remove()
    for ax, name in zip(axes.ravel(), names):
        values, scores = list(ok[name]), ok["score"].to_numpy(float)
        if all_numeric(values):
            ax.scatter(np.asarray(values, float), scores, alpha=0.75, edgecolor="k", lw=0.3)
            if len(pruned) and all_numeric(list(pruned[name])):
                ax.scatter(np.asarray(list(pruned[name]), float), pruned["score"].to_numpy(float),
                           facecolors="none", edgecolors="0.55", lw=0.8, label="pruned")
                values = values + list(pruned[name])
            choices = _numeric_choices(space, name)
            if is_log_param(space, name) and min(values) > 0:
                ax.set_xscale("log")
            elif choices:
                ax.set_xticks(choices, [format_value(c) for c in choices])
            elif all(isinstance(v, numbers.Integral) for v in values):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # 1, 2, 3, not 1.5
        else:
            labels, distinct = category_labels(values)
            groups = [scores[[lab == d for lab in labels]] for d in distinct]
            ax.boxplot(groups, positions=range(len(distinct)), widths=0.5, showfliers=False)
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(scores))
            ax.scatter([distinct.index(lab) for lab in labels] + jitter, scores, alpha=0.75,
                       edgecolor="k", lw=0.3, zorder=3)
            ax.set_xticks(range(len(distinct)), distinct, rotation=30 if len(distinct) > 4 else 0)
        ax.set_xlabel(name), ax.set_title(name, fontsize=10)
    scoring = getattr(results, "scoring_", None)  # a result names its score; a table does not
    axes[0, 0].set_ylabel(f"score ({scoring})" if scoring else "score")
    n_failed = int((table["status"] == "failed").sum())
    notes = ([f"{n_failed} failed trial(s) not shown"] if n_failed else []) + (
        [f"{len(pruned)} pruned trial(s) hollow, at their score when stopped"] if len(pruned)
        else [])
    if notes:
        fig.suptitle("; ".join(notes), fontsize=9)
    return fig


def _cells(values: Sequence[Any], log: bool, bins: int) -> tuple[list[str], list[str]]:
    """Cell labels of ``values``: numbers with fractions or more than ``bins`` values are binned."""
    distinct = set(format_value(v) for v in values)
    binned = all_numeric(values) and len(distinct) > 1 and (
        len(distinct) > bins or any(float(v) != int(v) for v in values))
    if not binned:
        return category_labels(values)
    x = np.asarray(values, float)
    log = log or (x.min() > 0 and x.max() / x.min() > 100)
    edges = np.geomspace(x.min(), x.max(), bins + 1) if log and x.min() > 0 else \
        np.linspace(x.min(), x.max(), bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    names = [f"{format_value(lo, log)}-{format_value(hi, log)}" for lo, hi in zip(edges[:-1], edges[1:])]
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
    table, space = trials_and_space(results)
    _param_names(table, space, [x, y])
    ok = finished_trials(table)
    xs, x_order = _cells(list(ok[x]), is_log_param(space, x), bins)
    ys, y_order = _cells(list(ok[y]), is_log_param(space, y), bins)
    cells = pd.DataFrame({"x": xs, "y": ys, "score": ok["score"].to_numpy(float)})
    grid = cells.groupby(["y", "x"])["score"].mean().unstack()
    grid = grid.reindex(index=y_order, columns=x_order).to_numpy(float)
    ax = axes_or_new(ax)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto", origin="lower")
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=9,
                    color="white" if value < np.nanmean(grid) else "black")
    ax.set_xticks(range(len(x_order)), x_order, rotation=30 if len(x_order) > 3 else 0)
    ax.set_yticks(range(len(y_order)), y_order)
    ax.set(xlabel=x, ylabel=y, title=f"mean score by {x} and {y}")
    ax.figure.colorbar(image, ax=ax, label="mean score")
    return ax


def plot_pareto_front(results: Any, x: str | None = None, y: str = "score",
                      ax: Axes | None = None) -> Axes:
    """A multi-objective search's trials: the Pareto front as a line, dominated trials in grey.

    Parameters
    ----------
    results : TuneResult, loaded result or trials DataFrame
        With a boolean ``pareto`` column (``tune(..., objectives=(...))``).
    x : str, optional
        The cost axis: the first of ``n_params``, ``predict_latency``,
        ``fit_time`` the table has (``n_params`` on a log scale).
    y : str, default "score"
    ax : Axes, optional

    Returns
    -------
    Axes
        Front trials joined in order of ``x``; dominated finished trials as
        grey dots; pruned and failed trials are not drawn.
    """
    table, _ = trials_and_space(results)
    require_columns(table, ("pareto",), "the trials table of a multi-objective search")
    if x is None:
        x = next((c for c in ("n_params", "predict_latency", "fit_time") if c in table.columns))
    require_columns(table, (x, y), "the trials table")
    ok = finished_trials(table)
    front = ok[ok["pareto"].astype(bool)].sort_values(x, kind="stable")
    dominated = ok[~ok["pareto"].astype(bool)]
    ax = axes_or_new(ax)
    ax.scatter(dominated[x], dominated[y], color="0.65", s=18, label="dominated trials")
    ax.scatter(front[x], front[y], color="C3", s=30, zorder=3, label="Pareto front")
    ax.step(front[x], front[y], where="post", color="C3", lw=1)
    if x == "n_params" and len(ok) and ok[x].min() > 0:
        ax.set_xscale("log")
    ax.set_xlabel(x), ax.set_ylabel(y)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"Pareto front: {len(front)} of {len(ok)} finished trials", fontsize=10)
    return ax


def plot_sweep(sweep_table: pd.DataFrame, ax: Axes | None = None, metric: str = "both",
               logx: bool | None = None) -> Axes:
    """Score against the swept value: mean over seeds with a ±1 std band.

    Parameters
    ----------
    sweep_table : DataFrame
        :func:`~kerastune_kit.sweep`'s table (``param, value, seed,
        train_score, val_score, ...``); its ``scoring`` column, when there
        is one, names the y axis.
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
    require_columns(sweep_table, ["param", "value", *metrics], "sweep_table")
    labels, distinct = category_labels(list(sweep_table["value"]))
    numeric = all_numeric(list(sweep_table["value"]))
    first = dict(zip(labels, sweep_table["value"]))
    positions = [float(first[d]) for d in distinct] if numeric else list(range(len(distinct)))
    if logx is None:
        logx = numeric and min(positions) > 0 and max(positions) / min(positions) > 100
    ax = axes_or_new(ax)
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
    scoring = (", ".join(map(str, sweep_table["scoring"].unique()))
               if "scoring" in sweep_table else "score")
    ax.set(xlabel=param, ylabel=scoring, title=f"{param}: mean ± 1 std over {n_seeds} seed(s)")
    ax.legend()
    return ax


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
    ax = axes_or_new(ax)
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

