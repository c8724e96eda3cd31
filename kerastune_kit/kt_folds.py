"""Cross-validated Keras Tuner trials: every trial trains on k stratified folds and reports their mean.

One validation split of a small data set cannot rank configurations: on the
penguins' ~55 validation rows, half of a Hyperband search ties at accuracy
1.0. With ``tune(..., strategy="hyperband" | "bayesian" | "kt-random",
cv=k)`` the kit's tuners (:mod:`kerastune_kit.hypermodel`) run each trial
through :func:`run_folds` instead of Keras Tuner's single fit:

* fold ``i`` trains a fresh network on the i-th training part and validates
  on its held-out part (the preprocessor was fitted on that training part
  only, by the strategy that made the folds);
* each fold's best epoch is the one with the highest validation accuracy,
  the lower validation loss breaking ties (:func:`best_epoch`), and its
  weights are checkpointed per fold (:class:`FoldCheckpoint`), so a
  Hyperband continuation trains fold ``i`` on from its parent's fold ``i``;
* the trial reports to the oracle the mean of the folds' best validation
  accuracies (the objective), their standard deviation, the mean validation
  loss at those epochs and each fold's best epoch (:func:`fold_metrics`).

The oracle hears of a trial once, after its last fold: a trial killed half
way is still running for Keras Tuner, so a resumed search runs it again,
whole, and no fold is counted twice.
"""

from __future__ import annotations

import collections
import copy
import math
import os
from typing import Any, Sequence

import keras
import numpy as np

__all__ = ["run_folds", "best_epoch", "fold_metrics", "fold_checkpoint", "FoldCheckpoint",
           "BestWeightsOnce", "BestEpochOnce", "load_checkpoint",
           "refit_epochs", "STD_METRIC", "BEST_EPOCH_METRIC"]

#: Name of the metric holding the spread (standard deviation) of the folds' scores.
STD_METRIC = "val_accuracy_std"
#: Prefix of the metrics holding each fold's best epoch (``best_epoch_fold0``, ...).
BEST_EPOCH_METRIC = "best_epoch_fold"


def best_epoch(accuracy: Sequence[float], loss: Sequence[float] | None = None) -> int:
    """Index of the best epoch: the highest accuracy, the lowest loss among equal ones, then the first.

    NaN values never win.

    Examples
    --------
    >>> best_epoch([0.9, 1.0, 1.0], [0.5, 0.3, 0.2])
    2
    >>> best_epoch([0.9, 1.0, 1.0])
    1
    """
    loss = list(loss) if loss is not None and len(loss) == len(accuracy) else [0.0] * len(accuracy)

    def key(i):
        acc, los = accuracy[i], loss[i]
        acc = -math.inf if acc != acc else acc
        los = math.inf if los != los else los
        return (-acc, los, i)

    return min(range(len(accuracy)), key=key)


def fold_metrics(folds: Sequence[dict]) -> dict[str, float]:
    """What a cross-validated trial reports: mean, spread, mean loss and each fold's best epoch.

    ``folds`` holds, per fold, ``val_accuracy``, ``val_loss`` (at its best
    epoch) and ``epoch`` (its best epoch, counted from 1 since the start of
    training, parents' epochs included).
    """
    accuracy = np.array([f["val_accuracy"] for f in folds], dtype=float)
    metrics = {
        "val_accuracy": float(accuracy.mean()),
        "val_loss": float(np.mean([f["val_loss"] for f in folds])),
        STD_METRIC: float(accuracy.std()),
    }
    for i, fold in enumerate(folds):
        metrics[f"{BEST_EPOCH_METRIC}{i}"] = float(fold["epoch"])
    return metrics


def refit_epochs(budget: int | None, best_epochs: Sequence[int]) -> tuple[int | None, str]:
    """Epochs of the refit: the median of the folds' best epochs, never fewer than the trial's budget.

    Returns ``(epochs, rule)``: the number (None when nothing is known) and a
    sentence saying which of the two set it.

    Examples
    --------
    >>> refit_epochs(4, [6, 9, 8])
    (8, "median of the folds' best epochs [6, 9, 8]")
    >>> refit_epochs(10, [2, 3, 9])[0]
    10
    """
    best = [int(e) for e in best_epochs if e == e]
    median = int(math.ceil(float(np.median(best)))) if best else None
    if median is None and budget is None:
        return None, ""
    if budget is not None and (median is None or median <= budget):
        shown = "" if median is None else (
            f" (the median of the folds' best epochs {best} is {median})")
        return int(budget), f"the best trial's budget of {int(budget)} epochs{shown}"
    return median, f"median of the folds' best epochs {best}"


def fold_checkpoint(tuner, trial_id: str, fold: int) -> str:
    """Where fold ``fold`` of trial ``trial_id`` keeps its best weights (in the trial's folder)."""
    return os.path.join(tuner.get_trial_dir(trial_id), f"checkpoint.fold{fold}.weights.h5")


class BestWeightsOnce(keras.callbacks.Callback):
    """Keep the weights of the best epoch in memory and write them once, when training ends.

    Saving a network's weights takes 20-30 ms (an HDF5 file), longer than an
    epoch of a small network, and a checkpoint written after every epoch
    that improves is overwritten by the next. A subclass decides in
    ``on_epoch_end`` whether an epoch is the best so far and calls
    :meth:`keep`; the file is written in ``on_train_end``, with the kept
    weights (those of the best epoch; the optimiser state the file holds is
    the last epoch's), and the network is left with its last epoch's weights,
    as training left it. Nothing is written when no epoch was kept.

    A run that stops part way (an exception, a killed process) writes
    nothing: a Keras Tuner trial that did not end is run again, whole, by a
    resumed search, and never reads its own checkpoint.

    Parameters
    ----------
    filepath : str
        A ``.weights.h5`` path.
    """

    def __init__(self, filepath: str):
        super().__init__()
        self.filepath = filepath
        self._kept = None

    def keep(self) -> None:
        """Remember the network's current weights as the ones to write."""
        self._kept = self.model.get_weights()

    def on_train_begin(self, logs=None):
        self._kept = None

    def on_train_end(self, logs=None):
        if self._kept is None:
            return
        last = self.model.get_weights()
        self.model.set_weights(self._kept)
        try:
            self.model.save_weights(self.filepath)
            _remember(self.filepath, self._kept)
        finally:
            self.model.set_weights(last)
            self._kept = None


#: Weights of the checkpoints this process wrote, by path, with the file's size and time
#: then, most recent last; at most _KEPT_BYTES of them.
_KEPT: "collections.OrderedDict[str, tuple]" = collections.OrderedDict()
_KEPT_BYTES = 64 * 2**20


def _stamp(path: str):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _remember(path: str, weights: list) -> None:
    _KEPT.pop(path, None)
    _KEPT[path] = (_stamp(path), [np.array(w) for w in weights])
    while sum(sum(w.nbytes for w in ws) for _, ws in _KEPT.values()) > _KEPT_BYTES:
        _KEPT.popitem(last=False)


def load_checkpoint(model: keras.Model, path: str) -> None:
    """Set ``model``'s weights from the checkpoint at ``path``, as ``model.load_weights(path)``.

    A checkpoint this process wrote (:class:`BestWeightsOnce`) and that is
    unchanged on disk is set from the weights kept in memory when it was
    written, not read back (Keras takes 40-50 ms to read one; a Hyperband
    round reads one per continued trial). The optimiser state in the file is
    not read either way: a freshly built network's optimiser has no
    variables yet, and Keras skips it.
    """
    kept = _KEPT.get(path)
    if kept is not None and kept[0] is not None and kept[0] == _stamp(path):
        model.set_weights(kept[1])
        return
    model.load_weights(path)


class FoldCheckpoint(BestWeightsOnce):
    """Checkpoint each fold's best epoch (:func:`best_epoch`'s rule), and remember it.

    The weights are written once, when the fold's training ends
    (:class:`BestWeightsOnce`).

    Parameters
    ----------
    filepath : str
        A ``.weights.h5`` path.

    Attributes
    ----------
    best : dict or None
        ``{"val_accuracy", "val_loss", "epoch"}`` of the best epoch so far.
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        accuracy = float(logs.get("val_accuracy", math.nan))
        loss = float(logs.get("val_loss", math.nan))
        candidates = [(accuracy, loss)]
        if self.best is not None:
            candidates.insert(0, (self.best["val_accuracy"], self.best["val_loss"]))
        if self.best is None or best_epoch(*zip(*candidates)) == 1:
            # counted from the start of training: Keras passes the index after initial_epoch
            self.best = {"val_accuracy": accuracy, "val_loss": loss, "epoch": int(epoch) + 1}
            self.keep()


class BestEpochOnce(BestWeightsOnce):
    """Keras Tuner's best-epoch checkpoint (``SaveBestEpoch``), written once at the end of training.

    Shares its best value with the stock callback it replaces, ``stock``,
    which Keras Tuner keeps across a trial's executions: an execution writes
    the file only if one of its epochs beat every earlier one, as the stock
    callback does, but once, not after every better epoch.
    """

    def __init__(self, stock):
        super().__init__(stock.filepath)
        self.stock = stock

    def on_epoch_end(self, epoch, logs=None):
        objective = self.stock.objective
        if not objective.has_value(logs):  # Keras Tuner then keeps every epoch: the last one
            self.keep()
            return
        value = objective.get_value(logs)
        if objective.better_than(value, self.stock.best_value):
            self.stock.best_value = value
            self.keep()


def run_folds(tuner, trial, folds: Sequence[tuple], **fit_kwargs: Any) -> dict[str, float]:
    """Train ``trial`` on every fold and return its metrics for the oracle (:func:`fold_metrics`).

    Parameters
    ----------
    tuner : keras_tuner.Tuner
        One of the kit's tuners (its ``hypermodel`` builds and fits).
    trial : keras_tuner.engine.trial.Trial
    folds : sequence of (x_train, y_train, x_val, y_val)
        Encoded arrays, one tuple a fold.
    **fit_kwargs
        What ``search`` was given besides the folds (``epochs``,
        ``callbacks``, ``verbose``, ...). Hyperband's ``tuner/epochs`` and
        ``tuner/initial_epoch`` replace ``epochs`` and ``initial_epoch``.

    Raises
    ------
    keras_tuner.errors.FailedTrialError
        When the network is over the tuner's ``max_model_size``. A fold that
        fails (a diverged loss) fails the whole trial: no fold of it is counted.
    """
    import keras_tuner as kt

    hp = trial.hyperparameters
    values = hp.values
    if "tuner/epochs" in values:
        fit_kwargs["epochs"] = values["tuner/epochs"]
        fit_kwargs["initial_epoch"] = values["tuner/initial_epoch"]
    fit_kwargs.pop("validation_data", None)
    original = list(fit_kwargs.pop("callbacks", None) or [])
    parent = values.get("tuner/trial_id")
    results = []
    for i, (x_train, y_train, x_val, y_val) in enumerate(folds):
        model = tuner.hypermodel.build(hp)
        if tuner.max_model_size and model.count_params() > tuner.max_model_size:
            raise kt.errors.FailedTrialError(
                f"Oversized model: {model.count_params()} parameters. Skip model.")
        if parent is not None:  # Hyperband: fold i goes on from the parent's fold i
            load_checkpoint(model, fold_checkpoint(tuner, parent, i))
        checkpoint = FoldCheckpoint(fold_checkpoint(tuner, trial.trial_id, i))
        callbacks = [*copy.deepcopy(original), checkpoint]
        tuner.hypermodel.fit(hp, model, x_train, y_train, validation_data=(x_val, y_val),
                             callbacks=callbacks, fold=i, **fit_kwargs)
        if checkpoint.best is None:
            raise kt.errors.FailedTrialError(f"fold {i} trained no epoch")
        results.append(checkpoint.best)
    return fold_metrics(results)
