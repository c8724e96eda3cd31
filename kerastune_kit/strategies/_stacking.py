"""The folds of a candidate trained together before a scikit-learn search asks for them.

A scikit-learn search fits a candidate on its folds one at a time, in
``evaluate_candidates``. Before it does, :func:`stack_candidate_folds` fits the
same candidate on the same folds itself, the folds' trainings stacked
(:mod:`kerastune_kit.fold_batches`, :mod:`kerastune_kit.stacked`), and keeps
the fitted estimators by fit name; the journaled estimator's ``fit`` then
takes its fit from here (:func:`take_trained_fit`) instead of training.
Everything else the search does (its candidates, folds, scoring, journal and
results) is its own, unchanged.
"""

from __future__ import annotations

import time

from joblib import effective_n_jobs
from sklearn.pipeline import Pipeline

from .._optional import switched_on

__all__ = ["stack_candidate_folds", "take_trained_fit", "forget_trained_fits",
           "stack_folds_enabled"]

#: Fits trained together with their candidate's other folds, by fit name, waiting for the
#: search to ask for them: (fitted estimator, seconds). Emptied after every evaluation.
_TRAINED_WITH_FOLDS: dict[str, tuple] = {}


def stack_folds_enabled() -> bool:
    """False when the environment variable ``KERASTUNE_STACK_FOLDS`` is ``0``."""
    return switched_on("KERASTUNE_STACK_FOLDS")


def stack_candidate_folds(estimator, candidates, cv, X, y, *, n_jobs=None) -> None:
    """Train each candidate on every fold of ``cv``, its folds stacked (:mod:`kerastune_kit.stacked`).

    The search then asks for the same fits (the same parameters on the same
    rows) and the journaled estimator (:class:`~kerastune_kit.strategies._journaled.Journaled`)
    answers them from here (:func:`take_trained_fit`), so the search itself,
    its scores, journal and results are unchanged; only the trainings ran
    together. A fit that fails here is left to the search, which fits it
    again and records the failure; a fit the journal already holds is left
    to its replay. Runs only for a journaled estimator in one process
    (``n_jobs`` 1; with more, scikit-learn's workers train the folds in
    parallel anyway).
    """
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import check_cv

    from ..fold_batches import fit_together

    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if (getattr(final, "journal", None) is None or not hasattr(final, "fit_name")
            or effective_n_jobs(n_jobs) != 1 or not stack_folds_enabled()):
        return
    splits = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y))
    if len(splits) < 2:
        return
    for params in candidates:
        fits = [_fold_fit(clone(estimator).set_params(**params), X, y, train)
                for train, _ in splits]
        started = time.perf_counter()
        results = fit_together(fits)
        share = (time.perf_counter() - started) / len(fits)
        for result, error in results:
            if error is None and result is not None:
                _TRAINED_WITH_FOLDS[result[0]] = (result[1], share)


def _fold_fit(estimator, X, y, train):
    """A function that fits ``estimator`` on the rows ``train`` as the search will, and returns
    ``(fit name, fitted final estimator)``, or None when the journal will replay it."""
    from sklearn.utils import _safe_indexing

    def fit():
        X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
        if isinstance(estimator, Pipeline):
            Xt = estimator[:-1].fit_transform(X_train, y_train)
            model = estimator.steps[-1][1]
        else:
            Xt, model = X_train, estimator
        fit_id = model.fit_name(Xt, y_train)
        if model.replay and model.recorded(fit_id) is not None:
            return None
        journal, model.journal = model.journal, None  # a plain fit: a failure raises, unrecorded
        try:
            model.fit(Xt, y_train)
        finally:
            model.journal = journal
        return fit_id, model

    return fit


def take_trained_fit(fit_id: str):
    """The ``(fitted estimator, seconds)`` trained for the fit named ``fit_id``, once; or None."""
    return _TRAINED_WITH_FOLDS.pop(fit_id, None)


def forget_trained_fits() -> None:
    """Drop every fit not taken (after each evaluation, and when a search ends)."""
    _TRAINED_WITH_FOLDS.clear()
