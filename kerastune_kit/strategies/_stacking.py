"""The folds of a candidate trained together before a scikit-learn search asks for them.

A scikit-learn search fits a candidate on its folds one at a time, in
``evaluate_candidates``. Before it does, :func:`stack_candidate_folds` fits the
same candidate on the same folds itself, the folds' trainings stacked
(:mod:`kerastune_kit.fold_batches`, :mod:`kerastune_kit.stacked`), and keeps
the fitted estimators by fit name; the journaled estimator's ``fit`` then
takes its fit from here (:func:`take_trained_fit`) instead of training.
Everything else the search does (its candidates, folds, scoring, journal and
results) is its own, unchanged.

:class:`StackAhead` does the same for a whole list of candidates in a
background thread, a few ahead of the search, so that one candidate's
training (in TensorFlow, without Python's global lock) overlaps the search's
scoring of the one before and the building of the next ones' networks.
"""

from __future__ import annotations

import time

from joblib import effective_n_jobs
from sklearn.pipeline import Pipeline

from .._optional import switched_on

__all__ = ["stack_candidate_folds", "take_trained_fit", "forget_trained_fits",
           "stack_folds_enabled", "StackAhead", "start_stack_ahead"]

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
    splits = _stackable_splits(estimator, cv, X, y, n_jobs)
    if splits is None:
        return
    for params in candidates:
        _TRAINED_WITH_FOLDS.update(_train_candidate(estimator, params, splits, X, y))


def _stackable_splits(estimator, cv, X, y, n_jobs):
    """The folds of ``cv`` when the search's candidates can be trained here, else None."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv

    final = _final_step(estimator)
    if (getattr(final, "journal", None) is None or not hasattr(final, "fit_name")
            or effective_n_jobs(n_jobs) != 1 or not stack_folds_enabled()):
        return None
    splits = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y))
    return splits if len(splits) >= 2 else None


def _final_step(estimator):
    """The network of a search's estimator: the pipeline's last step, or the estimator itself."""
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _train_candidate(estimator, params, splits, X, y) -> dict:
    """One candidate's folds trained together: ``{fit name: (fitted estimator, seconds)}``."""
    from sklearn.base import clone

    from ..fold_batches import fit_together

    fits = [_fold_fit(clone(estimator).set_params(**params), X, y, train)
            for train, _ in splits]
    started = time.perf_counter()
    results = fit_together(fits)
    share = (time.perf_counter() - started) / len(fits)
    return {result[0]: (result[1], share) for result, error in results
            if error is None and result is not None}


class StackAhead:
    """A search's candidates trained in the background, a few ahead of the search.

    A candidate's stacked training runs in TensorFlow without Python's global
    lock; meanwhile the search, in the calling thread, scores the candidate
    before it (and the next candidate's networks are built): on two cores
    the two overlap. Candidates are trained in the order given, at most
    ``ahead`` beyond the last one the search took (two at a time); nothing
    is trained that the search would not train next, so a search stopped
    early (a run of failures, an error) wastes at most those, and records
    nothing for them. :meth:`take` hands the search a batch's fits.
    """

    def __init__(self, estimator, candidates, splits, X, y, *, ahead: int = 4):
        from concurrent.futures import ThreadPoolExecutor

        from ..fold_batches import keras_state

        self.estimator, self.splits, self.X, self.y = estimator, splits, X, y
        self.candidates = list(candidates)
        self.ahead = ahead
        self.taken = 0
        self.futures: list = []
        self.stopped = False
        self._keras_state = keras_state()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kerastune-stack")
        self._fill()

    def _fill(self, until: int = 0) -> None:
        """Submit the candidates up to ``ahead`` beyond the last taken (and up to ``until``)."""
        while (not self.stopped and len(self.futures) < len(self.candidates)
               and len(self.futures) < max(self.taken + self.ahead, until)):
            self.futures.append(self._executor.submit(self._train, len(self.futures)))

    def _train(self, index: int) -> dict:
        from ..fold_batches import adopt_keras_state

        if self.stopped:
            return {}
        adopt_keras_state(self._keras_state)
        return _train_candidate(self.estimator, self.candidates[index], self.splits,
                                self.X, self.y)

    def take(self, batch) -> bool:
        """Wait for the fits of ``batch`` (the next candidates, in order) and hand them to the
        search; False when ``batch`` is not what comes next (then nothing is handed)."""
        batch = list(batch)
        end = self.taken + len(batch)
        try:
            expected = self.candidates[self.taken:end] == batch
        except Exception:  # parameter values that do not compare (arrays)
            expected = False
        if not expected or end > len(self.candidates):
            return False
        self._fill(until=end)  # (a batch larger than ahead)
        for future in self.futures[self.taken:end]:
            try:
                _TRAINED_WITH_FOLDS.update(future.result())
            except Exception:  # left to the search, which trains these fits one by one
                pass
        for i in range(self.taken, end):
            self.futures[i] = None  # (the fits are the search's now)
        self.taken = end
        self._fill()
        return True

    def close(self) -> None:
        """Train nothing more; wait for a training under way to end."""
        self.stopped = True
        self._executor.shutdown(wait=True, cancel_futures=True)


def start_stack_ahead(estimator, candidates, cv, X, y, *, n_jobs=None) -> StackAhead | None:
    """A :class:`StackAhead` for ``candidates``, or None when they are not trained here (nor
    ahead: the environment variable ``KERASTUNE_STACK_AHEAD`` set to ``0`` trains each
    candidate's folds in the calling thread, when the search asks for them)."""
    verbose = getattr(_final_step(estimator), "verbose", 0)
    if not switched_on("KERASTUNE_STACK_AHEAD") or verbose not in (0, None, False):
        return None  # (progress output from a background thread would interleave)
    splits = _stackable_splits(estimator, cv, X, y, n_jobs)
    if splits is None:
        return None
    return StackAhead(estimator, candidates, splits, X, y)


def _fold_fit(estimator, X, y, train):
    """A function that fits ``estimator`` on the rows ``train`` as the search will, and returns
    ``(fit name, fitted final estimator)``, or None when the journal will replay it."""
    from sklearn.utils import _safe_indexing

    def fit():
        X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
        if isinstance(estimator, Pipeline):
            Xt = _preprocessed(estimator, X_train, y_train)
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


def _preprocessed(pipeline: Pipeline, X, y):
    """The rows the pipeline's final step is fitted on: its other steps fitted on ``X, y``.

    Through the pipeline's :class:`~kerastune_kit._fitted_memo.FittedMemo` when it
    has one, step by step as ``Pipeline.fit`` goes, so that the search's own fit of
    the same fold finds these fits.
    """
    from sklearn.base import clone

    from .._fitted_memo import FittedMemo

    memo = pipeline.memory
    if not isinstance(memo, FittedMemo):
        return pipeline[:-1].fit_transform(X, y)
    for _, step in pipeline.steps[:-1]:
        if step is not None and step != "passthrough":
            X, _ = memo.fit_transform(clone(step), X, y)
    return X


def take_trained_fit(fit_id: str):
    """The ``(fitted estimator, seconds)`` trained for the fit named ``fit_id``, once; or None."""
    return _TRAINED_WITH_FOLDS.pop(fit_id, None)


def forget_trained_fits() -> None:
    """Drop every fit not taken (after each evaluation, and when a search ends)."""
    _TRAINED_WITH_FOLDS.clear()
