"""``kerastune-kit tune``: search hyperparameters and compare the best network with a baseline.

The strategies come from the registry :data:`kerastune_kit.search.STRATEGIES`
(name -> strategy class, in the order shown) and the progress bar's total
from :func:`kerastune_kit.search.expected_fits`, so a new strategy needs no
change here. That module imports pandas, so it is imported
inside :func:`add_arguments` and :func:`run`, never when the CLI loads.
The arguments and the output folder are checked before TensorFlow loads,
so a typo fails in a second.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (CommandError, Subcommand, fraction, int_at_least, output_folder,
                      quiet_tensorflow)
from ._data import (add_dataset_arguments, add_scoring_argument, add_task_argument,
                    check_scoring_option, choose_task, load_dataset, split_off_test)
from ._progress import progress
from ._space_args import default_space, parse_assignments
from ..errors import FolderInUse
from ..locking import FolderLock, is_keras_tuner_worker

__all__ = ["COMMAND", "ROUNDS", "add_arguments", "run"]

#: Rounds of the "coarse-to-fine" strategy (passed to ``tune`` and ``expected_fits`` alike).
ROUNDS = 2


def _objectives(known):
    """``--objectives``' type: comma-separated names from ``known``."""
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [n for n in names if n not in known]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"{text!r}: give comma-separated objectives from {', '.join(known)}, e.g. "
                "accuracy,n_params")
        return names
    return parse


def _strategy_help(strategies) -> str:
    """``--strategy``'s help: every registered name with its one-line summary."""
    listed = "; ".join(f"{name}: {cls.summary}" for name, cls in strategies.items())
    return f"search strategy (default: random); {listed}".replace("%", "%%")


def _budget_help(strategies) -> str:
    """``--budget``'s help, naming the strategies that run a number of trials."""
    counted = "/".join(name for name, cls in strategies.items() if cls.uses_n_trials)
    return (f"trials for {counted}; per round for a strategy that searches in rounds "
            "(default: 10)").replace("%", "%%")


def _folds(text: str):
    """``--cv``'s value: a number of folds (at least 2), ``auto`` or ``none``."""
    if text.strip().lower() in ("auto", "none"):
        return None if text.strip().lower() == "none" else "auto"
    return int_at_least(2)(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kerastune-kit tune`` to ``parser``.

    The ``--strategy`` choices are read from the registry each time, so a
    strategy registered at run time appears in a parser built after that.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of the ``tune`` command.
    """
    from ..search import STRATEGIES

    add_dataset_arguments(parser)
    add_task_argument(parser)
    add_scoring_argument(parser)
    parser.add_argument("--strategy", choices=list(STRATEGIES), default="random",
                        help=_strategy_help(STRATEGIES))
    parser.add_argument("--budget", type=int_at_least(1), default=10,
                        help=_budget_help(STRATEGIES))
    parser.add_argument("--epochs", type=int_at_least(1), default=20,
                        help="epochs per fit, unless searched (default: 20)")
    parser.add_argument("--max-epochs", type=int_at_least(1), default=10,
                        help=f"{'/'.join(n for n, c in STRATEGIES.items() if c.owns_epochs)}: "
                             "most epochs a trial gets (default: 10)")
    parser.add_argument("--cv", type=_folds, default="auto",
                        help="CV folds scoring each candidate, or 'none' for one validation "
                             "split (Keras Tuner strategies); default 'auto': 3, but one split "
                             "for the Keras Tuner strategies on 5000 training rows or more")
    parser.add_argument("--set", action="append", metavar="NAME=SPEC", default=[],
                        help="search NAME over SPEC: 16:256:16, 1e-4:1e-1:log, 0.2,0.4 or one "
                             "value; repeatable; replaces that name in the default space")
    parser.add_argument("--space", type=Path, help="a space JSON file (SearchSpace.to_json)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed (default: 0)")
    parser.add_argument("--test-size", type=fraction, default=0.2,
                        help="fraction held out as the test set, scored once (default: 0.2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: kerastune_runs/<dataset>-<strategy>-<time>)")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel fits (default: 1)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search recorded in --out (killed or stopped): finished "
                             "fits and trials are not run again; give the same arguments")
    parser.add_argument("--max-consecutive-failures", type=int_at_least(1), default=10,
                        metavar="N", help="stop after N failed trials in a row (default: 10)")
    from ..pareto import OBJECTIVES
    from ..strategies.optuna_search import PRUNERS, SAMPLERS

    optuna = parser.add_argument_group("--strategy optuna (pip install \"kerastune_kit[optuna]\")")
    optuna.add_argument("--sampler", choices=SAMPLERS, default=None,
                        help="Optuna sampler (default: tpe; nsga2 with several --objectives)")
    optuna.add_argument("--pruner", choices=[*PRUNERS, "none"], default=None,
                        help="stop poor trials after any epoch (default: none); pruned trials "
                             "are kept with status 'pruned'")
    optuna.add_argument("--objectives", type=_objectives(OBJECTIVES), default=None,
                        metavar="A,B", help="a Pareto search over these, e.g. accuracy,n_params "
                        f"(from {', '.join(OBJECTIVES)}); --n-jobs is the number of processes")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="only the final lines")
    noise.add_argument("-v", "--verbose", action="store_true",
                       help="the whole trials table, and TensorFlow's start-up log")


def run(args: argparse.Namespace) -> int:
    """Search, score the best network once on the test split, save and report.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (see :func:`add_arguments`).

    Returns
    -------
    int
        0, also in a Keras Tuner worker process (the chief writes the results).

    Raises
    ------
    CommandError
        For ``--resume`` without ``--out``, an unwritable output folder or
        one that another ``kerastune-kit`` command is using, a
        bad dataset, ``--set`` or space file, a search the settings refuse
        (e.g. resuming with other arguments), or too many failed trials in
        a row.
    """
    if args.resume and args.out is None:
        raise CommandError("--resume continues the search in an output folder: give that folder "
                           "with --out (and the same other arguments)")
    with output_folder(args.out, f"{Path(args.dataset).stem}-{args.strategy}") as out:
        # one command per output folder (its results and its search); Keras Tuner's
        # workers share their chief's folder and leave the results to it
        lock = None if is_keras_tuner_worker() else FolderLock(out, what="output")
        try:
            if lock is not None:
                try:
                    lock.acquire()
                except FolderInUse as err:
                    raise CommandError(f"--out: {err}") from None
            return _run_in(out, args)
        finally:
            if lock is not None:
                lock.release()  # before an empty folder is removed: the lock is a file in it


def _optuna_options(args: argparse.Namespace) -> dict:
    """The Optuna options given on the command line (tune refuses them for other strategies)."""
    options = {"sampler": getattr(args, "sampler", None),
               "pruner": getattr(args, "pruner", None),
               "objectives": getattr(args, "objectives", None)}
    if options["pruner"] == "none":
        options["pruner"] = None
    return {k: v for k, v in options.items() if v is not None}


def _run_in(out: Path, args: argparse.Namespace) -> int:
    overrides = parse_assignments(args.set)
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    quiet_tensorflow(verbose=getattr(args, "verbose", False))
    from .._inputs import check_labels, check_numeric_target
    from .._scoring import score_with
    from ..baseline import make_baseline
    from ..comparison import model_label
    from ..errors import FolderInUse, TooManyFailures
    from ..report import write_report
    from ..results import save_result
    from ..search import expected_fits, tune
    from ..space import SearchSpace
    from ..trials import format_params

    try:
        space = SearchSpace.from_json(args.space) if args.space else default_space()
        space = space.with_values(**overrides) if overrides else space
    except (OSError, ValueError, TypeError) as err:
        raise CommandError(f"search space: {err}") from None
    task = choose_task(args, y)
    scoring = check_scoring_option(args, task)
    regression = task == "regression"
    try:
        if regression:
            check_numeric_target("kerastune-kit tune", y)
        else:
            check_labels("kerastune-kit tune", y)
    except ValueError as err:
        raise CommandError(f"--dataset {args.dataset!r}: {err}") from None
    counts = y.value_counts() if hasattr(y, "value_counts") and not regression else None
    if counts is not None and counts.min() < 2:
        rare = {str(k): int(v) for k, v in counts[counts < 2].items()}
        raise CommandError(f"--dataset {args.dataset!r}: class(es) {rare} have a single row; "
                           "the stratified test split needs at least 2 rows of every class "
                           "(more for the CV folds). Merge or drop rare classes.")
    X_train, X_test, y_train, y_test = split_off_test(X, y, args, task)
    if not args.quiet:
        print(f"{description}: {len(X_train)} training rows searched, {len(X_test)} test rows "
              f"held out for one final score.\nSearch space:\n{space!r}\n", flush=True)
    fixed = {"epochs": args.epochs} if "epochs" not in space else {}
    search_dir = out / "search"
    try:
        total = expected_fits(args.strategy, space, n_trials=args.budget, cv=args.cv,
                              rounds=ROUNDS, n_rows=len(X_train))
        with progress(search_dir, total, f"{args.strategy} search", enabled=not args.quiet,
                      folds=_folds_per_candidate(args, len(X_train))):
            result = tune(X_train, y_train, space, strategy=args.strategy, n_trials=args.budget,
                          cv=args.cv, max_epochs=args.max_epochs, rounds=ROUNDS,
                          preprocessor=preprocessor, estimator_params=fixed,
                          directory=search_dir, random_state=args.seed, n_jobs=args.n_jobs,
                          resume=args.resume, task=task, scoring=scoring,
                          max_consecutive_failures=args.max_consecutive_failures,
                          **_optuna_options(args))
    except (ValueError, TypeError, OSError, TooManyFailures, FolderInUse) as err:
        raise CommandError(str(err).replace("resume=True", "--resume").replace(
            "resume=False", "a run without --resume").replace(
            "max_consecutive_failures", "--max-consecutive-failures")) from None
    if result is None:  # a Keras Tuner worker process: the chief reports
        print("Worker finished its trials; the chief process writes the results.")
        return 0

    baseline = make_baseline(preprocessor, task=task).fit(X_train, y_train)
    metric = scoring or ("R^2" if regression else "accuracy")
    names = (model_label(result.best_estimator_), model_label(baseline))
    test_scores = {names[0]: score_with(result.best_estimator_, X_test, y_test, scoring),
                   names[1]: score_with(baseline, X_test, y_test, scoring)}
    test_line = ", ".join(f"{name} {score:.3f}" for name, score in test_scores.items())
    try:
        paths = save_result(result, out, extra={"dataset": description, "task": task,
                                                f"test_{result.scoring_}": test_scores})
        report = write_report(result, out / "report.html", test_data=(X_test, y_test),
                              notes={"dataset": description, "task": task,
                                     f"test {metric} (test split, used once)": test_line})
    except OSError as err:  # a full disk, a folder that became read-only
        raise CommandError(f"writing the results into {str(out)!r} failed: {err}. The search "
                           f"itself is recorded in {str(search_dir)!r}: free space, then run "
                           "the same command with --resume.") from None
    if not args.quiet:
        if args.verbose:
            print("\nAll trials:")
            print(result.trials.drop(columns=["train_curve", "val_curve"], errors="ignore")
                  .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            print()
        print(f"\n{result.summary(5)}")
    print(f"\nTest {metric} (test split, used once): {test_line}")
    print(f"Best parameters: {format_params(result.best_params_)}")
    print(f"Wrote {paths['trials']}, {paths['best_params']}, {paths['best_model']} and {report}")
    return 0


def _folds_per_candidate(args: argparse.Namespace, n_rows: int) -> int:
    """How many recorded fits make one candidate's score (its CV folds; 1 on one split)."""
    from ..search import STRATEGIES

    return STRATEGIES[args.strategy].resolve_cv(args.cv, n_rows) or 1


COMMAND = Subcommand("tune", "Search hyperparameters (default: penguins, random search) and "
                     "compare the best network with logistic regression.", add_arguments, run)
