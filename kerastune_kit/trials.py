"""The trials table: one row per trial, the same columns for every strategy, and the results built on it.

Every strategy of :func:`~kerastune_kit.tune` describes its trials with
:func:`trial_row` and assembles them with :func:`trials_table`, so the
columns, their order and their types are decided here and nowhere else.
:class:`SearchResult` is what a finished search and a search read back from
disk (:func:`~kerastune_kit.results.load_result`) have in common. Nothing here
imports Keras or scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .journal import plain

__all__ = ["TRIAL_COLUMNS", "TRIAL_TAIL", "CURVE_COLUMNS", "trial_row", "trials_table",
           "mean_curve", "best_params", "best_index", "ranked", "SearchResult"]

#: Columns before the parameter columns. ``val_loss`` (the validation loss at the
#: scored epochs, mean over folds; NaN where a strategy does not record it) breaks ties.
TRIAL_COLUMNS = ("trial", "round", "strategy", "status", "score", "score_std", "val_loss")
#: Columns after the parameter columns.
TRIAL_TAIL = ("epochs_trained", "fit_time", "error", "train_curve", "val_curve")
#: Columns holding per-epoch lists.
CURVE_COLUMNS = ("train_curve", "val_curve")


def trial_row(*, trial: int, strategy: str, values: Mapping[str, Any], score: float,
              score_std: float = float("nan"), val_loss: float = float("nan"),
              round: int = 0, error: str = "",
              epochs_trained: int, fit_time: float, train_curve: Sequence[float] = (),
              val_curve: Sequence[float] = ()) -> dict:
    """One trial as a row of the trials table.

    A trial with a NaN score has failed: its status is ``"failed"`` and its
    ``error`` says why (``"unknown error"`` when nothing was recorded); a
    finished one has status ``"ok"`` and an empty ``error``.
    """
    score = float(score)
    failed = not np.isfinite(score)
    return {
        "trial": int(trial), "round": int(round), "strategy": strategy,
        "status": "failed" if failed else "ok",
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
    """

    trials: pd.DataFrame
    best_params_: dict
    best_score_: float
    strategy: str
    space: Any
    baseline_: pd.DataFrame | None = None

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` best finished trials, best first (:func:`ranked`), without the curve and
        error columns."""
        return ranked(self.trials).head(k).drop(
            columns=[*CURVE_COLUMNS, "error"], errors="ignore")

    def __repr__(self) -> str:
        n_ok = int((self.trials["status"] == "ok").sum())
        return (f"{type(self).__name__}(strategy={self.strategy!r}, trials={len(self.trials)} "
                f"({n_ok} ok), best_score_={self.best_score_:.4f}, "
                f"best_params_={self.best_params_})")
