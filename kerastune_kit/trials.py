"""The trials table: one row per trial, the same columns for every strategy, and the results built on it.

Every strategy of :func:`~kerastune_kit.tune` describes its trials with
:func:`trial_row` and assembles them with :func:`trials_table`, so the
columns, their order and their types are decided here and nowhere else.
:class:`SearchResult` is what a finished search and a search read back from
disk (:func:`~kerastune_kit.results.load_result`) have in common. Nothing here
imports Keras or scikit-learn.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .journal import plain

__all__ = ["TRIAL_COLUMNS", "TRIAL_TAIL", "STATUSES", "CURVE_COLUMNS", "trial_row",
           "trials_table", "mean_curve", "best_params", "best_index", "ranked", "SearchResult",
           "format_value", "format_params", "display_table"]

#: Columns before the parameter columns. ``val_loss`` (the validation loss at the
#: scored epochs, mean over folds; NaN where a strategy does not record it) breaks ties.
TRIAL_COLUMNS = ("trial", "round", "strategy", "status", "score", "score_std", "val_loss")
#: Columns after the parameter columns.
TRIAL_TAIL = ("epochs_trained", "fit_time", "error", "train_curve", "val_curve")
#: The values of the ``status`` column: finished, failed in training, stopped early by a pruner.
STATUSES = ("ok", "failed", "pruned")
#: Columns holding per-epoch lists.
CURVE_COLUMNS = ("train_curve", "val_curve")


def trial_row(*, trial: int, strategy: str, values: Mapping[str, Any], score: float,
              score_std: float = float("nan"), val_loss: float = float("nan"),
              round: int = 0, error: str = "",
              epochs_trained: int, fit_time: float, train_curve: Sequence[float] = (),
              val_curve: Sequence[float] = (), pruned: bool = False) -> dict:
    """One trial as a row of the trials table.

    A trial with a NaN score has failed: its status is ``"failed"`` and its
    ``error`` says why (``"unknown error"`` when nothing was recorded); a
    finished one has status ``"ok"`` and an empty ``error``. A trial stopped
    early by a pruner (``pruned=True``) has status ``"pruned"``, the score it
    had when it was stopped (NaN when it reported none) and the epochs it
    trained; it is never chosen as the best trial.
    """
    score = float(score)
    failed = not np.isfinite(score) and not pruned
    return {
        "trial": int(trial), "round": int(round), "strategy": strategy,
        "status": "pruned" if pruned else "failed" if failed else "ok",
        "score": score, "score_std": float(score_std), "val_loss": float(val_loss),
        **dict(values),
        "epochs_trained": int(epochs_trained), "fit_time": float(fit_time),
        "error": (error or "unknown error") if failed else "",
        "train_curve": [float(v) for v in train_curve],
        "val_curve": [float(v) for v in val_curve],
    }


def trials_table(rows: Iterable[Mapping[str, Any]], names: Sequence[str]) -> pd.DataFrame:
    """The trials table of ``rows`` (from :func:`trial_row`) over the parameters ``names``."""
    return pd.DataFrame(list(rows), columns=[*TRIAL_COLUMNS, *names, *TRIAL_TAIL])


def mean_curve(histories: Sequence[Mapping[str, Sequence[float]]], key: str) -> list[float]:
    """The epoch-by-epoch mean of ``key`` over several fits' histories (as long as the shortest)."""
    curves = [h[key] for h in histories if h.get(key)]
    if not curves:
        return []
    length = min(len(c) for c in curves)
    return [float(np.mean([c[i] for c in curves])) for i in range(length)]


def ranked(trials: pd.DataFrame) -> pd.DataFrame:
    """The finished trials, best first: the higher ``score``; of equal scores the lower
    ``val_loss`` (NaN last); then the earlier trial."""
    ok = trials[trials["status"] == "ok"]
    loss = ok["val_loss"] if "val_loss" in ok else pd.Series(np.nan, index=ok.index)
    order = pd.DataFrame({"score": -ok["score"].astype(float),
                          "loss": loss.astype(float).fillna(np.inf),
                          "position": np.arange(len(ok))}, index=ok.index)
    return ok.loc[order.sort_values(["score", "loss", "position"]).index]


def best_index(trials: pd.DataFrame):
    """The index label of the best finished trial (:func:`ranked`'s first)."""
    ok = ranked(trials)
    if ok.empty:
        raise RuntimeError("every trial failed; see the trials table's status column and the "
                           "warnings above, and narrow the space (e.g. lower learning rates).")
    return ok.index[0]


def best_params(trials: pd.DataFrame, names: Sequence[str]) -> dict:
    """The parameters ``names`` of the best finished trial: the highest score, and of equal
    scores the lowest ``val_loss``, then the first (:func:`ranked`)."""
    row = trials.loc[best_index(trials)]
    return {name: plain(row[name]) for name in names}


def format_value(value: Any, log: bool = False) -> str:
    """Short text of a parameter value: ``1.2e-03`` (always so when ``log``), ``0.0341``, ``64``, ``relu``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Number, list, tuple)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if v != 0 and math.isfinite(v) and (log or abs(v) < 1e-2 or abs(v) >= 1e4):
        return f"{v:.1e}"
    return f"{v:.3g}"


def format_params(params: Mapping[str, Any]) -> str:
    """``nodes=160, learning_rate=0.0341, activation=relu``: parameters as a person reads them."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` for reading: without the curves, the errors and the columns that say nothing
    here (one value throughout, or empty), numbers rounded."""
    shown = table.drop(columns=[*CURVE_COLUMNS, "error"], errors="ignore")
    constant = [c for c in ("round", "strategy", "status") if c in shown
                and shown[c].nunique(dropna=False) <= 1]
    empty = [c for c in ("score_std", "val_loss") if c in shown and shown[c].isna().all()]
    shown = shown.drop(columns=constant + empty)
    for column in shown.columns:
        if column in ("score", "score_std", "val_loss"):
            shown[column] = shown[column].map(lambda v: "" if v != v else f"{v:.4f}")
        elif column == "fit_time":
            shown[column] = shown[column].map(lambda v: "" if v != v else f"{v:.1f} s")
        elif shown[column].dtype == object or shown[column].dtype.kind == "f":
            # one notation a column: 2.4e-02 above 2.4e-03, not 0.0237 above 2.4e-03
            log = _needs_exponent(shown[column])
            shown[column] = shown[column].map(lambda v: format_value(v, log=log))
    return shown


def _rounded(params: Mapping[str, Any]) -> dict:
    """``params`` with floats to 3 significant digits and NumPy scalars as Python numbers."""
    return {name: float(f"{value:.3g}") if isinstance(value, float) else value
            for name, value in ((k, plain(v)) for k, v in params.items())}


def _needs_exponent(values: pd.Series) -> bool:
    """Whether any float in ``values`` prints in e-notation (then the whole column should)."""
    floats = [float(v) for v in values if isinstance(v, (float, np.floating))
              and math.isfinite(v) and v != 0]
    return any(abs(v) < 1e-2 or abs(v) >= 1e4 for v in floats)


@dataclass
class SearchResult:
    """What every search result holds: the trials table and the best trial.

    Attributes
    ----------
    trials : DataFrame
        One row per trial (:data:`TRIAL_COLUMNS`, the parameters, :data:`TRIAL_TAIL`).
    best_params_ : dict
    best_score_ : float
    strategy : str
    space : SearchSpace
    baseline_ : DataFrame or None
        :func:`~kerastune_kit.compare_with_baseline` of the best estimator.
    task_ : {"classification", "regression"} or None
        What was tuned (None when unknown: a result saved before it was recorded).
    scoring_ : str or None
        The name of the score in the ``score`` column (``"accuracy"``,
        ``"r2"``, or the scikit-learn scorer given to ``tune``); None when unknown.
    """

    trials: pd.DataFrame
    best_params_: dict
    best_score_: float
    strategy: str
    space: Any
    baseline_: pd.DataFrame | None = None
    task_: str | None = None
    scoring_: str | None = None

    def _score_label(self) -> str:
        """`` (r2)``: the score's name for the text after a score, or "" when unknown."""
        return f" ({self.scoring_})" if self.scoring_ else ""

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` best finished trials, best first (:func:`ranked`), without the curve and
        error columns."""
        return ranked(self.trials).head(k).drop(
            columns=[*CURVE_COLUMNS, "error"], errors="ignore")

    def summary(self, k: int = 5) -> str:
        """What the search found, as text that fits a terminal: best score and parameters,
        the ``k`` best trials (only columns that vary), and the comparison with the baseline."""
        n_ok = int((self.trials["status"] == "ok").sum())
        lines = [f"{self.strategy} search: {len(self.trials)} trials ({n_ok} finished); "
                 f"best score {self.best_score_:.4f}{self._score_label()} with "
                 f"{format_params(self.best_params_)}"]
        if getattr(self, "preprocessing_", None):
            lines.append(self.preprocessing_)
        lines += ["", f"Top {min(k, n_ok)} trials:",
                 display_table(self.top(k)).to_string(index=False)]
        if self.baseline_ is not None:
            lines += ["", "Comparison with the baseline on the same folds:", repr(self.baseline_)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        n_ok = int((self.trials["status"] == "ok").sum())
        parts = [f"<p><b>{html.escape(self.strategy)} search</b>: {len(self.trials)} trials "
                 f"({n_ok} finished); best score {self.best_score_:.4f}"
                 f"{html.escape(self._score_label())} with "
                 f"{html.escape(format_params(self.best_params_))}</p>",
                 display_table(self.top(5)).to_html(index=False, border=0)]
        if self.baseline_ is not None:
            comparison = getattr(self.baseline_, "_repr_html_", None)
            parts.append(comparison() if comparison else self.baseline_.to_html())
        return "\n".join(parts)

    def __repr__(self) -> str:
        n_ok = int((self.trials["status"] == "ok").sum())
        n_pruned = int((self.trials["status"] == "pruned").sum())
        pruned = f", {n_pruned} pruned" if n_pruned else ""
        return (f"{type(self).__name__}(strategy={self.strategy!r}, trials={len(self.trials)} "
                f"({n_ok} ok{pruned}), best_score_={self.best_score_:.4f}, "
                f"best_params_={_rounded(self.best_params_)})")
