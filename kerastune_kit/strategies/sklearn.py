"""The scikit-learn strategies: grid, random, halving and coarse-to-fine searches over stratified folds.

Each is one of scikit-learn's search classes (or, for coarse-to-fine, a
``BaseSearchCV`` of our own) over a ``Pipeline(preprocessor,
KerasMLPClassifier)``, with every fit journaled so that a killed search
resumes (:mod:`kerastune_kit.strategies._journaled`). A strategy here writes
one hook, :meth:`SklearnStrategy.make_search`; :class:`SklearnStrategy` runs
the search and turns ``cv_results_`` and the journal into the trials table.
scikit-learn is imported when a search runs, not when the registry is read.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._scoring import curve_metric
from ..journal import read_records, values_key
from ..trials import mean_curve, trial_row, trials_table
from .base import SearchJob, Strategy, StrategyOutcome, grid_size

__all__ = ["SklearnStrategy", "GridStrategy", "RandomStrategy", "HalvingStrategy",
           "CoarseToFineStrategy"]

_RECORDS = "trials.jsonl"


class SklearnStrategy(Strategy):
    """Base of the scikit-learn strategies: run a journaled search, build its trials table.

    Subclasses write :meth:`make_search`.
    """

    uses_folds = True
    takes_scoring = True
    stacks_folds = True

    def make_search(self, job: SearchJob, estimator, common: dict):
        """The scikit-learn search to fit: ``estimator`` journals its fits; ``common`` are the
        keyword arguments every search takes (``cv``, ``n_jobs``, ``scoring``, the failure limit...)."""
        raise NotImplementedError

    def records(self, job: SearchJob) -> Path:
        """The journal of the search's fits (or the folder of its journals)."""
        return job.directory / _RECORDS

    def run(self, job: SearchJob) -> StrategyOutcome:
        from sklearn.model_selection import KFold, StratifiedKFold

        from ._journaled import JournaledMLPClassifier, JournaledMLPRegressor, RecordingScorer

        settings, prefix = self.settings, job.prefix
        regression = settings.task == "regression"
        estimator = job.estimator(JournaledMLPRegressor if regression else JournaledMLPClassifier,
                                  replay=job.resumed, journal=str(job.directory / _RECORDS))
        folds = KFold if regression else StratifiedKFold  # scored by R^2 or accuracy, or the scorer
        common = dict(
            cv=folds(settings.cv, shuffle=True, random_state=settings.random_state),
            # a fit that fails in training is recorded and scores NaN (JournaledMLPClassifier);
            # anything raised (a configuration error, a record that cannot be written)
            # stops the search instead of counting as a failed fit
            n_jobs=settings.n_jobs, error_score="raise", refit=False,
            return_train_score=False,  # the scorer records (and replays) test scores
            scoring=RecordingScorer([*job.space.names, "epochs"], settings.scoring),
            failure_limit=settings.max_consecutive_failures, journal=str(self.records(job)))
        search = self.make_search(job, estimator, common)
        with warnings.catch_warnings():
            # failed fits score NaN on purpose (they are reported in the trials table)
            warnings.filterwarnings("ignore",
                                    message="One or more of the test scores are non-finite")
            search.fit(job.X, job.y)
        trials = self.trials(search, job)
        return StrategyOutcome(trials, self.refit_params(trials, job), search=search,
                               spaces=list(getattr(search, "spaces_", [job.space])))

    def refit_params(self, trials, job: SearchJob) -> dict:
        """Settings of the refit besides the best parameters (none by default)."""
        return {}

    def trials(self, search, job: SearchJob):
        """The trials table of a fitted search: scores from ``cv_results_``, curves from the journal."""
        results, prefix, names = search.cv_results_, job.prefix, job.space.names
        default_epochs = search.estimator.get_params().get(prefix + "epochs")
        default_journal = str(job.directory / _RECORDS)
        journals: dict[str, dict] = {}
        rows = []
        curve = curve_metric(self.settings.task)
        for i, params in enumerate(results["params"]):
            journal = params.get(prefix + "journal", default_journal)
            if journal not in journals:
                journals[journal] = _records_by_key(journal, [*names, "epochs"])
            values = {name: params.get(prefix + name) for name in names}
            epochs = params.get(prefix + "epochs", default_epochs)
            fits = journals[journal].get(values_key({**values, "epochs": epochs}), [])
            histories = [r["history"] for r in fits if r.get("status") == "ok"]
            errors = [r["error"] for r in fits if r.get("status") == "failed"]
            times = [r["fit_time"] for r in fits if r.get("fit_time") is not None]
            rows.append(trial_row(
                trial=i, round=int(results["round"][i]) if "round" in results else 0,
                strategy=self.name, values=values, score=results["mean_test_score"][i],
                score_std=results["std_test_score"][i],
                error=errors[0] if errors else "",
                epochs_trained=int(np.median([len(h["loss"]) for h in histories]))
                if histories else epochs,
                # recorded times: a resumed search replays finished fits in no time
                fit_time=float(np.mean(times)) if times else results["mean_fit_time"][i],
                train_curve=mean_curve(histories, curve),
                val_curve=mean_curve(histories, f"val_{curve}")))
        return trials_table(rows, names)


def _records_by_key(path, names) -> dict[str, list[dict]]:
    """A journal's finished fits, grouped by their searched values.

    A failed fit records all its parameters instead of a key: its key is made
    from ``names`` of them.
    """
    by_key: dict[str, list[dict]] = {}
    for record in read_records(path):
        key = record.get("key")
        if key is None and "params" in record:
            key = values_key({n: record["params"].get(n) for n in names})
        by_key.setdefault(key, []).append(record)
    return by_key


class GridStrategy(SklearnStrategy):
    name = "grid"
    summary = "scikit-learn GridSearchCV: every combination, on stratified CV folds"
    uses_n_trials = False
    needs_grid = True

    def expected_fits(self, space) -> int:
        return grid_size(space) * self.settings.cv

    def make_search(self, job, estimator, common):
        from ._journaled import JournaledGridSearchCV

        return JournaledGridSearchCV(estimator, job.space.to_param_grid(job.prefix), **common)


class RandomStrategy(SklearnStrategy):
    name = "random"
    summary = "scikit-learn RandomizedSearchCV: n_trials candidates, on stratified CV folds"

    def expected_fits(self, space) -> int:
        return self.settings.n_trials * self.settings.cv

    def make_search(self, job, estimator, common):
        from ._journaled import JournaledRandomizedSearchCV

        return JournaledRandomizedSearchCV(
            estimator, job.space.to_param_distributions(job.prefix),
            n_iter=self.settings.n_trials, random_state=self.settings.random_state, **common)


class HalvingStrategy(SklearnStrategy):
    name = "halving"
    summary = ("scikit-learn HalvingRandomSearchCV: epochs are the resource, up to max_epochs")
    owns_epochs = True

    def make_search(self, job, estimator, common):
        from ._journaled import JournaledHalvingRandomSearchCV

        s = self.settings
        return JournaledHalvingRandomSearchCV(
            estimator, job.space.to_param_distributions(job.prefix),
            resource=job.prefix + "epochs", max_resources=s.max_epochs,
            min_resources=max(1, s.max_epochs // s.factor ** 2), factor=s.factor,
            n_candidates=s.n_trials, random_state=s.random_state, **common)

    def refit_params(self, trials, job) -> dict:
        # the best candidate's own budget: the epochs it trained
        return {"epochs": int(trials.loc[trials["score"].idxmax(), "epochs_trained"])}


class CoarseToFineStrategy(SklearnStrategy):
    name = "coarse-to-fine"
    summary = ("rounds of random search, each narrowed around the best top_k trials "
               "of the round before")

    def expected_fits(self, space) -> int:
        return self.settings.n_trials * self.settings.cv * self.settings.rounds

    def records(self, job: SearchJob) -> Path:
        return job.directory  # one journal a round

    def make_search(self, job, estimator, common):
        from ._journaled import CoarseToFineSearchCV

        s = self.settings
        common = {k: v for k, v in common.items() if k != "cv"}
        return CoarseToFineSearchCV(
            estimator, job.space, n_iter=s.n_trials, rounds=s.rounds, top_k=s.top_k,
            prefix=job.prefix, n_splits=s.cv, random_state=s.random_state,
            round_journal=str(job.directory / "round{round}.jsonl"), **common)

