"""The Keras Tuner strategies: Hyperband, Bayesian optimisation and random search.

Each trains :class:`~kerastune_kit.MLPHyperModel` trials on a stratified
split carved from the training data (the preprocessor is fitted on the rest
only) and scores them on the held-out part. The oracle (what to try) is
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
from ..trials import trial_row, trials_table
from .base import SearchJob, Strategy, StrategyOutcome, split_for_validation

__all__ = ["KerasTunerStrategy", "HyperbandStrategy", "BayesianStrategy", "KerasTunerRandomStrategy"]


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
        X_train, X_val, y_train, y_val, encoder = split_for_validation(
            job.X, job.y, s.validation_split, s.random_state, s.preprocessor)
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
            tuner.search(X_train, y_train, validation_data=(X_val, y_val), verbose=0,
                         callbacks=as_callback_list(s.callbacks), **search_kwargs)
        except Exception as err:  # a configuration or record error ended the search:
            if isinstance(err.__cause__, (InvalidParameterError, RecordWriteError)):
                raise err.__cause__ from None  # raise it as it was
            raise
        if worker:
            return None
        trials, ordered = self.trials(tuner, job)
        refit: dict[str, Any] = {}
        if "epochs" not in job.space and (trials["status"] == "ok").any():
            best = ordered[int(trials.loc[trials["status"] == "ok", "score"].idxmax())]
            epochs = best.hyperparameters.values.get("tuner/epochs")
            if epochs is not None:
                refit["epochs"] = int(epochs)
        return StrategyOutcome(trials, refit, search=tuner)

    def trials(self, tuner, job: SearchJob):
        """The trials table of a finished tuner (and its trials, in order)."""
        from ..hypermodel import error_line, trial_key

        histories = {}
        for record in read_records(self.histories_path(job)):
            histories[record["key"]] = record["history"]  # the last record of a key wins
        ordered = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
        by_id = {t.trial_id: t for t in ordered}

        def curve(trial, metric: str) -> list[float]:
            # a Hyperband continuation trains on from its parent trial's weights
            hp_values = trial.hyperparameters.values
            own = histories.get(trial_key(hp_values), {}).get(metric, [])
            parent = by_id.get(hp_values.get("tuner/trial_id"))
            return (curve(parent, metric) if parent is not None else []) + own

        rows = []
        unknown = [i for i, trial in enumerate(ordered) if trial.status == "COMPLETED"
                   and trial_key(trial.hyperparameters.values) not in histories]
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
            train_curve = curve(trial, "accuracy")
            own = histories.get(trial_key(trial.hyperparameters.values), {})
            rows.append(trial_row(
                trial=i, strategy=self.name,
                values={name: values.get(name) for name in job.space.names},
                score=float(trial.score) if ok else float("nan"),
                error="" if ok else error_line(trial.message) or f"trial {trial.status.lower()}",
                epochs_trained=len(train_curve),
                fit_time=float(sum(own.get("epoch_seconds", []))),
                train_curve=train_curve, val_curve=curve(trial, "val_accuracy")))
        return trials_table(rows, job.space.names), ordered


class HyperbandStrategy(KerasTunerStrategy):
    name = "hyperband"
    summary = ("Keras Tuner Hyperband: brackets of trials up to max_epochs, the best kept "
               "(factor), on a validation split")
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
        return self.settings.n_trials

    def make_tuner(self, hypermodel, common):
        from ..hypermodel import BayesianOptimization

        return BayesianOptimization(hypermodel, max_trials=self.settings.n_trials, **common)


class KerasTunerRandomStrategy(KerasTunerStrategy):
    name = "kt-random"
    summary = "Keras Tuner RandomSearch: n_trials random trials, on a validation split"

    def expected_fits(self, space) -> int:
        return self.settings.n_trials

    def make_tuner(self, hypermodel, common):
        from ..hypermodel import RandomSearch

        return RandomSearch(hypermodel, max_trials=self.settings.n_trials, **common)
