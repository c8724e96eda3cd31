"""``kerastune-kit baseline``: a Keras MLP against a linear model (penguins, or any ``--dataset``).

Both models are scored on the same cross-validation folds of the training
part; a corrected resampled t-test says whether the difference is
significant. The test part is held out and not used.
"""

from __future__ import annotations

import argparse

from ._common import CommandError, Subcommand, fraction, int_at_least, quiet_tensorflow
from ._data import (add_dataset_arguments, add_scoring_argument, add_task_argument,
                    check_scoring_option, choose_task, load_dataset, split_off_test)

__all__ = ["COMMAND", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit baseline`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``baseline`` command.
    """
    add_dataset_arguments(parser)
    add_task_argument(parser)
    add_scoring_argument(parser)
    parser.add_argument(
        "--cv", type=int_at_least(2), default=5, help="number of CV folds, >= 2 (default: 5)"
    )
    parser.add_argument(
        "--seed",
        type=int_at_least(0),
        default=0,
        help="seed for the test split, the folds and the network (default: 0)",
    )
    parser.add_argument(
        "--epochs",
        type=int_at_least(1),
        default=30,
        help="training epochs of the Keras MLP (default: 30)",
    )
    parser.add_argument(
        "--test-size",
        type=fraction,
        default=0.2,
        help="fraction held out as an untouched test set (default: 0.2)",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's start-up log")


def run(args: argparse.Namespace) -> int:
    """Compare the two models and print the table and its summary sentence.

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
        For a bad dataset or target, a ``--scoring`` that does not fit the
        task, or too few rows for the folds.
    """
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    task = choose_task(args, y)
    scoring = check_scoring_option(args, task)
    quiet_tensorflow(verbose=args.verbose)
    from sklearn.pipeline import Pipeline

    from ..baseline import compare_with_baseline, make_baseline
    from ..estimators import KerasMLPClassifier
    from ..regressor import KerasMLPRegressor

    regression = task == "regression"
    try:
        X_train, X_test, y_train, _ = split_off_test(X, y, args, task)
    except ValueError as err:  # a class too small for a stratified split
        raise CommandError(f"--dataset {args.dataset!r}: {err}") from None
    network = (KerasMLPRegressor if regression else KerasMLPClassifier)(
        epochs=args.epochs, random_state=args.seed, verbose=0)
    model = network if preprocessor is None else Pipeline(
        [("preprocess", preprocessor), ("model", network)])
    print(
        f"{description}: {len(X_train)} training rows compared with {args.cv}-fold CV; "
        f"{len(X_test)} test rows held out and not used.",
        flush=True,
    )
    try:
        table = compare_with_baseline(
            model, X_train, y_train,
            baseline=make_baseline(preprocessor, task=task, random_state=args.seed),
            cv=args.cv, scoring=scoring or "auto", random_state=args.seed)
    except ValueError as err:  # e.g. fewer rows of a class than folds
        raise CommandError(f"--dataset {args.dataset!r}: {err}") from None
    print()
    print(table)
    return 0


COMMAND = Subcommand(
    "baseline",
    "Compare a Keras MLP with a linear model (logistic regression, or RidgeCV for "
    "regression) on the same CV folds (default: penguins).",
    add_arguments,
    run,
)
