"""The search subcommands of ``kerastune-kit``: ``tune``, ``sweep`` and ``report``.

They register themselves in :mod:`kerastune_kit.cli`'s registry. Heavy
modules are imported inside the ``run`` functions, after the arguments and
the output folder have been checked, so a typo fails in a second, not after
TensorFlow has loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .cli import CommandError, Subcommand, _fraction, _int_at_least, _quiet_tensorflow, register

__all__ = ["parse_dimension", "parse_assignments", "DATASETS"]

DATASETS = ("penguins", "digits", "mnist", "fashion_mnist", "cifar10")
STRATEGIES = ("grid", "random", "halving", "hyperband", "bayesian", "kt-random", "coarse-to-fine")


# --------------------------------------------------------------------------
# --set name=spec
# --------------------------------------------------------------------------
def _number(text: str):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_dimension(spec: str):
    """Turn a command-line spec into a search-space dimension.

    ``16:256:16`` -> Int(16, 256, step=16); ``1:3`` -> Int(1, 3);
    ``1e-4:1e-1:log`` -> Float(..., scale="log"); ``0.9:0.999:reverse_log``;
    ``0.0:0.5`` -> Float(0.0, 0.5); ``0.2,0.4,0.6`` -> Categorical;
    a single value -> Fixed. Bounds are inclusive.
    """
    from .space import Categorical, Fixed, Float, Int

    if "," in spec:
        return Categorical([_number(part) for part in spec.split(",")])
    parts = spec.split(":")
    if len(parts) == 1:
        return Fixed(_number(spec))
    if len(parts) not in (2, 3):
        raise CommandError(f"cannot read the range {spec!r}: use low:high, low:high:step, "
                           "low:high:log or low:high:reverse_log")
    low, high = _number(parts[0]), _number(parts[1])
    third = parts[2] if len(parts) == 3 else None
    if third in ("log", "reverse_log"):
        return Float(float(low), float(high), scale=third)
    step = None if third is None else _number(third)
    if all(isinstance(v, int) for v in (low, high)) and (step is None or isinstance(step, int)):
        return Int(low, high, step=step or 1)
    return Float(float(low), float(high), step=None if step is None else float(step))


def parse_assignments(items) -> dict:
    """``["nodes=16:256:16", "dropout=0.2,0.4"]`` -> {name: dimension}."""
    dims = {}
    for item in items or []:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise CommandError(f"--set {item!r}: write name=spec, e.g. --set nodes=16:256:16")
        try:
            dims[name.strip()] = parse_dimension(spec.strip())
        except (TypeError, ValueError) as err:
            raise CommandError(f"--set {item!r}: {err}") from None
    return dims


def default_space():
    """The space ``kerastune-kit tune`` searches when given none."""
    from .space import Categorical, Float, Int, SearchSpace

    return SearchSpace(
        n_layers=Int(1, 3),
        nodes=Int(16, 256, step=16),
        dropout=Categorical([0.0, 0.2, 0.4]),
        learning_rate=Float(1e-4, 1e-1, scale="log"),
        batch_size=Categorical([16, 32, 64]),
    )


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def load_dataset(name: str, target: str | None):
    """Return (X, y, preprocessor or None, description)."""
    from . import datasets

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

    frame = pd.read_csv(path)
    if target is None:
        raise CommandError(f"--dataset {name!r} is a CSV file: name its label column with --target")
    if target not in frame.columns:
        from ._validation import did_you_mean

        raise CommandError(f"--target {target!r} is not a column of {path.name}; columns: "
                           f"{list(frame.columns)}.{did_you_mean(target, frame.columns)}")
    return (frame.drop(columns=[target]), frame[target], datasets.make_preprocessor(),
            f"{path.name} (target {target!r})")


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise CommandError(f"--out {str(path)!r} is not a writable folder ({err.strerror or err})")
    return path


# --------------------------------------------------------------------------
# progress over trials
# --------------------------------------------------------------------------
def _scan(folder: Path) -> tuple[int, float]:
    """Fits recorded so far and the best score among them."""
    from .journal import read_records  # skips a line being written right now

    count, best = 0, float("nan")
    for path in folder.glob("*.jsonl"):
        for record in read_records(path):
            count += 1
            score = record.get("score")
            if score is None:
                score = max(record.get("history", {}).get("val_accuracy", [float("nan")]))
            if score == score and not best >= score:
                best = score
    return count, best


@contextmanager
def _progress(folder: Path, total: int | None, label: str, enabled: bool):
    if not enabled:
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stop = threading.Event()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("best so far {task.fields[best]}"), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task(label, total=total, best="-")

        def watch():
            while not stop.wait(0.5):
                count, best = _scan(folder)
                bar.update(task, completed=count, best="-" if best != best else f"{best:.3f}")

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            count, best = _scan(folder)
            bar.update(task, completed=count, total=total or count,
                       best="-" if best != best else f"{best:.3f}")


def _expected_fits(strategy, space, n_trials, cv, rounds) -> int | None:
    if strategy == "grid":
        from sklearn.model_selection import ParameterGrid

        return len(ParameterGrid(space.to_param_grid())) * cv
    if strategy == "random":
        return n_trials * cv
    if strategy == "coarse-to-fine":
        return n_trials * cv * rounds
    if strategy in ("bayesian", "kt-random"):
        return n_trials
    return None  # hyperband and halving decide as they go


# --------------------------------------------------------------------------
# tune
# --------------------------------------------------------------------------
def _add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="penguins",
                        help=f"one of {', '.join(DATASETS)}, or a CSV file (default: penguins)")
    parser.add_argument("--target", help="label column of a CSV dataset")
    parser.add_argument("--strategy", choices=STRATEGIES, default="random",
                        help="search strategy (default: random)")
    parser.add_argument("--budget", type=_int_at_least(1), default=10,
                        help="trials for random/bayesian/kt-random, per round for coarse-to-fine "
                             "(default: 10)")
    parser.add_argument("--epochs", type=_int_at_least(1), default=20,
                        help="epochs per fit, unless searched (default: 20)")
    parser.add_argument("--max-epochs", type=_int_at_least(1), default=10,
                        help="hyperband/halving: most epochs a trial gets (default: 10)")
    parser.add_argument("--cv", type=_int_at_least(2), default=3, help="CV folds (default: 3)")
    parser.add_argument("--set", action="append", metavar="NAME=SPEC", default=[],
                        help="search NAME over SPEC: 16:256:16, 1e-4:1e-1:log, 0.2,0.4 or one "
                             "value; repeatable; replaces that name in the default space")
    parser.add_argument("--space", type=Path, help="a space JSON file (SearchSpace.to_json)")
    parser.add_argument("--seed", type=_int_at_least(0), default=0, help="seed (default: 0)")
    parser.add_argument("--test-size", type=_fraction, default=0.2,
                        help="fraction held out as the test set, scored once (default: 0.2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: kerastune_runs/<dataset>-<strategy>-<time>)")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel fits (default: 1)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search recorded in --out (killed or stopped): finished "
                             "fits and trials are not run again; give the same arguments")
    parser.add_argument("--max-consecutive-failures", type=_int_at_least(1), default=10,
                        metavar="N", help="stop after N failed trials in a row (default: 10)")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="only the final lines")
    noise.add_argument("-v", "--verbose", action="store_true", help="the whole trials table")


def _run_tune(args: argparse.Namespace) -> int:
    if args.resume and args.out is None:
        raise CommandError("--resume continues the search in an output folder: give that folder "
                           "with --out (and the same other arguments)")
    out = args.out or Path("kerastune_runs") / (
        f"{Path(args.dataset).stem}-{args.strategy}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = _writable_dir(out)
    overrides = parse_assignments(args.set)
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    _quiet_tensorflow()
    from sklearn.model_selection import train_test_split

    from .baseline import make_baseline
    from .cli import _format_table, _summary_sentence
    from .hypermodel import TooManyFailures
    from .report import write_report
    from .results import save_result
    from .search import tune
    from .space import SearchSpace

    try:
        space = SearchSpace.from_json(args.space) if args.space else default_space()
        space = space.with_values(**overrides) if overrides else space
    except (OSError, ValueError, TypeError) as err:
        raise CommandError(f"search space: {err}") from None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.seed)
    if not args.quiet:
        print(f"{description}: {len(X_train)} training rows searched, {len(X_test)} test rows "
              f"held out for one final score.\nSearch space:\n{space!r}\n", flush=True)
    fixed = {"epochs": args.epochs} if "epochs" not in space else {}
    search_dir = out / "search"
    total = _expected_fits(args.strategy, space, args.budget, args.cv, 2)
    try:
        with _progress(search_dir, total, f"{args.strategy} search", enabled=not args.quiet):
            result = tune(X_train, y_train, space, strategy=args.strategy, n_trials=args.budget,
                          cv=args.cv, max_epochs=args.max_epochs, preprocessor=preprocessor,
                          estimator_params=fixed, directory=search_dir, random_state=args.seed,
                          n_jobs=args.n_jobs, resume=args.resume,
                          max_consecutive_failures=args.max_consecutive_failures)
    except (ValueError, TypeError, TooManyFailures) as err:
        raise CommandError(str(err).replace("resume=True", "--resume").replace(
            "max_consecutive_failures", "--max-consecutive-failures")) from None
    if result is None:  # a Keras Tuner worker process: the chief reports
        print("Worker finished its trials; the chief process writes the results.")
        return 0

    baseline = make_baseline(preprocessor).fit(X_train, y_train)
    test_scores = {"keras_mlp": float(result.best_estimator_.score(X_test, y_test)),
                   "logreg_baseline": float(baseline.score(X_test, y_test))}
    paths = save_result(result, out, extra={"dataset": description, "test_accuracy": test_scores})
    report = write_report(result, out / "report.html",
                          notes={"dataset": description, "test accuracy (used once)": test_scores})
    if not args.quiet:
        table = result.trials if args.verbose else result.top(5)
        print("\nTop trials:" if not args.verbose else "\nAll trials:")
        print(table.drop(columns=["train_curve", "val_curve"], errors="ignore").to_string(
            index=False, float_format=lambda v: f"{v:.4g}"))
        print("\nComparison with logistic regression on the same CV folds (training data):")
        print(_format_table(result.baseline_))
        print(_summary_sentence(result.baseline_))
    print(f"\nTest accuracy (test split used once): tuned network "
          f"{test_scores['keras_mlp']:.3f}, logistic regression {test_scores['logreg_baseline']:.3f}")
    print(f"Best parameters: {result.best_params_}")
    print(f"Wrote {paths['trials']}, {paths['best_params']}, {paths['best_model']} and {report}")
    return 0


# --------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------
def _add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--param", required=True, help="the parameter to vary, e.g. n_layers")
    parser.add_argument("--values", required=True,
                        help="comma-separated values, e.g. 1,2,4,8 (bounds inclusive)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    parser.add_argument("--dataset", default="penguins")
    parser.add_argument("--target")
    parser.add_argument("--epochs", type=_int_at_least(1), default=10)
    parser.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the test split")
    parser.add_argument("--test-size", type=_fraction, default=0.2)
    parser.add_argument("--out", type=Path, default=Path("kerastune_runs") / "sweep")


def _run_sweep(args: argparse.Namespace) -> int:
    out = _writable_dir(args.out)
    values = [_number(v) for v in args.values.split(",") if v != ""]
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise CommandError(f"--seeds {args.seeds!r}: write integers, e.g. 0,1,2") from None
    X, y, preprocessor, description = load_dataset(args.dataset, args.target)
    _quiet_tensorflow()
    from sklearn.model_selection import train_test_split

    from .plots import plot_sweep
    from .search import sweep

    X_train, _, y_train, _ = train_test_split(X, y, test_size=args.test_size, stratify=y,
                                              random_state=args.seed)
    try:
        table = sweep(X_train, y_train, args.param, values, seeds=seeds,
                      preprocessor=preprocessor, epochs=args.epochs)
    except (ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    summary = table.groupby("value", sort=False)[["train_score", "val_score"]].agg(["mean", "std"])
    print(f"{description}: {args.param} over {values}, seeds {seeds}\n")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    table.assign(train_curve=table["train_curve"].map(json.dumps),
                 val_curve=table["val_curve"].map(json.dumps)).to_csv(out / "sweep.csv", index=False)
    plot_sweep(table).figure.savefig(out / "sweep.png", dpi=100, bbox_inches="tight")
    print(f"\nWrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    return 0


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="output folder of a `kerastune-kit tune` run")


def _run_report(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .report import write_report
    from .results import load_result

    try:
        result = load_result(args.directory)
    except FileNotFoundError as err:
        raise CommandError(str(err)) from None
    extra = json.loads((args.directory / "best_params.json").read_text()).get("extra", {})
    notes = {"dataset": extra.get("dataset", "?")}
    if "test_accuracy" in extra:
        notes["test accuracy (used once)"] = extra["test_accuracy"]
    path = write_report(result, _writable_dir(args.directory) / "report.html", notes=notes)
    print(f"Wrote {path}")
    return 0


register(Subcommand("tune", "Search hyperparameters (default: penguins, random search) and "
                    "compare the best network with logistic regression.",
                    _add_tune_arguments, _run_tune))
register(Subcommand("sweep", "Vary one parameter over values, repeated over seeds.",
                    _add_sweep_arguments, _run_sweep))
register(Subcommand("report", "Rebuild the HTML report of a saved search.",
                    _add_report_arguments, _run_report))
