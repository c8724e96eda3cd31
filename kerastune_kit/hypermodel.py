"""A Keras Tuner hypermodel over :func:`kerastune_kit.build_mlp`, driven by a SearchSpace.

The same :class:`~kerastune_kit.space.SearchSpace` that gives scikit-learn its
``param_grid`` / ``param_distributions`` gives Keras Tuner its
hyperparameters here, so Hyperband, RandomSearch, BayesianOptimization and
GridSearch tuners search exactly the networks a scikit-learn search would.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import json
import os
import shutil
import time
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import keras
import keras_tuner as kt

from .builders import build_mlp
from .errors import DamagedRecord, InvalidParameterError, RecordWriteError, TooManyFailures
from .estimators import BUILDER_PARAMS
from .fastfit import FastPathHints
from .kt_folds import BestEpochOnce, load_checkpoint, run_folds
from .journal import WRITE_ERRNOS, append_record, values_key, write_error, write_json_atomic
from .space import SearchSpace
from .training import fit_network

__all__ = [
    "MLPHyperModel", "FIT_PARAMS", "EpochTimer", "HistoryRecorder", "trial_key", "Hyperband",
    "BayesianOptimization", "RandomSearch", "TooManyFailures",
]

try:  # not exported by Keras Tuner; without it, its checkpoint runs as it is
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch as _StockBestEpoch
except ImportError:  # pragma: no cover - another Keras Tuner layout
    _StockBestEpoch = None

#: Training settings a space may hold besides the builder's parameters.
FIT_PARAMS = ("batch_size", "epochs")


class EpochTimer(FastPathHints, keras.callbacks.Callback):
    """Write each epoch's wall time into the logs as ``epoch_seconds``.

    Keras Tuner keeps every logged quantity, so a trial's fit time is the sum
    of its ``epoch_seconds`` history.
    """

    def touches_weights(self) -> bool:
        return False  # it reads the clock

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._started


def trial_key(values: Mapping[str, Any]) -> str:
    """A stable text key for a trial's hyperparameter values."""
    return values_key(values)


class HistoryRecorder(FastPathHints, keras.callbacks.Callback):
    """Append one JSON line per finished fit: the trial key, per-epoch logs, steps.

    Keras Tuner 1.4 keeps only the best epoch's metrics of a trial; this keeps
    the whole curve. Lines are appended, so several worker processes can share
    one file.
    """

    def touches_weights(self) -> bool:
        return False  # it reads the logs

    def __init__(self, path, key: str, fold: int | None = None):
        super().__init__()
        self.path = Path(path)
        self.key = key
        self.fold = fold

    def on_train_begin(self, logs=None):
        self._history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self._history.setdefault(name, []).append(float(value))

    def on_train_end(self, logs=None):
        record = {"key": self.key, "history": self._history,
                  "steps": (self.params or {}).get("steps"), "pid": os.getpid()}
        if self.fold is not None:  # one record a fold of a cross-validated trial
            record["fold"] = self.fold
        append_record(self.path, record)  # one synced line (see kerastune_kit.journal)


class MLPHyperModel(kt.HyperModel):
    """Keras Tuner hypermodel: a :class:`SearchSpace` over ``build_mlp`` and fit settings.

    Parameters
    ----------
    space : SearchSpace
        Dimensions named after ``build_mlp`` parameters, plus ``batch_size``
        and ``epochs``. ``epochs`` is honoured unless the tuner owns it
        (Hyperband sets each trial's epochs itself).
    input_shape : int or tuple
        Features per sample, or the shape of one sample.
    n_classes : int
    fixed : dict, optional
        Builder or fit settings held constant (e.g. ``{"dropout": 0.2}``).
    seed : int, optional
        Seeds each trial's initial weights and dropout.
    record_path : path, optional
        Append every trial's per-epoch history to this JSON-lines file (see
        :class:`HistoryRecorder`).

    Examples
    --------
    >>> from kerastune_kit.space import Float, Int, SearchSpace
    >>> space = SearchSpace(nodes=Int(16, 256, step=16), learning_rate=Float(1e-4, 1e-2, scale="log"))
    >>> hypermodel = MLPHyperModel(space, input_shape=6, n_classes=3)
    >>> model = hypermodel.build(kt.HyperParameters())
    >>> model.output_shape
    (None, 3)
    """

    def __init__(self, space: SearchSpace, *, input_shape: int | Sequence[int], n_classes: int,
                 fixed: Mapping[str, Any] | None = None, seed: int | None = None,
                 record_path=None, name: str | None = "mlp", tunable: bool = True):
        super().__init__(name=name, tunable=tunable)
        allowed = (*BUILDER_PARAMS, *FIT_PARAMS)
        space.validate_names(allowed)
        SearchSpace(dict(fixed or {})).validate_names(allowed)
        self.space = space
        self.input_shape = input_shape
        self.n_classes = n_classes
        self.fixed = dict(fixed or {})
        self.seed = seed
        self.record_path = record_path

    def params(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """The actual parameter values of a trial (fixed settings included)."""
        return {**self.fixed, **self.space.from_keras_tuner_values(hp.values)}

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        values = {**self.fixed, **self.space.to_keras_tuner(hp)}
        builder = {k: v for k, v in values.items() if k in BUILDER_PARAMS}
        with _configuration_errors_stop_the_search():
            return build_mlp(**builder, input_shape=self.input_shape, n_classes=self.n_classes,
                             seed=self.seed)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, fold: int | None = None,
            **kwargs):
        """Train ``model`` with the trial's batch size (and epochs, unless the tuner owns them).

        ``fold`` numbers the fold of a cross-validated trial
        (:mod:`kerastune_kit.kt_folds`): it goes into the history record and
        the shuffling seed.
        """
        values = self.params(hp)
        if "batch_size" in values:
            kwargs["batch_size"] = values["batch_size"]
        if "epochs" in values and "tuner/epochs" not in hp.values:
            kwargs["epochs"] = values["epochs"]
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(cb, EpochTimer) for cb in callbacks):
            callbacks.append(EpochTimer())
        if self.record_path is not None:
            callbacks.append(HistoryRecorder(self.record_path, trial_key(hp.values), fold))
        # Shuffling draws from NumPy: seed it per trial (from the hypermodel's seed
        # and the trial's values, and its fold), so a search with a seed repeats exactly.
        key = trial_key(hp.values) + ("" if fold is None else f"/fold{fold}")
        seed = None if self.seed is None else int(
            (int(self.seed) + zlib.crc32(key.encode())) % 2**31)
        x = args[0] if args else kwargs.pop("x", None)
        y = args[1] if len(args) > 1 else kwargs.pop("y", None)
        # a NaN or blown-up loss raises TrainingDiverged, a FailedTrialError: a failed
        # trial, not a completed one whose dead network happens to score the majority class
        with _configuration_errors_stop_the_search():
            _check_room_for_checkpoints(model, callbacks)
            return fit_network(model, x, y, seed=seed, learning_rate=values.get("learning_rate"),
                               callbacks=callbacks, **kwargs)


@contextlib.contextmanager
def _configuration_errors_stop_the_search():
    """Turn a configuration error or a record that cannot be written into Keras Tuner's FatalError.

    Keras Tuner fails or retries a trial on any other error; a setting the kit
    refuses, or a full disk, would fail every trial alike, and counting them
    as failed trials would silently change the result. The original error
    (:class:`~kerastune_kit.errors.InvalidParameterError` or
    :class:`~kerastune_kit.errors.RecordWriteError`) is the FatalError's
    cause (``tune`` raises it again).
    """
    try:
        yield
    except (InvalidParameterError, RecordWriteError) as err:
        raise kt.errors.FatalError(str(err)) from err
    except OSError as err:
        if err.errno is None and "No space left on device" in str(err):  # h5py's wording
            err = OSError(errno.ENOSPC, str(err), err.filename)
        # a trial's checkpoint or history that cannot be written (a full disk, no
        # permission): every later trial would fail alike, and a trial counted as failed
        # would change the result; stop with what is recorded so far kept
        if err.errno not in WRITE_ERRNOS:
            raise
        path = err.filename or "the search's folder"
        error = write_error(path, err, what="cannot write", kept=(
            "resume (tune(..., resume=True), or the same command with --resume): the "
            "trials that finished are kept and only the others run again."))
        raise kt.errors.FatalError(str(error)) from error


def _check_room_for_checkpoints(model, callbacks) -> None:
    """Refuse to train when a checkpoint callback's disk has no room for one checkpoint.

    Keras Tuner saves each trial's best weights to an HDF5 file as it trains;
    HDF5 on a full disk can end the process (a segmentation fault) instead of
    raising. So before a trial, its checkpoint folder must hold twice the
    weights (4 bytes a parameter) plus 1 MiB, else ENOSPC is raised here.
    """
    need = 2 * 4 * model.count_params() + 2**20
    for callback in callbacks:
        path = getattr(callback, "filepath", None)
        if not isinstance(path, (str, os.PathLike)):
            continue
        folder = Path(path).parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if free < need:
            raise OSError(errno.ENOSPC, f"{free} bytes free, a checkpoint of this trial "
                          f"needs about {need}", os.fspath(path))


def error_line(message: str | None) -> str:
    """The error line of a Keras Tuner trial's message (a traceback), or ""."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class _DurableOracle:
    """A Keras Tuner oracle whose state files survive a kill, and whose failure stop explains itself.

    Keras Tuner writes ``oracle.json`` and each ``trial.json`` in place, so a
    process killed mid-write leaves a file that cannot be reloaded. Here both
    go through a temporary file and a rename. A trial that ended is never run
    again on reload, whatever moment the kill came (Keras Tuner 1.4.8 reruns
    the last trial that ended), and a trial created just before the kill is
    created again, not left running. When the consecutive-failure limit is
    hit, the failed trial's end is written before the search stops. A state
    file that is damaged (cut short, edited) or missing when the project is
    reloaded raises :class:`~kerastune_kit.errors.DamagedRecord` naming it.
    """

    def save(self):
        write_json_atomic(self._get_oracle_fname(), self.get_state())

    def _damaged(self, path, problem: str) -> DamagedRecord:
        error = DamagedRecord(
            f"{str(path)!r} {problem}, so Keras Tuner cannot reload the search's project "
            f"{str(self._project_dir)!r}. Restore the file from a copy, or start afresh with "
            "resume=False (without --resume), which replaces the project and the search's "
            "records.")
        error.path = str(path)
        return error

    def _read_state(self, path) -> dict:
        try:
            with open(path, "rb") as handle:
                state = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            raise self._damaged(path, "is missing") from None
        except (UnicodeDecodeError, ValueError) as err:
            raise self._damaged(path, f"is damaged (cut short or edited: {err})") from None
        except OSError as err:
            raise self._damaged(path, f"cannot be read ({err})") from None
        if not isinstance(state, dict):
            raise self._damaged(path, f"is damaged (it holds a JSON {type(state).__name__}, "
                                      "not a Keras Tuner state)")
        return state

    def _check_state_files(self) -> None:
        """Every state file the reload reads is there and is JSON, else DamagedRecord naming it."""
        project = self._project_dir
        state = self._read_state(self._get_oracle_fname())
        for fname in sorted(Path(project).glob("trial_*/trial.json")):
            self._read_state(fname)
        # a trial folder without its file is a kill before the file's first write, unless
        # the oracle's state knows the trial: then the file was lost
        listed = state.get("start_order")
        for trial_id in listed if isinstance(listed, list) else []:
            fname = Path(project) / f"trial_{trial_id}" / "trial.json"
            if not fname.exists():
                raise self._damaged(fname, f"is missing (the oracle's state "
                                           f"{str(self._get_oracle_fname())!r} lists trial "
                                           f"{trial_id})")

    def reload(self):
        self._check_state_files()
        try:
            super().reload()
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, OSError) as err:
            # JSON that parses but does not hold what Keras Tuner expects (an edited file)
            raise self._damaged(
                self._get_oracle_fname(), f"or a trial's trial.json does not hold a state "
                f"Keras Tuner can use ({type(err).__name__}: {err})") from err
        # Keras Tuner writes a new trial's file, then its own state. A process killed
        # between the two leaves a trial file the state never heard of: Keras Tuner would
        # keep it, forever "running", and number the trial it creates again after it.
        # Forget it; the trial is created again under the same number.
        known = set(self.start_order)
        for trial_id in [t for t in self.trials if t not in known]:
            del self.trials[trial_id]
        # Keras Tuner sends every trial its state lists as running back for a retry. A
        # trial whose own file says it ended (the process died after writing it, before
        # the oracle's state forgot it) is kept as it ended, not run again.
        ended = (kt.engine.trial.TrialStatus.COMPLETED, kt.engine.trial.TrialStatus.FAILED)
        for trial_id in list(self._retry_queue):
            if self.trials[trial_id].status in ended:
                self._retry_queue.remove(trial_id)
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)

    def _save_trial(self, trial):
        write_json_atomic(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"),
                          trial.get_state())

    def _check_consecutive_failures(self):
        failed = []
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            failed = failed + [trial] if trial.status == kt.engine.trial.TrialStatus.FAILED else []
            limit = self.max_consecutive_failed_trials
            if limit is not None and len(failed) >= limit:
                raise TooManyFailures.in_a_row(
                    limit, "trials", [t.trial_id for t in failed], error_line(trial.message),
                    f"The finished trials are kept in {self._project_dir}.")

    def end_trial(self, trial):
        try:
            super().end_trial(trial)
            # Keras Tuner saves its state before it forgets the ended trial, so a
            # reload would run that trial again: save once more, without it
            self.save()
        except TooManyFailures:
            # Keras Tuner raises before it records the trial's end: record it here
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == trial.trial_id:
                    del self.ongoing_trials[tuner_id]
            self._save_trial(self.trials[trial.trial_id])
            self.save()
            raise


class _HyperbandOracle(_DurableOracle, kt.oracles.HyperbandOracle):
    """Keras Tuner's Hyperband oracle; of trials with equal scores, the lower validation loss is promoted.

    Keras Tuner sorts a round's finished trials by score alone (a stable
    sort, so the first of equal scores wins). Putting each round's trials in
    the order (score, lower ``val_loss``) first leaves that sort picking the
    lower loss among equal scores; nothing else reads the order.
    """

    def populate_space(self, trial_id):
        reverse = self.objective.direction == "max"
        for bracket in self._brackets:
            for round_info in bracket["rounds"]:
                round_info.sort(key=lambda info: self._promotion_key(info["id"], reverse))
        return super().populate_space(trial_id)

    def _promotion_key(self, trial_id, reverse: bool):
        trial = self.trials.get(trial_id)
        if trial is None or trial.status != "COMPLETED" or trial.score is None:
            return (1, 0.0, 0.0)  # unfinished: after the finished, in any order (stable)
        loss = trial.metrics.get_last_value("val_loss") if trial.metrics.exists(
            "val_loss") else None
        loss = float("inf") if loss is None or loss != loss else float(loss)
        return (0, -trial.score if reverse else trial.score, loss)


class _BayesianOracle(_DurableOracle, kt.oracles.BayesianOptimizationOracle):
    pass


class _RandomOracle(_DurableOracle, kt.oracles.RandomSearchOracle):
    pass


class _LeanTrials:
    """Keras Tuner's tuners with durable state (see ``_DurableOracle``) and lean trials.

    Takes the stock tuner's arguments; those of its oracle go to a
    ``_DurableOracle`` version of it. Skips Keras Tuner's ``clear_session()`` +
    full garbage collection before each trial: about 0.3 s a trial here, more
    than a small network's whole training. An :class:`MLPHyperModel` names its
    layers itself and its trials share traced programs
    (:mod:`kerastune_kit.fastfit`), so the session holds nothing to reset;
    Python's own collector still frees finished trials' models.
    """

    _oracle_class: type

    def __init__(self, hypermodel=None, **kwargs):
        accepted = inspect.signature(self._oracle_class).parameters
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in accepted}
        self.seed = options.get("seed")
        kt.Tuner.__init__(self, oracle=self._oracle_class(**options), hypermodel=hypermodel,
                          **kwargs)

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_json_atomic(self._get_tuner_fname(), self.get_state())

    def run_trial(self, trial, *args, folds=None, **kwargs):
        """Keras Tuner's trial, or with ``folds`` one fit per fold and their mean (:func:`run_folds`)."""
        if folds is None:
            return super().run_trial(trial, *args, **kwargs)
        return run_folds(self, trial, folds, **kwargs)

    def _build_and_fit_model(self, trial, *args, **kwargs):
        """Keras Tuner's build and fit, its best-epoch checkpoint written once a fit (``BestEpochOnce``).

        Stock Keras Tuner writes the checkpoint after every epoch that
        improves (20-30 ms each, a third of a small Hyperband search); the
        file it leaves is the same.
        """
        callbacks = kwargs.get("callbacks")
        if callbacks and _StockBestEpoch is not None:
            kwargs["callbacks"] = [BestEpochOnce(c) if type(c) is _StockBestEpoch else c
                                   for c in callbacks]
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def _try_build(self, hp):
        if not isinstance(self.hypermodel, MLPHyperModel):
            return super()._try_build(hp)
        model = self._build_hypermodel(hp)
        if self.max_model_size and model.count_params() > self.max_model_size:
            raise kt.errors.FailedTrialError(
                f"Oversized model: {model.count_params()} parameters. Skip model.")
        return model


class Hyperband(_LeanTrials, kt.Hyperband):
    """``keras_tuner.Hyperband``, durable and without the per-trial session reset (``_LeanTrials``).

    A continued trial starts from its parent's checkpoint, set from the weights
    kept when it was written (:func:`~kerastune_kit.kt_folds.load_checkpoint`).
    """

    _oracle_class = _HyperbandOracle

    def _build_hypermodel(self, hp):
        parent = hp.values.get("tuner/trial_id")
        if parent is None or not isinstance(self.hypermodel, MLPHyperModel):
            return super()._build_hypermodel(hp)
        # Keras Tuner's build without its checkpoint read (nor its build-config read: an
        # MLPHyperModel's network is built by build_mlp)
        model = kt.Tuner._build_hypermodel(self, hp)
        load_checkpoint(model, self._get_checkpoint_fname(parent))
        return model


class BayesianOptimization(_LeanTrials, kt.BayesianOptimization):
    """``keras_tuner.BayesianOptimization``, durable and without the per-trial session reset."""

    _oracle_class = _BayesianOracle


class RandomSearch(_LeanTrials, kt.RandomSearch):
    """``keras_tuner.RandomSearch``, durable and without the per-trial session reset."""

    _oracle_class = _RandomOracle
