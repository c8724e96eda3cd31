"""What makes ``tune``'s scikit-learn searches resumable, and stop on runs of failures.

scikit-learn's searches keep their results in memory until the end. Here
every scored fit (one candidate on one fold) is appended to the search's
journal as it finishes (:mod:`kerastune_kit.journal`), and a resumed search
replays what the journal holds:

* :class:`JournaledMLPClassifier` is ``KerasMLPClassifier`` plus two
  parameters, ``journal`` and ``replay``. Its ``fit`` names the fit by a hash
  of its parameters and of the data it is given (so the same candidate on the
  same fold has the same name in every run), records failures (and scores
  them NaN instead of raising), and, when replaying, answers from the journal
  instead of training.
* :class:`RecordingScorer` scores a fit (or returns the replayed score) and
  appends the fit's record: score, per-epoch history, fit time.
* :class:`FailureLimit` makes a search hand candidates to scikit-learn in
  small batches and stop with :class:`~kerastune_kit.hypermodel.TooManyFailures`
  once ``limit`` candidates in a row have failed.

The search itself is scikit-learn's, unchanged: with the same
``random_state`` it proposes the same candidates and folds, so a resumed
search trains only the fits the journal lacks and ends with the results of an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any, Sequence

import numpy as np
from joblib import effective_n_jobs
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from .estimators import KerasMLPClassifier
from .journal import append_record, data_fingerprint, read_records, values_key

__all__ = ["JournaledMLPClassifier", "RecordingScorer", "FailureLimit",
           "GridSearch", "RandomSearch", "HalvingSearch"]

_OWN = ("journal", "replay")


class JournaledMLPClassifier(KerasMLPClassifier):
    """``KerasMLPClassifier`` whose fits are recorded in, and replayed from, a journal.

    Parameters
    ----------
    journal : str, optional
        JSON-lines file of the search's fits.
    replay : bool, default False
        Answer fits the journal already holds from it, without training.
    **params
        ``KerasMLPClassifier`` parameters.
    """

    @classmethod
    def _signature_params(cls) -> list[str]:
        return [*KerasMLPClassifier._signature_params(), *_OWN]

    def __init__(self, *, journal: str | None = None, replay: bool = False, **params: Any):
        super().__init__(**params)
        self.journal = journal
        self.replay = replay

    def _fit_id(self, X, y) -> str:
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in (*_OWN, "verbose")}
        return hashlib.blake2b((values_key(params) + data_fingerprint(X, y)).encode(),
                               digest_size=12).hexdigest()

    def fit(self, X, y, sample_weight=None, **kwargs) -> "JournaledMLPClassifier":
        """Train (or replay) and record the outcome; a failure is recorded, not raised.

        A failed fit returns with ``_journal_fit["error"]`` set and scores
        NaN, the ``error_score`` every strategy of ``tune`` uses. (Raising
        would let scikit-learn abort a batch whose fits all failed.)
        """
        if self.journal is None:
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)
        fit_id = self._fit_id(X, y)
        self._journal_fit = {"fit": fit_id, "replayed": None, "error": None}
        if self.replay:
            done = [r for r in read_records(self.journal) if r.get("fit") == fit_id]
            if done:
                record = self._journal_fit["replayed"] = done[-1]
                self._journal_fit["error"] = record.get("error")
                return self
        started = time.perf_counter()
        try:
            super().fit(X, y, sample_weight=sample_weight, **kwargs)
        except Exception as err:
            error = self._journal_fit["error"] = f"{type(err).__name__}: {err}"
            params = {k: v for k, v in self.get_params(deep=False).items() if k not in _OWN}
            append_record(self.journal, {
                "fit": fit_id, "status": "failed", "error": error, "params": params,
                "pid": os.getpid(), "fit_time": time.perf_counter() - started})
            return self
        self._journal_fit["fit_time"] = time.perf_counter() - started
        return self


class RecordingScorer:
    """Accuracy scorer that appends each scored fit to the journal (or replays it).

    scikit-learn's searches keep no training curves; this scorer runs where
    the model was fitted (any joblib backend) and writes one JSON line per
    fit: its name, the searched values (``key``), the score, the per-epoch
    history and the fit time.
    """

    def __init__(self, path, names: Sequence[str]):
        self.path = str(path)
        self.names = list(names)

    def __call__(self, estimator, X, y) -> float:
        model = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
        fit = getattr(model, "_journal_fit", None) or {}
        if fit.get("error") is not None:
            return float("nan")  # recorded by fit
        if fit.get("replayed") is not None:
            return float(fit["replayed"]["score"])
        score = float(estimator.score(X, y))
        if fit.get("recorded"):
            return score  # a second scoring of the same fit (e.g. on its training part)
        fit["recorded"] = True
        params = model.get_params()
        append_record(self.path, {
            "fit": fit.get("fit"), "status": "ok",
            "key": values_key({n: params[n] for n in self.names if n in params}),
            "epochs": params.get("epochs"), "score": score,
            "fit_time": fit.get("fit_time"), "pid": os.getpid(),
            "history": {k: [float(v) for v in vals] for k, vals in model.history_.items()},
        })
        return score


class FailureLimit:
    """Search mixin: stop once ``_failure_limit`` candidates in a row have failed.

    Candidates go to scikit-learn's ``evaluate_candidates`` in batches of as
    many as there are parallel workers, and the failures are counted after
    each batch, in candidate order.
    """

    _failure_limit: int | None = None
    _journal_path: str | None = None

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # scikit-learn >= 1.9 hands its searches a callback context; earlier ones do not
        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        limit = self._failure_limit
        if limit is None:
            return super()._run_search(evaluate_candidates, **context)
        streak: list[int] = []
        seen = [0]

        def in_batches(candidate_params, cv=None, more_results=None, **rest):
            # scikit-learn 1.9's callback context takes one evaluation per context;
            # tune's searches carry no scikit-learn callbacks, so batches go without
            rest.pop("callback_ctx", None)
            candidate_params = list(candidate_params)
            size = max(1, effective_n_jobs(self.n_jobs))
            results = None
            for start in range(0, len(candidate_params), size):
                batch = candidate_params[start:start + size]
                more = None if more_results is None else {
                    k: list(v)[start:start + size] for k, v in more_results.items()}
                results = evaluate_candidates(batch, cv, more, **rest)
                for score in results["mean_test_score"][-len(batch):]:
                    streak[:] = streak + [seen[0]] if np.isnan(score) else []
                    seen[0] += 1
                    if len(streak) >= limit:
                        raise self._stop(streak)
            return results

        return super()._run_search(in_batches, **context)

    def _stop(self, streak):
        from .hypermodel import TooManyFailures

        errors = [r.get("error") for r in read_records(self._journal_path or "")
                  if r.get("status") == "failed"]
        return TooManyFailures.in_a_row(
            self._failure_limit, "candidates", streak, errors[-1] if errors else None,
            f"Every finished fit is kept in {self._journal_path}.")


class GridSearch(FailureLimit, GridSearchCV):
    """GridSearchCV with a limit on failures in a row."""


class RandomSearch(FailureLimit, RandomizedSearchCV):
    """RandomizedSearchCV with a limit on failures in a row."""


class HalvingSearch(FailureLimit, HalvingRandomSearchCV):
    """HalvingRandomSearchCV with a limit on failures in a row."""
