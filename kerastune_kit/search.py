"""``tune``: one entry point for every search strategy over one SearchSpace, and the registry of strategies.

Strategies
----------
Each strategy is a small class in :mod:`kerastune_kit.strategies`,
registered here under its name (:data:`STRATEGIES`):

``"grid"``, ``"random"``, ``"halving"``
    scikit-learn's GridSearchCV, RandomizedSearchCV and HalvingRandomSearchCV
    (epochs are the resource) over a ``Pipeline(preprocessor, KerasMLPClassifier)``,
    scored by stratified cross-validation on the training data.
``"coarse-to-fine"``
    Rounds of random search; each round's space is narrowed around the best
    trials of the previous one (:meth:`SearchSpace.narrow`).
``"hyperband"``, ``"bayesian"``, ``"kt-random"``
    Keras Tuner's Hyperband, BayesianOptimization and RandomSearch on
    :class:`~kerastune_kit.hypermodel.MLPHyperModel`; each trial trains on
    the ``cv`` stratified folds of the training data and reports their mean
    (:mod:`kerastune_kit.kt_folds`), or with ``cv=None`` on one stratified
    split carved from the training data (the preprocessor is fitted on the
    training part only, fold by fold).
``"optuna"``
    Optuna's samplers (TPE, CMA-ES, GP, random, NSGA-II) and pruners on
    stratified CV folds, one epoch at a time; the study is an SQLite file in
    the search's folder; several objectives give a Pareto front.

Whatever the strategy, the result has the same tidy table: one row per trial
(:mod:`kerastune_kit.trials`). A new strategy is one class and one
:func:`register_strategy` call; ``tune``, the CLI and the docs read the
registry.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ._scoring import resolve_task, score_name
from ._validation import check_choice
from .strategies import (
    BayesianStrategy, CoarseToFineStrategy, GridStrategy, HalvingStrategy, HyperbandStrategy,
    KerasTunerRandomStrategy, OptunaStrategy, RandomStrategy, SearchJob, SearchSettings, Strategy,
)
from .journal import plain
from .sweeps import sweep
from .trials import TRIAL_COLUMNS, TRIAL_TAIL, SearchResult, best_params

__all__ = ["tune", "TuneResult", "sweep", "STRATEGIES", "register_strategy", "expected_fits",
           "TRIAL_COLUMNS", "TRIAL_TAIL"]

#: The strategies ``tune`` knows, by name, in the order the docs and the CLI list them.
STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(strategy: type[Strategy]) -> type[Strategy]:
    """Add a :class:`~kerastune_kit.strategies.Strategy` subclass to :data:`STRATEGIES` (usable as a decorator).

    Examples
    --------
    >>> from kerastune_kit.strategies import RandomStrategy
    >>> class Sampled(RandomStrategy):
    ...     name = "sampled"
    ...     summary = "random search under another name"
    >>> _ = register_strategy(Sampled)
    >>> "sampled" in STRATEGIES
    True
    >>> del STRATEGIES["sampled"]
    """
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise TypeError(f"strategy={strategy!r} must be a subclass of "
                        "kerastune_kit.strategies.Strategy.")
    name = strategy.name
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"{strategy.__name__}.name={name!r} must be a non-empty lower-case "
                         "string, e.g. 'my-search'.")
    if name in STRATEGIES and STRATEGIES[name] is not strategy:
        raise ValueError(f"strategy name {name!r} is taken by {STRATEGIES[name].__name__}; "
                         "choose another name.")
    STRATEGIES[name] = strategy
    return strategy


for _strategy in (GridStrategy, RandomStrategy, HalvingStrategy, CoarseToFineStrategy,
                  HyperbandStrategy, BayesianStrategy, KerasTunerRandomStrategy, OptunaStrategy):
    register_strategy(_strategy)


def _strategy_class(name) -> type[Strategy]:
    return STRATEGIES[check_choice("strategy", name, STRATEGIES, what="strategy")]


def expected_fits(strategy: str, space, *, n_trials: int = 10, cv: int | str | None = "auto",
                  rounds: int = 2, n_rows: int | None = None) -> int | None:
    """How many fits (or trials) a search records, or None when the strategy decides as it goes.

    ``cv`` and ``n_rows`` (the training rows, for ``cv="auto"``) are ``tune``'s.
    """
    cls = _strategy_class(strategy)
    cv = cls.resolve_cv(cv, n_rows)
    return cls(SearchSettings(strategy=cls.name, n_trials=n_trials, cv=cv,
                              rounds=rounds)).expected_fits(space)


@dataclass(repr=False)
class TuneResult(SearchResult):
    """What a search found.

    Attributes
    ----------
    trials : DataFrame
        One row per trial, the same columns for every strategy:
        ``trial, round, strategy, status ("ok"/"failed"/"pruned"), score, score_std``,
        one column per searched parameter, then ``epochs_trained, fit_time``
        (seconds), ``error`` and ``train_curve`` / ``val_curve`` (per-epoch
        accuracy lists, the loss for regression; mean curves over folds).
        ``score`` is the mean cross-validated accuracy (R^2 for regression,
        or ``tune``'s ``scoring``: see ``scoring_``), ``score_std`` its standard deviation over
        the folds; a Keras Tuner trial on folds scores each fold at its best
        epoch, and with ``cv=None`` ``score`` is the best validation accuracy
        of its one split. ``val_loss`` is the validation loss at those epochs
        (mean over folds; NaN for the scikit-learn strategies). The best
        trial has the highest score; among equal scores, the lowest
        ``val_loss``; then the first.
    best_params_ : dict
    best_score_ : float
    task_ : {"classification", "regression"}
    scoring_ : str
        The name of the ``score`` column's score: ``"accuracy"``, ``"r2"``, or
        ``tune``'s ``scoring``.
    best_estimator_ : estimator
        ``KerasMLPClassifier`` (``KerasMLPRegressor`` for regression) with the
        best parameters (inside a Pipeline when
        a preprocessor was used), refitted on the training data it was given.
        For the scikit-learn strategies it keeps the candidates'
        ``validation_split`` (its validation curve and early stopping come
        from that part); for Keras Tuner strategies it trains on all of it for
        ``refit_epochs_`` epochs.
    refit_epochs_ : int or None
        Keras Tuner strategies: the epochs of the refit, the median of the
        best trial's folds' best epochs, never fewer than the trial's own
        budget (its Hyperband epochs, or its ``epochs``).
    refit_rule_ : str
        Which of the two set ``refit_epochs_``, with the numbers.
    baseline_ : DataFrame or None
        :func:`~kerastune_kit.compare_with_baseline` of the best estimator.
    spaces_ : list of SearchSpace
        The space of each round (one entry except for coarse-to-fine).
    search_ : object
        The strategy's search object (scikit-learn search, Keras Tuner tuner,
        Optuna study).
    preprocessing_ : str or None
        What ``preprocessor="auto"`` chose and why (None when one was given).
    pareto_front_ : DataFrame or None
        A multi-objective search's non-dominated trials (rows of ``trials``,
        whose ``pareto`` column marks them), best accuracy first; None for
        one objective. ``best_*`` describe the trial chosen from it.
    """

    best_estimator_: Any = None
    spaces_: list = field(default_factory=list)
    search_: Any = None
    preprocessing_: str | None = None
    pareto_front_: Any = None
    refit_epochs_: int | None = None
    refit_rule_: str = ""


def tune(
    X,
    y,
    space,
    *,
    strategy: str = "random",
    n_trials: int = 10,
    cv: int | str | None = "auto",
    validation_split: float = 0.2,
    preprocessor="auto",
    estimator_params: Mapping[str, Any] | None = None,
    max_epochs: int = 10,
    factor: int = 3,
    rounds: int = 2,
    top_k: int = 3,
    callbacks=None,
    directory=None,
    project_name: str = "kerastune",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    compare_baseline: bool = True,
    resume: bool = False,
    max_consecutive_failures: int | None = 10,
    task: str = "auto",
    scoring: str | None = None,
    sampler: Any = None,
    pruner: Any = None,
    objectives: Sequence[str] | None = None,
    select_best: Any = None,
) -> TuneResult | None:
    """Search ``space`` with one strategy and return a :class:`TuneResult`.

    Parameters
    ----------
    X, y : training data (DataFrame or array; labels may be strings)
        Only training data: keep the test split for one final score.
    space : SearchSpace
        Names are ``KerasMLPClassifier`` parameters (``nodes``,
        ``learning_rate``, ``batch_size``, ``epochs``, ... and, for the
        scikit-learn strategies, nested ones such as
        ``callbacks__schedule__drop``).
    strategy : str, default "random"
        A name in :data:`STRATEGIES` (``"grid"``, ``"random"``, ``"halving"``,
        ``"coarse-to-fine"``, ``"hyperband"``, ``"bayesian"``, ``"kt-random"``,
        ``"optuna"``, and any registered with :func:`register_strategy`).
    n_trials : int, default 10
        Candidates for "random", "kt-random", "bayesian", and per round for
        "coarse-to-fine". "grid" tries every combination; "hyperband" and
        "halving" decide their own numbers.
    cv : int, "auto" or None, default "auto"
        Stratified folds of the training data that score each candidate:
        every fit of the scikit-learn strategies, every trial (and every
        Hyperband round of a trial) of the Keras Tuner strategies, which
        report the folds' mean validation accuracy to their oracle. ``None``
        (Keras Tuner strategies only): one validation split of
        ``validation_split``, as Keras Tuner does. ``"auto"``: 3 folds,
        except for the Keras Tuner strategies on 5,000 training rows or more
        (``FOLDS_BELOW_ROWS``), which use one split there (a 20% split then
        holds 1,000 rows or more, and folds cost ``cv`` times the training).
        The baseline comparison uses ``cv`` folds (3 with one split).
    validation_split : float, default 0.2
        Fraction held out, stratified, for validation curves and early
        stopping: of each training fold (scikit-learn strategies; the scoring
        fold is never shown to the network) or, with ``cv=None``, of the
        training data (Keras Tuner strategies, whose trials are scored on it). An explicit
        ``estimator_params["validation_split"]`` wins for the scikit-learn
        strategies.
    preprocessor : transformer, "auto" or None, default "auto"
        Fitted on training folds only. ``"auto"``:
        :func:`~kerastune_kit.make_preprocessor` when ``X`` is a DataFrame
        with categories or missing values, none for all-numeric data
        (:func:`~kerastune_kit.datasets.resolve_preprocessor`); the result's
        ``preprocessing_`` and ``summary()`` say which. None: no preprocessing.
    estimator_params : dict, optional
        Fixed ``KerasMLPClassifier`` parameters (``epochs``, ``dropout``, ...).
    max_epochs, factor : int
        Hyperband's settings; ``max_epochs`` is also the top resource of "halving".
    rounds, top_k : int
        "coarse-to-fine": number of rounds, and best trials to zoom in on.
    callbacks : list or CallbackSet, optional
        The same callback objects serve every strategy.
    directory : path, optional
        The search's folder: its settings (``search.json``), a record of
        every finished fit or trial, written as each one finishes, and Keras
        Tuner's project. By default a new temporary folder, removed when
        the result is garbage collected (or the process exits), or at once
        when the search fails; give a folder to keep the records and to be
        able to resume. One search at a time: the folder is locked while
        the search runs, and a search started on it by another process is
        refused with :class:`~kerastune_kit.errors.FolderInUse` naming the
        holder (the lock dies with its process, even a killed one). Keras
        Tuner's worker processes share their chief's folder.
    random_state : int or None, default 0
        Seeds sampling, splits, every network's initial weights, dropout and
        shuffling: two runs with the same seed give the same trials and
        scores (see the README's "Reproducibility").
    n_jobs : int, optional
        Parallel fits for the scikit-learn strategies (any joblib backend,
        e.g. Dask's, applies).
    resume : bool, default False
        Continue the search recorded in ``directory`` (killed, stopped or
        finished): fits and trials that finished are not run again, the ones
        that were running are, and the result equals an uninterrupted run's.
        The data and settings must be those of the recorded search (else a
        ValueError says what differs); ``n_jobs`` may change. With no search
        recorded there, a new one starts. ``resume=False`` starts afresh and
        replaces the folder's earlier records.
    max_consecutive_failures : int or None, default 10
        Stop with :class:`~kerastune_kit.errors.TooManyFailures` when this
        many trials in a row have failed (a NaN loss, an error); finished
        trials stay recorded, so a search stopped this way can resume with a
        higher limit. None never stops. Failed trials get status "failed",
        score NaN (scikit-learn's ``error_score``) and their error in the
        trials table.

    compare_baseline : bool, default True
        Compare the best estimator with a linear model on the same folds:
        logistic regression (accuracy), or ``RidgeCV`` for regression (R^2).
    task : {"auto", "classification", "regression"}, default "auto"
        ``"regression"`` tunes a :class:`~kerastune_kit.KerasMLPRegressor`
        (``KFold`` folds scored by R^2; the Keras Tuner strategies are
        classification only). ``"auto"`` reads it from ``y``: text or at most
        10 distinct integers are classes, non-integer numbers or at least 30
        distinct values a regression target; anything between is refused with
        a message asking for ``task``.
    scoring : str, optional
        The name of a scikit-learn scorer (:func:`sklearn.metrics.get_scorer_names`)
        that fits the task, e.g. ``"neg_mean_absolute_error"`` or
        ``"balanced_accuracy"``; it scores every candidate on its fold and the
        comparison with the baseline, and the result, its summary and the
        report name it (``scoring_``). None (the default): the estimator's own
        score, accuracy or R^2. The scikit-learn strategies take any; the Keras
        Tuner and Optuna strategies score by accuracy only. A name that is not
        a scorer, or scores the other task, is refused before anything trains,
        with the names that fit.
    sampler : str or optuna sampler, optional
        ``strategy="optuna"`` only: ``"tpe"`` (the default for one
        objective), ``"cmaes"``, ``"gp"`` (needs PyTorch), ``"random"``,
        ``"nsga2"`` (the default for several objectives), or an
        ``optuna.samplers`` object. Named samplers are seeded from
        ``random_state`` (each process and each resume with its own seed).
    pruner : str or optuna pruner, optional
        ``strategy="optuna"`` only: ``"median"``, ``"halving"`` (successive
        halving, ``factor``), ``"hyperband"`` (``factor``), an
        ``optuna.pruners`` object, or None (no pruning). Each trial reports
        its mean accuracy on the scoring folds after every epoch (``step`` =
        epochs trained); a pruned trial gets status "pruned" and keeps its
        score so far and the epochs it trained. With ``strategy="optuna"``
        ``n_jobs`` is the number of processes sharing the study (see the
        README's Optuna section).
    objectives : tuple of str, optional
        ``strategy="optuna"`` only: several of ``"accuracy"`` (maximised),
        ``"n_params"``, ``"fit_time"``, ``"predict_latency"`` (minimised)
        make a Pareto search (NSGA-II unless ``sampler`` says otherwise; no
        pruning). ``"accuracy"`` must be one of them.
    select_best : callable, optional
        Multi-objective searches: ``select_best(front) -> trial`` picks the
        trial to refit from the Pareto front (a trials-table DataFrame).
        By default (:func:`kerastune_kit.pareto.smallest_within_noise`): the
        trials whose accuracy is within one standard error (across folds) of
        the best, and of those the one lowest in the next objective.

    Returns
    -------
    TuneResult, or None in a Keras Tuner worker process
        With ``KERASTUNER_TUNER_ID`` set to a worker's id (Keras Tuner's
        distributed mode), ``tune`` runs the trials the chief hands out and
        returns None; the chief's call returns the result.
    """
    cls = _strategy_class(strategy)
    task = resolve_task(y, task)
    from .datasets import resolve_preprocessor  # scikit-learn: not when the registry is read

    preprocessor, preprocessing = resolve_preprocessor(preprocessor, X)
    settings = SearchSettings.complete(
        cls, n_trials=n_trials, cv=cv, n_rows=_n_rows(y), validation_split=validation_split,
        preprocessor=preprocessor, estimator_params=estimator_params, max_epochs=max_epochs,
        factor=factor, rounds=rounds, top_k=top_k, callbacks=callbacks, directory=directory,
        project_name=project_name, random_state=random_state, n_jobs=n_jobs,
        compare_baseline=compare_baseline, resume=resume,
        max_consecutive_failures=max_consecutive_failures, task=task, scoring=scoring,
        sampler=sampler,
        pruner=pruner, objectives=None if objectives is None else (
            tuple(objectives) if isinstance(objectives, list) else objectives),
        select_best=select_best)
    job = SearchJob.open(X, y, space, cls(settings))
    result = None
    try:
        outcome = job.strategy.run(job)
        if outcome is None:  # a worker process of a distributed search: the chief reports
            return None
        trials = outcome.trials
        failed = trials[trials["status"] == "failed"]
        if len(failed):
            warnings.warn(f"{len(failed)} of {len(trials)} trials failed (first error: "
                          f"{failed['error'].iloc[0]}); see the trials table's error column.",
                          UserWarning, stacklevel=2)
        if outcome.best is None:
            best = best_params(trials, space.names)
            best_score = float(trials.loc[trials["status"] == "ok", "score"].max())
        else:  # the strategy chose (a multi-objective search)
            best = {name: plain(trials.loc[outcome.best, name]) for name in space.names}
            best_score = float(trials.loc[outcome.best, "score"])
        best_estimator = job.refit({**best, **outcome.refit_params})
        baseline = None
        if compare_baseline:
            from sklearn.base import clone

            from .baseline import compare_with_baseline

            baseline = compare_with_baseline(
                clone(best_estimator), X, y, preprocessor=preprocessor, cv=settings.baseline_cv,
                scoring=settings.scoring or "auto",
                random_state=0 if random_state is None else random_state)
        result = TuneResult(
            trials=trials, best_params_=best, best_score_=best_score,
            strategy=settings.strategy, space=space, baseline_=baseline,
            best_estimator_=best_estimator, spaces_=outcome.spaces or [space],
            search_=outcome.search, preprocessing_=preprocessing,
            pareto_front_=outcome.pareto_front,
            refit_epochs_=outcome.refit_params.get("epochs"), refit_rule_=outcome.refit_rule,
            task_=task, scoring_=score_name(settings.scoring, task))
        return result
    finally:
        job.close(keep_for=result)  # a temporary folder lives as long as the result


def _n_rows(y) -> int | None:
    """The number of training rows (for ``cv="auto"``), or None when ``y`` has no length."""
    try:
        return len(y)
    except TypeError:
        return None
