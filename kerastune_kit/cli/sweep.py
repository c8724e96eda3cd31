"""``kerastune-kit sweep``: vary one parameter over values, repeated over seeds.

Prints the mean and spread of the training and validation scores per value
(accuracy, R^2 for a regression target, or ``--scoring``'s scorer) and writes
``sweep.csv`` and ``sweep.png`` in ``--out`` (by default a new folder
``kerastune_runs/sweep-<param>-<time>``, so a second sweep never overwrites
the first). The task is read from the target as ``tune`` reads it (``--task``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import (CommandError, Subcommand, fraction, int_at_least, output_folder,
                      quiet_tensorflow)
from ._data import (add_dataset_arguments, add_scoring_argument, add_task_argument,
                    check_scoring_option, choose_task, load_dataset, split_off_test)
from ._space_args import parse_value

__all__ = ["COMMAND", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit sweep`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``sweep`` command.
    """
    parser.add_argument("--param", required=True, help="the parameter to vary, e.g. n_layers")
    parser.add_argument("--values", required=True,
                        help="comma-separated values, e.g. 1,2,4,8 (bounds inclusive)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    add_dataset_arguments(parser)
    add_task_argument(parser)
    add_scoring_argument(parser)
    parser.add_argument("--epochs", type=int_at_least(1), default=10,
                        help="epochs per fit, unless --param epochs (default: 10)")
    parser.add_argument("--seed", type=int_at_least(0), default=0,
                        help="seed of the test split (default: 0)")
    parser.add_argument("--test-size", type=fraction, default=0.2,
                        help="fraction held out as a test set, not used by the sweep "
                             "(default: 0.2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new kerastune_runs/sweep-<param>-<time>)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's start-up log")


def run(args: argparse.Namespace) -> int:
    """Run the sweep on the training part, print the summary, write the table and plot.

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
        For unreadable ``--seeds``, a bad dataset or output folder, an
        ambiguous target without ``--task``, a ``--scoring`` that does not fit
        the task, or a parameter or value the sweep refuses.
    """
    parts = [v.strip() for v in args.values.split(",")]
    if "" in parts:
        raise CommandError(f"--values {args.values!r} has an empty value (a stray comma?): "
                           "write them as 1,2,4,8")
    values = [parse_value(v) for v in parts]
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise CommandError(f"--seeds {args.seeds!r}: write integers, e.g. 0,1,2") from None
    with output_folder(args.out, f"sweep-{args.param}") as out:
        return _sweep_into(out, args, values, seeds)


def _sweep_into(out, args: argparse.Namespace, values: list, seeds: list) -> int:
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    task = choose_task(args, y)
    scoring = check_scoring_option(args, task)
    quiet_tensorflow(verbose=getattr(args, "verbose", False))
    from ..plots import plot_sweep
    from ..search import sweep

    try:
        X_train, _, y_train, _ = split_off_test(X, y, args, task)
        table = sweep(X_train, y_train, args.param, values, seeds=seeds, task=task,
                      scoring=scoring, preprocessor=preprocessor, epochs=args.epochs)
    except (ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    summary = table.groupby("value", sort=False)[["train_score", "val_score"]].agg(["mean", "std"])
    print(f"{description}: {args.param} over {values}, seeds {seeds}; {task}, scores are "
          f"{table['scoring'].iloc[0]}\n")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    table.assign(train_curve=table["train_curve"].map(json.dumps),
                 val_curve=table["val_curve"].map(json.dumps)).to_csv(out / "sweep.csv", index=False)
    plot_sweep(table).figure.savefig(out / "sweep.png", dpi=100, bbox_inches="tight")
    print(f"\nWrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    return 0


COMMAND = Subcommand("sweep", "Vary one parameter over values, repeated over seeds.",
                     add_arguments, run)
