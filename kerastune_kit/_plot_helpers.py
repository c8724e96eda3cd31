"""Helpers the plotting modules share: reading a trials table, labelling values.

They read a search result's ``trials`` table (finished trials, required
columns), turn parameter values into short labels, and give a fresh Axes when
none is passed. Used by :mod:`kerastune_kit.plots` and
:mod:`kerastune_kit.plots_training`; like them, this module never imports
Keras or TensorFlow.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._validation import did_you_mean
from .trials import format_value

__all__ = ["trials_and_space", "require_columns", "finished_trials", "is_log_param",
           "all_numeric", "format_value", "short_name", "curve_values", "category_labels",
           "axes_or_new"]

_SHORT = {"learning_rate": "lr", "hidden_layer_sizes": "hidden", "batch_size": "batch"}


def trials_and_space(results: Any) -> tuple[pd.DataFrame, Any]:
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
    require_columns(table, ("status", "score"), "the trials table")
    return table, space


def require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    have = [str(c) for c in table.columns]
    for column in columns:
        if column not in table.columns:
            raise ValueError(f"{what} has no column {column!r}." + did_you_mean(column, have)
                             + f" Columns: {have}")


def finished_trials(table: pd.DataFrame) -> pd.DataFrame:
    ok = table[(table["status"] == "ok") & table["score"].notna()]
    if ok.empty:
        raise ValueError(f"none of the {len(table)} trials finished (status 'ok'); "
                         "there are no scores to plot.")
    return ok


def is_log_param(space: Any, name: str) -> bool:
    return bool(space is not None and name in space and getattr(space[name], "is_log", False))


def all_numeric(values: Sequence[Any]) -> bool:
    """True when every value is a finite real number (not a bool)."""
    return len(values) > 0 and all(isinstance(v, numbers.Real) and math.isfinite(v)
                                   and not isinstance(v, (bool, np.bool_)) for v in values)


def short_name(name: str) -> str:
    name = str(name).split("__")[-1]
    return _SHORT.get(name, name)


def curve_values(value: Any) -> list[float]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [float(v) for v in value]


def category_labels(values: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Labels of ``values`` and the distinct labels (numbers sorted, others by first appearance)."""
    labels = [format_value(v) for v in values]
    distinct = list(dict.fromkeys(labels))
    if all_numeric(values):
        first = dict(zip(labels, values))
        distinct.sort(key=lambda label: float(first[label]))
    return labels, distinct


def axes_or_new(ax: Axes | None) -> Axes:
    return plt.subplots(layout="constrained")[1] if ax is None else ax

