"""Command-line interface: ``kerastune-kit <subcommand> [options]``.

Subcommands are kept in a small registry. Each one is a :class:`Subcommand`
holding a function that adds its options to an :mod:`argparse` parser and a
function that runs it and returns an exit code. The built-in ones live in
one module each (:mod:`~kerastune_kit.cli.baseline`,
:mod:`~kerastune_kit.cli.tune`, :mod:`~kerastune_kit.cli.sweep`,
:mod:`~kerastune_kit.cli.lr_find`, :mod:`~kerastune_kit.cli.report`), which define ``COMMAND`` and import
only from the private helper modules of this package (``_common`` and
friends), never from this one.

Heavy modules (scikit-learn, pandas, TensorFlow, Keras) are imported inside
the ``run`` functions only, and a subcommand's options are added the first
time that subcommand is parsed or its help shown, so
``kerastune-kit --version`` and ``--help`` stay fast even when an
``add_arguments`` reads a registry from a heavy module.

Adding a subcommand::

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--trials", type=int_at_least(1), default=10)

    def run(args: argparse.Namespace) -> int:
        from ..tuning import ...          # heavy imports go here
        ...
        return 0

    COMMAND = Subcommand("tune", "Search hyperparameters.", add_arguments, run)

in a module of this package, listed in ``_BUILT_IN`` below; or, from
outside, ``register(Subcommand(...))``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .._version import __version__
from . import baseline, lr_find, report, sweep, tune
from ._common import CommandError, Subcommand

__all__ = ["Subcommand", "SUBCOMMANDS", "CommandError", "register", "build_parser", "main"]

PROG = "kerastune-kit"

#: Registered subcommands, in the order they appear in ``--help``.
SUBCOMMANDS: dict[str, Subcommand] = {}


def register(command: Subcommand) -> Subcommand:
    """Add ``command`` to the registry so :func:`main` can dispatch to it.

    Parameters
    ----------
    command : Subcommand
        The subcommand; its name must not be registered already.

    Returns
    -------
    Subcommand
        ``command`` itself.

    Examples
    --------
    >>> from kerastune_kit import cli
    >>> "baseline" in cli.SUBCOMMANDS
    True
    """
    if command.name in SUBCOMMANDS:
        raise ValueError(
            f"command.name={command.name!r} is already registered; choose another name."
        )
    SUBCOMMANDS[command.name] = command
    return command


#: The built-in subcommands, in help order.
_BUILT_IN = (baseline.COMMAND, tune.COMMAND, sweep.COMMAND, lr_find.COMMAND, report.COMMAND)
for _command in _BUILT_IN:
    register(_command)
del _command


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
class _CommandParser(argparse.ArgumentParser):
    """The parser of one subcommand; it adds the subcommand's options when first used.

    So building the top-level parser runs no ``add_arguments`` (one may
    import a heavy module to read a registry), and an ``add_arguments``
    sees the registries as they are when its command is parsed.
    """

    def __init__(self, *args, command: Subcommand | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pending = command

    def _add_command_arguments(self) -> None:
        command, self._pending = self._pending, None
        if command is not None:
            command.add_arguments(self)

    def parse_known_args(self, args=None, namespace=None):
        self._add_command_arguments()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_command_arguments()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_command_arguments()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per registered subcommand.

    A sub-parser gets its subcommand's options the first time it parses or
    formats its usage or help.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["baseline", "--cv", "3"]).cv
    3
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tune Keras networks from scikit-learn, honestly and offline.",
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version and exit"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="<command>", parser_class=_CommandParser
    )
    for command in SUBCOMMANDS.values():
        subparsers.add_parser(
            command.name, help=command.help, description=command.help, command=command
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kerastune-kit`` command line.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code (0 on success). Invalid arguments make argparse print a
        message and raise ``SystemExit(2)``.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    kerastune-kit ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    if args.version:
        print(f"{PROG} {__version__}")
        return 0
    if args.command is None:
        parser.error(f"choose a command: {', '.join(SUBCOMMANDS)} (see {PROG} --help)")
    try:
        return int(SUBCOMMANDS[args.command].run(args))
    except CommandError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2
