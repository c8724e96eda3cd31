"""``tune``: one entry point for scikit-learn and Keras Tuner searches over one SearchSpace.

Strategies
----------
``"grid"``, ``"random"``, ``"halving"``
    scikit-learn's GridSearchCV, RandomizedSearchCV and HalvingRandomSearchCV
    (epochs are the resource) over a ``Pipeline(preprocessor, KerasMLPClassifier)``,
    scored by stratified cross-validation on the training data.
``"hyperband"``, ``"bayesian"``, ``"kt-random"``
    Keras Tuner's Hyperband, BayesianOptimization and RandomSearch on
    :class:`~kerastune_kit.hypermodel.MLPHyperModel`, validated on a
    stratified split carved from the training data (the preprocessor is
    fitted on the rest only).
``"coarse-to-fine"``
    Rounds of random search; each round's space is narrowed around the best
    trials of the previous one (:meth:`SearchSpace.narrow`).

Whatever the strategy, the result has the same tidy table: one row per trial.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder

from . import _resumable
from ._columns import TRIAL_COLUMNS, TRIAL_TAIL
from ._validation import check_choice, check_number, check_positive_int
from .baseline import compare_with_baseline
from .callbacks import as_callback_list
from .estimators import KerasMLPClassifier, _check_features, _check_labels
from .journal import data_fingerprint, open_search, plain, read_records, stable_repr, values_key
from .space import SearchSpace

__all__ = ["tune", "TuneResult", "sweep", "STRATEGIES", "TRIAL_COLUMNS"]

STRATEGIES = ("grid", "random", "halving", "hyperband", "bayesian", "kt-random", "coarse-to-fine")
_KERAS_TUNER = ("hyperband", "bayesian", "kt-random")



@dataclass
class TuneResult:
    """What a search found.

    Attributes
    ----------
    trials : DataFrame
        One row per trial, the same columns for every strategy:
        ``trial, round, strategy, status ("ok"/"failed"), score, score_std``,
        one column per searched parameter, then ``epochs_trained, fit_time``
        (seconds) and ``train_curve`` / ``val_curve`` (per-epoch accuracy lists).
        ``score`` is the mean cross-validated accuracy (scikit-learn
        strategies) or the best validation accuracy (Keras Tuner strategies).
    best_params_ : dict
    best_score_ : float
    best_estimator_ : estimator
        ``KerasMLPClassifier`` with the best parameters (inside a Pipeline when
        a preprocessor was used), refitted on the training data it was given.
        For the scikit-learn strategies it keeps the candidates'
        ``validation_split`` (its validation curve and early stopping come
        from that part); for Keras Tuner strategies it trains on all of it for
        the best trial's number of epochs.
    baseline_ : DataFrame or None
        :func:`~kerastune_kit.compare_with_baseline` of the best estimator.
    spaces_ : list of SearchSpace
        The space of each round (one entry except for coarse-to-fine).
    """

    trials: pd.DataFrame
    best_params_: dict
    best_score_: float
    best_estimator_: Any
    strategy: str
    space: SearchSpace
    baseline_: pd.DataFrame | None = None
    spaces_: list = field(default_factory=list)
    search_: Any = None

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` best finished trials, best first, without the curve columns."""
        ok = self.trials[self.trials["status"] == "ok"]
        return ok.sort_values("score", ascending=False).head(k).drop(
            columns=["train_curve", "val_curve", "error"], errors="ignore")

    def __repr__(self) -> str:
        n_ok = int((self.trials["status"] == "ok").sum())
        return (f"TuneResult(strategy={self.strategy!r}, trials={len(self.trials)} ({n_ok} ok), "
                f"best_score_={self.best_score_:.4f}, best_params_={self.best_params_})")


def tune(
    X,
    y,
    space: SearchSpace,
    *,
    strategy: str = "random",
    n_trials: int = 10,
    cv: int = 3,
    validation_split: float = 0.2,
    preprocessor=None,
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
) -> TuneResult:
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
    strategy : {"grid", "random", "halving", "hyperband", "bayesian", "kt-random", "coarse-to-fine"}
    n_trials : int, default 10
        Candidates for "random", "kt-random", "bayesian", and per round for
        "coarse-to-fine". "grid" tries every combination; "hyperband" and
        "halving" decide their own numbers.
    cv : int, default 3
        Stratified folds for the scikit-learn strategies and the baseline.
    validation_split : float, default 0.2
        Fraction held out, stratified, for validation curves and early
        stopping: of each training fold (scikit-learn strategies; the scoring
        fold is never shown to the network) or of the training data (Keras
        Tuner strategies, whose trials are scored on it). An explicit
        ``estimator_params["validation_split"]`` wins for the scikit-learn
        strategies.
    preprocessor : transformer, optional
        E.g. :func:`~kerastune_kit.make_preprocessor`; fitted on training
        folds only.
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
        Tuner's project. A new temporary folder by default; give one to be
        able to resume.
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
        Stop with :class:`~kerastune_kit.hypermodel.TooManyFailures` when this
        many trials in a row have failed (a NaN loss, an error); finished
        trials stay recorded, so a search stopped this way can resume with a
        higher limit. None never stops. Failed trials get status "failed",
        score NaN (scikit-learn's ``error_score``) and their error in the
        trials table.

    Returns
    -------
    TuneResult, or None in a Keras Tuner worker process
        With ``KERASTUNER_TUNER_ID`` set to a worker's id (Keras Tuner's
        distributed mode), ``tune`` runs the trials the chief hands out and
        returns None; the chief's call returns the result.
    compare_baseline : bool, default True
        Compare the best estimator with logistic regression on the same folds.
    """
    strategy = check_choice("strategy", strategy, STRATEGIES, what="strategy")
    check_positive_int("n_trials", n_trials)
    check_positive_int("cv", cv)
    check_number("validation_split", validation_split, low=0, high=1,
                 low_inclusive=False, high_inclusive=False)
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space={space!r} (type {type(space).__name__}) must be a SearchSpace; "
                        "build one with SearchSpace(nodes=Int(16, 256, step=16), ...).")
    if len(space) == 0:
        raise ValueError("space is empty: add at least one dimension to search.")
    estimator_params = dict(estimator_params or {})
    if random_state is not None:
        estimator_params.setdefault("random_state", random_state)
    if callbacks is not None:
        estimator_params["callbacks"] = callbacks
    if strategy not in _KERAS_TUNER:
        estimator_params.setdefault("validation_split", validation_split)
    if not isinstance(resume, bool):
        raise TypeError(f"resume={resume!r} (type {type(resume).__name__}) must be True or False.")
    if resume and directory is None:
        raise ValueError("resume=True continues the search recorded in a folder: pass "
                         "directory= with the folder of the search to continue.")
    if max_consecutive_failures is not None:
        check_positive_int("max_consecutive_failures", max_consecutive_failures)
    workdir = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="kerastune-"))
    workdir.mkdir(parents=True, exist_ok=True)

    template = _make_estimator(preprocessor, estimator_params)
    prefix = "model__" if preprocessor is not None else ""
    known = [k[len(prefix):] for k in template.get_params() if k.startswith(prefix)]
    space.validate_names(known)

    if strategy in ("hyperband", "halving") and "epochs" in space:
        raise ValueError(
            f"strategy={strategy!r} decides how many epochs each trial trains: remove 'epochs' "
            "from the space and set max_epochs instead.")
    if strategy == "grid":
        space.to_param_grid()  # refuses continuous dimensions before any training
    if preprocessor is None:
        _check_features("tune", X)  # raw categories/NaN need preprocessor=make_preprocessor()
    _check_class_sizes(y, cv if strategy not in _KERAS_TUNER or compare_baseline else 2)

    resumed = False
    if not _is_keras_tuner_worker():  # the chief owns the folder's records
        settings = dict(
            strategy=strategy, space=json.loads(space.to_json()), n_trials=n_trials, cv=cv,
            validation_split=validation_split, max_epochs=max_epochs, factor=factor,
            rounds=rounds, top_k=top_k, random_state=random_state,
            preprocessor=stable_repr(preprocessor), project_name=project_name,
            estimator_params={k: stable_repr(v) for k, v in sorted(estimator_params.items())},
            data=data_fingerprint(X, y))
        resumed = open_search(workdir, settings, resume=resume, record_files=(
            "trials.jsonl", "round*.jsonl", f"{project_name}-histories.jsonl"))
    limits = dict(resume=resumed, max_consecutive_failures=max_consecutive_failures)
    journaled = _make_estimator(preprocessor, estimator_params, _resumable.JournaledMLPClassifier)

    spaces = [space]
    if strategy in _KERAS_TUNER:
        if _is_keras_tuner_worker():
            # Distributed Keras Tuner (KERASTUNER_* variables): a worker runs
            # the trials the chief's oracle hands out; the chief gathers results.
            _run_keras_tuner(
                X, y, space, strategy=strategy, n_trials=n_trials,
                validation_split=validation_split, preprocessor=preprocessor,
                estimator_params=estimator_params, max_epochs=max_epochs, factor=factor,
                callbacks=callbacks, directory=workdir, project_name=project_name,
                random_state=random_state, worker=True, **limits)
            return None
        trials, best_params, extra = _run_keras_tuner(
            X, y, space, strategy=strategy, n_trials=n_trials, validation_split=validation_split,
            preprocessor=preprocessor, estimator_params=estimator_params, max_epochs=max_epochs,
            factor=factor, callbacks=callbacks, directory=workdir, project_name=project_name,
            random_state=random_state, **limits)
        search = extra.pop("tuner")
        refit_params = {**best_params, **extra}
    elif strategy == "coarse-to-fine":
        tables, current = [], space
        for round_ in range(rounds):
            search = _run_sklearn("random", X, y, current, journaled, prefix, n_trials=n_trials,
                                  cv=cv, max_epochs=max_epochs, factor=factor,
                                  random_state=None if random_state is None else random_state + round_,
                                  n_jobs=n_jobs, records=workdir / f"round{round_}.jsonl", **limits)
            table = _sklearn_trials(search, current, prefix, "coarse-to-fine",
                                    workdir / f"round{round_}.jsonl", round_)
            tables.append(table)
            ok = table[table["status"] == "ok"].sort_values("score", ascending=False)
            if round_ + 1 < rounds and len(ok):
                good = ok.head(top_k)[current.names].to_dict("records")
                current = current.narrow(good)
                spaces.append(current)
        trials = pd.concat(tables, ignore_index=True)
        trials["trial"] = np.arange(len(trials))
        best_params = _best_row_params(trials, space.names)
        refit_params = best_params
    else:
        records = workdir / "trials.jsonl"
        search = _run_sklearn(strategy, X, y, space, journaled, prefix, n_trials=n_trials, cv=cv,
                              max_epochs=max_epochs, factor=factor, random_state=random_state,
                              n_jobs=n_jobs, records=records, **limits)
        trials = _sklearn_trials(search, space, prefix, strategy, records, 0)
        best_params = _best_row_params(trials, space.names)
        refit_params = dict(best_params)
        if strategy == "halving":
            refit_params["epochs"] = int(trials.loc[trials["score"].idxmax(), "epochs_trained"])

    failed = trials[trials["status"] != "ok"]
    if len(failed):
        warnings.warn(f"{len(failed)} of {len(trials)} trials failed (first error: "
                      f"{failed['error'].iloc[0]}); see the trials table's error column.",
                      UserWarning, stacklevel=2)
    best_estimator = clone(template).set_params(**{prefix + k: v for k, v in refit_params.items()})
    best_estimator.fit(X, y)
    baseline = None
    if compare_baseline:
        baseline = compare_with_baseline(
            clone(best_estimator), X, y, preprocessor=preprocessor, cv=cv,
            random_state=0 if random_state is None else random_state,
            names=("keras_mlp", "logreg_baseline"))
    return TuneResult(
        trials=trials, best_params_=best_params,
        best_score_=float(trials.loc[trials["status"] == "ok", "score"].max()),
        best_estimator_=best_estimator, strategy=strategy, space=space, baseline_=baseline,
        spaces_=spaces, search_=search)


# ----------------------------------------------------------------------
# scikit-learn strategies
# ----------------------------------------------------------------------
def _check_class_sizes(y, folds: int) -> None:
    """Every class needs a row in each of ``folds`` stratified folds (or in both parts of a split)."""
    labels, counts = np.unique(_check_labels("tune", y).astype(str), return_counts=True)
    small = {label: int(n) for label, n in zip(labels, counts) if n < folds}
    if small:
        raise ValueError(
            f"too few samples for cv={folds}: class(es) {small} have fewer rows than folds, so "
            "some training folds would miss them. Lower cv, merge rare classes, or gather "
            "more rows.")


def _make_estimator(preprocessor, estimator_params, cls=KerasMLPClassifier):
    model = cls(**estimator_params)
    if preprocessor is None:
        return model
    return Pipeline([("preprocess", clone(preprocessor)), ("model", model)])


def _run_sklearn(strategy, X, y, space, template, prefix, *, n_trials, cv, max_epochs, factor,
                 random_state, n_jobs, records, resume, max_consecutive_failures):
    """Run one scikit-learn search whose fits are journaled in ``records`` (and replayed when resuming)."""
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    names = list(space.names)
    template = clone(template).set_params(**{prefix + "journal": str(records),
                                             prefix + "replay": resume})
    common = dict(cv=folds, n_jobs=n_jobs, error_score=np.nan, refit=False,
                  return_train_score=False,  # the scorer records (and replays) test scores
                  scoring=_resumable.RecordingScorer(records, names + ["epochs"]))
    if strategy == "grid":
        search = _resumable.GridSearch(template, space.to_param_grid(prefix), **common)
    elif strategy == "random":
        search = _resumable.RandomSearch(template, space.to_param_distributions(prefix),
                                         n_iter=n_trials, random_state=random_state, **common)
    else:  # halving: epochs are the resource
        search = _resumable.HalvingSearch(
            template, space.to_param_distributions(prefix), resource=prefix + "epochs",
            max_resources=max_epochs, min_resources=max(1, max_epochs // factor ** 2),
            factor=factor, n_candidates=n_trials, random_state=random_state, **common)
    search._failure_limit, search._journal_path = max_consecutive_failures, str(records)
    with warnings.catch_warnings():
        # failed fits score NaN on purpose (they are reported in the trials table)
        warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
        return search.fit(X, y)


def _read_records(path: Path, names: Sequence[str] = ()) -> dict[str, list[dict]]:
    """The journal's finished fits, grouped by their searched values.

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


def _mean_curve(histories: list[dict], key: str) -> list[float]:
    curves = [h[key] for h in histories if h.get(key)]
    if not curves:
        return []
    length = min(len(c) for c in curves)
    return [float(np.mean([c[i] for c in curves])) for i in range(length)]


def _sklearn_trials(search, space, prefix, strategy, records, round_) -> pd.DataFrame:
    results = search.cv_results_
    recorded = _read_records(records, [*space.names, "epochs"])
    rows = []
    for i, params in enumerate(results["params"]):
        values = {name: params.get(prefix + name) for name in space.names}
        epochs = params.get(prefix + "epochs", search.estimator.get_params().get(prefix + "epochs"))
        fits = recorded.get(values_key({**values, "epochs": epochs}), [])
        histories = [r["history"] for r in fits if r.get("status") == "ok"]
        errors = [r["error"] for r in fits if r.get("status") == "failed"]
        times = [r["fit_time"] for r in fits if r.get("fit_time") is not None]
        score = results["mean_test_score"][i]
        rows.append({
            "trial": i, "round": round_, "strategy": strategy,
            "status": "failed" if np.isnan(score) else "ok",
            "score": float(score), "score_std": float(results["std_test_score"][i]),
            **values,
            "epochs_trained": int(np.median([len(h["loss"]) for h in histories])) if histories else epochs,
            # recorded times: a resumed search replays finished fits in no time
            "fit_time": float(np.mean(times)) if times else float(results["mean_fit_time"][i]),
            "error": (errors[0] if errors else "unknown error") if np.isnan(score) else "",
            "train_curve": _mean_curve(histories, "accuracy"),
            "val_curve": _mean_curve(histories, "val_accuracy"),
        })
    return pd.DataFrame(rows, columns=[*TRIAL_COLUMNS, *space.names, *TRIAL_TAIL])


def _best_row_params(trials: pd.DataFrame, names: Sequence[str]) -> dict:
    ok = trials[trials["status"] == "ok"]
    if ok.empty:
        raise RuntimeError("every trial failed; see the trials table's status column and the "
                           "warnings above, and narrow the space (e.g. lower learning rates).")
    row = ok.loc[ok["score"].idxmax()]
    return {name: plain(row[name]) for name in names}


# ----------------------------------------------------------------------
# Keras Tuner strategies
# ----------------------------------------------------------------------
def _holdout(X, y, fraction, seed, preprocessor):
    """Stratified train/validation split of the training data; preprocessing fitted on the train part."""
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=fraction, stratify=y, random_state=seed)
    if preprocessor is not None:
        fitted = clone(preprocessor).fit(X_train)
        X_train, X_val = fitted.transform(X_train), fitted.transform(X_val)
    encoder = LabelEncoder().fit(y)
    as_float = lambda a: np.asarray(a, dtype="float32")  # noqa: E731
    return (as_float(X_train), as_float(X_val), encoder.transform(y_train),
            encoder.transform(y_val), encoder)


def _keras_tuner_seed(random_state: int | None) -> int | None:
    """Keras Tuner's oracle seed for a random_state.

    Keras Tuner reads ``seed or random.randint(1, 10000)``, so seed 0 means
    "draw one from Python's global random state" and a search with
    random_state=0 would not repeat. Shifting by one keeps every seed distinct
    and none of them 0.
    """
    return None if random_state is None else int(random_state) + 1


def _is_keras_tuner_worker() -> bool:
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    return tuner_id is not None and tuner_id != "chief"


def _run_keras_tuner(X, y, space, *, strategy, n_trials, validation_split, preprocessor,
                     estimator_params, max_epochs, factor, callbacks, directory, project_name,
                     random_state, resume, max_consecutive_failures, worker=False):
    from .hypermodel import FIT_PARAMS, BayesianOptimization, Hyperband, MLPHyperModel, RandomSearch
    from .hypermodel import error_line, trial_key

    X_train, X_val, y_train, y_val, encoder = _holdout(X, y, validation_split, random_state,
                                                       preprocessor)
    builder_fixed = {k: v for k, v in estimator_params.items()
                     if k in KerasMLPClassifier._signature_params() and k not in (
                         "callbacks", "random_state", "verbose", "validation_split", "shuffle",
                         "class_weight", "warm_start", "validation_batch_size", "epochs",
                         "batch_size")}
    fixed = {**builder_fixed, **{k: estimator_params[k] for k in FIT_PARAMS if k in estimator_params}}
    fixed.setdefault("batch_size", KerasMLPClassifier().batch_size)
    records = Path(directory) / f"{project_name}-histories.jsonl"  # emptied by open_search
    hypermodel = MLPHyperModel(space, input_shape=X_train.shape[1:],
                               n_classes=len(encoder.classes_), fixed=fixed, seed=random_state,
                               record_path=records)
    # only the chief (or a lone process) may clear the shared project folder; a resumed
    # search reloads it: finished trials stay, the ones that were running run again
    common = dict(objective="val_accuracy", directory=str(directory), project_name=project_name,
                  seed=_keras_tuner_seed(random_state), overwrite=not (worker or resume),
                  max_consecutive_failed_trials=max_consecutive_failures)
    if strategy == "hyperband":
        tuner = Hyperband(hypermodel, max_epochs=max_epochs, factor=factor, **common)
    elif strategy == "bayesian":
        tuner = BayesianOptimization(hypermodel, max_trials=n_trials, **common)
    else:
        tuner = RandomSearch(hypermodel, max_trials=n_trials, **common)
    search_kwargs = {}
    if strategy != "hyperband" and "epochs" not in space:
        search_kwargs["epochs"] = fixed.get("epochs", KerasMLPClassifier().epochs)
    tuner.search(X_train, y_train, validation_data=(X_val, y_val), verbose=0,
                 callbacks=as_callback_list(callbacks), **search_kwargs)
    if worker:
        return None

    histories = {}
    for records_of_key in _read_records(records).values():
        histories[records_of_key[-1]["key"]] = records_of_key[-1]["history"]
    ordered = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    by_id = {t.trial_id: t for t in ordered}

    def curve(trial, metric: str) -> list[float]:
        # a Hyperband continuation trains on from its parent trial's weights
        hp_values = trial.hyperparameters.values
        own = histories.get(trial_key(hp_values), {}).get(metric, [])
        parent = by_id.get(hp_values.get("tuner/trial_id"))
        return (curve(parent, metric) if parent is not None else []) + own

    rows = []
    for i, trial in enumerate(ordered):
        values = space.from_keras_tuner_values(trial.hyperparameters.values)
        ok = trial.status == "COMPLETED" and trial.score is not None
        train_curve = curve(trial, "accuracy")
        rows.append({
            "trial": i, "round": 0, "strategy": strategy, "status": "ok" if ok else "failed",
            "score": float(trial.score) if ok else float("nan"), "score_std": float("nan"),
            **{name: values.get(name) for name in space.names},
            "epochs_trained": len(train_curve),
            "fit_time": float(sum(histories.get(trial_key(trial.hyperparameters.values), {})
                                  .get("epoch_seconds", []))),
            "error": "" if ok else error_line(trial.message) or f"trial {trial.status.lower()}",
            "train_curve": train_curve,
            "val_curve": curve(trial, "val_accuracy"),
        })
    trials = pd.DataFrame(rows, columns=[*TRIAL_COLUMNS, *space.names, *TRIAL_TAIL])
    best_params = _best_row_params(trials, space.names)
    extra: dict[str, Any] = {"tuner": tuner}
    if "epochs" not in space:
        best_trial = ordered[int(trials.loc[trials["status"] == "ok", "score"].idxmax())]
        epochs = best_trial.hyperparameters.values.get("tuner/epochs")
        if epochs is not None:
            extra["epochs"] = int(epochs)
    return trials, best_params, extra


# ----------------------------------------------------------------------
# one-factor sweeps
# ----------------------------------------------------------------------
def sweep(
    X,
    y,
    param: str,
    values: Sequence[Any],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    validation_split: float = 0.2,
    preprocessor=None,
    **estimator_params: Any,
) -> pd.DataFrame:
    """Vary one parameter over ``values``, everything else fixed, repeated over ``seeds``.

    Each (value, seed) trains a fresh ``KerasMLPClassifier`` on a stratified
    split of the training data drawn with that seed (the preprocessor is fitted
    on the training part only) and scores it on the held-out part.

    Returns
    -------
    DataFrame
        One row per (value, seed): ``param, value, seed, train_score,
        val_score, epochs_trained, fit_time, train_curve, val_curve``.

    Examples
    --------
    The seeds' "hidden layers 1..99" experiment, on a small scale::

        sweep(X_train, y_train, "n_layers", [1, 2, 4, 8], preprocessor=make_preprocessor())
    """
    check_number("validation_split", validation_split, low=0, high=1,
                 low_inclusive=False, high_inclusive=False)
    if len(values) == 0:
        raise ValueError(f"values=[] for param={param!r}: give at least one value to try.")
    if param not in KerasMLPClassifier._signature_params():
        from ._validation import did_you_mean

        raise ValueError(f"param={param!r} is not a KerasMLPClassifier parameter."
                         + did_you_mean(param, KerasMLPClassifier._signature_params()))
    rows = []
    for seed in seeds:
        X_train, X_val, y_train, y_val, _ = _holdout(X, y, validation_split, seed, preprocessor)
        for value in values:
            est = KerasMLPClassifier(**{**estimator_params, "random_state": seed, param: value})
            started = time.perf_counter()
            est.fit(X_train, y_train, validation_data=(X_val, y_val))
            rows.append({
                "param": param, "value": value, "seed": seed,
                "train_score": float(est.score(X_train, y_train)),
                "val_score": float(est.score(X_val, y_val)),
                "epochs_trained": len(est.history_["loss"]),
                "fit_time": time.perf_counter() - started,
                "train_curve": [float(v) for v in est.history_.get("accuracy", [])],
                "val_curve": [float(v) for v in est.history_.get("val_accuracy", [])],
            })
    return pd.DataFrame(rows)
