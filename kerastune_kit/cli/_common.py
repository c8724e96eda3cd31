"""What the ``kerastune-kit`` subcommands share.

The :class:`Subcommand` record and :class:`CommandError`, the argparse value
types (their errors become ``argument --cv: ...`` messages), the output
folder check and the TensorFlow quieting (:mod:`kerastune_kit.quiet`). It
imports only the standard library; the command modules import from here,
never from :mod:`kerastune_kit.cli` itself.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..quiet import quiet_tensorflow

__all__ = [
    "CommandError",
    "Subcommand",
    "int_at_least",
    "fraction",
    "writable_dir",
    "remove_if_empty",
    "output_folder",
    "quiet_tensorflow",
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


@contextmanager
def output_folder(given: Path | None, default_name: str):
    """The command's output folder, created and checked; gone again if the command fails empty.

    Parameters
    ----------
    given : Path or None
        ``--out``; None for a new folder ``kerastune_runs/<default_name>-<time>``
        (a second run never overwrites the first).
    default_name : str
        E.g. ``"sweep-nodes"``.

    Yields
    ------
    Path
        The folder. When the block raises and the folder was made for it,
        the folder is removed if no file was written in it (a failed command
        leaves no empty folder behind); what was written stays.
    """
    out = given or Path("kerastune_runs") / f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    made = None  # the outermost folder this command creates (kerastune_runs/, the first time)
    for folder in (out, *out.parents):
        if folder.exists():
            break
        made = folder
    out = writable_dir(out)
    try:
        yield out
    except BaseException:
        if made is not None:
            remove_if_empty(made)
        raise
