"""Pareto fronts of multi-objective searches, and the documented rule that picks one trial from a front.

An objective is a column of the trials table with a direction: ``"accuracy"``
(the ``score`` column) is maximised; ``"n_params"`` (weights of the network),
``"fit_time"`` (seconds to train one fold) and ``"predict_latency"`` (seconds
to predict one row) are minimised. Nothing here imports Keras or Optuna.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["OBJECTIVES", "objective_column", "pareto_mask", "pareto_front",
           "smallest_within_noise"]

#: Objective name -> (trials-table column, "maximize" or "minimize")
OBJECTIVES = {
    "accuracy": ("score", "maximize"),
    "n_params": ("n_params", "minimize"),
    "fit_time": ("fit_time", "minimize"),
    "predict_latency": ("predict_latency", "minimize"),
}


def objective_column(name: str) -> str:
    """The trials-table column that holds objective ``name``."""
    return OBJECTIVES[name][0]


def _costs(table: pd.DataFrame, objectives: Sequence[str]) -> np.ndarray:
    """Each row's objectives as costs (lower is better): maximised ones negated."""
    columns = []
    for name in objectives:
        column, direction = OBJECTIVES[name]
        values = table[column].to_numpy(dtype=float)
        columns.append(-values if direction == "maximize" else values)
    return np.column_stack(columns) if columns else np.empty((len(table), 0))


def pareto_mask(table: pd.DataFrame, objectives: Sequence[str]) -> np.ndarray:
    """True for the finished trials (status "ok") that no other finished trial dominates.

    A trial dominates another when it is at least as good in every objective
    and better in one.

    Examples
    --------
    >>> t = pd.DataFrame({"status": ["ok"] * 4, "score": [0.9, 0.8, 0.95, 0.7],
    ...                   "n_params": [100, 50, 400, 60]})
    >>> pareto_mask(t, ["accuracy", "n_params"]).tolist()
    [True, True, True, False]
    """
    ok = (table["status"] == "ok").to_numpy().copy()
    costs = _costs(table, objectives)
    ok &= np.isfinite(costs).all(axis=1) if len(costs) else ok
    mask = np.zeros(len(table), dtype=bool)
    rows = np.flatnonzero(ok)
    for i in rows:
        others = costs[rows]
        dominated = ((others <= costs[i]).all(axis=1) & (others < costs[i]).any(axis=1)).any()
        mask[i] = not dominated
    return mask


def pareto_front(table: pd.DataFrame, objectives: Sequence[str]) -> pd.DataFrame:
    """The non-dominated finished trials, best ``objectives[0]`` first."""
    front = table[pareto_mask(table, objectives)]
    column, direction = OBJECTIVES[objectives[0]]
    return front.sort_values(column, ascending=direction == "minimize", kind="stable")


def smallest_within_noise(front: pd.DataFrame, objectives: Sequence[str], *,
                          n_folds: int) -> int:
    """The default choice from a front: the cheapest trial whose accuracy is within noise of the best.

    "Within noise" means at least the best accuracy minus its standard error
    across the ``n_folds`` folds (``score_std / sqrt(n_folds)``). Among those,
    the trial with the lowest value of the first other objective wins (then
    the next objectives, then the higher accuracy). Returns the row label in
    ``front``.

    Examples
    --------
    >>> front = pd.DataFrame({"score": [0.95, 0.94, 0.80], "score_std": [0.02] * 3,
    ...                       "n_params": [400, 100, 20]})
    >>> smallest_within_noise(front, ["accuracy", "n_params"], n_folds=4)
    1
    """
    if front.empty:
        raise ValueError("the Pareto front is empty: no trial finished.")
    best = front["score"].idxmax()
    std = front.loc[best, "score_std"]
    noise = float(std) / math.sqrt(n_folds) if np.isfinite(std) else 0.0
    close = front[front["score"] >= front.loc[best, "score"] - noise - 1e-12]
    others = [objective_column(o) for o in objectives if o != "accuracy"]
    ranked = close.assign(_neg=-close["score"]).sort_values([*others, "_neg"], kind="stable")
    return ranked.index[0]
