"""The ``--dataset`` of ``kerastune-kit tune`` and ``sweep``: a bundled name or a CSV file."""

from __future__ import annotations

from pathlib import Path

from ._common import CommandError

__all__ = ["DATASETS", "load_dataset", "add_dataset_arguments", "add_task_argument",
           "choose_task", "add_scoring_argument", "check_scoring_option", "split_off_test"]

#: Dataset names ``--dataset`` accepts besides a path to a CSV file.
DATASETS = ("penguins", "digits", "mnist", "fashion_mnist", "cifar10")


def load_dataset(name: str, target: str | None):
    """Load the data named by ``--dataset`` (and ``--target`` for a CSV file).

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`, or the path of a ``.csv`` file.
    target : str or None
        The label column of a CSV file; ignored for the named datasets.

    Returns
    -------
    tuple
        ``(X, y, preprocessor or None, description)``. Of the Keras datasets
        only the training part is returned (their own test part is not used).
        A CSV file gets :func:`~kerastune_kit.datasets.resolve_preprocessor`'s
        choice for ``"auto"``, and the description says which.

    Raises
    ------
    CommandError
        For an unknown name, a missing file or Keras cache, or a missing or
        unknown ``--target``.
    """
    from .. import datasets

    if name == "penguins":
        X, y = datasets.load_penguins(return_X_y=True)
        return X, y, datasets.make_preprocessor(), "Palmer penguins (bundled)"
    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X, y, None, "scikit-learn digits (8x8)"
    if name in ("mnist", "fashion_mnist", "cifar10"):
        loader = getattr(datasets, f"load_{name}")
        try:
            X, y, _, _ = loader(return_X_y=True)  # the loader's own test part is not used
        except FileNotFoundError as err:
            raise CommandError(str(err)) from None
        return X, y, None, f"{name} (training part from the Keras cache)"
    path = Path(name)
    if path.suffix.lower() != ".csv":
        raise CommandError(f"--dataset {name!r} is not one of {list(DATASETS)} or a .csv file")
    if not path.exists():
        raise CommandError(f"--dataset {name!r}: no such file")
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CommandError(f"--dataset {name!r} cannot be read as a CSV table ({err}): give a "
                           "comma-separated file with a header row") from None
    if frame.empty:
        raise CommandError(f"--dataset {name!r} has a header but no rows: nothing to train on")
    if target is None:
        raise CommandError(f"--dataset {name!r} is a CSV file: name its label column with --target")
    if target not in frame.columns:
        from .._validation import did_you_mean

        raise CommandError(f"--target {target!r} is not a column of {path.name}; columns: "
                           f"{list(frame.columns)}.{did_you_mean(target, frame.columns)}")
    X = frame.drop(columns=[target])
    preprocessor, note = datasets.resolve_preprocessor("auto", X)
    return X, frame[target], preprocessor, f"{path.name} (target {target!r}; {note})"


def add_dataset_arguments(parser) -> None:
    """``--dataset`` and ``--target``, as every command that trains takes them."""
    parser.add_argument("--dataset", default="penguins",
                        help=f"one of {', '.join(DATASETS)}, or a CSV file (default: penguins)")
    parser.add_argument("--target", help="label column of a CSV dataset")


def add_task_argument(parser) -> None:
    """``--task auto|classification|regression``."""
    parser.add_argument("--task", choices=["auto", "classification", "regression"],
                        default="auto",
                        help="auto (default): a numeric target with many values is regression "
                             "(a KerasMLPRegressor scored by R^2; the baseline is RidgeCV), "
                             "otherwise classification")


def choose_task(args, y) -> str:
    """The task: ``--task``, or read from the target (and said) for ``--task auto``."""
    from .._targets import infer_task

    if args.task != "auto":
        return args.task
    task, reason = infer_task(y)
    if task is None:
        raise CommandError(f"--target {args.target!r}: {reason}. Say which with "
                           "--task classification or --task regression.")
    if not getattr(args, "quiet", False):
        print(f"Task: {task} ({reason}; override with --task).", flush=True)
    return task


def add_scoring_argument(parser) -> None:
    """``--scoring NAME``: a scikit-learn scorer in place of accuracy or R^2."""
    parser.add_argument("--scoring", default=None, metavar="NAME",
                        help="a scikit-learn scorer name that fits the task, e.g. "
                             "neg_mean_absolute_error or balanced_accuracy (default: accuracy, "
                             "or r2 for regression)")


def check_scoring_option(args, task: str) -> str | None:
    """``--scoring`` checked for ``task`` (None when not given); a bad name is a CommandError."""
    from .._scoring import check_scoring

    scoring = getattr(args, "scoring", None)
    try:
        return check_scoring(scoring, task)
    except ValueError as err:
        raise CommandError(str(err).replace(f"scoring={scoring!r}", f"--scoring {scoring!r}")
                           .replace("(or None for", "(or leave --scoring out for")) from None


def split_off_test(X, y, args, task: str = "classification"):
    """``X_train, X_test, y_train, y_test``: ``--test-size`` of the rows held out, drawn with ``--seed``.

    Stratified by class for a classification target, a plain shuffled split
    for a regression one. scikit-learn's ValueError (a class too small to
    stratify) is left to the command, which says what to do about it.
    """
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=args.test_size, random_state=args.seed,
                            stratify=y if task == "classification" else None)
