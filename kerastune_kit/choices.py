"""Dimensions with a list of values: Categorical (one of several) and Fixed (one).

Their values are plain JSON-able Python (str, int, float, bool, None or tuples
of those; lists are stored as tuples), compared so that ``True`` and ``1``
stay different. Both are re-exported by :mod:`kerastune_kit.dimensions` and
:mod:`kerastune_kit.space`.

This module imports neither Keras, Keras Tuner nor TensorFlow.
"""

from __future__ import annotations

import math
import numbers
from typing import Mapping, Sequence

import numpy as np

from ._dimension_base import DIMENSION_TYPES, Dimension, prefixed
from .errors import GridConversionError

__all__ = ["Categorical", "Fixed"]
_KT_TYPES = (str, int, float, bool)  # what hp.Choice / hp.Fixed accept


# --------------------------------------------------------------------- helpers
def _plain(value, param: str):
    """Normalise a choice / fixed value to plain JSON-able Python (lists -> tuples)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"{param}={value!r} must be a finite number.")
        return float(value)
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v, f"{param}[{i}]") for i, v in enumerate(value))
    raise TypeError(
        f"{param}={value!r} (type {type(value).__name__}) is not supported; use a str, "
        "int, float, bool, None or a tuple of those, so the space stays JSON-serialisable."
    )


def _key(value):
    """Equality key that keeps bools apart from numbers (True is not 1 here)."""
    if isinstance(value, tuple):
        return ("tuple", tuple(_key(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    return (type(value).__name__, value)


def _json_safe(value):
    return [_json_safe(v) for v in value] if isinstance(value, tuple) else value


# ------------------------------------------------------------------ dimensions
class Categorical(Dimension):
    """One of a list of values, drawn uniformly.

    Parameters
    ----------
    choices : sequence
        Non-empty, no duplicates; each a str, int, float, bool, None or tuple
        of those (lists are stored as tuples, e.g. layer sizes ``(64, 32)``).
        ``True`` and ``1`` count as different values.

    Examples
    --------
    >>> Categorical(["relu", "tanh"]).grid()
    ['relu', 'tanh']
    >>> Categorical([(64,), (64, 32)]).contains([64, 32])
    True
    """

    _POSITIONAL = ("choices",)

    def __init__(self, choices: Sequence):
        if isinstance(choices, (str, bytes, Mapping)) or not isinstance(
                choices, (Sequence, np.ndarray)):
            raise TypeError(
                f"Categorical: choices={choices!r} (type {type(choices).__name__}) must be a "
                "list of values, e.g. Categorical(['relu', 'tanh'])."
            )
        items = [prefixed("Categorical", _plain, c, f"choices[{i}]")
                 for i, c in enumerate(choices)]
        if not items:
            raise ValueError(
                "Categorical: choices=[] is empty; give at least one value, e.g. "
                "Categorical(['relu', 'tanh']) (or Fixed(value) for a single one)."
            )
        seen: dict = {}
        for i, c in enumerate(items):
            j = seen.setdefault(_key(c), i)
            if j != i:
                raise ValueError(
                    f"Categorical: choices={items!r} lists {c!r} twice (positions {j} and "
                    f"{i}); list each value once."
                )
        self.choices = tuple(items)
        types = {type(c) for c in items}
        if len(types) == 1 and types <= set(_KT_TYPES):
            self._kt = {c: c for c in items}  # KT takes them as they are
        elif types <= {int, float}:
            self._kt = {float(c): c for c in items}  # mixed numbers: KT floats
        else:
            self._kt = {repr(c): c for c in items}  # None / tuples / mixed: repr labels

    def _from_unit(self, u: np.ndarray) -> list:
        n = len(self.choices)
        return [self.choices[int(i)] for i in np.clip(np.floor(u * n), 0, n - 1)]

    def _grid(self, name: str | None) -> list:
        return list(self.choices)

    def to_scipy(self) -> list:
        """The list of choices (scikit-learn samples lists uniformly)."""
        return list(self.choices)

    def to_keras_tuner(self, hp, name: str):
        """``hp.Choice(name, ...)``; returns the actual choice.

        Choices of one KT type (str, int, float or bool) are registered as they
        are; a mix of ints and floats as floats; anything else (None, tuples,
        mixed types) as their ``repr`` strings (``"None"``, ``"(64, 32)"``),
        mapped back to the real value here and in
        :meth:`SearchSpace.from_keras_tuner_values`.
        """
        labels = list(self._kt)
        return self._kt[hp.Choice(name, labels)]

    def _from_kt(self, values: Mapping, name: str):
        label = values[name]
        if label not in self._kt:
            raise ValueError(
                f"Keras Tuner value {name}={label!r} is not one of {list(self._kt)}; the "
                "values must come from a model built with this space."
            )
        return self._kt[label]

    def _optuna_labels(self) -> dict:
        """Optuna choice -> actual choice: the values themselves when Optuna can store and tell
        them apart (None, bool, int, float, str; no bool next to a number), else repr labels."""
        plain = all(c is None or isinstance(c, (str, int, float)) for c in self.choices)
        has_bool = any(isinstance(c, bool) for c in self.choices)
        has_number = any(isinstance(c, (int, float)) and not isinstance(c, bool)
                         for c in self.choices)
        if plain and not (has_bool and has_number):
            return {c: c for c in self.choices}
        return {repr(c): c for c in self.choices}

    def to_optuna(self, trial, name: str):
        """``trial.suggest_categorical(name, choices)``; returns the actual choice.

        Choices Optuna cannot store or tell apart (tuples such as layer sizes,
        ``True`` next to ``1``) are offered as their ``repr`` strings
        (``"(64, 32)"``) and mapped back here and in :meth:`SearchSpace.from_optuna`.
        """
        labels = self._optuna_labels()
        return labels[trial.suggest_categorical(name, list(labels))]

    def to_optuna_distribution(self, name: str):
        """``optuna.distributions.CategoricalDistribution`` of the choices (or their labels)."""
        from ._optional import require

        return require("optuna.distributions", "Optuna conversion").CategoricalDistribution(
            list(self._optuna_labels()))

    def _from_optuna(self, params: Mapping, name: str):
        labels = self._optuna_labels()
        label = params[name]
        if label not in labels:
            raise ValueError(f"Optuna value {name}={label!r} is not one of {list(labels)}; the "
                             "values must come from a trial that used this space.")
        return labels[label]

    def contains(self, value) -> bool:
        try:
            key = _key(_plain(value, "value"))
        except (TypeError, ValueError):
            return False
        return any(key == _key(c) for c in self.choices)

    def narrow(self, values: Sequence, *, margin: float = 0.5) -> "Categorical":
        keys = {_key(_plain(v, "value")) for v in self._check_good(values, margin)}
        return Categorical([c for c in self.choices if _key(c) in keys])

    def get_config(self) -> dict:
        return {"type": "Categorical", "choices": [_json_safe(c) for c in self.choices]}

    def __repr__(self) -> str:
        return f"Categorical({list(self.choices)!r})"


class Fixed(Dimension):
    """A value that is not searched (str, int, float, bool, None or tuple).

    Examples
    --------
    >>> Fixed("adam").grid()
    ['adam']
    """

    _POSITIONAL = ("value",)

    def __init__(self, value):
        self.value = prefixed("Fixed", _plain, value, "value")

    def _from_unit(self, u: np.ndarray) -> list:
        return [self.value] * len(u)

    def _grid(self, name: str | None) -> list:
        return [self.value]

    def to_scipy(self) -> list:
        """``[value]``."""
        return [self.value]

    def to_keras_tuner(self, hp, name: str):
        """``hp.Fixed(name, value)`` for str/int/float/bool; None/tuples are not registered."""
        if isinstance(self.value, _KT_TYPES):
            hp.Fixed(name, self.value)
        return self.value

    def _from_kt(self, values: Mapping, name: str):
        return self.value

    def to_optuna(self, trial, name: str):
        """Nothing is asked of ``trial`` (Optuna has no fixed parameters); returns the value."""
        return self.value

    def to_optuna_distribution(self, name: str):
        """A one-choice ``CategoricalDistribution`` (refused for a tuple: set it on the estimator)."""
        from ._optional import require

        if isinstance(self.value, tuple):
            raise GridConversionError(
                f"parameter {name!r} = {self!r}: Optuna cannot store a tuple choice; set "
                f"{name}={self.value!r} on the estimator instead of searching it.")
        return require("optuna.distributions", "Optuna conversion").CategoricalDistribution(
            [self.value])

    def _from_optuna(self, params: Mapping, name: str):
        return self.value

    def contains(self, value) -> bool:
        try:
            return _key(_plain(value, "value")) == _key(self.value)
        except (TypeError, ValueError):
            return False

    def narrow(self, values: Sequence, *, margin: float = 0.5) -> "Fixed":
        return self

    def get_config(self) -> dict:
        return {"type": "Fixed", "value": _json_safe(self.value)}

    def __repr__(self) -> str:
        return f"Fixed({self.value!r})"


DIMENSION_TYPES.update({"Categorical": Categorical, "Fixed": Fixed})
