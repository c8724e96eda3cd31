"""``kerastune-kit report``: rebuild the HTML report of a saved search."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ._common import CommandError, Subcommand, writable_dir

__all__ = ["COMMAND", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit report`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``report`` command.
    """
    parser.add_argument("directory", type=Path, help="output folder of a `kerastune-kit tune` run")


def run(args: argparse.Namespace) -> int:
    """Load the result saved in ``args.directory`` and write its ``report.html`` again.

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
        When the folder holds no saved result.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    from ..report import write_report
    from ..results import load_result

    try:
        result = load_result(args.directory)
    except FileNotFoundError as err:
        raise CommandError(str(err)) from None
    extra = json.loads((args.directory / "best_params.json").read_text()).get("extra", {})
    notes = {"dataset": extra.get("dataset", "?")}
    for key, scores in extra.items():  # test_accuracy, test_r2, test_<scorer>
        if key.startswith("test_"):
            notes[f"test {key[len('test_'):]} (used once)"] = scores
    path = write_report(result, writable_dir(args.directory) / "report.html", notes=notes)
    print(f"Wrote {path}")
    return 0


COMMAND = Subcommand("report", "Rebuild the HTML report of a saved search.", add_arguments, run)
