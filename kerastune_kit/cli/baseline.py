"""``kerastune-kit baseline``: a Keras MLP against logistic regression on the penguins data.

Both models are scored on the same cross-validation folds of the training
part; a corrected resampled t-test says whether the difference is
significant. The test part is held out and not used.
"""

from __future__ import annotations

import argparse

from ._common import (
    Subcommand,
    format_table,
    fraction,
    int_at_least,
    quiet_tensorflow,
    summary_sentence,
)

__all__ = ["COMMAND", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit baseline`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``baseline`` command.
    """
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
    """
    quiet_tensorflow()
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from ..baseline import compare_with_baseline
    from ..datasets import load_penguins, make_preprocessor
    from ..estimators import KerasMLPClassifier

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
    print(format_table(table))
    print()
    print(summary_sentence(table))
    return 0


COMMAND = Subcommand(
    "baseline",
    "Compare a Keras MLP with logistic regression on the penguins data (same CV folds).",
    add_arguments,
    run,
)
