"""One training sequence for every network the kit trains.

:func:`fit_network` is what both :class:`~kerastune_kit.KerasMLPClassifier`
(through scikeras) and :class:`~kerastune_kit.MLPHyperModel` (through Keras
Tuner) call to train a network built by :func:`~kerastune_kit.build_mlp`:

1. measure the loss before training (:func:`~kerastune_kit.callbacks.starting_loss`);
2. seed Python and NumPy for the run (shuffling draws from NumPy; dropout
   seeds live in the model);
3. train on the fast path (:func:`~kerastune_kit.fastfit.fast_fit`), or with
   ``Model.fit`` inside a fully seeded block (TensorFlow's global seed and
   deterministic ops) when the fast path does not cover the call;
4. refuse a run that blew up (:func:`~kerastune_kit.callbacks.check_training`
   raises :class:`~kerastune_kit.errors.TrainingDiverged`).

It also holds the pieces of a fit that do not depend on who asks for it:
seeding (:func:`seeded`, :func:`seed_from`) and the stratified validation
split (:func:`stratified_holdout`).
"""

from __future__ import annotations

import contextlib
import numbers
import random
import threading

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from .callbacks import check_training, starting_loss
from .fastfit import fast_fit, fast_predict, note_network
from .fold_batches import join_stack
from .schedules import LearningRateSchedule, ReduceLROnPlateau

__all__ = ["fit_network", "NetworkView", "seeded", "seed_from", "stratified_holdout",
           "set_learning_rate", "rate_label", "join_histories"]

_SEED_MAX = 2**31 - 1
#: Held by a seeded run for its whole span (see :func:`seeded`): Python's and NumPy's global
#: generators are the run's until it ends, in whichever thread other fits run (a search's
#: candidates train in a background thread while it scores others).
_SEEDED_RUN = threading.RLock()


def fit_network(model: keras.Model, x, y, *, seed: int | None = None, learning_rate=None,
                defer_optimizer: bool = False, **fit_kwargs) -> keras.callbacks.History:
    """Train ``model`` like ``model.fit(x, y, **fit_kwargs)``, seeded and checked.

    Parameters
    ----------
    model : keras.Model
        A compiled network, usually from :func:`~kerastune_kit.build_mlp`.
    x, y : arrays
        Training data, already encoded (labels as class codes).
    seed : int, optional
        Seeds the run's shuffling (and, on the ``Model.fit`` fallback,
        TensorFlow's random ops).
    learning_rate : float, optional
        Shown in the error when the run diverges.
    defer_optimizer : bool, default False
        Leave the optimiser state of a fast fit pending on the model (see
        :func:`~kerastune_kit.fastfit.fast_fit`); only for a caller that
        settles it before the model is seen elsewhere.
    **fit_kwargs
        ``Model.fit`` arguments (``epochs``, ``batch_size``, ``callbacks``,
        ``validation_data``, ``sample_weight``, ...).

    Returns
    -------
    keras.callbacks.History

    Raises
    ------
    TrainingDiverged
        The loss became NaN or infinite, or rose above ten times its value
        before training, unless a ``DivergenceGuard(raise_error=False)`` is
        among the callbacks.
    """
    note_network()  # (now and then frees what TensorFlow keeps of every network made)
    stacked = join_stack(model, x, y, seed=seed, defer_optimizer=defer_optimizer,
                         fit_kwargs=fit_kwargs)  # None unless trained in a stack of folds
    if stacked is not None:
        history, start = stacked.history, stacked.starting_loss
    else:
        start = None if x is None or y is None else starting_loss(
            model, x, y, fit_kwargs.get("sample_weight"))
        with seeded(seed, tensorflow=False):
            history = fast_fit(model, x, y, fallback_context=lambda: seeded(seed),
                               defer_optimizer=defer_optimizer, **fit_kwargs)
    check_training(history.history, start=start, learning_rate=learning_rate,
                   callbacks=fit_kwargs.get("callbacks"))
    return history


class NetworkView:
    """A stand-in for a Keras model whose ``fit`` is :func:`fit_network` and ``predict`` the fast path.

    Every other attribute is the model's own. The estimator puts one in
    place of its model for the span of one ``fit`` or ``predict`` call, so
    scikeras' code trains through the kit's sequence without knowing.
    """

    def __init__(self, model: keras.Model, *, seed: int | None = None, learning_rate=None,
                 defer_optimizer: bool = False):
        self._model = model
        self._seed = seed
        self._learning_rate = learning_rate
        self._defer_optimizer = defer_optimizer

    def fit(self, x=None, y=None, **kwargs):
        return fit_network(self._model, x, y, seed=self._seed, learning_rate=self._learning_rate,
                           defer_optimizer=self._defer_optimizer, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        return fast_predict(self._model, x, batch_size=batch_size, **kwargs)

    def __getattr__(self, name):
        return getattr(self._model, name)


@contextlib.contextmanager
def seeded(seed: int | None, *, tensorflow: bool = True):
    """Seed Python, NumPy and Keras for one training run, then restore them.

    With the TensorFlow backend (and ``tensorflow=True``), TensorFlow's
    global seed is set and its deterministic ops are on inside the block and
    back to their previous state after it. (Setting them clears TensorFlow's
    kernel caches, which would make every fast fit re-instantiate its traced
    program: the fast path runs with ``tensorflow=False``.) One seeded run at
    a time in a process: the global generators are the run's for its whole
    span, so runs in other threads cannot draw from them in between (a
    search's background training, :class:`~kerastune_kit.strategies._stacking.StackAhead`,
    trains fits beside the search's own).
    """
    if seed is None:
        yield
        return
    with _SEEDED_RUN:
        with _seeded(seed, tensorflow):
            yield


@contextlib.contextmanager
def _seeded(seed: int, tensorflow: bool):
    python_state, numpy_state = random.getstate(), np.random.get_state()
    tf = None
    if not tensorflow:
        random.seed(seed)
        np.random.seed(seed)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.eager import context
        from tensorflow.python.framework import config as tf_config

        tf_seed = context.global_seed()
        was_deterministic = tf_config.is_op_determinism_enabled()
    if tensorflow:
        keras.utils.set_random_seed(seed)
    if tf is not None:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if tf is not None:
            tf.random.set_seed(tf_seed)
            if not was_deterministic:
                tf_config.disable_op_determinism()


def seed_from(random_state) -> int | None:
    """An integer seed from a ``random_state`` parameter, without advancing a caller's generator."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(_SEED_MAX))
    # let scikit-learn produce its usual error for anything else
    return int(check_random_state(random_state).randint(_SEED_MAX))


def stratified_holdout(X, y, sample_weight, fraction, seed, *, stratify: bool = True):
    """Split off ``fraction`` of the rows, stratified when every class can be.

    ``stratify=False`` (regression targets) gives a plain shuffled split.

    Returns ``X_train, y_train, sample_weight_train, validation`` where
    ``validation`` is ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``.
    """
    n = len(y)
    n_val = int(round(n * fraction))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_split={fraction!r} leaves {n_val} validation and {n - n_val} "
            f"training rows out of {n}; use a larger training set or another fraction."
        )
    groups = None
    if stratify:
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        _, counts = np.unique(labels, return_counts=True)
        groups = labels if counts.min() >= 2 and n_val >= len(counts) else None
    idx_train, idx_val = train_test_split(
        np.arange(n), test_size=n_val, stratify=groups, random_state=seed
    )
    validation = (X[idx_val], y[idx_val])
    if sample_weight is not None:
        validation += (sample_weight[idx_val],)
        sample_weight = sample_weight[idx_train]
    return X[idx_train], y[idx_train], sample_weight, validation


# ------------------------------------------------------------------ continuing a fit
def set_learning_rate(model: keras.Model, learning_rate) -> None:
    """Give a trained model's optimiser a new constant rate, keeping its state (moments, steps).

    Raises
    ------
    InvalidParameterValue
        When the optimiser follows a Keras schedule object, or ``learning_rate``
        is one: a compiled optimiser cannot switch between the two.
    """
    from .errors import InvalidParameterValue

    schedule_type = keras.optimizers.schedules.LearningRateSchedule
    current = getattr(model.optimizer, "_learning_rate", None)
    if isinstance(learning_rate, schedule_type) or isinstance(current, schedule_type):
        raise InvalidParameterValue(
            f"learning_rate={learning_rate!r}: a warm-started fit continues with the optimiser "
            "as it was built, so it cannot switch to or from a Keras schedule object. Keep "
            "learning_rate a number and put a schedule callback (e.g. OneCycle(peak, "
            "per_step=True)) in callbacks to change the rate as training goes on.")
    model.optimizer.learning_rate = float(learning_rate)


def rate_label(learning_rate, callbacks) -> tuple[str, float | None]:
    """How a fit sets its rate: ``(label for the history's marks, constant rate or None)``.

    The label is a schedule callback's name and main setting, else the rate;
    the constant rate is None when a schedule callback changes it.
    """
    for callback in callbacks or ():
        if isinstance(callback, LearningRateSchedule):
            params = callback.get_params(deep=False)
            main = next((k for k in ("peak", "initial", "after") if k in params), None)
            shown = "" if main is None else f"{main}={_short(params[main])}"
            return f"{type(callback).__name__}({shown})", None
        if isinstance(callback, ReduceLROnPlateau):
            return f"{_short(learning_rate)}, ReduceLROnPlateau", None
    constant = isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool)
    return _short(learning_rate), float(learning_rate) if constant else None


def _short(value) -> str:
    if hasattr(value, "suggestion"):
        value = value.suggestion
    return f"{value:.3g}" if isinstance(value, numbers.Real) else type(value).__name__


def join_histories(before: dict, after: dict, *, rates=(None, None)) -> dict:
    """``before`` followed by ``after``, key by key, so one plot shows the whole run.

    A key only one part has is padded with NaN in the other; a part without
    ``learning_rate`` gets its constant rate from ``rates`` (``(rate of
    before, rate of after)``) where that is a number.
    """
    n_before = len(next(iter(before.values()), []))
    n_after = len(next(iter(after.values()), []))
    joined = {}
    for key in list(before) + [k for k in after if k not in before]:
        parts = []
        for part, n, rate in ((before, n_before, rates[0]), (after, n_after, rates[1])):
            if key in part:
                parts += list(part[key])
            elif key == "learning_rate" and isinstance(rate, numbers.Real):
                parts += [float(rate)] * n
            else:
                parts += [np.nan] * n
        joined[key] = parts
    return joined
