"""What every search-space dimension shares: the :class:`Dimension` base class.

Besides the base class, this module holds the few helpers that the kinds of
dimension (:mod:`kerastune_kit.dimensions`, :mod:`kerastune_kit.choices`) and
:mod:`kerastune_kit.space` all use: prefixing validation messages, turning a
seed into a random generator, and a scipy-style distribution drawn from any
dimension. Each module that defines kinds adds them to ``DIMENSION_TYPES``,
so :meth:`Dimension.from_config` can dispatch on ``"type"`` without importing
them. ``Dimension`` is re-exported by :mod:`kerastune_kit.dimensions` and
:mod:`kerastune_kit.space`; import it from there.

This module imports neither Keras, Keras Tuner nor TensorFlow.
"""

from __future__ import annotations

import json
import numbers
from typing import Callable, Mapping, Sequence

import numpy as np

from ._validation import check_number, check_positive_int, did_you_mean

__all__ = ["Dimension", "DimensionRV", "DIMENSION_TYPES", "ONE_MINUS", "as_rng", "prefixed"]
ONE_MINUS = "__one_minus"  # Keras Tuner name suffix of a reverse_log Float

# config "type" -> kind of dimension; kerastune_kit.dimensions adds Int and
# Float, kerastune_kit.choices adds Categorical and Fixed.
DIMENSION_TYPES: dict[str, type] = {}


# --------------------------------------------------------------------- helpers
def prefixed(prefix: str, check: Callable, *args, **kwargs):
    """Run a ``_validation`` check, prefixing its message with ``prefix``."""
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{prefix}: {exc}") from None


def as_rng(rng) -> np.random.Generator | np.random.RandomState:
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng={rng!r} (type {type(rng).__name__}) must be a numpy Generator, "
        "an int seed or None; e.g. rng=np.random.default_rng(0)."
    )


class DimensionRV:
    """Distribution object with scipy's ``rvs(size, random_state)`` signature."""

    def __init__(self, dimension: "Dimension"):
        self.dimension = dimension

    def rvs(self, size=None, random_state=None):
        gen = as_rng(random_state)
        if size is None:
            return self.dimension._from_unit(gen.random(1))[0]
        u = np.asarray(gen.random(size))
        return np.asarray(self.dimension._from_unit(u.ravel())).reshape(u.shape)

    def __repr__(self) -> str:
        return f"<distribution of {self.dimension!r}>"


# ------------------------------------------------------------------ dimensions
class Dimension:
    """Base class of one searchable parameter. Bounds are always inclusive."""

    _POSITIONAL: tuple[str, ...] = ()
    _KEYWORDS: tuple[str, ...] = ()

    # -- implemented by subclasses
    def _from_unit(self, u: np.ndarray) -> list:  # map uniform [0, 1) draws to values
        raise NotImplementedError

    def _grid(self, name: str | None) -> list:
        raise NotImplementedError

    def _from_kt(self, values: Mapping, name: str):
        raise NotImplementedError

    def to_scipy(self):
        """Distribution for ``RandomizedSearchCV``: an object with ``rvs`` or a list."""
        return DimensionRV(self)

    def to_keras_tuner(self, hp, name: str):
        """Register on a Keras Tuner ``hp`` and return this trial's actual value."""
        raise NotImplementedError

    def to_optuna(self, trial, name: str):
        """Ask an Optuna ``trial`` for a value (``trial.suggest_*``) and return the actual value."""
        raise NotImplementedError

    def to_optuna_distribution(self, name: str):
        """The matching ``optuna.distributions`` object, e.g. for ``OptunaSearchCV``."""
        raise NotImplementedError

    def _from_optuna(self, params: Mapping, name: str):
        raise NotImplementedError

    def contains(self, value) -> bool:
        """Whether ``value`` is one of the values this dimension can produce."""
        raise NotImplementedError

    def narrow(self, values: Sequence, *, margin: float = 0.5) -> "Dimension":
        """Coarse-to-fine: a sub-dimension around ``values`` (see :class:`SearchSpace`)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """JSON-safe description, with a ``"type"`` key; see :meth:`from_config`."""
        raise NotImplementedError

    # -- shared
    @property
    def is_log(self) -> bool:
        """True for log and reverse_log scales (draw such axes on a log scale)."""
        return False

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """Draw one value (``size=None``) or a list of ``size`` values.

        Examples
        --------
        >>> isinstance(Int(1, 3).sample(np.random.default_rng(0)), int)
        True
        >>> set(Int(1, 3).sample(np.random.default_rng(0), size=200))
        {1, 2, 3}
        """
        gen = as_rng(rng)
        if size is None:
            return self._from_unit(gen.random(1))[0]
        check_positive_int("size", size)
        return self._from_unit(gen.random(int(size)))

    def grid(self) -> list:
        """All values, for a grid search; raises :class:`GridConversionError` if continuous."""
        return self._grid(None)

    def _check_good(self, values: Sequence, margin: float) -> list:
        check_number("margin", margin, low=0)
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(
                f"values={values!r} (type {type(values).__name__}) must be a list of "
                "good values of this dimension."
            )
        if len(values) == 0:
            raise ValueError("values=[] is empty; narrow() needs at least one good value.")
        for v in values:
            if not self.contains(v):
                raise ValueError(
                    f"good value {v!r} is not inside {self!r}; narrow() needs values "
                    "this dimension can produce."
                )
        return list(values)

    @staticmethod
    def from_config(config: Mapping) -> "Dimension":
        """Rebuild a dimension from :meth:`get_config` output (dispatches on ``"type"``).

        Examples
        --------
        >>> Dimension.from_config(Int(1, 8, step=7).get_config())
        Int(1, 8, step=7)
        """
        if not isinstance(config, Mapping):
            raise TypeError(
                f"config={config!r} (type {type(config).__name__}) must be a dict "
                "made by Dimension.get_config()."
            )
        kind = config.get("type")
        if kind not in DIMENSION_TYPES:
            raise ValueError(
                f"config['type']={kind!r} is not a dimension type; use one of "
                f"{sorted(DIMENSION_TYPES)}." + did_you_mean(str(kind), DIMENSION_TYPES)
            )
        cls = DIMENSION_TYPES[kind]
        params = {k: v for k, v in config.items() if k != "type"}
        unknown = sorted(set(params) - set(cls._POSITIONAL) - set(cls._KEYWORDS))
        missing = [k for k in cls._POSITIONAL if k not in params]
        if unknown or missing:
            raise ValueError(
                f"config for {kind} has unknown keys {unknown} and lacks {missing}; "
                f"expected {list(cls._POSITIONAL + cls._KEYWORDS)}."
            )
        args = [params.pop(k) for k in cls._POSITIONAL]
        return cls(*args, **params)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Dimension):
            return NotImplemented
        return type(self) is type(other) and json.dumps(self.get_config()) == json.dumps(
            other.get_config()
        )

    def __hash__(self) -> int:
        return hash(json.dumps(self.get_config()))

