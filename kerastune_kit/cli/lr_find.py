"""``kerastune-kit lr-find``: the learning-rate range test on a dataset's training part.

Prints the suggested rate (both rules) and a ``--set learning_rate=...`` range
for ``tune`` centred on it, and writes ``lr_find.png`` (loss against rate)
and ``lr_find.csv`` (one row a step) in ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (CommandError, Subcommand, fraction, int_at_least, quiet_tensorflow,
                      output_folder)
from ._data import DATASETS, load_dataset, split_off_test
from ._space_args import parse_value

__all__ = ["COMMAND", "add_arguments", "run"]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number (e.g. 1e-6), got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit lr-find`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``lr-find`` command.
    """
    parser.add_argument("--dataset", default="penguins",
                        help=f"one of {', '.join(DATASETS)}, or a CSV file (default: penguins)")
    parser.add_argument("--target", help="label column of a CSV dataset")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                        help="a network setting, e.g. optimizer=sgd, nodes=64, batch_size=32; "
                             "repeatable")
    parser.add_argument("--low", type=_positive, default=1e-6,
                        help="the first rate (default: 1e-6)")
    parser.add_argument("--high", type=_positive, default=10.0,
                        help="the last rate (default: 10)")
    parser.add_argument("--steps", type=int_at_least(10), default=200,
                        help="training steps of the test (default: 200)")
    parser.add_argument("--rule", choices=["min/10", "steepest"], default="min/10",
                        help="the rule of the suggestion (default: min/10)")
    parser.add_argument("--seed", type=int_at_least(0), default=0,
                        help="seed of the network and of the test split (default: 0)")
    parser.add_argument("--test-size", type=fraction, default=0.2,
                        help="fraction held out, as tune does; not used here (default: 0.2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new kerastune_runs/lr_find-<time>)")


def _settings(items) -> dict:
    settings = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CommandError(f"--set {item!r}: write name=value, e.g. --set optimizer=sgd")
        settings[name.strip()] = parse_value(value.strip())
    return settings


def run(args: argparse.Namespace) -> int:
    """Run the range test on the training part; print the suggestion, write the plot and table.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (see :func:`add_arguments`).

    Returns
    -------
    int
        0.

    Raises
    ------
    CommandError
        For bad ``--set`` values or bounds, a bad dataset or output folder.
    """
    settings = _settings(args.set)
    if args.high <= 10 * args.low:
        raise CommandError(f"--low {args.low:g} and --high {args.high:g} span less than one "
                           "decade: the test needs a wide range, e.g. --low 1e-6 --high 10")
    with output_folder(args.out, "lr_find") as out:
        return _find_into(out, args, settings)


def _find_into(out: Path, args: argparse.Namespace, settings: dict) -> int:
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    quiet_tensorflow(verbose=getattr(args, "verbose", False))
    from sklearn.pipeline import Pipeline

    from ..dimensions import Float
    from ..estimators import KerasMLPClassifier
    from ..range_test import lr_find

    try:
        X_train, _, y_train, _ = split_off_test(X, y, args)
        network = KerasMLPClassifier(random_state=args.seed).set_params(**settings)
        network.validate_params()
        model = network if preprocessor is None else Pipeline(
            [("preprocess", preprocessor), ("model", network)])
        result = lr_find(model, X_train, y_train, low=args.low, high=args.high,
                         num_steps=args.steps, rule=args.rule)
    except (ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    ax = result.plot()
    ax.figure.savefig(out / "lr_find.png", dpi=100, bbox_inches="tight")
    result.to_frame().to_csv(out / "lr_find.csv", index=False)
    around = Float.around(result.suggestion)
    print(f"{description}: range test on {len(X_train)} training rows, {len(result.losses)} "
          f"steps from {args.low:g} to {args.high:g}"
          + (" (stopped when the loss diverged)" if result.stopped_early else ""))
    print(f"Suggested learning rate: {result.suggestion:.3g} (rule {result.rule}; "
          f"min/10 {result.suggest('min/10'):.3g}, steepest {result.suggest('steepest'):.3g})")
    print(f"Search around it: kerastune-kit tune --set learning_rate="
          f"{around.low:.3g}:{around.high:.3g}:log")
    print(f"Wrote {out / 'lr_find.png'} and {out / 'lr_find.csv'}")
    return 0


COMMAND = Subcommand("lr-find", "Learning-rate range test: suggest a rate and plot the loss "
                     "against it.", add_arguments, run)
