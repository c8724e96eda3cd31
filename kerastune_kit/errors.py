"""The project's exceptions, in one place.

Each is re-exported where users found it before (``kerastune_kit``,
``kerastune_kit.callbacks``, ``kerastune_kit.hypermodel``,
``kerastune_kit.space``), so catching one never needs to know which module
raised it. Importing this module imports nothing heavy: the one exception
that needs Keras Tuner, :class:`TrainingDiverged`, is made the first time it
is asked for.
"""

from __future__ import annotations

import threading
from typing import Iterable

__all__ = ["TrainingDiverged", "TooManyFailures", "GridConversionError"]


class TooManyFailures(RuntimeError):
    """A search stopped because too many trials in a row failed."""

    @classmethod
    def in_a_row(cls, limit: int, what: str, ids: Iterable, last_error: str | None,
                 kept: str) -> "TooManyFailures":
        """The error for ``limit`` failed ``what`` (trials, candidates) ``ids`` in a row."""
        return cls(
            f"max_consecutive_failures={limit}: {what} {', '.join(map(str, ids))} failed in a "
            f"row (last error: {last_error or 'unknown'}). {kept} Narrow the space (e.g. lower "
            "learning rates), or raise max_consecutive_failures and resume.")


class GridConversionError(ValueError):
    """A dimension has no finite list of values (a :class:`~kerastune_kit.space.Float` without step)."""


_LOCK = threading.Lock()


def _make_training_diverged() -> type:
    # A Keras Tuner FailedTrialError: Keras Tuner fails such a trial at once, without the
    # retries it gives other errors. Importing Keras Tuner loads TensorFlow, which the
    # other exceptions (and kerastune_kit.space, which raises one) must not pay for.
    from keras_tuner.errors import FailedTrialError

    class TrainingDiverged(FailedTrialError, ArithmeticError):
        """The loss became NaN or infinite, or blew up far above its starting value.

        A scikit-learn search records ``error_score`` (NaN) for the candidate and
        goes on; a Keras Tuner search marks the trial FAILED (no retries) and goes
        on; a plain ``fit`` raises it, as scikit-learn's MLPClassifier does for NaN.
        """

    TrainingDiverged.__module__ = __name__
    TrainingDiverged.__qualname__ = "TrainingDiverged"  # pickles by name like any class here
    return TrainingDiverged


def __getattr__(name: str):
    if name != "TrainingDiverged":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _LOCK:
        if "TrainingDiverged" not in globals():
            globals()["TrainingDiverged"] = _make_training_diverged()
    return globals()["TrainingDiverged"]
