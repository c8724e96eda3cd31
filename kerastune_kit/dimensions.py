"""Search-space dimensions: Int, Float, Categorical and Fixed.

Each dimension is a small object that validates itself, samples, lists its
grid, converts itself to a scipy distribution or a Keras Tuner
hyperparameter, narrows itself around good values (coarse to fine), and
round-trips through ``get_config`` / ``from_config``. They are gathered by
name in :class:`kerastune_kit.space.SearchSpace`.

One rule holds everywhere: **bounds are inclusive**. ``Int(1, 3)`` gives 1, 2
or 3; ``Float(0.0, 1.0, step=0.25)`` gives 0.0, 0.25, 0.5, 0.75 or 1.0.

:class:`Int` and :class:`Float` are defined here; :class:`Categorical` and
:class:`Fixed` in :mod:`kerastune_kit.choices`, and the :class:`Dimension`
base class in ``kerastune_kit._dimension_base``. All are importable from here.

This module imports neither Keras, Keras Tuner nor TensorFlow.
"""

from __future__ import annotations

import math
import numbers
from typing import Mapping, Sequence

import numpy as np
import scipy.stats

from ._dimension_base import DIMENSION_TYPES, ONE_MINUS, Dimension, DimensionRV, prefixed
from ._validation import check_choice, check_number, check_positive_int
from .choices import Categorical, Fixed
from .errors import GridConversionError

__all__ = ["Dimension", "Int", "Float", "Categorical", "Fixed", "GridConversionError"]
_SCALES = ("linear", "log", "reverse_log")


# --------------------------------------------------------------------- helpers
def _tidy(x: float, digits: int = 12) -> float:
    return float(f"{x:.{digits}g}")


def _interval(t_values: Sequence[float], t_low: float, t_high: float, margin: float):
    """Coarse-to-fine interval (in transformed units) around ``t_values``."""
    lo, hi = min(t_values), max(t_values)
    spread = hi - lo
    pad = margin * spread if spread > 0 else margin * 0.1 * (t_high - t_low)
    return max(t_low, lo - pad), min(t_high, hi + pad)


# ------------------------------------------------------------------ dimensions
class Int(Dimension):
    """Integers ``low, low + step, ..., high`` (both bounds inclusive).

    Parameters
    ----------
    low, high : int
        Inclusive bounds: ``Int(1, 3)`` gives 1, 2 or 3. ``high - low`` must be
        a multiple of ``step`` so that ``high`` is a value.
    step : int, default 1
        Distance between values.
    log : bool, default False
        Sample log-uniformly over ``[low, high]`` (needs ``low >= 1``), then
        round to the nearest value of the grid. ``grid()`` still lists every
        value.

    Examples
    --------
    >>> Int(1, 3).grid()
    [1, 2, 3]
    >>> Int(16, 64, step=16).grid()
    [16, 32, 48, 64]
    >>> Int(1, 1000, log=True).contains(1000)
    True
    """

    _POSITIONAL = ("low", "high")
    _KEYWORDS = ("step", "log")

    def __init__(self, low: int, high: int, *, step: int = 1, log: bool = False):
        for param, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(
                    f"Int: {param}={value!r} (type {type(value).__name__}) must be an "
                    "integer; use Float(...) for real-valued parameters."
                )
        prefixed("Int", check_positive_int, "step", step)
        if not isinstance(log, (bool, np.bool_)):
            raise TypeError(f"Int: log={log!r} (type {type(log).__name__}) must be True or False.")
        low, high, step = int(low), int(high), int(step)
        if low > high:
            raise ValueError(
                f"Int: low={low} is greater than high={high}; swap them: Int({high}, {low})."
            )
        rest = (high - low) % step
        if rest:
            below = high - rest
            raise ValueError(
                f"Int: high={high} cannot be reached from low={low} in steps of step={step} "
                f"(bounds are inclusive); use high={below} or high={below + step}."
            )
        if log and low < 1:
            raise ValueError(f"Int: log=True needs low >= 1, got low={low}; use low=1 or log=False.")
        self.low, self.high, self.step, self.log = low, high, step, bool(log)
        self._n = (high - low) // step + 1

    @property
    def is_log(self) -> bool:
        return self.log

    def _snap(self, value) -> int:
        index = min(max(round((float(value) - self.low) / self.step), 0), self._n - 1)
        return self.low + index * self.step

    def _from_unit(self, u: np.ndarray) -> list:
        if self.log:
            a, b = math.log10(self.low), math.log10(self.high)
            index = np.rint((10.0 ** (a + u * (b - a)) - self.low) / self.step)
        else:
            index = np.floor(u * self._n)
        index = np.clip(index, 0, self._n - 1).astype(np.int64)
        return [self.low + int(i) * self.step for i in index]

    def _grid(self, name: str | None) -> list:
        return list(range(self.low, self.high + 1, self.step))

    def to_scipy(self):
        """``scipy.stats.randint(low, high + 1)`` when step is 1 and not log, else an ``rvs`` object."""
        if not self.log and self.step == 1:
            return scipy.stats.randint(self.low, self.high + 1)
        return DimensionRV(self)

    def to_keras_tuner(self, hp, name: str) -> int:
        """``hp.Int``; with ``log=True`` KT's (multiplicative) step is not used, see notes.

        Linear: ``hp.Int(name, low, high, step=step)`` has exactly our values.
        Log: ``hp.Int(name, low, high, sampling="log")`` (no step, since Keras
        Tuner's log step multiplies) and the value is snapped to our grid.
        """
        if not self.log:
            return int(hp.Int(name, min_value=self.low, max_value=self.high,
                              step=self.step, sampling="linear"))
        return self._snap(hp.Int(name, min_value=self.low, max_value=self.high, sampling="log"))

    def _from_kt(self, values: Mapping, name: str) -> int:
        return self._snap(values[name])

    def _optuna_check(self, name: str) -> None:
        if self.log and self.step != 1:
            raise GridConversionError(
                f"parameter {name!r} = {self!r}: Optuna's log-scale integers have step 1; use "
                f"Int({self.low}, {self.high}, log=True), or Categorical({self._grid(name)[:6]}"
                f"{'...' if self._n > 6 else ''}) for exactly these values.")

    def to_optuna(self, trial, name: str) -> int:
        """``trial.suggest_int(name, low, high, step=step, log=log)``: exactly our values.

        ``log=True`` with a step other than 1 is refused (Optuna's log
        integers have step 1) with the fix in the message.
        """
        self._optuna_check(name)
        return int(trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log))

    def to_optuna_distribution(self, name: str):
        """``optuna.distributions.IntDistribution(low, high, log=log, step=step)``."""
        from ._optional import require

        self._optuna_check(name)
        return require("optuna.distributions", "Optuna conversion").IntDistribution(
            self.low, self.high, log=self.log, step=self.step)

    def _from_optuna(self, params: Mapping, name: str) -> int:
        return self._snap(params[name])

    def contains(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            return False
        return self.low <= value <= self.high and (int(value) - self.low) % self.step == 0

    def narrow(self, values: Sequence, *, margin: float = 0.5) -> "Int":
        good = [int(v) for v in self._check_good(values, margin)]
        f = math.log10 if self.log else float
        lo, hi = _interval([f(v) for v in good], f(self.low), f(self.high), margin)
        if self.log:
            lo, hi = 10.0**lo, 10.0**hi
        k_lo = min(math.ceil((lo - self.low) / self.step - 1e-9), (min(good) - self.low) // self.step)
        k_hi = max(math.floor((hi - self.low) / self.step + 1e-9), (max(good) - self.low) // self.step)
        k_lo, k_hi = max(k_lo, 0), min(k_hi, self._n - 1)
        return Int(self.low + k_lo * self.step, self.low + k_hi * self.step,
                   step=self.step, log=self.log)

    def get_config(self) -> dict:
        return {"type": "Int", "low": self.low, "high": self.high, "step": self.step,
                "log": self.log}

    def __repr__(self) -> str:
        extra = (f", step={self.step}" if self.step != 1 else "") + (", log=True" if self.log else "")
        return f"Int({self.low}, {self.high}{extra})"


class Float(Dimension):
    """Real numbers in ``[low, high]`` (both bounds inclusive).

    Parameters
    ----------
    low, high : float
        Inclusive bounds.
    scale : {"linear", "log", "reverse_log"}, default "linear"
        ``"linear"``: uniform. ``"log"``: ``10 ** U(log10 low, log10 high)``,
        needs ``low > 0``; ``Float(1e-4, 1e-1, scale="log")`` puts a third of
        the mass in each decade. ``"reverse_log"``: ``1 - value`` is
        log-uniform, for parameters close to 1 such as Adam's beta; needs
        ``0 < low <= high < 1``. ``Float(0.9, 0.999, scale="reverse_log")``
        puts equal mass in [0.9, 0.99] and [0.99, 0.999].
    step : float, optional
        Linear scale only: the values are ``low, low + step, ..., high``
        (``high - low`` must be a whole number of steps), which also makes the
        dimension a grid. Without a step, ``grid()`` raises
        :class:`GridConversionError`.

    Examples
    --------
    >>> Float(0.0, 1.0, step=0.25).grid()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> Float(1e-4, 1e-1, scale="log")
    Float(0.0001, 0.1, scale='log')
    """

    _POSITIONAL = ("low", "high")
    _KEYWORDS = ("scale", "step")

    def __init__(self, low: float, high: float, *, scale: str = "linear",
                 step: float | None = None):
        prefixed("Float", check_number, "low", low)
        prefixed("Float", check_number, "high", high)
        scale = prefixed("Float", check_choice, "scale", scale, _SCALES, what="scale")
        low, high = float(low), float(high)
        if low > high:
            raise ValueError(
                f"Float: low={low!r} is greater than high={high!r}; swap them: "
                f"Float({high!r}, {low!r})."
            )
        if scale == "log" and low <= 0:
            raise ValueError(
                f"Float: scale='log' needs low > 0, got low={low!r}; use a positive low "
                "(e.g. 1e-6) or scale='linear'."
            )
        if scale == "reverse_log" and not (0 < low and high < 1):
            raise ValueError(
                f"Float: scale='reverse_log' needs 0 < low <= high < 1 (it makes 1 - value "
                f"log-uniform), got low={low!r}, high={high!r}; use scale='log' or 'linear'."
            )
        self._n = None
        if step is not None:
            prefixed("Float", check_number, "step", step, low=0, low_inclusive=False)
            if scale != "linear":
                raise ValueError(
                    f"Float: step={step!r} needs scale='linear', got scale={scale!r}; for a "
                    "log-spaced grid use Categorical([...]), e.g. Categorical([1e-4, 1e-3, 1e-2])."
                )
            step = float(step)
            ratio = (high - low) / step
            if abs(ratio - round(ratio)) > 1e-6:
                below = low + math.floor(ratio) * step
                raise ValueError(
                    f"Float: high={high!r} cannot be reached from low={low!r} in steps of "
                    f"step={step!r} (bounds are inclusive); use high={_tidy(below)!r} or "
                    f"high={_tidy(below + step)!r}."
                )
            self._n = int(round(ratio)) + 1
        self.low, self.high, self.scale, self.step = low, high, scale, step

    @classmethod
    def around(cls, rate, *, decades: float = 1.0) -> "Float":
        """A log-scale dimension centred on ``rate``: ``[rate / 10**decades, rate * 10**decades]``.

        For a search that starts from a learning-rate range test
        (:func:`kerastune_kit.lr_find`): ``Float.around(result.suggestion)``,
        or the result itself.

        Parameters
        ----------
        rate : float or LRFindResult
            The centre, a positive number (a range test's result stands for
            its ``suggestion``).
        decades : float, default 1.0
            Half-width in decades: the dimension spans ``2 * decades`` decades.

        Returns
        -------
        Float
            ``Float(rate / 10**decades, rate * 10**decades, scale="log")``.

        Examples
        --------
        >>> Float.around(3e-3, decades=1)
        Float(0.0003, 0.03, scale='log')
        """
        if hasattr(rate, "suggestion") and not isinstance(rate, numbers.Real):
            rate = rate.suggestion
        fix = " Give a positive rate and a positive half-width, e.g. Float.around(3e-3, decades=1)."
        for name, value in (("rate", rate), ("decades", decades)):
            try:
                check_number(name, value, low=0, low_inclusive=False)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"Float.around: {exc}{fix}") from None
        return cls(_tidy(rate / 10.0**decades), _tidy(rate * 10.0**decades), scale="log")

    @property
    def is_log(self) -> bool:
        return self.scale != "linear"

    def _value_at(self, k: int) -> float:
        if k <= 0:
            return self.low
        if k >= self._n - 1:
            return self.high
        raw = self.low + k * self.step
        tidy = _tidy(raw)
        return min(max(tidy if abs(tidy - raw) <= 1e-7 * self.step else raw, self.low), self.high)

    def _index(self, value) -> int:
        return min(max(round((float(value) - self.low) / self.step), 0), self._n - 1)

    def _clip(self, value) -> float:
        return min(max(float(value), self.low), self.high)

    def _from_unit(self, u: np.ndarray) -> list:
        if self.step is not None:
            index = np.clip(np.floor(u * self._n), 0, self._n - 1).astype(np.int64)
            return [self._value_at(int(k)) for k in index]
        if self.scale == "linear":
            x = self.low + u * (self.high - self.low)
        elif self.scale == "log":
            a, b = math.log10(self.low), math.log10(self.high)
            x = 10.0 ** (a + u * (b - a))
        else:
            a, b = math.log10(1 - self.high), math.log10(1 - self.low)
            x = 1.0 - 10.0 ** (a + u * (b - a))
        return [float(v) for v in np.clip(x, self.low, self.high)]

    def _grid(self, name: str | None) -> list:
        if self.step is not None:
            return [self._value_at(k) for k in range(self._n)]
        who = f"parameter {name!r} = {self!r}" if name else repr(self)
        lo, hi = self.low, self.high
        if self.scale == "linear":
            points = np.linspace(lo, hi, 5)
        elif self.scale == "log":
            points = np.geomspace(lo, hi, min(max(round(math.log10(hi / lo)) + 1, 3), 6))
        else:
            points = 1 - np.geomspace(1 - lo, 1 - hi, 3)
        try_these = f"{name + '=' if name else ''}Categorical({[_tidy(v, 3) for v in points]})"
        if self.scale == "linear":
            how = (f"give it a step (Float({lo!r}, {hi!r}, step=...)) or use Categorical([...]) "
                   f"with the values to try, e.g. {try_these}.")
        else:
            how = (f"use Categorical([...]) with the values to try, e.g. {try_these} (a step "
                   f"needs scale='linear': Float({lo!r}, {hi!r}, step=...)).")
        raise GridConversionError(f"{who} is continuous and cannot be a grid: {how}")

    def to_scipy(self):
        """``scipy.stats.uniform`` / ``loguniform`` where exact, else an ``rvs`` object."""
        if self.step is None and self.low < self.high:
            if self.scale == "linear":
                return scipy.stats.uniform(self.low, self.high - self.low)
            if self.scale == "log":
                return scipy.stats.loguniform(self.low, self.high)
        return DimensionRV(self)

    def to_keras_tuner(self, hp, name: str) -> float:
        """Register on ``hp``; returns the value to use.

        linear/log: ``hp.Float(name, low, high, sampling=scale)``. With a step:
        ``hp.Choice(name, grid, ordered=True)`` (exact values; KT's own float
        step can drop ``high`` to round-off). reverse_log: Keras Tuner's
        ``"reverse_log"`` makes ``low + high - value`` log-uniform, not
        ``1 - value``, so this registers ``hp.Float(name + "__one_minus",
        1 - high, 1 - low, sampling="log")`` and returns ``1 -`` that.
        """
        if self.step is not None:
            return self._clip(hp.Choice(name, self._grid(name), ordered=True))
        if self.scale == "reverse_log":
            w = hp.Float(name + ONE_MINUS, min_value=1 - self.high, max_value=1 - self.low,
                         sampling="log")
            return self._clip(1 - w)
        return self._clip(hp.Float(name, min_value=self.low, max_value=self.high,
                                   sampling=self.scale))

    def to_optuna(self, trial, name: str) -> float:
        """Ask ``trial`` for a value; returns the value to use.

        linear/log: ``trial.suggest_float(name, low, high, log=...)``. With a
        step: ``suggest_float(name, low, high, step=step)``, snapped to our
        exact grid value. reverse_log: Optuna has no such scale, so this asks
        for ``name + "__one_minus"`` in ``[1 - high, 1 - low]`` on a log scale,
        returns ``1 -`` that, and records the value used as the trial's user
        attribute ``name`` (:meth:`SearchSpace.from_optuna` reads either).
        """
        if self.scale == "reverse_log":
            w = trial.suggest_float(name + ONE_MINUS, 1 - self.high, 1 - self.low, log=True)
            value = self._clip(1 - w)
            trial.set_user_attr(name, value)
            return value
        if self.step is not None:
            self._optuna_step_check(name)
            return self._value_at(self._index(
                trial.suggest_float(name, self.low, self.high, step=self.step)))
        return self._clip(trial.suggest_float(name, self.low, self.high,
                                              log=self.scale == "log"))

    def _optuna_step_check(self, name: str) -> None:
        from decimal import Decimal

        span = Decimal(str(self.high)) - Decimal(str(self.low))
        if span % Decimal(str(self.step)) != 0:  # Optuna would lower high, silently dropping it
            raise GridConversionError(
                f"parameter {name!r} = {self!r}: Optuna would not reach high={self.high!r} "
                f"in decimal steps of {self.step!r}; use Categorical({self._grid(name)[:6]}"
                f"{'...' if self._n > 6 else ''}) for exactly these values.")

    def to_optuna_distribution(self, name: str):
        """``optuna.distributions.FloatDistribution`` (linear, log, or linear with a step).

        reverse_log has no Optuna distribution and is refused, with the fix.
        """
        from ._optional import require

        if self.scale == "reverse_log":
            raise GridConversionError(
                f"parameter {name!r} = {self!r}: Optuna distributions have no reverse-log "
                "scale (1 - value log-uniform). Inside an objective use "
                "space.to_optuna(trial), which samples it exactly; for OptunaSearchCV use "
                f"Float({self.low!r}, {self.high!r}) (linear) or a Categorical of the values.")
        if self.step is not None:
            self._optuna_step_check(name)
        return require("optuna.distributions", "Optuna conversion").FloatDistribution(
            self.low, self.high, log=self.scale == "log", step=self.step)

    def _from_optuna(self, params: Mapping, name: str) -> float:
        if self.scale == "reverse_log":
            return self._clip(1 - params[name + ONE_MINUS])
        return self._from_kt(params, name)

    def _from_kt(self, values: Mapping, name: str) -> float:
        if self.scale == "reverse_log":
            return self._clip(1 - values[name + ONE_MINUS])
        if self.step is not None:
            return self._value_at(self._index(values[name]))
        return self._clip(values[name])

    def contains(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        if not (math.isfinite(value) and self.low <= value <= self.high):
            return False
        if self.step is None:
            return True
        return abs((float(value) - self.low) / self.step - self._index(value)) <= 1e-6

    def narrow(self, values: Sequence, *, margin: float = 0.5) -> "Float":
        good = [float(v) for v in self._check_good(values, margin)]
        fwd, back = {
            "linear": (lambda v: v, lambda t: t),
            "log": (math.log10, lambda t: 10.0**t),
            "reverse_log": (lambda v: math.log10(1 - v), lambda t: 1 - 10.0**t),
        }[self.scale]
        t_old = sorted((fwd(self.low), fwd(self.high)))
        lo_t, hi_t = _interval([fwd(v) for v in good], t_old[0], t_old[1], margin)
        lo, hi = sorted((back(lo_t), back(hi_t)))
        lo = min(self._clip(lo), min(good))
        hi = max(self._clip(hi), max(good))
        if self.step is None:
            return Float(lo, hi, scale=self.scale)
        k_lo = min(math.ceil((lo - self.low) / self.step - 1e-9), self._index(min(good)))
        k_hi = max(math.floor((hi - self.low) / self.step + 1e-9), self._index(max(good)))
        k_lo, k_hi = max(k_lo, 0), min(k_hi, self._n - 1)
        return Float(self._value_at(k_lo), self._value_at(k_hi), step=self.step)

    def get_config(self) -> dict:
        return {"type": "Float", "low": self.low, "high": self.high, "scale": self.scale,
                "step": self.step}

    def __repr__(self) -> str:
        extra = (f", scale={self.scale!r}" if self.scale != "linear" else "") + (
            f", step={self.step!r}" if self.step is not None else "")
        return f"Float({self.low!r}, {self.high!r}{extra})"


DIMENSION_TYPES.update({"Int": Int, "Float": Float})
