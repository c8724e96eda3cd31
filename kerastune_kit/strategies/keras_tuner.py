"""The Keras Tuner strategies: Hyperband, Bayesian optimisation and random search.

Each trains :class:`~kerastune_kit.MLPHyperModel` trials on ``cv``
stratified folds of the training data (the preprocessor is fitted on each
training part only) and reports the mean of the folds' validation accuracies
to the oracle (:mod:`kerastune_kit.kt_folds`); with ``cv=None``, on one
stratified split carved from the training data. ``cv="auto"`` (``tune``'s
default) means 3 folds under :data:`FOLDS_BELOW_ROWS` training rows and one
split from there on. The oracle (what to try) is
Keras Tuner's; the tuners (how to train) are the kit's durable, lean ones
(:mod:`kerastune_kit.hypermodel`). A strategy here writes one hook,
:meth:`KerasTunerStrategy.make_tuner`. With ``KERASTUNER_TUNER_ID`` set to a
worker's id (Keras Tuner's distributed mode) a run trains the trials the
chief hands out and returns None. Keras Tuner is imported when a search
runs, not when the registry is read.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError, RecordWriteError
from ..journal import read_records
from ..locking import is_keras_tuner_worker
from ..trials import best_index, mean_curve, trial_row, trials_table
from .base import DEFAULT_CV, SearchJob, Strategy, StrategyOutcome, split_for_validation

__all__ = ["KerasTunerStrategy", "HyperbandStrategy", "BayesianStrategy",
           "KerasTunerRandomStrategy", "FOLDS_BELOW_ROWS", "folds_for_trials"]

#: ``cv="auto"`` trains Keras Tuner trials on folds below this many training rows, on one
#: validation split from there on (whose 20% then holds 1,000 rows or more).
FOLDS_BELOW_ROWS = 5000


def folds_for_trials(X, y, k: int, seed, preprocessor):
    """``k`` stratified folds of the training data, each preprocessed by a preprocessor fitted on
    its training part only.

    Returns ``(folds, encoder)``: a list of ``(x_train, y_train, x_val,
    y_val)`` float32 features and class codes, and the ``LabelEncoder``.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import LabelEncoder

    encoder = LabelEncoder().fit(y)
    codes = encoder.transform(y)
    folds = []
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    for train, val in splitter.split(np.zeros(len(codes)), codes):
        x_train, x_val = _rows(X, train), _rows(X, val)
        if preprocessor is not None:
            fitted = clone(preprocessor).fit(x_train)
            x_train, x_val = fitted.transform(x_train), fitted.transform(x_val)
        folds.append((np.asarray(x_train, dtype="float32"), codes[train],
                      np.asarray(x_val, dtype="float32"), codes[val]))
    widths = sorted({f[0].shape[1:] for f in folds})
    if len(widths) > 1:
        raise ValueError(
            f"cv={k}: the preprocessor gives the folds different numbers of features "
            f"{widths} (a category missing from some training fold?), so one network cannot "
            "train on all of them. Use fewer folds, merge rare categories, or cv=None (one "
            "split).")
    return folds, encoder


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def _oracle_seed(random_state: int | None) -> int | None:
    """Keras Tuner's oracle seed for a random_state.

    Keras Tuner reads ``seed or random.randint(1, 10000)``, so seed 0 means
    "draw one from Python's global random state" and a search with
    random_state=0 would not repeat. Shifting by one keeps every seed distinct
    and none of them 0.
    """
    return None if random_state is None else int(random_state) + 1


class KerasTunerStrategy(Strategy):
    """Base of the Keras Tuner strategies: build the hypermodel and tuner, search, tabulate.

    Subclasses write :meth:`make_tuner`.
    """

    uses_folds = False
    tasks = ("classification",)
    folds_optional = True

    @classmethod
    def resolve_cv(cls, cv, n_rows=None):
        """``"auto"``: 3 folds under :data:`FOLDS_BELOW_ROWS` rows (or when unknown), else one split."""
        if isinstance(cv, str) and cv == "auto":
            return DEFAULT_CV if n_rows is None or n_rows < FOLDS_BELOW_ROWS else None
        return super().resolve_cv(cv, n_rows)

    def make_tuner(self, hypermodel, common: dict):
        """The tuner to search with; ``common`` holds the options every tuner takes
        (objective, folder, seed, overwrite, failure limit)."""
        raise NotImplementedError

    def is_worker(self) -> bool:
        return is_keras_tuner_worker()

    def histories_path(self, job: SearchJob) -> Path:
        """Every trial's per-epoch history, one JSON line a fit (emptied by a fresh start)."""
        return job.directory / f"{self.settings.project_name}-histories.jsonl"

    def run(self, job: SearchJob) -> StrategyOutcome | None:
        from ..estimators import BUILDER_PARAMS, KerasMLPClassifier
        from ..hypermodel import FIT_PARAMS, MLPHyperModel
        from ..callbacks import as_callback_list

        s = self.settings
        if s.cv is None:
            X_train, X_val, y_train, y_val, encoder = split_for_validation(
                job.X, job.y, s.validation_split, s.random_state, s.preprocessor)
            args, data = (X_train, y_train), dict(validation_data=(X_val, y_val))
        else:
            folds, encoder = folds_for_trials(job.X, job.y, s.cv, s.random_state,
                                              s.preprocessor)
            X_train, args, data = folds[0][0], (), dict(folds=folds)
        fixed = {k: v for k, v in s.estimator_params.items()
                 if k in BUILDER_PARAMS or k in FIT_PARAMS}
        fixed.setdefault("batch_size", KerasMLPClassifier().batch_size)
        hypermodel = MLPHyperModel(job.space, input_shape=X_train.shape[1:],
                                   n_classes=len(encoder.classes_), fixed=fixed,
                                   seed=s.random_state, record_path=self.histories_path(job))
        worker = self.is_worker()
        # only the chief (or a lone process) may clear the shared project folder; a resumed
        # search reloads it: finished trials stay, the ones that were running run again
        tuner = self.make_tuner(hypermodel, dict(
            objective="val_accuracy", directory=str(job.directory),
            project_name=s.project_name, seed=_oracle_seed(s.random_state),
            overwrite=not (worker or job.resumed),
            max_consecutive_failed_trials=s.max_consecutive_failures))
        search_kwargs = {}
        if not self.owns_epochs and "epochs" not in job.space:
            search_kwargs["epochs"] = fixed.get("epochs", KerasMLPClassifier().epochs)
        try:
            tuner.search(*args, verbose=0, callbacks=as_callback_list(s.callbacks), **data,
                         **search_kwargs)
        except Exception as err:  # a configuration or record error ended the search:
            if isinstance(err.__cause__, (InvalidParameterError, RecordWriteError)):
                raise err.__cause__ from None  # raise it as it was
            raise
        if worker:
            return None
        trials, ordered = self.trials(tuner, job)
        refit: dict[str, Any] = {}
        rule = ""
        if (trials["status"] == "ok").any():
            from ..kt_folds import refit_epochs

            best = int(best_index(trials))
            values = ordered[best].hyperparameters.values
            budget = values.get("tuner/epochs", job.space.from_keras_tuner_values(values).get(
                "epochs", search_kwargs.get("epochs")))
            epochs, rule = refit_epochs(budget, self._best_epochs[best])
            if epochs is not None:
                refit["epochs"] = int(epochs)
        return StrategyOutcome(trials, refit, search=tuner, refit_rule=rule)

    def trials(self, tuner, job: SearchJob):
        """The trials table of a finished tuner (and its trials, in order).

        Also keeps each trial's folds' best epochs (one entry with ``cv=None``)
        in ``self._best_epochs``, for the refit's epochs.
        """
        from ..hypermodel import error_line, trial_key

        from ..kt_folds import BEST_EPOCH_METRIC, STD_METRIC, best_epoch

        histories: dict[tuple, dict] = {}
        for record in read_records(self.histories_path(job)):
            # the last record of a (trial, fold) wins: a trial killed part-way ran again whole
            histories[record["key"], record.get("fold")] = record["history"]
        ordered = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
        by_id = {t.trial_id: t for t in ordered}
        folds = [None] if self.settings.cv is None else list(range(self.settings.cv))

        def curve(trial, metric: str, fold) -> list[float]:
            # a Hyperband continuation trains on from its parent trial's weights (fold by fold)
            hp_values = trial.hyperparameters.values
            own = histories.get((trial_key(hp_values), fold), {}).get(metric, [])
            parent = by_id.get(hp_values.get("tuner/trial_id"))
            return (curve(parent, metric, fold) if parent is not None else []) + own

        def metric(trial, name: str) -> float:
            value = trial.metrics.get_last_value(name) if trial.metrics.exists(name) else None
            return float("nan") if value is None else float(value)

        rows, self._best_epochs = [], []
        unknown = [i for i, trial in enumerate(ordered) if trial.status == "COMPLETED"
                   and any((trial_key(trial.hyperparameters.values), fold) not in histories
                           for fold in folds)]
        if unknown:
            path = self.histories_path(job)
            state = "holds no record" if path.exists() else "is missing"
            warnings.warn(
                f"{str(path)!r} {state} of completed trial(s) {', '.join(map(str, unknown))}: "
                "their scores are kept, but their curves and epochs_trained are unknown "
                "(shown as empty and 0). The file was cut short, deleted or replaced; restore "
                "it for the curves, or start afresh with resume=False (without --resume) to "
                "record them again.", UserWarning, stacklevel=2)
        for i, trial in enumerate(ordered):
            values = job.space.from_keras_tuner_values(trial.hyperparameters.values)
            ok = trial.status == "COMPLETED" and trial.score is not None
            # a trial with a fold's history lost shows no curves (the warning above names it)
            curves = {name: [[] if i in unknown else curve(trial, name, fold) for fold in folds]
                      for name in ("accuracy", "val_accuracy", "val_loss")}
            train_curve = mean_curve([{"c": c} for c in curves["accuracy"]], "c")
            key = trial_key(trial.hyperparameters.values)
            seconds = sum(sum(histories.get((key, fold), {}).get("epoch_seconds", []))
                          for fold in folds)
            # each fold's best epoch: reported by a cross-validated trial, else from its curve
            self._best_epochs.append([
                metric(trial, f"{BEST_EPOCH_METRIC}{fold}") if fold is not None else
                best_epoch(acc, loss) + 1 if acc else float("nan")
                for fold, acc, loss in zip(folds, curves["val_accuracy"], curves["val_loss"])])
            rows.append(trial_row(
                trial=i, strategy=self.name,
                values={name: values.get(name) for name in job.space.names},
                score=float(trial.score) if ok else float("nan"),
                score_std=metric(trial, STD_METRIC), val_loss=metric(trial, "val_loss"),
                error="" if ok else error_line(trial.message) or f"trial {trial.status.lower()}",
                epochs_trained=len(train_curve), fit_time=float(seconds),
                train_curve=train_curve,
                val_curve=mean_curve([{"c": c} for c in curves["val_accuracy"]], "c")))
        return trials_table(rows, job.space.names), ordered


class HyperbandStrategy(KerasTunerStrategy):
    name = "hyperband"
    summary = ("Keras Tuner Hyperband: brackets of trials up to max_epochs, the best kept "
               "(factor), on cv folds")
    owns_epochs = True
    uses_n_trials = False

    def make_tuner(self, hypermodel, common):
        from ..hypermodel import Hyperband

        return Hyperband(hypermodel, max_epochs=self.settings.max_epochs,
                         factor=self.settings.factor, **common)


class BayesianStrategy(KerasTunerStrategy):
    name = "bayesian"
    summary = "Keras Tuner BayesianOptimization: n_trials, a Gaussian process picks the next"

    def expected_fits(self, space) -> int:
        return self.settings.n_trials * (self.settings.cv or 1)

    def make_tuner(self, hypermodel, common):
        from ..hypermodel import BayesianOptimization

        return BayesianOptimization(hypermodel, max_trials=self.settings.n_trials, **common)


class KerasTunerRandomStrategy(KerasTunerStrategy):
    name = "kt-random"
    summary = "Keras Tuner RandomSearch: n_trials random trials, on cv folds"

    def expected_fits(self, space) -> int:
        return self.settings.n_trials * (self.settings.cv or 1)

    def make_tuner(self, hypermodel, common):
        from ..hypermodel import RandomSearch

        return RandomSearch(hypermodel, max_trials=self.settings.n_trials, **common)
