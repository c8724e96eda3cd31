"""The learning-rate range test (Smith 2017, "Cyclical learning rates for training neural networks").

(The module is not called ``lr_find`` so that the package's ``lr_find`` stays the function.)

One short run in which the learning rate grows exponentially at every step,
from ``low`` to ``high``, while the training loss of each mini-batch is
recorded. The loss first barely moves (rate too small), then falls fast,
then flattens and blows up (rate too large). A good rate lies on the
falling part. :func:`lr_find` runs the test on a copy of an estimator (or of
a Pipeline ending in one, its preprocessing fitted on the data given) and
returns an :class:`LRFindResult` with the rates, the raw and smoothed
losses and two suggestions:

* ``"min/10"`` (the default): a tenth of the rate at the minimum of the
  smoothed loss (at the minimum the rate is already about to be too large);
* ``"steepest"``: the rate where the smoothed loss falls fastest per decade
  of rate (the steepest negative slope of the smoothed loss against
  ``log10(rate)``, between the first tenth of the run and the minimum).

On the digits with Adam and with SGD, ``"min/10"`` falls within half a
decade of the fixed rate with the best validation score after a few epochs,
and one to two decades below the rates that diverge
(``tests/test_lr_find.py`` checks this against a sweep of fixed rates). The
estimator passed in is never trained or changed: the test trains a clone,
from fresh weights, as Smith's does.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .callbacks import DivergenceGuard
from .errors import InvalidParameterType, InvalidParameterValue
from .fastfit import FastPathHints

__all__ = ["lr_find", "LRFindResult", "RULES"]

#: Suggestion rules, see :meth:`LRFindResult.suggest`.
RULES = ("min/10", "steepest")


@dataclass(frozen=True)
class LRFindResult:
    """What a range test saw: one entry per training step.

    Attributes
    ----------
    learning_rates : ndarray
        The rate of each step, growing exponentially from ``low``.
    losses : ndarray
        The training loss of each step's mini-batch.
    smoothed : ndarray
        ``losses`` smoothed by a bias-corrected exponential moving average.
    rule : str
        The rule behind :attr:`suggestion` (one of :data:`RULES`).
    stopped_early : bool
        True when the run stopped because the smoothed loss diverged (rose
        above ``diverge_factor`` times its minimum, or became NaN/inf).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    rule: str = "min/10"
    stopped_early: bool = False
    settings: dict = field(default_factory=dict)

    @property
    def suggestion(self) -> float:
        """The suggested learning rate by :attr:`rule`."""
        return self.suggest(self.rule)

    def _finite_until_minimum(self) -> int:
        finite = np.isfinite(self.smoothed)
        values = np.where(finite, self.smoothed, np.inf)
        return int(np.argmin(values))

    def suggest(self, rule: str = "min/10") -> float:
        """A learning rate by one of the documented rules.

        Parameters
        ----------
        rule : {"min/10", "steepest"}, default "min/10"
            ``"min/10"``: the rate at the minimum of the smoothed loss, divided
            by 10. ``"steepest"``: the rate at the steepest descent of the
            smoothed loss against ``log10(rate)``, searched from the first
            tenth of the steps (where the average is still settling) up to
            the minimum; ``"min/10"``'s answer when that stretch is too short.

        Returns
        -------
        float
        """
        if rule not in RULES:
            raise InvalidParameterValue(f"rule={rule!r} is not a suggestion rule; use one of "
                                        f"{list(RULES)}.")
        best = self._finite_until_minimum()
        at_minimum = float(self.learning_rates[best]) / 10.0
        skip = len(self.learning_rates) // 10
        if rule == "min/10" or best - skip < 2:
            return at_minimum
        slope = np.gradient(self.smoothed[:best + 1], np.log10(self.learning_rates[:best + 1]))
        return float(self.learning_rates[skip + int(np.argmin(slope[skip:]))])

    def to_frame(self):
        """The steps as a DataFrame: ``learning_rate``, ``loss``, ``smoothed``."""
        import pandas as pd

        return pd.DataFrame({"learning_rate": self.learning_rates, "loss": self.losses,
                             "smoothed": self.smoothed})

    def plot(self, ax=None):
        """Loss against learning rate (log x), the suggestions marked; see :func:`~kerastune_kit.plots.plot_lr_find`."""
        from .plots_training import plot_lr_find

        return plot_lr_find(self, ax=ax)

    def __repr__(self) -> str:
        return (f"LRFindResult(steps={len(self.learning_rates)}, suggestion={self.suggestion:.3g} "
                f"(rule {self.rule!r}), min/10={self.suggest('min/10'):.3g}, "
                f"steepest={self.suggest('steepest'):.3g}, stopped_early={self.stopped_early})")


class _RangeTest(FastPathHints, keras.callbacks.Callback):
    """Sets an exponentially growing rate before each step and records each batch's loss."""

    def __init__(self, low: float, high: float, num_steps: int, n_rows: int, batch_size: int,
                 smoothing: float, diverge_factor: float):
        super().__init__()
        self.low, self.high, self.num_steps = low, high, num_steps
        self.n_rows, self.batch_size = n_rows, batch_size
        self.smoothing, self.diverge_factor = smoothing, diverge_factor

    def needs_every_step(self) -> bool:
        return True

    def touches_weights(self) -> bool:
        return False  # it sets the learning rate and reads the logs

    def on_train_begin(self, logs=None):
        self.rates, self.losses, self.smoothed = [], [], []
        self.stopped_early = False
        self._average = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._rows_before, self._mean_before = 0, 0.0  # Keras' loss is a running mean per epoch

    def _rate(self, step: int) -> float:
        return self.low * (self.high / self.low) ** (step / (self.num_steps - 1))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self._rate(len(self.rates))

    def on_train_batch_end(self, batch, logs=None):
        step = len(self.rates)
        rows = max(min(self.batch_size, self.n_rows - batch * self.batch_size), 1)
        mean = float((logs or {}).get("loss", math.nan))
        total = self._rows_before + rows
        loss = (total * mean - self._rows_before * self._mean_before) / rows
        self._rows_before, self._mean_before = total, mean
        beta = self.smoothing
        self._average = beta * self._average + (1 - beta) * loss
        smooth = self._average / (1 - beta ** (step + 1))
        self.rates.append(self._rate(step))
        self.losses.append(loss)
        self.smoothed.append(smooth)
        finite = [s for s in self.smoothed if math.isfinite(s)]
        if not math.isfinite(smooth) or (step >= 5 and smooth > self.diverge_factor * min(finite)):
            self.stopped_early = True
            self.model.stop_training = True
        elif step + 1 >= self.num_steps:
            self.model.stop_training = True


def _check_real(name: str, value, *, low: float | None = None, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterType(f"lr_find: {name}={value!r} (type {type(value).__name__}) "
                                   f"must be a number; {fix}")
    if not math.isfinite(value) or (low is not None and value <= low):
        raise InvalidParameterValue(f"lr_find: {name}={value!r} must be a finite number above "
                                    f"{low}; {fix}")
    return float(value)


def _check_settings(low, high, num_steps, smoothing, diverge_factor, rule) -> None:
    low = _check_real("low", low, low=0, fix="e.g. low=1e-6, the smallest rate to try.")
    high = _check_real("high", high, low=0, fix="e.g. high=10.0, the largest rate to try.")
    if high <= low * 10:
        raise InvalidParameterValue(
            f"lr_find: low={low!r} and high={high!r} span less than one decade (high must be "
            f"above 10 * low); the test needs a wide range, e.g. low=1e-6, high=10.0"
            + (" (swap them?)." if high < low else "."))
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral):
        raise InvalidParameterType(f"lr_find: num_steps={num_steps!r} (type "
                                   f"{type(num_steps).__name__}) must be an integer, e.g. 200.")
    if num_steps < 10:
        raise InvalidParameterValue(f"lr_find: num_steps={num_steps!r} is too few to see the loss "
                                    "fall and rise; use at least 10 (e.g. 200).")
    _check_real("smoothing", smoothing, low=None, fix="a weight in [0, 1), e.g. 0.9.")
    if not 0 <= smoothing < 1:
        raise InvalidParameterValue(f"lr_find: smoothing={smoothing!r} must lie in [0, 1) (the "
                                    "weight of the past in the moving average), e.g. 0.9.")
    _check_real("diverge_factor", diverge_factor, low=1,
                fix="the run stops when the smoothed loss exceeds this times its minimum, e.g. 4.")
    if rule not in RULES:
        raise InvalidParameterValue(f"lr_find: rule={rule!r} is not a suggestion rule; use one of "
                                    f"{list(RULES)}.")


def _network_step(estimator) -> tuple[Any, str]:
    """The Keras estimator and its parameter prefix (``"model__"`` inside a Pipeline)."""
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return last, f"{name}__"
    return estimator, ""


def lr_find(estimator, X, y, *, low: float = 1e-6, high: float = 10.0, num_steps: int = 200,
            smoothing: float = 0.9, diverge_factor: float = 4.0,
            rule: str = "min/10") -> LRFindResult:
    """Run the learning-rate range test of Smith (2017) on a copy of ``estimator``.

    The rate of step ``i`` (``i = 0 .. num_steps - 1``) is
    ``low * (high / low) ** (i / (num_steps - 1))``; each step trains one
    mini-batch (the estimator's ``batch_size``), going over the data as many
    epochs as needed. The run stops after ``num_steps`` steps, or earlier
    when the smoothed loss rises above ``diverge_factor`` times its
    minimum (or becomes NaN/inf).

    Parameters
    ----------
    estimator : KerasMLPClassifier or Pipeline ending in one
        Cloned, never changed (a fitted estimator keeps its weights and
        optimiser state). The clone starts from fresh weights with the
        estimator's network, optimiser, batch size and ``random_state``;
        its callbacks, epochs and ``validation_split`` are not used. In a
        Pipeline the preprocessing is fitted on ``X``.
    X, y : array-like
        Training data (never a test set).
    low, high : float, default 1e-6 and 10.0
        The first and the last rate; ``high`` must be above ``10 * low``.
    num_steps : int, default 200
        Steps of the full run (at least 10): about 28 a decade with the
        default bounds.
    smoothing : float, default 0.9
        ``beta`` of the moving average ``a = beta * a + (1 - beta) * loss``,
        bias-corrected (``a / (1 - beta ** (i + 1))``); 0 means no smoothing.
    diverge_factor : float, default 4.0
        Stop when the smoothed loss exceeds this times its minimum so far.
    rule : {"min/10", "steepest"}, default "min/10"
        The rule of ``result.suggestion`` (see :meth:`LRFindResult.suggest`).

    Returns
    -------
    LRFindResult

    Raises
    ------
    InvalidParameterType, InvalidParameterValue
        For bad bounds or settings, before anything trains.

    Examples
    --------
    >>> from kerastune_kit import KerasMLPClassifier, load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> result = lr_find(KerasMLPClassifier(random_state=0), X, y)   # doctest: +SKIP
    >>> clf = KerasMLPClassifier(learning_rate=result.suggestion)    # doctest: +SKIP
    """
    _check_settings(low, high, num_steps, smoothing, diverge_factor, rule)
    network, prefix = _network_step(estimator)
    if not {"batch_size", "callbacks", "learning_rate"} <= set(network.get_params(deep=False)):
        raise InvalidParameterType(
            f"lr_find: estimator={type(network).__name__} is not a kerastune_kit Keras "
            "estimator; pass a KerasMLPClassifier or a Pipeline ending in one.")
    batch_size = network.get_params(deep=False)["batch_size"]
    n_rows = len(X)
    steps_per_epoch = max(-(-n_rows // int(batch_size)), 1)
    test = _RangeTest(float(low), float(high), int(num_steps), n_rows, int(batch_size),
                      float(smoothing), float(diverge_factor))
    settings = {"callbacks": [test, DivergenceGuard(raise_error=False)],
                "epochs": -(-int(num_steps) // steps_per_epoch), "validation_split": 0.0,
                "warm_start": False, "learning_rate": float(low), "verbose": 0}
    if "optimizer__learning_rate" in network.get_params(deep=False):
        settings["optimizer__learning_rate"] = float(low)
    copy = clone(estimator).set_params(**{prefix + k: v for k, v in settings.items()})
    copy.fit(X, y)
    return LRFindResult(
        learning_rates=np.asarray(test.rates, dtype=float),
        losses=np.asarray(test.losses, dtype=float),
        smoothed=np.asarray(test.smoothed, dtype=float),
        rule=rule, stopped_early=test.stopped_early,
        settings={"low": float(low), "high": float(high), "num_steps": int(num_steps),
                  "smoothing": float(smoothing), "diverge_factor": float(diverge_factor),
                  "batch_size": int(batch_size)},
    )
