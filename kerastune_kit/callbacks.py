"""Callbacks that behave the same in scikit-learn searches and Keras Tuner searches.

Each callback resets its state in ``on_train_begin``, so one instance is safe
across folds, candidates and trials; ``clone`` gives a fresh copy; pickling
drops the model it was attached to. Constructor arguments are scikit-learn
parameters, so a search can vary them through the estimator
(``callbacks__early_stopping__patience``).

The learning-rate schedules live in :mod:`kerastune_kit.schedules` and are
re-exported here.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator

from ._validation import check_choice, check_number, did_you_mean
from .errors import InvalidParameterValue, TrainingDiverged
from .schedules import (
    ConfigurableCallback,
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    LearningRateSchedule,
    LinearWarmup,
    PerStepSchedule,
    ReduceLROnPlateau,
    StepDecay,
)

__all__ = [
    "EarlyStopping",
    "DivergenceGuard",
    "TrainingDiverged",
    "check_training",
    "starting_loss",
    "BestCheckpoint",
    "CallbackSet",
    "make_callbacks",
    "load_checkpoint",
    "as_callback_list",
    # schedules
    "LearningRateSchedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "LinearWarmup",
    "ReduceLROnPlateau",
    "PerStepSchedule",
]

_MAXIMISED = ("acc", "auc", "precision", "recall", "f1")


def _direction(monitor: str, mode: str) -> str:
    mode = check_choice("mode", mode, ("auto", "min", "max"), what="mode")
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in _MAXIMISED) else "min"


def _monitored(logs, monitor: str, who: str) -> float:
    logs = logs or {}
    if monitor not in logs:
        hint = (
            " Give the model validation data (validation_split=0.2 on the estimator, or "
            "validation_data in fit), or monitor a training quantity such as 'loss'."
            if monitor.startswith("val_") else ""
        )
        raise InvalidParameterValue(
            f"{who}: monitor={monitor!r} is not among the logged quantities "
            f"{sorted(logs)}.{did_you_mean(monitor, logs)}{hint}"
        )
    return float(np.asarray(logs[monitor]))


class _BestTracker(ConfigurableCallback):
    """Shared logic: follow a monitored quantity and notice improvements."""

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_ is None:
            return True
        delta = getattr(self, "min_delta", 0.0)
        if self._mode == "max":
            return value > self.best_ + delta
        return value < self.best_ - delta

    def _start(self) -> None:
        self._mode = _direction(self.monitor, self.mode)
        self.best_ = None
        self.best_epoch_ = None


class EarlyStopping(_BestTracker):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A logged quantity. Missing from the logs is an error, not a silent
        no-op (``val_*`` needs validation data).
    patience : int, default 3
        Epochs without improvement before stopping.
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default "auto"
        "auto" maximises names containing acc/auc/precision/recall/f1.
    min_epochs : int, default 0
        Never stop before this many epochs (improvements are tracked from
        the first epoch all the same).
    restore_best_weights : bool, default True
        At the end of training, put back the weights of the best epoch, also
        when training ran to the last epoch.

    Attributes
    ----------
    best_, best_epoch_ : float, int
        Best monitored value and its (0-based) epoch in the last run.
    stopped_epoch_ : int or None
        Epoch at which training was stopped, None if it ran to the end.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", min_epochs: int = 0, restore_best_weights: bool = True):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.min_epochs = min_epochs
        self.restore_best_weights = restore_best_weights

    def _runtime_state(self):
        return ("_best_weights", "_wait")

    def on_train_begin(self, logs=None):
        check_number("patience", self.patience, low=0)
        check_number("min_delta", self.min_delta, low=0)
        check_number("min_epochs", self.min_epochs, low=0)
        self._start()
        self._wait = 0
        self._best_weights = None
        self.stopped_epoch_ = None

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(logs, self.monitor, type(self).__name__)
        if self._improved(value):
            self.best_, self.best_epoch_, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = self.model.get_weights()
            return
        self._wait += 1
        if self._wait >= self.patience and epoch + 1 >= self.min_epochs:
            self.stopped_epoch_ = epoch
            self.model.stop_training = True

    def touches_weights(self) -> bool:
        return bool(self.restore_best_weights)  # it keeps and restores the best weights

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None:
            self.model.set_weights(self._best_weights)


class DivergenceGuard(ConfigurableCallback):
    """Stop a run whose loss becomes NaN or infinite, and report it as failed.

    Parameters
    ----------
    monitor : str, default "loss"
        Checked after every step (and ``val_`` + monitor after every epoch).
    raise_error : bool, default True
        Raise :class:`TrainingDiverged` so the search marks the trial failed.
        With False, training just stops and ``diverged_`` is set.
    """

    def __init__(self, monitor: str = "loss", raise_error: bool = True):
        super().__init__()
        self.monitor = monitor
        self.raise_error = raise_error

    def touches_weights(self) -> bool:
        return False  # it reads the logs and the learning rate

    def on_train_begin(self, logs=None):
        self.diverged_ = None
        self._epoch = 0

    def _runtime_state(self):
        return ("_epoch",)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _check(self, logs, key: str, where: str) -> None:
        if not logs or key not in logs:
            return
        value = float(np.asarray(logs[key]))
        if math.isfinite(value):
            return
        self.diverged_ = where
        self.model.stop_training = True
        if self.raise_error:
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            raise TrainingDiverged(
                f"{key} became {value} at {where} (learning rate {lr:g}): training "
                "diverged. Lower learning_rate or add gradient clipping "
                "(optimizer__clipnorm=1.0); the search records this trial as failed."
            )

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, self.monitor, f"epoch {self._epoch + 1}, step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"val_{self.monitor}", f"the end of epoch {epoch + 1}")


#: A fit whose training loss rises above this many times its starting loss has blown up.
DIVERGED_FACTOR = 10.0


def starting_loss(model: keras.Model, x, y, sample_weight=None, rows: int = 256) -> float | None:
    """The loss of ``model`` as it is, on the first ``rows`` training rows (None if unknown).

    One forward pass, eager: a few milliseconds. Weighted like Keras' training
    loss (per-row losses times ``sample_weight``, class weights included,
    averaged over rows) and with the penalties (regulariser losses) added.
    """
    try:
        loss_fn = keras.losses.get(model.loss)
        x_part, y_part = x[:rows], y[:rows]
        predictions = model(x_part, training=False)
        losses = keras.ops.convert_to_numpy(loss_fn(y_part, predictions))
        if sample_weight is not None:
            losses = losses * np.asarray(sample_weight[:rows], dtype=losses.dtype)
        value = float(np.mean(losses))
        return value + sum(float(keras.ops.convert_to_numpy(p)) for p in model.losses)
    except Exception:  # a custom loss or data this cannot slice: only NaN/inf is checked
        return None


def check_training(history, *, start=None, learning_rate=None, callbacks=()) -> None:
    """Raise :class:`TrainingDiverged` if a finished fit blew up.

    Blew up: a loss became NaN or infinite, or the training loss of an epoch
    rose above ``DIVERGED_FACTOR`` times ``start``, the loss before training
    (:func:`starting_loss`). Without a :class:`DivergenceGuard` such a fit
    ends quietly with a network that predicts one class everywhere (ReLU
    networks seldom reach NaN: their units die first). scikit-learn's
    MLPClassifier raises in the NaN case, and so do we, in both, so that a
    search records the fit as failed. A ``DivergenceGuard(raise_error=False)``
    among ``callbacks`` means the caller asked for no error.
    """
    if any(isinstance(cb, DivergenceGuard) and not cb.raise_error for cb in callbacks or ()):
        return
    if learning_rate is None:
        rate = ""
    elif isinstance(learning_rate, (int, float, np.number)):
        rate = f" (learning_rate={float(learning_rate):.4g})"
    else:
        rate = f" (learning_rate={learning_rate!r})"
    advice = ("training diverged. Lower learning_rate or add gradient clipping "
              "(optimizer__clipnorm=1.0); a search records this fit as failed.")
    history = history or {}
    for key in ("loss", "val_loss"):
        for epoch, value in enumerate(history.get(key, ())):
            if not math.isfinite(float(value)):
                raise TrainingDiverged(
                    f"{key} became {float(value)} in epoch {epoch + 1}{rate}: {advice}")
    if start is None or not math.isfinite(start) or start <= 0:
        return
    for epoch, value in enumerate(history.get("loss", ())):
        if float(value) > DIVERGED_FACTOR * start:
            raise TrainingDiverged(
                f"loss rose to {float(value):.4g} in epoch {epoch + 1}, over "
                f"{DIVERGED_FACTOR:g} times its starting value {start:.4g}{rate}: {advice}")


class BestCheckpoint(_BestTracker):
    """Save the best epoch's model in the Keras format, one new file per run.

    Every training run (fold, candidate, trial) writes its own file
    ``<directory>/<prefix>-<time>-<unique>.keras``, so nothing is overwritten.
    Each save goes to a temporary file that then replaces the checkpoint in
    one atomic rename: a crash during a write leaves the previous checkpoint
    intact. Load a checkpoint with :func:`load_checkpoint` (safe mode).

    Parameters
    ----------
    directory : str or Path, default "checkpoints"
    monitor : str, default "val_loss"
    mode : {"auto", "min", "max"}, default "auto"
    prefix : str, default "model"

    Attributes
    ----------
    path_ : Path
        The file of the last run.
    best_, best_epoch_ : float, int
    """

    def __init__(self, directory="checkpoints", monitor: str = "val_loss", mode: str = "auto",
                 prefix: str = "model"):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.mode = mode
        self.prefix = prefix

    def on_train_begin(self, logs=None):
        self._start()
        folder = Path(self.directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OSError(
                f"directory={str(self.directory)!r} cannot be created ({err}); pass a "
                "writable folder for the checkpoints."
            ) from None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path_ = folder / f"{self.prefix}-{stamp}-{uuid.uuid4().hex[:10]}.keras"

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(logs, self.monitor, type(self).__name__)
        if self._improved(value):
            self.best_, self.best_epoch_ = value, epoch
            self._save(self.path_)

    def _save(self, path: Path) -> None:
        partial = path.with_name(f".{path.stem}.partial-{uuid.uuid4().hex[:8]}.keras")
        try:
            self.model.save(partial)
            os.replace(partial, path)  # atomic on POSIX and Windows
        finally:
            if partial.exists():
                partial.unlink()


def load_checkpoint(path) -> keras.Model:
    """Load a saved model with Keras' safe mode on (no arbitrary code runs)."""
    return keras.saving.load_model(path, safe_mode=True)


class CallbackSet(BaseEstimator):
    """The usual set of callbacks, assembled fresh for each training run.

    Parameters
    ----------
    schedule : LearningRateSchedule or ReduceLROnPlateau, optional
    early_stopping : EarlyStopping, optional
    checkpoint : BestCheckpoint, optional
    guard : bool, default True
        Add a :class:`DivergenceGuard`.
    tensorboard_dir : str or Path, optional
        Add a ``keras.callbacks.TensorBoard`` writing to a new subfolder per
        run (Keras Tuner puts each trial in its own folder and adds its HParams
        view itself). Off by default.

    Its parameters nest like any scikit-learn parameter, so a search can vary
    ``callbacks__schedule__drop`` or ``callbacks__early_stopping__patience``.
    """

    def __init__(self, schedule=None, early_stopping=None, checkpoint=None, guard: bool = True,
                 tensorboard_dir=None):
        self.schedule = schedule
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.guard = guard
        self.tensorboard_dir = tensorboard_dir

    def build(self) -> list[keras.callbacks.Callback]:
        """Return the callbacks, ready for ``Model.fit`` or ``tuner.search``."""
        built = [cb for cb in (self.schedule, self.early_stopping, self.checkpoint) if cb is not None]
        for name, cb in (("schedule", self.schedule), ("early_stopping", self.early_stopping),
                         ("checkpoint", self.checkpoint)):
            if cb is not None and not isinstance(cb, keras.callbacks.Callback):
                raise TypeError(
                    f"{name}={cb!r} (type {type(cb).__name__}) is not a Keras callback; "
                    "pass e.g. StepDecay(...), EarlyStopping(...), BestCheckpoint(...)."
                )
        if self.guard:
            built.append(DivergenceGuard())
        if self.tensorboard_dir is not None:
            log_dir = Path(self.tensorboard_dir) / f"run-{uuid.uuid4().hex[:10]}"
            built.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
        return built


def make_callbacks(
    *,
    schedule: LearningRateSchedule | ReduceLROnPlateau | None = None,
    patience: int | None = 3,
    monitor: str = "val_loss",
    min_epochs: int = 0,
    checkpoint_dir=None,
    guard: bool = True,
    tensorboard_dir=None,
) -> CallbackSet:
    """Assemble schedule + early stopping + checkpoint + divergence guard.

    Examples
    --------
    >>> cbs = make_callbacks(schedule=StepDecay(0.2, drop=0.5, epochs_per_drop=3),
    ...                      patience=3, monitor="val_accuracy")
    >>> [type(cb).__name__ for cb in cbs.build()]
    ['StepDecay', 'EarlyStopping', 'DivergenceGuard']
    """
    return CallbackSet(
        schedule=schedule,
        early_stopping=None if patience is None else EarlyStopping(
            monitor=monitor, patience=patience, min_epochs=min_epochs),
        checkpoint=None if checkpoint_dir is None else BestCheckpoint(
            directory=checkpoint_dir, monitor=monitor),
        guard=guard,
        tensorboard_dir=tensorboard_dir,
    )


def as_callback_list(callbacks) -> list[keras.callbacks.Callback]:
    """Normalise the estimator's ``callbacks`` parameter to a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, CallbackSet):
        return callbacks.build()
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    if isinstance(callbacks, (list, tuple)):
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, keras.callbacks.Callback):
                raise TypeError(
                    f"callbacks[{i}]={cb!r} (type {type(cb).__name__}) is not a Keras "
                    "callback instance; pass instances such as EarlyStopping(patience=3)."
                )
        return list(callbacks)
    raise TypeError(
        f"callbacks={callbacks!r} (type {type(callbacks).__name__}) must be None, a Keras "
        "callback, a list of them, or a CallbackSet (see make_callbacks)."
    )
