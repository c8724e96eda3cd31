"""Learning-rate schedules, each usable as a Keras callback or as a per-step schedule.

Every schedule states its formula once, as a function of ``t``, the number of
epochs done (fractional inside an epoch). That one formula serves three uses:

* ``schedule(epoch)`` gives the rate of an epoch, as a plain float;
* added to ``callbacks``, the schedule sets the optimiser's rate at the start
  of each epoch (or of each step with ``per_step=True``) and writes the rate
  it used into the history as ``learning_rate``;
* ``schedule.as_keras_schedule(steps_per_epoch)`` gives a
  ``keras.optimizers.schedules.LearningRateSchedule`` for ``learning_rate=``.

Schedules are also scikit-learn style parameter holders (``get_params`` /
``set_params(**kw)``), so a search can vary them:
``{"callbacks__schedule__drop": [0.5, 0.7]}``. Keras' own
``set_params(params_dict)`` (training parameters) keeps working.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from sklearn.base import BaseEstimator

from ._validation import check_number
from .fastfit import FastPathHints

__all__ = [
    "LearningRateSchedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "LinearWarmup",
    "OneCycle",
    "ReduceLROnPlateau",
    "PerStepSchedule",
]


class ConfigurableCallback(FastPathHints, keras.callbacks.Callback, BaseEstimator):
    """A Keras callback whose constructor arguments are scikit-learn parameters.

    ``clone`` gives a fresh, untrained copy; pickling drops the model the
    callback was last attached to, so a fitted estimator stays small and
    loadable.
    """

    # Keras calls set_params(training_params_dict); scikit-learn calls
    # set_params(**hyperparameters). One method serves both.
    def set_params(self, params=None, **hyperparameters):
        if params is not None:
            self.params = params
            return None
        return BaseEstimator.set_params(self, **hyperparameters)

    def __getstate__(self):
        state = BaseEstimator.__getstate__(self)
        state["_model"] = None
        for key in self._runtime_state():
            state.pop(key, None)
        return state

    def _runtime_state(self) -> tuple[str, ...]:
        """Attributes that only make sense during one training run."""
        return ()

    def needs_every_step(self) -> bool:
        """Whether the batch hooks must run after every step.

        False: like Keras with ``steps_per_execution``, they may run once per
        span of steps (:mod:`kerastune_kit.fastfit` trains a whole epoch per span).
        """
        return False

    def touches_weights(self) -> bool:
        """Whether the hooks read or change the model's weights during training.

        True (the safe answer) makes :mod:`kerastune_kit.fastfit` copy the
        weights into the model after every epoch and back before the next;
        callbacks that only read the logs or set the learning rate say False.
        """
        return True

    __repr__ = BaseEstimator.__repr__


class LearningRateSchedule(ConfigurableCallback):
    """Base class: subclasses implement :meth:`rate` with array operations.

    Parameters
    ----------
    per_step : bool, default False
        As a callback, update the rate at every step (``t`` fractional)
        instead of once at the start of each epoch.
    """

    def __init__(self, per_step: bool = False):
        super().__init__()
        self.per_step = per_step

    def rate(self, t, xp):
        """Learning rate after ``t`` epochs; ``xp`` is numpy or ``keras.ops``."""
        raise NotImplementedError

    def validate(self) -> None:
        """Check the parameters; raise a clear error naming the bad one."""

    def __call__(self, epoch: float) -> float:
        self.validate()
        return float(self.rate(np.float64(epoch), np))

    def as_keras_schedule(self, steps_per_epoch: int) -> "PerStepSchedule":
        """A Keras ``LearningRateSchedule`` following this formula step by step."""
        self.validate()
        return PerStepSchedule(self, steps_per_epoch)

    # -- callback protocol ---------------------------------------------
    def _runtime_state(self):
        return ("_epoch", "_used")

    def on_train_begin(self, logs=None):
        self.validate()
        self._epoch = 0
        self._used = None
        lr = getattr(self.model.optimizer, "_learning_rate", None)
        if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                f"{type(self).__name__} sets the learning rate itself, but the optimizer "
                f"already follows a schedule ({type(lr).__name__}). Use one or the other: "
                "a float learning_rate with this callback, or "
                "learning_rate=schedule.as_keras_schedule(steps_per_epoch) without it."
            )

    def _apply(self, t: float) -> None:
        self._used = float(self.rate(np.float64(t), np))
        self.model.optimizer.learning_rate = self._used

    def needs_every_step(self) -> bool:
        return bool(self.per_step)

    def touches_weights(self) -> bool:
        return False  # it sets the optimiser's learning rate only

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self.per_step:
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_step:
            steps = (self.params or {}).get("steps") or 1
            self._apply(self._epoch + batch / steps)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._used is not None:
            logs["learning_rate"] = self._used


class StepDecay(LearningRateSchedule):
    """``lr = initial * drop ** floor(t / epochs_per_drop)``.

    With the defaults of the penguins notebook (0.2, halved every 3 epochs),
    epochs 0-2 use 0.2, epochs 3-5 use 0.1, epochs 6-8 use 0.05, ...
    """

    def __init__(self, initial: float = 0.01, drop: float = 0.5, epochs_per_drop: int = 3,
                 per_step: bool = False):
        super().__init__(per_step=per_step)
        self.initial = initial
        self.drop = drop
        self.epochs_per_drop = epochs_per_drop

    def validate(self):
        check_number("initial", self.initial, low=0, low_inclusive=False)
        check_number("drop", self.drop, low=0, high=1, low_inclusive=False)
        check_number("epochs_per_drop", self.epochs_per_drop, low=0, low_inclusive=False)

    def rate(self, t, xp):
        return self.initial * xp.power(self.drop, xp.floor(t / self.epochs_per_drop))


class ExponentialDecay(LearningRateSchedule):
    """``lr = initial * decay_rate ** t`` (``t`` in epochs)."""

    def __init__(self, initial: float = 0.01, decay_rate: float = 0.9, per_step: bool = False):
        super().__init__(per_step=per_step)
        self.initial = initial
        self.decay_rate = decay_rate

    def validate(self):
        check_number("initial", self.initial, low=0, low_inclusive=False)
        check_number("decay_rate", self.decay_rate, low=0, high=1, low_inclusive=False)

    def rate(self, t, xp):
        return self.initial * xp.power(self.decay_rate, t)


class CosineDecay(LearningRateSchedule):
    """``lr = initial * (alpha + (1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2)``.

    ``T = decay_epochs``; after ``T`` epochs the rate stays at ``alpha * initial``.
    """

    def __init__(self, initial: float = 0.01, decay_epochs: float = 10, alpha: float = 0.0,
                 per_step: bool = False):
        super().__init__(per_step=per_step)
        self.initial = initial
        self.decay_epochs = decay_epochs
        self.alpha = alpha

    def validate(self):
        check_number("initial", self.initial, low=0, low_inclusive=False)
        check_number("decay_epochs", self.decay_epochs, low=0, low_inclusive=False)
        check_number("alpha", self.alpha, low=0, high=1)

    def rate(self, t, xp):
        progress = xp.minimum(t, self.decay_epochs) / self.decay_epochs
        cosine = 0.5 * (1.0 + xp.cos(math.pi * progress))
        return self.initial * (self.alpha + (1.0 - self.alpha) * cosine)


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017).

    The first cycle lasts ``first_decay_epochs``; each next cycle is
    ``t_mul`` times longer and starts at ``m_mul`` times the previous peak.
    Inside a cycle the rate follows :class:`CosineDecay` down to
    ``alpha * peak``. With ``first_decay_epochs=2, t_mul=2`` the restarts
    happen at epochs 2, 6, 14, ...
    """

    def __init__(self, initial: float = 0.01, first_decay_epochs: float = 5, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, per_step: bool = False):
        super().__init__(per_step=per_step)
        self.initial = initial
        self.first_decay_epochs = first_decay_epochs
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha

    def validate(self):
        check_number("initial", self.initial, low=0, low_inclusive=False)
        check_number("first_decay_epochs", self.first_decay_epochs, low=0, low_inclusive=False)
        check_number("t_mul", self.t_mul, low=1)
        check_number("m_mul", self.m_mul, low=0, high=1, low_inclusive=False)
        check_number("alpha", self.alpha, low=0, high=1)

    def rate(self, t, xp):
        period = self.first_decay_epochs
        if self.t_mul == 1.0:
            cycle = xp.floor(t / period)
            start = cycle * period
            length = period + 0.0 * t
        else:
            ratio = self.t_mul
            # cycle i starts at period * (ratio**i - 1) / (ratio - 1)
            cycle = xp.floor(xp.log(1.0 + t * (ratio - 1.0) / period) / math.log(ratio))
            start = period * (xp.power(ratio, cycle) - 1.0) / (ratio - 1.0)
            length = period * xp.power(ratio, cycle)
        progress = (t - start) / length
        cosine = 0.5 * (1.0 + xp.cos(math.pi * progress))
        peak = self.initial * xp.power(self.m_mul, cycle)
        return peak * (self.alpha + (1.0 - self.alpha) * cosine)


class LinearWarmup(LearningRateSchedule):
    """Rise linearly from ``start`` to ``after(0)`` over ``warmup_epochs``, then follow ``after``.

    ``after`` is another schedule or a constant rate; during warm-up
    ``lr = start + (after(0) - start) * t / warmup_epochs``, and from then on
    ``lr = after(t - warmup_epochs)``.
    """

    def __init__(self, after=0.01, warmup_epochs: float = 3, start: float = 0.0,
                 per_step: bool = False):
        super().__init__(per_step=per_step)
        self.after = after
        self.warmup_epochs = warmup_epochs
        self.start = start

    def validate(self):
        check_number("warmup_epochs", self.warmup_epochs, low=0, low_inclusive=False)
        check_number("start", self.start, low=0)
        if isinstance(self.after, LearningRateSchedule):
            self.after.validate()
        else:
            check_number("after", self.after, low=0, low_inclusive=False)

    def _after(self, t, xp):
        if isinstance(self.after, LearningRateSchedule):
            return self.after.rate(t, xp)
        return self.after + 0.0 * t

    def rate(self, t, xp):
        warm = self.start + (self._after(0.0 * t, xp) - self.start) * t / self.warmup_epochs
        later = self._after(xp.maximum(t - self.warmup_epochs, 0.0), xp)
        return xp.where(t < self.warmup_epochs, warm, later)


class OneCycle(LearningRateSchedule):
    """One cycle (Smith 2018): warm up to ``peak``, then anneal far below the start.

    With ``T = total_epochs``, ``W = warmup_fraction * T``, ``start = peak /
    div_factor`` and ``end = start / final_div_factor``, and ``c(p) = (1 -
    cos(pi * p)) / 2`` (0 at ``p = 0``, 1 at ``p = 1``) for
    ``shape="cos"`` or ``c(p) = p`` for ``shape="linear"``:

    * warm-up, ``t < W``: ``lr = start + (peak - start) * c(t / W)``;
    * anneal, ``t >= W``: ``lr = end + (peak - end) * (1 - c(min((t - W) / (T - W), 1)))``,

    so the rate is ``start`` at ``t = 0``, ``peak`` at ``t = W`` and ``end``
    from ``t = T`` on. Use it per step (``per_step=True``, or
    ``as_keras_schedule``) with ``epochs = total_epochs``.

    Parameters
    ----------
    peak : float or LRFindResult, default 0.01
        The highest rate. An :class:`~kerastune_kit.range_test.LRFindResult`
        (anything with a ``suggestion``) stands for its suggestion.
    total_epochs : float, default 10
        Length of the cycle, in epochs.
    warmup_fraction : float, default 0.3
        Share of the cycle spent rising, in (0, 1).
    div_factor : float, default 25
        ``peak / start``.
    final_div_factor : float, default 1e4
        ``start / end``.
    shape : {"cos", "linear"}, default "cos"
    per_step : bool, default False

    Examples
    --------
    >>> schedule = OneCycle(0.1, total_epochs=10, warmup_fraction=0.3)
    >>> round(schedule(0), 6), round(schedule(3), 6), schedule(10) < 1e-6
    (0.004, 0.1, True)
    """

    def __init__(self, peak=0.01, total_epochs: float = 10, warmup_fraction: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, shape: str = "cos",
                 per_step: bool = False):
        super().__init__(per_step=per_step)
        self.peak = peak
        self.total_epochs = total_epochs
        self.warmup_fraction = warmup_fraction
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.shape = shape

    def peak_rate(self) -> float:
        """``peak`` as a number (a range test's suggestion when ``peak`` is its result)."""
        return float(self.peak.suggestion) if hasattr(self.peak, "suggestion") else self.peak

    def validate(self):
        check_number("peak", self.peak_rate(), low=0, low_inclusive=False)
        check_number("total_epochs", self.total_epochs, low=0, low_inclusive=False)
        check_number("warmup_fraction", self.warmup_fraction, low=0, high=1,
                     low_inclusive=False, high_inclusive=False)
        check_number("div_factor", self.div_factor, low=1)
        check_number("final_div_factor", self.final_div_factor, low=1)
        if self.shape not in ("cos", "linear"):
            raise ValueError(f"shape={self.shape!r} must be 'cos' or 'linear'.")

    def rate(self, t, xp):
        peak = self.peak_rate()
        start = peak / self.div_factor
        end = start / self.final_div_factor
        warm = self.warmup_fraction * self.total_epochs
        rise = xp.minimum(t / warm, 1.0)
        fall = xp.minimum(xp.maximum(t - warm, 0.0) / (self.total_epochs - warm), 1.0)
        if self.shape == "cos":
            rise = 0.5 * (1.0 - xp.cos(math.pi * rise))
            fall = 0.5 * (1.0 - xp.cos(math.pi * fall))
        return xp.where(t < warm, start + (peak - start) * rise, end + (peak - end) * (1.0 - fall))


class ReduceLROnPlateau(FastPathHints, keras.callbacks.ReduceLROnPlateau):
    """Keras' ``ReduceLROnPlateau``, reset at each ``fit`` and safe to pickle.

    It reacts to a monitored score, so it has no per-step form. It writes the
    rate into the history as ``learning_rate`` like the other schedules.
    """

    def touches_weights(self) -> bool:
        return False  # it sets the optimiser's learning rate only

    # Keras resets wait/cooldown/best in on_train_begin already.

    def on_epoch_begin(self, epoch, logs=None):
        self._used = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)  # may lower the rate for the next epoch
        if logs is not None:
            logs["learning_rate"] = self._used  # the rate this epoch ran with

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        state.pop("_used", None)
        return state


@keras.saving.register_keras_serializable(package="kerastune_kit")
class PerStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A :class:`LearningRateSchedule` formula evaluated at ``step / steps_per_epoch``."""

    def __init__(self, schedule: LearningRateSchedule, steps_per_epoch: int):
        check_number("steps_per_epoch", steps_per_epoch, low=1)
        self.schedule = schedule
        self.steps_per_epoch = int(steps_per_epoch)

    def __call__(self, step):
        t = keras.ops.cast(step, "float32") / float(self.steps_per_epoch)
        return keras.ops.cast(self.schedule.rate(t, keras.ops), "float32")

    def get_config(self):
        return {
            "schedule": type(self.schedule).__name__,
            "schedule_params": _plain_params(self.schedule),
            "steps_per_epoch": self.steps_per_epoch,
        }

    @classmethod
    def from_config(cls, config):
        schedule = _schedule_from_config(config["schedule"], config["schedule_params"])
        return cls(schedule, config["steps_per_epoch"])


_SCHEDULES = {cls.__name__: cls for cls in
              (StepDecay, ExponentialDecay, CosineDecay, CosineDecayRestarts, LinearWarmup,
               OneCycle)}


def _plain_params(schedule: LearningRateSchedule) -> dict:
    params = schedule.get_params(deep=False)
    if isinstance(schedule, OneCycle):
        params["peak"] = schedule.peak_rate()  # a range test's result saves as its number
    if isinstance(params.get("after"), LearningRateSchedule):
        params["after"] = {"schedule": type(params["after"]).__name__,
                           "schedule_params": _plain_params(params["after"])}
    return params


def _schedule_from_config(name: str, params: dict) -> LearningRateSchedule:
    if name not in _SCHEDULES:
        raise ValueError(f"schedule={name!r} is not a kerastune_kit schedule; "
                         f"known: {sorted(_SCHEDULES)}.")
    params = dict(params)
    if isinstance(params.get("after"), dict):
        params["after"] = _schedule_from_config(**params["after"])
    return _SCHEDULES[name](**params)
