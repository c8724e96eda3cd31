"""The task of a search and its score: a named scikit-learn scorer, checked against the task.

:func:`resolve_task` reads ``"auto"`` from the target (or refuses an
ambiguous one, naming ``task``).

``tune``, ``sweep`` and the command line take ``scoring``: None for the
task's own score (accuracy for classifiers, R^2 for regressors, what
``estimator.score`` returns), or the name of one of scikit-learn's scorers
(:func:`sklearn.metrics.get_scorer_names`) that fits the task. Which task a
scorer fits is read from the module of its metric: the metrics of
``sklearn.metrics._regression`` score regressors, those of
``_classification``, ``_ranking`` (and the likelihood ratios) score
classifiers; clustering scores fit neither. scikit-learn is imported inside
the functions.
"""

from __future__ import annotations

from typing import Any

from ._fitted_memo import FittedMemo
from .errors import InvalidParameterType, InvalidParameterValue

__all__ = ["DEFAULT_SCORING", "resolve_task", "check_scoring", "scorer_names", "score_name",
           "score_with", "curve_metric"]

#: What ``scoring=None`` means for each task: the estimator's own ``score``.
DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}


def _task_of(scorer) -> str | None:
    """The task a scikit-learn scorer fits, from its metric's module (None: neither)."""
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    if module.endswith("._regression"):
        return "regression"
    if module.endswith(("._classification", "._ranking", "._scorer")):
        return "classification"
    return None


def scorer_names(task: str) -> list[str]:
    """scikit-learn's scorer names that fit ``task``, sorted."""
    from sklearn.metrics import get_scorer, get_scorer_names

    return sorted(n for n in get_scorer_names() if _task_of(get_scorer(n)) == task)


def check_scoring(scoring: Any, task: str, *, param: str = "scoring") -> str | None:
    """``scoring`` checked for ``task``: None (the estimator's own score) or a scorer name.

    Raises
    ------
    InvalidParameterType
        ``scoring`` is neither None nor a string.
    InvalidParameterValue
        The name is not one of scikit-learn's scorers, or it scores the other
        task; the message lists the names that fit.
    """
    if scoring is None:
        return None
    if not isinstance(scoring, str):
        raise InvalidParameterType(
            f"{param}={scoring!r} (type {type(scoring).__name__}) must be None (the "
            f"estimator's own score) or a scikit-learn scorer name such as "
            f"{DEFAULT_SCORING[task]!r}.")
    from ._validation import did_you_mean

    fits = scorer_names(task)
    if scoring in fits:
        return scoring
    from sklearn.metrics import get_scorer, get_scorer_names

    if scoring in get_scorer_names():
        other = _task_of(get_scorer(scoring))
        kind = f"a {other} score" if other else "a clustering score"
        reason = f"is {kind}, not a {task} one."
    else:
        reason = "is not a scikit-learn scorer name." + did_you_mean(scoring, fits)
    raise InvalidParameterValue(
        f"{param}={scoring!r} {reason} For a {task} target use one of: {', '.join(fits)} "
        f"(or None for {DEFAULT_SCORING[task]}).")


def score_name(scoring: str | None, task: str) -> str:
    """The name a score is labelled with: the scorer's, or the task's default."""
    return DEFAULT_SCORING[task] if scoring is None else scoring


def curve_metric(task: str | None) -> str:
    """The per-epoch curve a fit records for ``task``: the loss for regression, else accuracy."""
    return "loss" if task == "regression" else "accuracy"


def score_with(estimator, X, y, scoring: str | None) -> float:
    """``estimator``'s score on ``(X, y)``: its own ``score``, or the named scorer's.

    A pipeline whose preprocessing a search's memo fitted (``memory=`` a
    :class:`~kerastune_kit._fitted_memo.FittedMemo`) is scored as
    ``Pipeline.score`` scores it, its final step on the rows transformed, with
    the transformed rows remembered for the other candidates of the fold.
    """
    memory = getattr(estimator, "memory", None)
    if isinstance(memory, FittedMemo) and hasattr(estimator, "steps") and len(estimator.steps) > 1:
        X, estimator = memory.transformed(estimator, X), estimator.steps[-1][1]
    if scoring is None:
        return float(estimator.score(X, y))
    from sklearn.metrics import get_scorer

    return float(get_scorer(scoring)(estimator, X, y))


def resolve_task(y, task: str = "auto") -> str:
    """``"classification"`` or ``"regression"``: ``task`` itself, or read from ``y`` for ``"auto"``.

    Raises
    ------
    InvalidParameterValue
        ``task`` is not a known name, or ``y`` is ambiguous (say which with ``task=``).
    """
    if task in ("classification", "regression"):
        return task
    if task != "auto":
        raise InvalidParameterValue(
            f"task={task!r} must be 'auto', 'classification' or 'regression'.")
    from ._targets import infer_task  # NumPy and scikit-learn: only when y must be read

    found, reason = infer_task(y)
    if found is None:
        raise InvalidParameterValue(
            f"cannot tell the task from y: {reason}. Pass task='classification' or "
            "task='regression'.")
    return found
