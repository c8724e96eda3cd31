"""Small checks shared by every public function.

Each check raises an error that names the parameter, shows the bad value and
its type, and says what to do instead. Nothing here imports Keras.
"""

from __future__ import annotations

import difflib
import numbers
from typing import Iterable

__all__ = ["did_you_mean", "check_choice", "check_number", "check_positive_int"]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""


def check_choice(param: str, value, choices: Iterable[str], *, what: str = "value") -> str:
    """Check that ``value`` is one of ``choices`` (case-insensitive for strings).

    Returns the canonical (lower-case) spelling.
    """
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(
            f"{param}={value!r} (type {type(value).__name__}) is not a valid {what}; "
            f"pass one of the names {sorted(choices)}."
        )
    key = value.lower()
    if key not in choices:
        raise ValueError(
            f"{param}={value!r} is not a known {what}; use one of {sorted(choices)}."
            + did_you_mean(key, choices)
        )
    return key


def check_number(
    param: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_none: bool = False,
) -> None:
    """Check that ``value`` is a real number inside the given bounds."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{param}={value!r} (type {type(value).__name__}) must be a number"
            + (" or None" if allow_none else "")
            + "."
        )
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{param}={value!r} must be a finite number.")
    bad_low = low is not None and (value < low if low_inclusive else value <= low)
    bad_high = high is not None and (value > high if high_inclusive else value >= high)
    if bad_low or bad_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        raise ValueError(
            f"{param}={value!r} is out of range; it must lie in {left}{lo}, {hi}{right}."
        )


def check_positive_int(param: str, value, *, allow_none: bool = False) -> None:
    """Check that ``value`` is an integer >= 1."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{param}={value!r} (type {type(value).__name__}) must be a positive integer."
        )
    if value < 1:
        raise ValueError(f"{param}={value!r} must be a positive integer (>= 1).")
