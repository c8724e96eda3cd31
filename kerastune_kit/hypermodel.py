"""A Keras Tuner hypermodel over :func:`kerastune_kit.build_mlp`, driven by a SearchSpace.

The same :class:`~kerastune_kit.space.SearchSpace` that gives scikit-learn its
``param_grid`` / ``param_distributions`` gives Keras Tuner its
hyperparameters here, so Hyperband, RandomSearch, BayesianOptimization and
GridSearch tuners search exactly the networks a scikit-learn search would.
"""

from __future__ import annotations

import json
import time
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import keras
import keras_tuner as kt

from .builders import build_mlp
from .estimators import BUILDER_PARAMS, seeded
from .fastfit import fast_fit
from .space import SearchSpace

__all__ = [
    "MLPHyperModel", "FIT_PARAMS", "EpochTimer", "HistoryRecorder", "trial_key", "Hyperband",
    "BayesianOptimization", "RandomSearch",
]

#: Training settings a space may hold besides the builder's parameters.
FIT_PARAMS = ("batch_size", "epochs")


class EpochTimer(keras.callbacks.Callback):
    """Write each epoch's wall time into the logs as ``epoch_seconds``.

    Keras Tuner keeps every logged quantity, so a trial's fit time is the sum
    of its ``epoch_seconds`` history.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._started


def trial_key(values: Mapping[str, Any]) -> str:
    """A stable text key for a trial's hyperparameter values."""
    return json.dumps({k: values[k] for k in sorted(values)}, default=repr)


class HistoryRecorder(keras.callbacks.Callback):
    """Append one JSON line per finished fit: the trial key, per-epoch logs, steps.

    Keras Tuner 1.4 keeps only the best epoch's metrics of a trial; this keeps
    the whole curve. Lines are appended, so several worker processes can share
    one file.
    """

    def __init__(self, path, key: str):
        super().__init__()
        self.path = Path(path)
        self.key = key

    def on_train_begin(self, logs=None):
        self._history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self._history.setdefault(name, []).append(float(value))

    def on_train_end(self, logs=None):
        record = {"key": self.key, "history": self._history,
                  "steps": (self.params or {}).get("steps")}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


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
        return build_mlp(**builder, input_shape=self.input_shape, n_classes=self.n_classes,
                         seed=self.seed)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        values = self.params(hp)
        if "batch_size" in values:
            kwargs["batch_size"] = values["batch_size"]
        if "epochs" in values and "tuner/epochs" not in hp.values:
            kwargs["epochs"] = values["epochs"]
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(cb, EpochTimer) for cb in callbacks):
            callbacks.append(EpochTimer())
        if self.record_path is not None:
            callbacks.append(HistoryRecorder(self.record_path, trial_key(hp.values)))
        # Shuffling draws from NumPy: seed it per trial (from the hypermodel's seed
        # and the trial's values), so a search with a seed repeats exactly.
        seed = None if self.seed is None else int(
            (int(self.seed) + zlib.crc32(trial_key(hp.values).encode())) % 2**31)
        with seeded(seed, tensorflow=False):
            return fast_fit(model, *args, callbacks=callbacks,
                            fallback_context=lambda: seeded(seed), **kwargs)


class _LeanTrials:
    """Skip Keras Tuner's ``clear_session()`` + full garbage collection before each trial.

    Keras Tuner runs both before building every model: about 0.3 s a trial
    here, more than a small network's whole training. An :class:`MLPHyperModel`
    names its layers itself and its trials share traced programs
    (:mod:`kerastune_kit.fastfit`), so the session holds nothing to reset;
    Python's own collector still frees finished trials' models.
    """

    def _try_build(self, hp):
        if not isinstance(self.hypermodel, MLPHyperModel):
            return super()._try_build(hp)
        model = self._build_hypermodel(hp)
        if self.max_model_size and model.count_params() > self.max_model_size:
            raise kt.errors.FailedTrialError(
                f"Oversized model: {model.count_params()} parameters. Skip model.")
        return model


class Hyperband(_LeanTrials, kt.Hyperband):
    """``keras_tuner.Hyperband`` without the per-trial session reset (see ``_LeanTrials``)."""


class BayesianOptimization(_LeanTrials, kt.BayesianOptimization):
    """``keras_tuner.BayesianOptimization`` without the per-trial session reset."""


class RandomSearch(_LeanTrials, kt.RandomSearch):
    """``keras_tuner.RandomSearch`` without the per-trial session reset."""
