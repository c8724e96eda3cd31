"""The Optuna strategy: TPE, CMA-ES, GP, random or NSGA-II sampling, pruning, an SQLite study in the folder.

Each trial asks its values from the space (:meth:`SearchSpace.to_optuna`)
and trains one network per stratified CV fold in lockstep, one epoch at a
time (``partial_fit``). After each epoch the trial reports the mean accuracy
on the scoring folds (``step`` = epochs trained), and the pruner may stop it:
it is then recorded with status ``"pruned"`` and the epochs it trained. The
study lives in ``directory/optuna.db`` (SQLite), so a search resumes from it
(``resume=True``), ``optuna-dashboard sqlite:///DIR/optuna.db`` reads it
while it runs, and ``n_jobs`` processes share it.

Several processes, one folder: ``tune`` holds the folder's lock; with
``n_jobs=k`` it starts ``k - 1`` worker processes itself, which share the
locked folder and the study (like Keras Tuner's workers share their
chief's). A short file lock around "count the trials, ask for a new one"
keeps the budget exact: no trial is asked for once ``n_trials`` are done or
running, so no trial is duplicated or run past the budget. Workers stop
when their parent dies.

Optuna is imported when a search runs, with an install hint when missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..errors import (
    InvalidParameterError, InvalidParameterType, InvalidParameterValue, RecordWriteError,
    TooManyFailures,
)
from ..journal import append_record
from ..pareto import OBJECTIVES, pareto_mask, smallest_within_noise
from ..trials import mean_curve, trial_row, trials_table
from .base import SearchJob, Strategy, StrategyOutcome

__all__ = ["OptunaStrategy", "SAMPLERS", "PRUNERS", "STUDY_FILE", "work_in_process"]

#: Sampler names ``tune(sampler=...)`` takes (or an ``optuna.samplers.BaseSampler``).
SAMPLERS = ("tpe", "cmaes", "gp", "random", "nsga2")
#: Pruner names ``tune(pruner=...)`` takes (or an ``optuna.pruners.BasePruner``, or None).
PRUNERS = ("median", "halving", "hyperband")
#: The study's SQLite file in the search's folder.
STUDY_FILE = "optuna.db"
_PROGRESS = "optuna-trials.jsonl"  # one line a finished trial, for the progress bar
_ASK_LOCK = ".optuna-ask.lock"
_PAYLOAD = ".optuna-workers.pickle"  # what worker processes load: data, space, settings


class _Probe:
    """A stand-in trial that answers every question with the low end: checks a space converts."""

    def suggest_int(self, name, low, high, **kwargs):
        return low

    def suggest_float(self, name, low, high, **kwargs):
        return low

    def suggest_categorical(self, name, choices):
        return choices[0]

    def set_user_attr(self, key, value):
        pass


@contextlib.contextmanager
def _ask_lock(directory: Path):
    """Hold an exclusive ``flock`` on the folder's ask lock (processes of one machine)."""
    import fcntl

    with open(directory / _ASK_LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class OptunaStrategy(Strategy):
    """Optuna search of ``n_trials`` trials on stratified CV folds, pruned epoch by epoch.

    Reads ``sampler``, ``pruner``, ``objectives`` and ``select_best`` (see
    :func:`~kerastune_kit.tune`).
    """

    name = "optuna"
    summary = ("Optuna: n_trials, sampler tpe/cmaes/gp/random/nsga2, pruner median/halving/"
               "hyperband, on stratified CV folds; an SQLite study in the folder")
    options = ("sampler", "pruner", "objectives", "select_best")
    tasks = ("classification",)  # its trials report accuracy to the pruner

    def expected_fits(self, space) -> int:
        return self.settings.n_trials

    @property
    def objectives(self) -> tuple[str, ...]:
        """The objectives, ``("accuracy",)`` unless ``objectives`` was given."""
        return tuple(self.settings.objectives or ("accuracy",))

    # ------------------------------------------------------------------ checks
    def check(self, space) -> None:
        super().check(space)
        require("optuna", "strategy='optuna'")
        s = self.settings
        space.to_optuna(_Probe())  # what Optuna cannot express is refused now, with the fix
        if s.objectives is not None:
            given = s.objectives
            if isinstance(given, str) or not isinstance(given, (tuple, list)) or not given \
                    or not all(isinstance(o, str) for o in given):
                raise InvalidParameterType(
                    f"objectives={given!r} (type {type(given).__name__}) must be a tuple of "
                    f"objective names, e.g. ('accuracy', 'n_params'); known: {list(OBJECTIVES)}.")
            unknown = [o for o in given if o not in OBJECTIVES]
            if unknown or len(set(given)) != len(given) or "accuracy" not in given:
                raise InvalidParameterValue(
                    f"objectives={tuple(given)!r}: each of {list(OBJECTIVES)} at most once, and "
                    "'accuracy' among them (the refit needs a score), e.g. "
                    "('accuracy', 'n_params').")
        multi = len(self.objectives) > 1
        sampler = s.sampler
        if isinstance(sampler, str):
            if sampler not in SAMPLERS:
                raise InvalidParameterValue(
                    f"sampler={sampler!r} is not an Optuna sampler the kit knows; use one of "
                    f"{list(SAMPLERS)} or an optuna.samplers object.")
            if sampler in ("cmaes", "gp"):  # their own dependencies, checked before training
                require("cmaes" if sampler == "cmaes" else "torch", f"sampler={sampler!r}")
            if sampler == "cmaes" and multi:
                raise InvalidParameterValue(
                    f"sampler='cmaes' optimises one objective, objectives={self.objectives!r} "
                    "has several: use sampler='nsga2' (the default there) or 'tpe'.")
        elif sampler is not None and not hasattr(sampler, "sample_relative"):
            raise InvalidParameterType(
                f"sampler={sampler!r} (type {type(sampler).__name__}) must be one of "
                f"{list(SAMPLERS)} or an optuna.samplers.BaseSampler.")
        pruner = s.pruner
        if isinstance(pruner, str) and pruner not in PRUNERS:
            raise InvalidParameterValue(
                f"pruner={pruner!r} is not a pruner the kit knows; use one of {list(PRUNERS)}, "
                "an optuna.pruners object, or None (no pruning).")
        if pruner is not None and not isinstance(pruner, str) and not hasattr(pruner, "prune"):
            raise InvalidParameterType(
                f"pruner={pruner!r} (type {type(pruner).__name__}) must be one of "
                f"{list(PRUNERS)}, an optuna.pruners.BasePruner, or None.")
        if multi and pruner is not None:
            raise InvalidParameterValue(
                f"pruner={pruner!r}: Optuna cannot prune a multi-objective search "
                f"(objectives={self.objectives!r}); pass pruner=None.")
        if s.select_best is not None and (not multi or not callable(s.select_best)):
            raise InvalidParameterValue(
                f"select_best={s.select_best!r} must be a function of the Pareto front "
                "(a DataFrame) returning the chosen row's 'trial', and applies to a "
                "multi-objective search only (objectives=('accuracy', 'n_params')).")
        if s.callbacks is not None:
            raise InvalidParameterValue(
                "strategy='optuna' trains one epoch at a time so that its pruner can stop a "
                "trial after any epoch; callbacks (schedules, early stopping) would restart "
                "every epoch. Remove callbacks= (the pruner replaces early stopping) or use "
                "another strategy.")

    def processes(self) -> int:
        """How many processes share the study: ``n_jobs`` (-1: one per core), 1 by default."""
        n = self.settings.n_jobs
        if n is None:
            return 1
        return max(1, os.cpu_count() or 1) if n < 0 else int(n)

    # ------------------------------------------------------------------ the study
    def study_url(self, directory: Path) -> str:
        """The study's storage URL: ``sqlite:///`` and the folder's ``optuna.db``."""
        return f"sqlite:///{(Path(directory) / STUDY_FILE).resolve()}"

    def make_sampler(self, seed: int | None):
        """The sampler named by ``sampler`` (TPE, or NSGA-II for several objectives), seeded."""
        optuna = require("optuna", "strategy='optuna'")
        spec = self.settings.sampler or ("nsga2" if len(self.objectives) > 1 else "tpe")
        if not isinstance(spec, str):
            return spec
        samplers = optuna.samplers
        if spec == "cmaes":
            require("cmaes", "sampler='cmaes'")
            return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if spec == "gp":
            require("torch", "sampler='gp'")
            return samplers.GPSampler(seed=seed)
        return {"tpe": samplers.TPESampler, "random": samplers.RandomSampler,
                "nsga2": samplers.NSGAIISampler}[spec](seed=seed)

    def make_pruner(self):
        """The pruner named by ``pruner`` (``step`` is the number of epochs trained)."""
        optuna = require("optuna", "strategy='optuna'")
        spec, factor = self.settings.pruner, self.settings.factor
        if spec is None:
            return optuna.pruners.NopPruner()
        if not isinstance(spec, str):
            return spec
        if spec == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
        if spec == "halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=factor)
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=factor)

    def open_study(self, directory: Path, *, worker: int = 0):
        """Create or load the study in ``directory``; each process seeds its sampler differently."""
        optuna = require("optuna", "strategy='optuna'")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = self.storage = optuna.storages.RDBStorage(
            self.study_url(directory), engine_kwargs={"connect_args": {"timeout": 120}})
        name = self.settings.project_name
        seed = self.settings.random_state
        if seed is not None:
            # a resumed or parallel process draws other values than the first process did
            done = sum(s.study_name == name for s in storage.get_all_studies()) and len(
                storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False))
            seed = (int(seed) + 7919 * worker + int(done)) % 2**32
        directions = [OBJECTIVES[o][1] for o in self.objectives]
        return optuna.create_study(storage=storage, study_name=name, directions=directions,
                                   sampler=self.make_sampler(seed), pruner=self.make_pruner(),
                                   load_if_exists=True)

    def requeue_interrupted(self, study) -> list[int]:
        """Fail the trials a killed process left running and ask for their values again.

        A trial killed before it asked for any value is only failed (a new
        trial takes its place in the budget).

        Only the process that holds the folder's lock calls this, before
        any worker starts, so no trial marked here is really running.
        Returns the numbers of the trials found running.
        """
        from optuna.trial import TrialState

        storage = self.storage
        study_id = storage.get_study_id_from_name(study.study_name)
        found = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, "interrupted", True)
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
            if trial.params:  # killed after asking for values: run those again
                study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            found.append(trial.number)
        return found

    @staticmethod
    def counted(study) -> int:
        """Trials that count against the budget: finished, pruned, failed or running (not interrupted)."""
        from optuna.trial import TrialState

        return sum(1 for t in study.get_trials(deepcopy=False)
                   if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
                   or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")))

    # ------------------------------------------------------------------ running
    def folds(self, job: SearchJob) -> list[tuple]:
        """``(X_train, y_train, X_test, y_test)`` a fold, preprocessed (fitted on the training part)."""
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold

        s = self.settings
        X, y = job.X, np.asarray(job.y)
        out = []
        splitter = StratifiedKFold(s.cv, shuffle=True, random_state=s.random_state)
        for train, test in splitter.split(np.zeros(len(y)), y):
            X_train = X.iloc[train] if hasattr(X, "iloc") else np.asarray(X)[train]
            X_test = X.iloc[test] if hasattr(X, "iloc") else np.asarray(X)[test]
            if s.preprocessor is not None:
                fitted = clone(s.preprocessor).fit(X_train)
                X_train, X_test = fitted.transform(X_train), fitted.transform(X_test)
            out.append((np.asarray(X_train, dtype="float32"), y[train],
                        np.asarray(X_test, dtype="float32"), y[test]))
        return out

    def run(self, job: SearchJob) -> StrategyOutcome:
        study = self.open_study(job.directory)
        if job.resumed:
            self.requeue_interrupted(study)
        workers = self.start_workers(job)
        try:
            self.work(study, job, self.folds(job), worker=0)
        except BaseException:
            for process in workers:
                process.terminate()
                process.wait()
            raise
        failed = [(i, p.wait()) for i, p in enumerate(workers, start=1)]
        failed = [(i, code, p.stdout.read()[-2000:]) for (i, code), p in zip(failed, workers)
                  if code != 0]
        (job.directory / _PAYLOAD).unlink(missing_ok=True)
        if failed:
            raise RuntimeError(
                f"Optuna worker process(es) {[i for i, _, _ in failed]} of the search in "
                f"{str(job.directory)!r} ended with exit status {[c for _, c, _ in failed]}; "
                "their finished trials stay in the study, and resume=True runs what is left. "
                f"Last output of worker {failed[0][0]}:\n{failed[0][2]}")
        return self.outcome(study, job)

    def start_workers(self, job: SearchJob) -> list:
        """Start ``processes() - 1`` worker processes on the study (fresh interpreters)."""
        import pickle
        import subprocess
        import sys

        if self.processes() == 1:
            return []
        payload = job.directory / _PAYLOAD
        settings = dataclasses.replace(self.settings, select_best=None)
        payload.write_bytes(pickle.dumps((job.X, job.y, job.space, settings, os.getpid())))
        code = ("import sys; from kerastune_kit.strategies.optuna_search import work_in_process; "
                "work_in_process(sys.argv[1], int(sys.argv[2]))")
        return [subprocess.Popen([sys.executable, "-c", code, str(job.directory), str(i)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for i in range(1, self.processes())]

    def work(self, study, job: SearchJob, folds, *, worker: int = 0,
             parent: int | None = None) -> None:
        """Ask for trials and train them until ``n_trials`` are done or running."""
        optuna = require("optuna", "strategy='optuna'")
        from optuna.trial import TrialState

        s = self.settings
        streak: list[int] = []
        errors: list[str] = []
        while True:
            with _ask_lock(job.directory):
                if self.counted(study) >= s.n_trials:
                    return
                trial = study.ask()
            trial.set_user_attr("worker", worker)
            record = {"trial": trial.number, "worker": worker}
            try:
                values = self.objective(trial, job, folds, parent=parent)
            except optuna.TrialPruned:
                study.tell(trial, state=TrialState.PRUNED)
                streak = []
                record.update(status="pruned", score=trial.user_attrs.get("score"))
            except (InvalidParameterError, RecordWriteError):
                study.tell(trial, state=TrialState.FAIL)
                raise  # a configuration or record error: every trial would fail alike
            except Exception as err:
                error = f"{type(err).__name__}: {err}"
                trial.set_user_attr("error", error)
                study.tell(trial, state=TrialState.FAIL)
                streak.append(trial.number), errors.append(error)
                append_record(job.directory / _PROGRESS, {**record, "status": "failed"})
                limit = s.max_consecutive_failures
                if limit is not None and len(streak) >= limit:
                    raise TooManyFailures.in_a_row(
                        limit, "trials", streak, errors[-1],
                        f"The finished trials stay in {self.study_url(job.directory)}.") from None
                continue
            else:
                study.tell(trial, values)
                streak = []
                record.update(status="ok", score=values[0])
            append_record(job.directory / _PROGRESS, record)

    def objective(self, trial, job: SearchJob, folds, *, parent: int | None = None) -> list:
        """Train the trial's networks on every fold in lockstep; the objectives' values."""
        optuna = require("optuna", "strategy='optuna'")
        from ..estimators import KerasMLPClassifier

        s = self.settings
        values = job.space.to_optuna(trial)
        params = {**s.estimator_params, **values}
        epochs = int(params.get("epochs", KerasMLPClassifier().epochs))
        models = [KerasMLPClassifier(**params) for _ in folds]
        classes = np.unique(np.concatenate([f[1] for f in folds]))
        pruning = len(self.objectives) == 1 and s.pruner is not None
        scores: list[float] = []
        fold_scores: list[float] = []
        fit_seconds = 0.0
        for epoch in range(epochs):
            if parent is not None and os.getppid() != parent:
                os._exit(3)  # the process that started this worker is gone
            started = time.perf_counter()
            for model, (X_train, y_train, _, _) in zip(models, folds):
                model.partial_fit(X_train, y_train, classes=classes)
            fit_seconds += time.perf_counter() - started
            fold_scores = [m.score(X_test, y_test) for m, (_, _, X_test, y_test) in
                           zip(models, folds)]
            scores.append(float(np.mean(fold_scores)))
            if pruning:
                trial.report(scores[-1], epoch + 1)
                if trial.should_prune():
                    self._remember(trial, models, scores, fold_scores, fit_seconds, folds)
                    raise optuna.TrialPruned(f"pruned after {epoch + 1} epochs")
        self._remember(trial, models, scores, fold_scores, fit_seconds, folds)
        results = {"accuracy": scores[-1], "fit_time": fit_seconds / len(folds)}
        if "n_params" in self.objectives:
            results["n_params"] = float(models[0].model_.count_params())
            trial.set_user_attr("n_params", results["n_params"])
        if "predict_latency" in self.objectives:
            started = time.perf_counter()
            for model, (_, _, X_test, _) in zip(models, folds):
                model.predict(X_test)
            rows = sum(len(f[3]) for f in folds)
            results["predict_latency"] = (time.perf_counter() - started) / rows
            trial.set_user_attr("predict_latency", results["predict_latency"])
        return [results[o] for o in self.objectives]

    @staticmethod
    def _remember(trial, models, scores, fold_scores, fit_seconds, folds) -> None:
        histories = [m.history_ for m in models]
        trial.set_user_attr("record", {
            "score": scores[-1], "score_std": float(np.std(fold_scores)), "scores": scores,
            "epochs_trained": len(scores), "fit_time": fit_seconds / len(folds),
            "train_curve": mean_curve(histories, "accuracy"),
            "val_curve": mean_curve(histories, "val_accuracy")})
        trial.set_user_attr("score", scores[-1])

    # ------------------------------------------------------------------ the result
    def outcome(self, study, job: SearchJob) -> StrategyOutcome:
        """The trials table (and, for several objectives, the Pareto front and the chosen trial)."""
        from optuna.trial import TrialState

        names = job.space.names
        states = {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned",
                  TrialState.FAIL: "failed"}
        kept = [t for t in study.get_trials(deepcopy=False)
                if t.state in states and not t.user_attrs.get("interrupted")]
        rows, extra = [], {o: [] for o in self.objectives if o in ("n_params", "predict_latency")}
        for i, t in enumerate(sorted(kept, key=lambda t: t.number)):
            record = t.user_attrs.get("record", {})
            try:
                values = job.space.from_optuna(t.params)
            except ValueError:  # failed before every value was asked
                values = {n: None for n in names}
            status = states[t.state]
            rows.append(trial_row(
                trial=i, strategy=self.name, values=values,
                score=record.get("score", float("nan")) if status != "failed" else float("nan"),
                score_std=record.get("score_std", float("nan")),
                error=t.user_attrs.get("error", ""), pruned=status == "pruned",
                epochs_trained=record.get("epochs_trained", 0),
                fit_time=record.get("fit_time", 0.0),
                train_curve=record.get("train_curve", ()), val_curve=record.get("val_curve", ())))
            for o in extra:
                extra[o].append(float(t.user_attrs.get(o, float("nan"))))
        trials = trials_table(rows, names)
        if len(self.objectives) == 1:
            return StrategyOutcome(trials, search=study)
        for o, column in extra.items():
            trials[o] = column
        trials["pareto"] = pareto_mask(trials, self.objectives)
        front = trials[trials["pareto"]]
        if self.settings.select_best is not None:
            chosen = self.settings.select_best(front.copy())
            if chosen not in set(front["trial"]):
                raise InvalidParameterValue(
                    f"select_best returned {chosen!r}, which is not the 'trial' of a row of "
                    f"the Pareto front (those are {list(front['trial'])}).")
            best = front.index[front["trial"] == chosen][0]
        else:
            best = smallest_within_noise(front, self.objectives, n_folds=self.settings.cv)
        return StrategyOutcome(trials, search=study, best=best, pareto_front=front)


def work_in_process(directory: str, worker: int) -> None:
    """A worker process (started by :meth:`OptunaStrategy.start_workers`): train trials of
    the study in ``directory`` until the budget is spent; stop when the parent dies."""
    import pickle

    X, y, space, settings, parent = pickle.loads((Path(directory) / _PAYLOAD).read_bytes())
    strategy = OptunaStrategy(settings)
    job = SearchJob(X, y, space, settings, strategy, Path(directory), resumed=True)
    study = strategy.open_study(job.directory, worker=worker)
    strategy.work(study, job, strategy.folds(job), worker=worker, parent=parent)
