"""Command-line interface: ``kerastune-kit <subcommand> [options]``.

Subcommands are kept in a small registry. Each one is a :class:`Subcommand`
holding a function that adds its options to an :mod:`argparse` parser and a
function that runs it and returns an exit code. Heavy modules (scikit-learn,
TensorFlow, Keras) are imported inside the ``run`` functions only, so
``kerastune-kit --version`` and ``--help`` stay fast.

Adding a subcommand::

    def _add_tune_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--trials", type=_int_at_least(1), default=10)

    def _run_tune(args: argparse.Namespace) -> int:
        from .tuning import ...          # heavy imports go here
        ...
        return 0

    register(Subcommand("tune", "Search hyperparameters.", _add_tune_arguments, _run_tune))
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from ._version import __version__

__all__ = ["Subcommand", "SUBCOMMANDS", "CommandError", "register", "build_parser", "main"]

PROG = "kerastune-kit"


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


# --------------------------------------------------------------------------
# argparse value types (errors become "argument --cv: ..." messages)
# --------------------------------------------------------------------------
def _int_at_least(low: int) -> Callable[[str], int]:
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


def _fraction(text: str) -> float:
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
# baseline
# --------------------------------------------------------------------------
def _add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cv", type=_int_at_least(2), default=5, help="number of CV folds, >= 2 (default: 5)"
    )
    parser.add_argument(
        "--seed",
        type=_int_at_least(0),
        default=0,
        help="seed for the test split, the folds and the network (default: 0)",
    )
    parser.add_argument(
        "--epochs",
        type=_int_at_least(1),
        default=30,
        help="training epochs of the Keras MLP (default: 30)",
    )
    parser.add_argument(
        "--test-size",
        type=_fraction,
        default=0.2,
        help="fraction held out as an untouched test set (default: 0.2)",
    )


def _format_table(table) -> str:
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


def _summary_sentence(table) -> str:
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


def _quiet_tensorflow() -> None:
    """Hide TensorFlow's info/warning chatter (call before importing it); draw off-screen."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    tf_logger = logging.getLogger("tensorflow")
    if tf_logger.level == logging.NOTSET:  # respect a level the user chose
        tf_logger.setLevel(logging.ERROR)


def _run_baseline(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from .baseline import compare_with_baseline
    from .datasets import load_penguins, make_preprocessor
    from .estimators import KerasMLPClassifier

    X, y = load_penguins(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.seed
    )
    model = Pipeline(
        [
            ("preprocess", make_preprocessor()),
            (
                "model",
                KerasMLPClassifier(epochs=args.epochs, random_state=args.seed, verbose=0),
            ),
        ]
    )
    print(
        f"Penguins: {len(X_train)} training rows compared with {args.cv}-fold CV; "
        f"{len(X_test)} test rows held out and not used.",
        flush=True,
    )
    table = compare_with_baseline(
        model,
        X_train,
        y_train,
        preprocessor=make_preprocessor(),
        cv=args.cv,
        random_state=args.seed,
        names=("keras_mlp", "logreg_baseline"),
    )
    print()
    print(_format_table(table))
    print()
    print(_summary_sentence(table))
    return 0


register(
    Subcommand(
        "baseline",
        "Compare a Keras MLP with logistic regression on the penguins data (same CV folds).",
        _add_baseline_arguments,
        _run_baseline,
    )
)


from . import cli_search as _cli_search  # noqa: E402,F401  (registers tune, sweep, report)


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per registered subcommand.

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
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for command in SUBCOMMANDS.values():
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
