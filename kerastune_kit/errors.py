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

__all__ = ["TrainingDiverged", "TooManyFailures", "GridConversionError", "InvalidParameterError",
           "InvalidParameterType", "InvalidParameterValue", "FolderInUse", "RecordWriteError",
           "DamagedRecord"]


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


class InvalidParameterError(Exception):
    """A setting the kit cannot train with: a configuration error, not a training failure.

    Raised before anything trains. Inside a search it stops the search at
    once (every trial would fail the same way), where a training failure
    (:class:`TrainingDiverged`) only fails its trial.
    """


class InvalidParameterType(InvalidParameterError, TypeError):
    """A parameter of the wrong type (a bool for an integer, text for a number...)."""


class InvalidParameterValue(InvalidParameterError, ValueError):
    """A parameter of the right type but out of range, or not a known name."""


class GridConversionError(ValueError):
    """A dimension has no finite list of values (a :class:`~kerastune_kit.space.Float` without step)."""


class FolderInUse(RuntimeError):
    """Another live process holds the folder's lock (:class:`kerastune_kit.locking.FolderLock`)."""

    directory: str | None = None
    holder: dict | None = None


class RecordWriteError(OSError):
    """A search's record (a journal line, a saved result) could not be written.

    Raised as ``RecordWriteError(errno, message, filename)``: ``errno`` is the
    cause's (``ENOSPC`` for a full disk, ``EACCES`` for a permission) and
    ``filename`` the file; ``str()`` is the message alone, without the
    ``[Errno N]`` prefix, and a pickled copy (from a worker process) keeps all
    three.
    """

    def __str__(self) -> str:
        return self.strerror if isinstance(self.strerror, str) else super().__str__()


class DamagedRecord(ValueError):
    """A record of a search on disk is damaged (cut short, edited, garbage) or missing.

    ``path`` names the file and ``line`` the line of a JSON-lines journal
    (None for whole files).
    """

    path: str | None = None
    line: int | None = None


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
