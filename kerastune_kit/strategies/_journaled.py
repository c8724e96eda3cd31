"""What makes ``tune``'s scikit-learn searches resumable, and stop on runs of failures.

The search classes here are scikit-learn's, plus two constructor parameters
(``failure_limit``, ``journal``) that ``clone`` and ``get_params`` see like
any other.

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
  small batches and stop with :class:`~kerastune_kit.errors.TooManyFailures`
  once ``failure_limit`` candidates in a row have failed.
* :class:`CoarseToFineSearchCV` is a random search in rounds, each round's
  space narrowed around the best candidates of the one before.

The search itself is scikit-learn's, unchanged: with the same
``random_state`` it proposes the same candidates and folds, so a resumed
search trains only the fits the journal lacks and ends with the results of an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV, HalvingRandomSearchCV, ParameterSampler, RandomizedSearchCV, StratifiedKFold,
)
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline

from .._scoring import score_with
from ..errors import InvalidParameterError, TooManyFailures
from ..estimators import KerasMLPClassifier
from ..regressor import KerasMLPRegressor
from ..journal import append_record, data_fingerprint, read_records, values_key
from ._stacking import (
    forget_trained_fits, stack_candidate_folds, start_stack_ahead, take_trained_fit,
)

__all__ = ["JournaledMLPClassifier", "RecordingScorer", "FailureLimit",
           "JournaledGridSearchCV", "JournaledRandomizedSearchCV",
           "JournaledHalvingRandomSearchCV", "CoarseToFineSearchCV", "JournaledMLPRegressor"]

_OWN = ("journal", "replay")


class Journaled:
    """Mixin: an estimator whose fits are recorded in, and replayed from, a journal.

    Parameters
    ----------
    journal : str, optional
        JSON-lines file of the search's fits.
    replay : bool, default False
        Answer fits the journal already holds from it, without training.
    **params
        The estimator's parameters.
    """

    def __init__(self, *, journal: str | None = None, replay: bool = False, **params: Any):
        super().__init__(**params)
        self.journal = journal
        self.replay = replay

    def recorded(self, fit_id: str) -> dict | None:
        """The journal's last record of the fit named ``fit_id``, or None."""
        done = [r for r in read_records(self.journal) if r.get("fit") == fit_id]
        return done[-1] if done else None

    def fit_name(self, X, y) -> str:
        """The fit's name: a hash of its parameters (but the journal's own) and of the data."""
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in (*_OWN, "verbose")}
        return hashlib.blake2b((values_key(params) + data_fingerprint(X, y)).encode(),
                               digest_size=12).hexdigest()

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Train (or replay) and record the outcome; a failure is recorded, not raised.

        A failed fit returns with ``_journal_fit["error"]`` set and scores
        NaN. (Raising would let scikit-learn abort a batch whose fits all
        failed.) A configuration error (:class:`~kerastune_kit.errors.InvalidParameterError`)
        is raised: the searches run with ``error_score="raise"``, so it stops
        the search at once, as does a record that cannot be written.
        """
        if self.journal is None:
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)
        fit_id = self.fit_name(X, y)
        self._journal_fit = {"fit": fit_id, "replayed": None, "error": None}
        ready = take_trained_fit(fit_id)
        if ready is not None:  # trained moments ago, stacked with its candidate's other folds
            fitted, seconds = ready
            vars(self).update({k: v for k, v in vars(fitted).items()
                               if k not in (*_OWN, "_journal_fit")})
            self._journal_fit["fit_time"] = seconds
            return self
        if self.replay:
            record = self.recorded(fit_id)
            if record is not None:
                self._journal_fit["replayed"] = record
                self._journal_fit["error"] = record.get("error")
                return self
        started = time.perf_counter()
        try:
            super().fit(X, y, sample_weight=sample_weight, **kwargs)
        except InvalidParameterError:
            raise  # a configuration error: every candidate would fail alike, the search stops
        except Exception as err:
            error = self._journal_fit["error"] = f"{type(err).__name__}: {err}"
            params = {k: v for k, v in self.get_params(deep=False).items() if k not in _OWN}
            append_record(self.journal, {
                "fit": fit_id, "status": "failed", "error": error, "params": params,
                "pid": os.getpid(), "fit_time": time.perf_counter() - started})
            return self
        self._journal_fit["fit_time"] = time.perf_counter() - started
        return self


class JournaledMLPClassifier(Journaled, KerasMLPClassifier):
    """``KerasMLPClassifier`` whose fits are journaled (see :class:`Journaled`)."""


class JournaledMLPRegressor(Journaled, KerasMLPRegressor):
    """``KerasMLPRegressor`` whose fits are journaled (see :class:`Journaled`)."""


class RecordingScorer:
    """Scorer that appends each scored fit to its journal (or replays it).

    scikit-learn's searches keep no training curves; this scorer runs where
    the model was fitted (any joblib backend) and writes one JSON line per
    fit into the model's ``journal``: its name, the searched values
    (``key``), the score, the per-epoch history and the fit time.

    Parameters
    ----------
    names : sequence of str
        The parameters whose values make a record's ``key``.
    scoring : str, optional
        A scikit-learn scorer name; by default the estimator's own ``score``
        (accuracy, or R^2 for a regressor).
    """

    def __init__(self, names: Sequence[str], scoring: str | None = None):
        self.names = list(names)
        self.scoring = scoring

    def __call__(self, estimator, X, y) -> float:
        model = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
        fit = getattr(model, "_journal_fit", None) or {}
        if fit.get("error") is not None:
            return float("nan")  # recorded by fit
        if fit.get("replayed") is not None:
            return float(fit["replayed"]["score"])
        score = score_with(estimator, X, y, self.scoring)
        if fit.get("recorded") or model.journal is None:
            return score  # a second scoring of the same fit (e.g. on its training part)
        fit["recorded"] = True
        params = model.get_params()
        append_record(model.journal, {
            "fit": fit.get("fit"), "status": "ok",
            "key": values_key({n: params[n] for n in self.names if n in params}),
            "epochs": params.get("epochs"), "score": score,
            "fit_time": fit.get("fit_time"), "pid": os.getpid(),
            "history": {k: [float(v) for v in vals] for k, vals in model.history_.items()},
        })
        return score


class FailureLimit:
    """Search mixin: stop once ``failure_limit`` candidates in a row have failed.

    Candidates go to scikit-learn's ``evaluate_candidates`` in batches of as
    many as there are parallel workers, and the failures are counted after
    each batch, in candidate order. ``journal`` (the search's records: a
    file, or the folder of its files) is named in the error, with its last
    recorded error.
    """

    failure_limit: int | None
    journal: str | None

    def fit(self, X, y=None, **params):
        # the folds of a candidate are trained together before scikit-learn asks for them
        self._stack_data = (X, y) if not params else None
        try:
            return super().fit(X, y, **params)
        finally:
            self._stack_data = None
            forget_trained_fits()

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # scikit-learn >= 1.9 hands its searches a callback context; earlier ones do not
        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        evaluate_candidates = self._with_stacked_folds(evaluate_candidates)
        limit = self.failure_limit
        if limit is None:
            return self._propose(self._stacking_ahead(evaluate_candidates), **context)
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

        return self._propose(self._stacking_ahead(in_batches), **context)

    def _propose(self, evaluate_candidates, **context):
        """Propose candidates to ``evaluate_candidates``: the search's own ``_run_search``."""
        return super()._run_search(evaluate_candidates, **context)

    def _stacking_ahead(self, evaluate_candidates):
        """``evaluate_candidates``, the candidates' folds trained in the background meanwhile
        (:class:`~kerastune_kit.strategies._stacking.StackAhead`), a few candidates ahead."""
        def evaluate(candidate_params, cv=None, more_results=None, **rest):
            candidate_params = list(candidate_params)
            data = getattr(self, "_stack_data", None)
            ahead = None if data is None else start_stack_ahead(
                self.estimator, candidate_params, cv if cv is not None else self.cv, *data,
                n_jobs=self.n_jobs)
            self._ahead = ahead
            try:
                return evaluate_candidates(candidate_params, cv, more_results, **rest)
            finally:
                self._ahead = None
                if ahead is not None:
                    ahead.close()

        return evaluate

    def _with_stacked_folds(self, evaluate_candidates):
        """``evaluate_candidates``, each candidate's folds first trained together (taken from
        the background training when it runs, else trained here)."""
        def evaluate(candidate_params, cv=None, more_results=None, **rest):
            candidate_params = list(candidate_params)
            data = getattr(self, "_stack_data", None)
            ahead = getattr(self, "_ahead", None)
            if data is not None and (ahead is None or not ahead.take(candidate_params)):
                stack_candidate_folds(self.estimator, candidate_params,
                                      cv if cv is not None else self.cv, *data,
                                      n_jobs=self.n_jobs)
            try:
                return evaluate_candidates(candidate_params, cv, more_results, **rest)
            finally:
                forget_trained_fits()

        return evaluate

    def _stop(self, streak) -> TooManyFailures:
        journal = Path(self.journal or "")
        files = sorted(journal.glob("*.jsonl")) if journal.is_dir() else [journal]
        errors = [r.get("error") for path in files for r in read_records(path)
                  if r.get("status") == "failed"]
        return TooManyFailures.in_a_row(
            self.failure_limit, "candidates", streak, errors[-1] if errors else None,
            f"Every finished fit is kept in {self.journal}.")


class JournaledGridSearchCV(FailureLimit, GridSearchCV):
    """GridSearchCV with a limit on failures in a row.

    Parameters
    ----------
    estimator, param_grid, scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, \
return_train_score
        As in GridSearchCV.
    failure_limit : int or None, default None
        Stop with TooManyFailures once this many candidates in a row failed.
    journal : str, optional
        The search's records (named in that error).
    """

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None, refit=True, cv=None,
                 verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, failure_limit=None, journal=None):
        super().__init__(estimator, param_grid, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.failure_limit = failure_limit
        self.journal = journal


class JournaledRandomizedSearchCV(FailureLimit, RandomizedSearchCV):
    """RandomizedSearchCV with a limit on failures in a row.

    Parameters
    ----------
    estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, verbose, pre_dispatch, \
random_state, error_score, return_train_score
        As in RandomizedSearchCV.
    failure_limit : int or None, default None
        Stop with TooManyFailures once this many candidates in a row failed.
    journal : str, optional
        The search's records (named in that error).
    """

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs", random_state=None,
                 error_score=np.nan, return_train_score=False, failure_limit=None,
                 journal=None):
        super().__init__(estimator, param_distributions, n_iter=n_iter, scoring=scoring,
                         n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, random_state=random_state,
                         error_score=error_score, return_train_score=return_train_score)
        self.failure_limit = failure_limit
        self.journal = journal


class JournaledHalvingRandomSearchCV(FailureLimit, HalvingRandomSearchCV):
    """HalvingRandomSearchCV with a limit on failures in a row.

    Parameters
    ----------
    estimator, param_distributions, n_candidates, factor, resource, max_resources, \
min_resources, aggressive_elimination, cv, scoring, refit, error_score, return_train_score, \
random_state, n_jobs, verbose
        As in HalvingRandomSearchCV.
    failure_limit : int or None, default None
        Stop with TooManyFailures once this many candidates in a row failed.
    journal : str, optional
        The search's records (named in that error).
    """

    def __init__(self, estimator, param_distributions, *, n_candidates="exhaust", factor=3,
                 resource="n_samples", max_resources="auto", min_resources="smallest",
                 aggressive_elimination=False, cv=5, scoring=None, refit=True,
                 error_score=np.nan, return_train_score=True, random_state=None, n_jobs=None,
                 verbose=0, failure_limit=None, journal=None):
        super().__init__(estimator, param_distributions, n_candidates=n_candidates,
                         factor=factor, resource=resource, max_resources=max_resources,
                         min_resources=min_resources,
                         aggressive_elimination=aggressive_elimination, cv=cv, scoring=scoring,
                         refit=refit, error_score=error_score,
                         return_train_score=return_train_score, random_state=random_state,
                         n_jobs=n_jobs, verbose=verbose)
        self.failure_limit = failure_limit
        self.journal = journal


class CoarseToFineSearchCV(FailureLimit, BaseSearchCV):
    """Random search in rounds, each round's space narrowed around the previous round's best.

    Round ``r`` draws ``n_iter`` candidates from the current space
    (``ParameterSampler`` seeded ``random_state + r``) and scores them on
    stratified folds shuffled with the same seed; then
    :meth:`SearchSpace.narrow` zooms the space in on the ``top_k`` best
    finished candidates of the round. ``cv_results_`` holds every round's
    candidates in order, with a ``round`` column.

    Parameters
    ----------
    estimator : estimator
    space : SearchSpace
        The first round's space.
    n_iter : int, default 10
        Candidates per round.
    rounds : int, default 2
    top_k : int, default 3
        Best candidates of a round that the next one zooms in on.
    prefix : str, default ""
        Prefix of the space's names in the estimator's parameters (``"model__"``).
    n_splits : int, default 3
        Stratified folds per candidate.
    round_journal : str, optional
        A path with ``{round}`` in it: each round's candidates set the
        estimator's ``journal`` parameter to their round's file.
    scoring, n_jobs, refit, verbose, pre_dispatch, random_state, error_score, return_train_score
        As in RandomizedSearchCV.
    failure_limit, journal
        See :class:`FailureLimit`.

    Attributes
    ----------
    spaces_ : list of SearchSpace
        The space of each round that ran (a round whose candidates all failed
        leaves the next one the same space, not listed again).
    """

    def __init__(self, estimator, space, *, n_iter=10, rounds=2, top_k=3, prefix="",
                 n_splits=3, round_journal=None, scoring=None, n_jobs=None, refit=True,
                 verbose=0, pre_dispatch="2*n_jobs", random_state=None, error_score=np.nan,
                 return_train_score=False, failure_limit=None, journal=None):
        super().__init__(estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=_folds(n_splits, random_state, estimator), verbose=verbose,
                         pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.space = space
        self.n_iter = n_iter
        self.rounds = rounds
        self.top_k = top_k
        self.prefix = prefix
        self.n_splits = n_splits
        self.round_journal = round_journal
        self.random_state = random_state
        self.failure_limit = failure_limit
        self.journal = journal

    def _propose(self, evaluate_candidates, **context):
        space, prefix = self.space, self.prefix
        self.spaces_ = [space]
        for round_ in range(self.rounds):
            seed = None if self.random_state is None else self.random_state + round_
            candidates = list(ParameterSampler(space.to_param_distributions(prefix),
                                               self.n_iter, random_state=seed))
            if self.round_journal is not None:
                journal = self.round_journal.format(round=round_)
                candidates = [{**c, prefix + "journal": journal} for c in candidates]
            results = evaluate_candidates(candidates, _folds(self.n_splits, seed, self.estimator),
                                          {"round": [round_] * len(candidates)})
            if round_ + 1 == self.rounds:
                break
            # this round's finished candidates, best first (as a table, so equal
            # scores keep the order pandas gives them)
            mine = slice(len(results["params"]) - len(candidates), None)
            table = pd.DataFrame([{name: params.get(prefix + name) for name in space.names}
                                  for params in results["params"][mine]])
            table["score"] = results["mean_test_score"][mine]
            ok = table[table["score"].notna()].sort_values("score", ascending=False)
            if len(ok):
                space = space.narrow(ok.head(self.top_k)[space.names].to_dict("records"))
                self.spaces_.append(space)


def _folds(n_splits: int, seed: int | None, estimator=None):
    """Stratified folds for a classifier, plain shuffled ones for a regressor."""
    from sklearn.base import is_regressor
    from sklearn.model_selection import KFold

    cls = KFold if estimator is not None and is_regressor(estimator) else StratifiedKFold
    return cls(n_splits, shuffle=True, random_state=seed)
