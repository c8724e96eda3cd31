"""What every search strategy plugs into: the settings of a search, the job it runs, and its outcome.

:func:`~kerastune_kit.tune` owns the loop: it validates the settings once
into a :class:`SearchSettings`, opens the search's folder as a
:class:`SearchJob` (which checks the data and the space first), asks the
strategy to :meth:`Strategy.run` the job, then refits the best candidate and
compares it with the baseline. A strategy is one small class: it declares
what it is (class attributes) and writes :meth:`Strategy.run`, which returns
a :class:`StrategyOutcome` whose trials table is built with
:func:`kerastune_kit.trials.trial_row`.

Adding one::

    from kerastune_kit.search import register_strategy
    from kerastune_kit.strategies import Strategy, StrategyOutcome

    @register_strategy
    class OneShot(Strategy):
        name = "one-shot"
        summary = "train the first sampled candidate once"

        def run(self, job):
            ...
            return StrategyOutcome(trials)

This module imports nothing heavy (no scikit-learn, no Keras), so the
registry can be read by ``kerastune-kit --help`` in a moment.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from .._constraints import candidate_values, check_param
from .._fitted_memo import FITTED_KEY, FittedMemo
from .._validation import check_number, check_positive_int
from ..errors import InvalidParameterType, InvalidParameterValue
from ..journal import data_fingerprint, open_search, stable_repr
from ..locking import FolderLock
from ._data import check_data, check_preprocessor, split_for_validation

__all__ = ["SearchSettings", "Strategy", "StrategyOutcome", "SearchJob", "RECORD_FILES",
           "split_for_validation", "grid_size", "DEFAULT_CV"]

#: The folds ``cv="auto"`` means for the strategies on folds and the baseline comparison.
DEFAULT_CV = 3

#: Settings that only some strategies read (``Strategy.options`` names those it reads).
STRATEGY_OPTIONS = ("sampler", "pruner", "objectives", "select_best")

#: What a fresh start removes from a search's folder: the records of any strategy.
RECORD_FILES = ("*.jsonl",)
#: Whole state files of a strategy, removed by a fresh start too (Optuna's SQLite study).
STATE_FILES = ("optuna.db",)


@dataclass(frozen=True)
class SearchSettings:
    """Every setting of one :func:`~kerastune_kit.tune` call, checked once.

    The attributes are ``tune``'s parameters of the same names (see its
    docstring), with ``estimator_params`` completed: ``random_state``,
    ``callbacks`` and, for strategies that score on folds, the
    ``validation_split`` carved from each training fold.
    """

    strategy: str
    n_trials: int = 10
    cv: int | None = 3
    validation_split: float = 0.2
    preprocessor: Any = None
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    max_epochs: int = 10
    factor: int = 3
    rounds: int = 2
    top_k: int = 3
    callbacks: Any = None
    directory: Any = None
    project_name: str = "kerastune"
    random_state: int | None = 0
    n_jobs: int | None = None
    compare_baseline: bool = True
    resume: bool = False
    max_consecutive_failures: int | None = 10
    task: str = "classification"
    scoring: str | None = None
    sampler: Any = None
    pruner: Any = None
    objectives: Any = None
    select_best: Any = None
    #: True for strategies whose trials (not scikit-learn's fits) train on the ``cv`` folds
    folds_are_trials: bool = False

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise InvalidParameterValue(
                f"task={self.task!r} must be 'classification', 'regression' or 'auto'.")
        from .._scoring import check_scoring

        check_scoring(self.scoring, self.task)
        check_positive_int("n_trials", self.n_trials)
        check_positive_int("cv", self.cv, allow_none=True)
        check_number("validation_split", self.validation_split, low=0, high=1,
                     low_inclusive=False, high_inclusive=False)
        check_positive_int("max_epochs", self.max_epochs)
        check_positive_int("factor", self.factor)
        if self.factor < 2:
            raise InvalidParameterValue(f"factor={self.factor!r} must be at least 2: each round keeps "
                             "1/factor of the candidates (3 is the usual choice).")
        check_positive_int("rounds", self.rounds)
        check_positive_int("top_k", self.top_k)
        for name in ("resume", "compare_baseline"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise InvalidParameterType(f"{name}={value!r} (type {type(value).__name__}) must be True "
                                "or False.")
        if self.resume and self.directory is None:
            raise InvalidParameterValue("resume=True continues the search recorded in a folder: pass "
                             "directory= with the folder of the search to continue.")
        check_positive_int("max_consecutive_failures", self.max_consecutive_failures,
                           allow_none=True)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool)
                                        or not isinstance(self.n_jobs, int) or self.n_jobs == 0):
            raise InvalidParameterValue(
                f"n_jobs={self.n_jobs!r} must be None (one process), a positive number of "
                "parallel fits, or -1 (one per core).")
        if not isinstance(self.project_name, str) or not self.project_name:
            raise InvalidParameterType(f"project_name={self.project_name!r} must be a "
                                       "non-empty string (a folder name).")
        if self.random_state is not None:
            check_param("random_state", self.random_state, owner="tune")

    @property
    def baseline_cv(self) -> int:
        """Folds of the comparison with the baseline: ``cv``, or 3 for a search on one split."""
        return DEFAULT_CV if self.cv is None else self.cv

    @classmethod
    def complete(cls, strategy: "type[Strategy]", *, estimator_params=None, callbacks=None,
                 validation_split: float = 0.2, random_state=0, cv="auto", n_rows=None,
                 **settings) -> "SearchSettings":
        """Settings for ``strategy``, with ``cv="auto"`` resolved (:meth:`Strategy.resolve_cv`
        for ``n_rows`` training rows) and the estimator's fixed parameters filled in."""
        cv = strategy.resolve_cv(cv, n_rows)
        params = dict(estimator_params or {})
        if random_state is not None:
            params.setdefault("random_state", random_state)
        if callbacks is not None:
            params["callbacks"] = callbacks
        if strategy.uses_folds:
            params.setdefault("validation_split", validation_split)
        return cls(strategy=strategy.name, estimator_params=params, callbacks=callbacks,
                   validation_split=validation_split, random_state=random_state, cv=cv,
                   folds_are_trials=strategy.folds_optional, **settings)

    def record(self, space, X, y) -> dict:
        """The JSON-safe description of the search kept in its folder (``search.json``).

        A resumed search must match it. Its keys are those of every version of
        the kit since records began, so older records resume; a Keras Tuner
        search on folds adds ``trial_folds`` (older ones trained on one split,
        and resume with ``cv=None``).
        """
        extra = {"task": self.task} if self.task != "classification" else {}
        if self.scoring is not None:
            extra["scoring"] = self.scoring
        if self.cv is not None and self.folds_are_trials:
            extra["trial_folds"] = self.cv
        return dict(
            **extra,
            strategy=self.strategy, space=json.loads(space.to_json()), n_trials=self.n_trials,
            cv=self.baseline_cv, validation_split=self.validation_split, max_epochs=self.max_epochs,
            factor=self.factor, rounds=self.rounds, top_k=self.top_k,
            random_state=self.random_state, preprocessor=stable_repr(self.preprocessor),
            project_name=self.project_name,
            estimator_params={k: stable_repr(v) for k, v in sorted(self.estimator_params.items())},
            data=data_fingerprint(X, y),
            # strategy options (Optuna's), recorded only when given: older records still resume
            **{name: stable_repr(getattr(self, name)) for name in STRATEGY_OPTIONS
               if getattr(self, name) is not None})


@dataclass
class StrategyOutcome:
    """What a strategy's run hands back to ``tune``.

    Attributes
    ----------
    trials : DataFrame
        The trials table (:func:`kerastune_kit.trials.trials_table`).
    refit_params : dict
        Settings of the refit besides the best trial's parameters, e.g. the
        epochs the best trial trained when the strategy chose them.
    refit_rule : str
        How the refit's epochs were chosen, when the strategy chose them.
    search : object, optional
        The search object (scikit-learn search, Keras Tuner tuner), kept as
        ``TuneResult.search_``.
    spaces : list of SearchSpace, optional
        The space of each round, when the strategy narrows it.
    best : int, optional
        Row label of the trial to refit, when the strategy chooses it (a
        multi-objective search); by default the finished trial with the best
        score.
    pareto_front : DataFrame, optional
        The non-dominated trials of a multi-objective search.
    """

    trials: Any
    refit_params: dict = field(default_factory=dict)
    search: Any = None
    refit_rule: str = ""
    spaces: list = field(default_factory=list)
    best: Any = None
    pareto_front: Any = None


class Strategy:
    """One way to search a space. Subclasses declare what they are and write :meth:`run`.

    Class attributes
    ----------------
    name : str
        The registry key (``tune(strategy=name)``, ``--strategy name``).
    summary : str
        One line for ``kerastune-kit tune --help`` and the docs.
    uses_folds : bool, default True
        Candidates are scored by stratified CV folds of the training data
        (and each fit holds out ``validation_split`` of its training fold).
        False: trials are scored on one validation split carved from the
        training data.
    owns_epochs : bool, default False
        The strategy decides how many epochs each trial trains (``max_epochs``
        is the most); ``epochs`` may not be in the space.
    uses_n_trials : bool, default True
        ``n_trials`` sets how many candidates it tries.
    needs_grid : bool, default False
        Every dimension must have a finite list of values.
    tasks : tuple of str, default ("classification", "regression")
        The tasks it can tune; ``tune`` refuses the others before training.
    options : tuple of str, default ()
        The strategy options (:data:`STRATEGY_OPTIONS`: ``sampler``,
        ``pruner``, ``objectives``, ``select_best``) it reads; giving another
        one is refused.
    folds_optional : bool, default False
        ``cv=None`` (score on one validation split) is allowed.
    takes_scoring : bool, default False
        Candidates can be scored by a named scikit-learn scorer (``tune``'s
        ``scoring``); a strategy that cannot is refused any but its own score.
    stacks_folds : bool, default False
        The strategy trains its candidates' folds stacked
        (:mod:`kerastune_kit.stacked`); the refit then trains through the same
        traced program, as a stack of one, instead of tracing another.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    uses_folds: ClassVar[bool] = True
    owns_epochs: ClassVar[bool] = False
    uses_n_trials: ClassVar[bool] = True
    needs_grid: ClassVar[bool] = False
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")
    options: ClassVar[tuple[str, ...]] = ()
    folds_optional: ClassVar[bool] = False
    takes_scoring: ClassVar[bool] = False
    stacks_folds: ClassVar[bool] = False

    @classmethod
    def resolve_cv(cls, cv, n_rows: int | None = None) -> int | None:
        """The folds a ``cv`` setting means for this strategy: ``"auto"`` is :data:`DEFAULT_CV`.

        ``None`` (one validation split) is refused unless :attr:`folds_optional`.
        """
        if isinstance(cv, str) and cv == "auto":
            return DEFAULT_CV
        if cv is None and not cls.folds_optional:
            raise InvalidParameterValue(
                f"cv=None scores on one validation split, which strategy={cls.name!r} does not "
                "do (it scores candidates on folds): pass a number of folds, e.g. cv=3, or "
                "'auto'.")
        if isinstance(cv, str):
            raise InvalidParameterValue(f"cv={cv!r} must be a number of folds (at least 2), "
                                        "'auto', or None (one split, Keras Tuner strategies).")
        return cv

    def __init__(self, settings: SearchSettings):
        self.settings = settings

    def check(self, space) -> None:
        """Refuse, before any training, what this strategy cannot search."""
        if self.owns_epochs and "epochs" in space:
            raise InvalidParameterValue(
                f"strategy={self.name!r} decides how many epochs each trial trains: remove "
                "'epochs' from the space and set max_epochs instead.")
        if self.needs_grid:
            space.to_param_grid()  # raises GridConversionError for continuous dimensions
        if self.settings.task not in self.tasks:
            kinds = {"classification": "classifiers", "regression": "regressors"}
            raise InvalidParameterValue(
                f"strategy={self.name!r} tunes {' and '.join(kinds[t] for t in self.tasks)} "
                f"only (its trials are scored by accuracy), not a {self.settings.task} target; "
                "for regression use 'random', 'grid', 'halving' or 'coarse-to-fine', which "
                "score R^2 on cross-validation folds.")
        if self.settings.scoring not in (None, "accuracy") and not self.takes_scoring:
            raise InvalidParameterValue(
                f"scoring={self.settings.scoring!r}: strategy={self.name!r} scores its trials "
                "by accuracy only. Leave scoring=None, or use 'random', 'grid', 'halving' or "
                "'coarse-to-fine', which score candidates with any scikit-learn scorer.")
        for name in STRATEGY_OPTIONS:
            if name not in self.options and getattr(self.settings, name) is not None:
                users = "strategy='optuna'" if name != "select_best" else "a multi-objective search"
                raise InvalidParameterValue(
                    f"{name}={getattr(self.settings, name)!r} is not read by strategy="
                    f"{self.name!r}; it applies to {users}. Remove it or change the strategy.")

    def expected_fits(self, space) -> int | None:
        """How many fits (or trials) the search records, or None when it decides as it goes."""
        return None

    def is_worker(self) -> bool:
        """True in a worker process of a distributed search: the chief owns the records."""
        return False

    def run(self, job: "SearchJob") -> StrategyOutcome | None:
        """Search ``job.space`` on ``job``'s data; None only in a worker process."""
        raise NotImplementedError(f"{type(self).__name__} must implement run(job).")


class SearchJob:
    """One search on its way: the data, the space, the settings and the folder of its records.

    Made by :meth:`open`, which checks everything it can before any
    training. Strategies read it and build estimators from it.

    Attributes
    ----------
    X, y : training data
    space : SearchSpace
    settings : SearchSettings
    strategy : Strategy
    directory : Path
        The search's folder (a new temporary one when none was given).
    resumed : bool
        True when the folder held this search already and it goes on from there.
    temporary : bool
        True when no ``directory`` was given and the job made a temporary
        folder, which :meth:`close` removes.
    lock : FolderLock or None
        The lock on ``directory`` this process holds while the search runs
        (None in a worker process of a distributed search, which shares the
        chief's folder). :meth:`close` lets go of it.
    prefix : str
        ``"model__"`` when the network sits in a Pipeline after a
        preprocessor, else ``""``: the prefix of the space's names in the
        estimator's parameters.
    memo : FittedMemo
        The search's fitted preprocessing (the ``memory`` of its pipelines):
        the preprocessor is fitted once a fold, not once a candidate and
        fold. Emptied by :meth:`close`; the refitted best pipeline does not
        keep it.
    """

    def __init__(self, X, y, space, settings: SearchSettings, strategy: Strategy,
                 directory: Path, resumed: bool = False):
        self.X, self.y, self.space = X, y, space
        self.settings, self.strategy = settings, strategy
        self.directory, self.resumed = directory, resumed
        self.lock: FolderLock | None = None
        self.temporary = False
        self.prefix = "model__" if settings.preprocessor is not None else ""
        self.memo = FittedMemo()

    @classmethod
    def open(cls, X, y, space, strategy: Strategy) -> "SearchJob":
        """Check the data and the space, lock the folder, then start or continue the search's record.

        The folder stays locked (:class:`~kerastune_kit.locking.FolderLock`)
        until :meth:`close`: another process's search on the same folder is
        refused with :class:`~kerastune_kit.errors.FolderInUse` naming this
        one, before it writes anything.
        """
        from ..space import SearchSpace

        settings = strategy.settings
        if not isinstance(space, SearchSpace):
            raise InvalidParameterType(f"space={space!r} (type {type(space).__name__}) must be a "
                            "SearchSpace; build one with SearchSpace(nodes=Int(16, 256, "
                            "step=16), ...).")
        if len(space) == 0:
            raise InvalidParameterValue("space is empty: add at least one dimension to search.")
        job = cls(X, y, space, settings, strategy, directory=None)
        check_preprocessor(settings.preprocessor)
        template = job.estimator()
        model = template[-1] if job.prefix else template
        model.validate_params()  # estimator_params: names (with suggestions) and values
        known = [k[len(job.prefix):] for k in template.get_params() if k.startswith(job.prefix)]
        space.validate_names(known)
        for name, dimension in space.items():  # every value a trial could be given
            for value in candidate_values(dimension):
                check_param(name, value, where=f"space[{name!r}] = {dimension!r}: ")
        strategy.check(space)
        check_data(X, y, settings, strategy)
        directory = settings.directory
        if directory is not None and Path(directory).exists() and not Path(directory).is_dir():
            raise InvalidParameterValue(
                f"directory={str(directory)!r} is a file, not a folder: pass the folder that "
                "holds (or will hold) the search's records.")
        job.temporary = directory is None
        job.directory = Path(directory) if directory is not None else Path(
            tempfile.mkdtemp(prefix="kerastune-"))
        job.directory.mkdir(parents=True, exist_ok=True)
        if not strategy.is_worker():
            job.lock = FolderLock(job.directory).acquire()
            try:
                job.resumed = open_search(job.directory, settings.record(space, X, y),
                                          resume=settings.resume, record_files=RECORD_FILES,
                                          state_files=STATE_FILES)
            except BaseException:
                job.close()
                raise
        return job

    def close(self, keep_for=None) -> None:
        """Let go of the folder's lock; remove the folder if the job made it as a temporary one.

        A temporary folder (no ``directory`` given) is removed now, or, with
        ``keep_for`` (the search's result), once that object is garbage
        collected or the interpreter exits: its Keras Tuner project stays
        readable as long as the result is in use.
        """
        self.memo.clear()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if not self.temporary:
            return
        if keep_for is None:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            weakref.finalize(keep_for, shutil.rmtree, str(self.directory), True)

    def estimator(self, cls=None, **params):
        """A fresh estimator with the search's fixed parameters (in a Pipeline after the preprocessor)."""
        from sklearn.base import clone
        from sklearn.pipeline import Pipeline

        if cls is None and self.settings.task == "regression":
            from ..regressor import KerasMLPRegressor as cls
        elif cls is None:
            from ..estimators import KerasMLPClassifier as cls
        model = cls(**{**self.settings.estimator_params, **params})
        if self.settings.preprocessor is None:
            return model
        return Pipeline([("preprocess", clone(self.settings.preprocessor)), ("model", model)],
                        memory=self.memo)

    def refit(self, params: Mapping[str, Any]):
        """The estimator with ``params`` (names without prefix), fitted on all of the job's data."""
        estimator = self.estimator()
        estimator.set_params(**{self.prefix + k: v for k, v in params.items()})
        if not self.strategy.stacks_folds:
            return _without_memo(estimator.fit(self.X, self.y))
        from ..fold_batches import fit_together

        [(fitted, error)] = fit_together([lambda: estimator.fit(self.X, self.y)], alone=False)
        if error is not None:
            raise error
        return _without_memo(fitted)


def _without_memo(estimator):
    """A fitted pipeline of the search, no longer holding the search's memo (nor its data,
    nor the memo's marks on its fitted steps)."""
    if isinstance(getattr(estimator, "memory", None), FittedMemo):
        estimator.set_params(memory=None)
        for _, step in estimator.steps[:-1]:
            if hasattr(step, "__dict__"):
                vars(step).pop(FITTED_KEY, None)
    return estimator


def grid_size(space) -> int:
    """The number of combinations of a grid over ``space``."""
    return math.prod(len(values) for values in space.to_param_grid().values())
