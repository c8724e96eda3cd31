"""What the ``kerastune-kit`` subcommands share.

The :class:`Subcommand` record and :class:`CommandError`, the argparse value
types (their errors become ``argument --cv: ...`` messages), the output
folder check, the TensorFlow quieting and the comparison table with its
one-sentence summary (printed by ``baseline`` and ``tune``). It imports only
the standard library; the command modules import from here, never from
:mod:`kerastune_kit.cli` itself.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = [
    "CommandError",
    "remove_if_empty",
    "Subcommand",
    "int_at_least",
    "fraction",
    "writable_dir", "remove_if_empty",
    "quiet_tensorflow",
    "format_table",
    "summary_sentence",
]


class CommandError(Exception):
    """A user error found while running a subcommand: printed, exit status 2."""


@dataclass(frozen=True)
class Subcommand:
    """One ``kerastune-kit`` subcommand.

    Parameters
    ----------
    name : str
        The word typed on the command line, e.g. ``"baseline"``.
    help : str
        One-line description shown by ``kerastune-kit --help``.
    add_arguments : callable
        ``add_arguments(parser)`` adds the subcommand's options.
    run : callable
        ``run(args) -> int`` executes it and returns the exit code.

    Examples
    --------
    >>> cmd = Subcommand("hello", "Say hello.", lambda p: None, lambda a: 0)
    >>> cmd.name
    'hello'
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------
# argparse value types (errors become "argument --cv: ..." messages)
# --------------------------------------------------------------------------
def int_at_least(low: int) -> Callable[[str], int]:
    """Return an argparse ``type`` accepting integers ``>= low``.

    Parameters
    ----------
    low : int
        The smallest value accepted.

    Returns
    -------
    callable
        ``parse(text) -> int``; raises :class:`argparse.ArgumentTypeError`
        for text that is not an integer or is below ``low``.

    Examples
    --------
    >>> int_at_least(2)("3")
    3
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def fraction(text: str) -> float:
    """Argparse ``type`` for a number strictly between 0 and 1.

    Parameters
    ----------
    text : str
        The command-line text, e.g. ``"0.2"``.

    Returns
    -------
    float

    Examples
    --------
    >>> fraction("0.25")
    0.25
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1 (exclusive), got {text!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must lie strictly between 0 and 1 (e.g. 0.2), got {value}"
        )
    return value


# --------------------------------------------------------------------------
# running a command
# --------------------------------------------------------------------------
def writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and check that files can be written in it.

    Parameters
    ----------
    path : Path
        The output folder given with ``--out`` (or a command's default).

    Returns
    -------
    Path
        ``path`` itself.

    Raises
    ------
    CommandError
        When the folder cannot be created or written to.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        # a probe of its own name: two commands checking one folder never trip over each other
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise CommandError(f"--out {str(path)!r} is not a writable folder ({err.strerror or err})")
    return path


def remove_if_empty(path: Path) -> None:
    """Remove ``path`` and its folders if no file was written anywhere in it."""
    if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
        shutil.rmtree(path, ignore_errors=True)


def quiet_tensorflow() -> None:
    """Hide TensorFlow's info/warning chatter (call before importing it); draw off-screen."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    tf_logger = logging.getLogger("tensorflow")
    if tf_logger.level == logging.NOTSET:  # respect a level the user chose
        tf_logger.setLevel(logging.ERROR)


# --------------------------------------------------------------------------
# the comparison with the baseline (baseline and tune print it)
# --------------------------------------------------------------------------
def format_table(table) -> str:
    """Render a :func:`~kerastune_kit.baseline.compare_with_baseline` table as text.

    Parameters
    ----------
    table : pandas.DataFrame
        Scores per fold plus the summary rows; NaN cells print as ``-``.

    Returns
    -------
    str
        Scores with 3 decimals, the t statistic with 2, p-values with 3
        significant digits.
    """

    def fmt(digits: int) -> Callable[[float], str]:
        return lambda v: "" if v != v else f"{v:.{digits}f}"

    def fmt_p(v: float) -> str:
        if v != v:
            return ""
        return f"{v:.3g}" if v >= 1e-3 else f"{v:.1e}"

    formatters = {col: fmt(3) for col in table.columns}
    formatters["t_statistic"] = fmt(2)
    formatters["p_value"] = fmt_p
    return table.to_string(formatters=formatters, na_rep="-")


def summary_sentence(table) -> str:
    """One sentence saying which model scored higher and whether that is significant.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~kerastune_kit.baseline.compare_with_baseline` table; its
        ``attrs`` hold the two names, the number of folds and the scoring.

    Returns
    -------
    str
    """
    model, baseline = table.attrs["names"]
    diff = table.loc["difference", "mean"]
    p = table.loc["difference", "p_value"]
    direction = "higher" if diff > 0 else "lower" if diff < 0 else "the same"
    amount = f"{abs(diff):.3f} {direction} than" if diff != 0 else "the same as"
    verdict = "statistically significant" if p < 0.05 else "not statistically significant"
    return (
        f"On average over {table.attrs['n_splits']} folds, {model} scored {amount} "
        f"{baseline} ({table.attrs['scoring']}; corrected resampled t-test p = {p:.3g}); "
        f"the difference is {verdict} at the 5% level."
    )
