"""One-factor sweeps: vary one parameter over values, everything else fixed, over seeds.

:func:`sweep` is the seeds' "hidden layers 1..99" experiment as a function:
for a class target a ``KerasMLPClassifier`` on stratified splits, for a
regression target a ``KerasMLPRegressor`` on plain shuffled ones, scored by
accuracy or R^2 (or a named scikit-learn scorer). Keras is imported when a
sweep runs.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import pandas as pd

from ._constraints import check_param
from ._scoring import check_scoring, curve_metric, resolve_task, score_name, score_with
from ._validation import check_number, did_you_mean
from .errors import InvalidParameterValue
from .strategies.base import split_for_validation

__all__ = ["sweep"]


def sweep(
    X,
    y,
    param: str,
    values: Sequence[Any],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    validation_split: float = 0.2,
    preprocessor="auto",
    task: str = "auto",
    scoring: str | None = None,
    **estimator_params: Any,
) -> pd.DataFrame:
    """Vary one parameter over ``values``, everything else fixed, repeated over ``seeds``.

    Each (value, seed) trains a fresh network on a split of the training data
    drawn with that seed (the preprocessor is fitted on the training part
    only) and scores it on the held-out part: a ``KerasMLPClassifier`` on a
    stratified split, or for regression a ``KerasMLPRegressor`` on a plain
    shuffled one. ``preprocessor`` works as in :func:`tune` (``"auto"`` by
    default).

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default "auto"
        As in :func:`tune`: ``"auto"`` reads it from ``y``.
    scoring : str, optional
        A scikit-learn scorer name that fits the task (as in :func:`tune`);
        None: accuracy, or R^2 for regression.
    **estimator_params
        Fixed parameters of the network.

    Returns
    -------
    DataFrame
        One row per (value, seed): ``param, value, seed, train_score,
        val_score, scoring, epochs_trained, fit_time, train_curve,
        val_curve``. ``scoring`` names the score (``"accuracy"``, ``"r2"`` or
        the scorer); the curves are the per-epoch accuracy, or the loss for
        regression (on the standardised target).

    Examples
    --------
    The seeds' "hidden layers 1..99" experiment, on a small scale::

        sweep(X_train, y_train, "n_layers", [1, 2, 4, 8], preprocessor=make_preprocessor())
    """
    from .datasets import resolve_preprocessor

    task = resolve_task(y, task)
    scoring = check_scoring(scoring, task)
    cls = _estimator_class(task)
    preprocessor, _ = resolve_preprocessor(preprocessor, X)
    check_number("validation_split", validation_split, low=0, high=1,
                 low_inclusive=False, high_inclusive=False)
    seeds = _check_sweep(cls, param, values, seeds, estimator_params)
    curve = curve_metric(task)
    rows = []
    for seed in seeds:
        X_train, X_val, y_train, y_val, _ = split_for_validation(
            X, y, validation_split, seed, preprocessor, stratify=task == "classification")
        for value in values:
            est = cls(**{**estimator_params, "random_state": seed, param: value})
            started = time.perf_counter()
            est.fit(X_train, y_train, validation_data=(X_val, y_val))
            rows.append({
                "param": param, "value": value, "seed": seed,
                "train_score": score_with(est, X_train, y_train, scoring),
                "val_score": score_with(est, X_val, y_val, scoring),
                "scoring": score_name(scoring, task),
                "epochs_trained": len(est.history_["loss"]),
                "fit_time": time.perf_counter() - started,
                "train_curve": [float(v) for v in est.history_.get(curve, [])],
                "val_curve": [float(v) for v in est.history_.get(f"val_{curve}", [])],
            })
    return pd.DataFrame(rows)


def _estimator_class(task: str):
    """``KerasMLPRegressor`` for regression, else ``KerasMLPClassifier``."""
    if task == "regression":
        from .regressor import KerasMLPRegressor

        return KerasMLPRegressor
    from .estimators import KerasMLPClassifier

    return KerasMLPClassifier


def _check_sweep(cls, param: str, values: Sequence[Any], seeds, estimator_params) -> list:
    """Refuse a sweep's bad parameter, values, seeds or fixed settings; return the seeds."""
    if len(values) == 0:
        raise InvalidParameterValue(
            f"values=[] for param={param!r}: give at least one value to try.")
    known = cls().get_params(deep=False)
    if param not in known:
        raise InvalidParameterValue(f"param={param!r} is not a {cls.__name__} parameter."
                                    + did_you_mean(param, known))
    given, seeds = seeds, list(seeds) if isinstance(seeds, (list, tuple, range)) else seeds
    if not isinstance(seeds, list) or not seeds:
        raise InvalidParameterValue(
            f"seeds={given!r} must be a non-empty list of integer seeds, e.g. (0, 1, 2): each "
            "value is trained once per seed.")
    for seed in seeds:
        check_param("random_state", seed, where="seeds: ")
    for value in values:
        check_param(param, value, where="values: ")
    # the fixed settings, checked once (an unknown name is refused with a suggestion)
    cls(**{**estimator_params, param: values[0]}).validate_params()
    return seeds
