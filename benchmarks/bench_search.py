"""Side-by-side benchmark: kerastune_kit against the naive paths our users take today.

Baselines (the "naive" paths, written the way the course notebooks write them):

* ``naive-random``: scikeras' ``KerasClassifier`` with a hand-written
  ``get_model`` (2 x 100 ReLU, dropout 0.2, Adam) inside scikit-learn's
  ``RandomizedSearchCV``: learning rate ~ U(0.001, 0.011), batch size 2..15,
  epochs 6..14, 10 candidates x 3 folds + refit (the penguins notebook's search);
* ``naive-hyperband``: stock Keras Tuner ``Hyperband`` on a hand-written
  build function: units 16..256 step 16, dropout in {0.2, 0.4, 0.6},
  ``max_epochs=10``, ``factor=3``, validated on a stratified split of the
  training data.

Against them, the same workloads through kerastune_kit:

* ``kit-random``: ``tune(..., strategy="random")`` on the same distributions, folds
  and seed (the same candidates; each fit trains on its whole training fold), the
  kit's own search: a candidate's folds train together, stacked;
* ``kit-estimator``: ``KerasMLPClassifier`` in the same ``RandomizedSearchCV``
  (same folds, same distributions, same seed): the kit's estimator in a search
  the kit does not run, each fit on its own;
* ``kit-hyperband``: ``tune(..., strategy="hyperband", cv=None)`` on the same space
  (one validation split, as the naive path; ``tune``'s default cross-validates).

The tool a user would pick instead on small tabular data:

* ``sklearn-mlp``: scikit-learn's own ``MLPClassifier(hidden_layer_sizes=(100, 100))``
  in the same ``RandomizedSearchCV`` on the same preprocessed data (same folds,
  same number of candidates, ``learning_rate_init`` ~ U(0.001, 0.011), batch
  size 2..15, ``max_iter`` 6..14 as the epochs; it has no dropout).

How both grow (``scaling``): the naive and the kit random search, 3 folds +
refit, learning rate ~ U(0.001, 0.011), batch size 32..128, 2..4 epochs, on
275 rows (penguins' training split), 1,797 (digits) and 20,000 (a synthetic
``make_classification`` set) with 10 candidates, and on penguins with 100
candidates (the naive 100-candidate search runs once, whatever the repeats).

Memory (``*-memory``): RSS over sequential fits (1,000 for the kit, 100 for
the naive path, whose fits take ten times longer) of 20 architectures drawn
at random, as a search draws them: 1 or 2 hidden layers of 8 or 100 units,
5 activations; more than the 16 programs the kit keeps traced.

Every path runs in a fresh Python process, one after the other, so that each
pays its own imports and tracing and its peak RSS is its own. The machine's
speed drifts, so each search path runs three times, naive and kit
interleaved, and reports its median run. Run::

    python benchmarks/bench_search.py            # the full comparison (35-40 minutes)
    python benchmarks/bench_search.py --scale-repeat 1   # scaling cells once (29 minutes)
    python benchmarks/bench_search.py --smoke --repeat 1   # tiny budgets: checks that it runs

It prints the tables and the ratios, and with ``--json FILE`` writes the raw
figures (after every run, so an interrupted run keeps what it measured).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

RESULT_MARK = "BENCH-RESULT "
SEARCH_PATHS = ("naive-random", "kit-random", "kit-estimator", "sklearn-mlp", "naive-hyperband",
                "kit-hyperband")
MEMORY_PATHS = ("naive-memory", "kit-memory")
PATHS = SEARCH_PATHS + ("scaling",) + MEMORY_PATHS


# ----------------------------------------------------------------------
# shared data: penguins, 80/20 stratified split, preprocessing fitted on training rows only
# ----------------------------------------------------------------------
def _data():
    from sklearn.model_selection import train_test_split

    from kerastune_kit import load_penguins

    X, y = load_penguins(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)


def _random_search(estimator, prefix_lr: str, budget: dict, epochs_name: str = "epochs"):
    from scipy.stats import randint, uniform

    from kerastune_kit import make_preprocessor

    X_train, X_test, y_train, y_test = _data()
    distributions = {
        prefix_lr: uniform(0.001, 0.01),                # U(0.001, 0.011)
        "batch_size": randint(2, 16),                   # 2..15
        epochs_name: randint(*budget["epochs"]),        # 6..14
    }
    result, search = _timed_search(estimator, make_preprocessor(), distributions,
                                   budget["n_iter"], X_train, y_train)
    result["test_accuracy"] = float(search.score(X_test, y_test))
    return result


def _timed_search(estimator, preprocessor, distributions: dict, n_iter: int, X, y):
    """``RandomizedSearchCV`` of ``preprocessor`` + ``estimator``: 3 seeded folds, seed 0, timed."""
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("preprocess", preprocessor), ("model", estimator)])
    search = RandomizedSearchCV(
        pipe, {f"model__{k}": v for k, v in distributions.items()}, n_iter=n_iter,
        random_state=0, cv=StratifiedKFold(3, shuffle=True, random_state=0))  # the same folds
    started = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "trials": n_iter, "fits": n_iter * 3 + 1, "rows": len(y),
            "best_score": float(search.best_score_)}, search


def naive_model(meta, dropout=0.2, sizes=(100, 100), activation="relu"):
    """The course notebooks' get_model: Sequential 2 x 100 ReLU, dropout, softmax, Adam.

    (The memory path varies ``sizes`` and ``activation``.)
    """
    import keras

    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    for width in sizes:
        model.add(keras.layers.Dense(width, activation=activation,
                                     kernel_initializer="he_uniform"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def run_naive_random(budget):
    from scikeras.wrappers import KerasClassifier

    clf = KerasClassifier(model=naive_model, optimizer="adam", verbose=0, random_state=0)
    return _random_search(clf, "optimizer__learning_rate", budget)


def _tune_random(X, y, preprocessor, budget: dict, n_trials: int, batch_size: tuple,
                 epochs: tuple):
    """``tune(strategy="random")`` on the naive search's distributions, folds and seed.

    The space gives the same ``uniform`` and ``randint`` distributions to the
    same seeded ``RandomizedSearchCV`` on the same 3 seeded stratified folds, so
    the candidates are the naive search's. ``validation_split=0``: each fit
    trains on its whole training fold, as the naive path does (``tune``'s default
    keeps 20% of it for validation curves).
    """
    import kerastune_kit.strategies._journaled  # noqa: F401  imports untimed, as for the others
    from kerastune_kit import Float, Int, SearchSpace, tune

    space = SearchSpace(learning_rate=Float(0.001, 0.011), batch_size=Int(*batch_size),
                        epochs=Int(*epochs))
    started = time.perf_counter()
    result = tune(X, y, space, strategy="random", n_trials=n_trials, cv=3,
                  preprocessor=preprocessor, random_state=0, compare_baseline=False,
                  estimator_params={"dropout": 0.2, "validation_split": 0.0})
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "trials": n_trials, "fits": n_trials * 3 + 1, "rows": len(y),
            "best_score": float(result.best_score_)}, result


def run_kit_random(budget):
    from kerastune_kit import make_preprocessor

    X_train, X_test, y_train, y_test = _data()
    low, high = budget["epochs"]
    out, result = _tune_random(X_train, y_train, make_preprocessor(), budget, budget["n_iter"],
                               (2, 15), (low, high - 1))
    out["test_accuracy"] = float(result.best_estimator_.score(X_test, y_test))
    return out


def run_kit_estimator(budget):
    from kerastune_kit import KerasMLPClassifier

    clf = KerasMLPClassifier(dropout=0.2, random_state=0)
    return _random_search(clf, "learning_rate", budget)


def run_sklearn_mlp(budget):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(100, 100), random_state=0)
    return _random_search(clf, "learning_rate_init", budget, epochs_name="max_iter")


# ----------------------------------------------------------------------
# scaling: rows and candidates
# ----------------------------------------------------------------------
def _scaling_data(name: str, budget: dict):
    """``(X, y, preprocessor)``: penguins' training split, digits, or the synthetic set."""
    from sklearn.preprocessing import StandardScaler

    from kerastune_kit import make_preprocessor

    if name == "penguins":
        X_train, _, y_train, _ = _data()
        return X_train, y_train, make_preprocessor()
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=budget["synthetic_rows"], n_features=20,
                                   n_informative=10, n_redundant=5, n_classes=3,
                                   random_state=0)
    return X.astype("float32"), y, StandardScaler()


def _scaling_search(estimator, prefix_lr: str, budget: dict, case: str):
    from scipy.stats import randint, uniform

    name, trials = case.split(":")
    X, y, preprocessor = _scaling_data(name, budget)
    distributions = {prefix_lr: uniform(0.001, 0.01), "batch_size": randint(32, 129),
                     "epochs": randint(*budget["scale_epochs"])}
    return _timed_search(estimator, preprocessor, distributions, int(trials), X, y)[0]


def run_naive_scale(budget, case):
    from scikeras.wrappers import KerasClassifier

    clf = KerasClassifier(model=naive_model, optimizer="adam", verbose=0, random_state=0)
    return _scaling_search(clf, "optimizer__learning_rate", budget, case)


def run_kit_scale(budget, case):
    name, trials = case.split(":")
    X, y, preprocessor = _scaling_data(name, budget)
    low, high = budget["scale_epochs"]
    return _tune_random(X, y, preprocessor, budget, int(trials), (32, 128), (low, high - 1))[0]


def _hyperband_data():
    from sklearn.model_selection import train_test_split

    from kerastune_kit import make_preprocessor

    X_train, X_test, y_train, y_test = _data()
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_train, y_train, test_size=0.2, stratify=y_train, random_state=0)
    return X_train, X_test, y_train, y_test, X_fit, X_val, y_fit, y_val, make_preprocessor


def run_naive_hyperband(budget):
    import tempfile

    import keras
    import keras_tuner as kt
    import numpy as np
    from sklearn.preprocessing import LabelEncoder

    X_train, X_test, y_train, y_test, X_fit, X_val, y_fit, y_val, make_pre = _hyperband_data()
    pre = make_pre().fit(X_fit)
    enc = LabelEncoder().fit(y_train)
    xf, xv = pre.transform(X_fit).astype("float32"), pre.transform(X_val).astype("float32")
    yf, yv = enc.transform(y_fit), enc.transform(y_val)

    def build(hp):
        model = keras.Sequential([
            keras.Input((xf.shape[1],)),
            keras.layers.Dense(hp.Int("units", 16, 256, step=16), activation="relu"),
            keras.layers.Dropout(hp.Choice("dropout", [0.2, 0.4, 0.6])),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    # seed=1: Keras Tuner takes seed=0 to mean "unseeded"; tune(random_state=0) below
    # gives its oracle seed 1 as well, so both searches draw the same trials.
    tuner = kt.Hyperband(build, objective="val_accuracy", max_epochs=budget["max_epochs"],
                         factor=3, seed=1, directory=tempfile.mkdtemp(), project_name="naive")
    started = time.perf_counter()
    tuner.search(xf, yf, validation_data=(xv, yv), verbose=0)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    model = build(best_hp)  # refit on all training rows, as the seed notebook does
    x_all = pre.transform(X_train).astype("float32")
    model.fit(x_all, enc.transform(y_train), epochs=budget["max_epochs"], verbose=0)
    seconds = time.perf_counter() - started
    test = float(np.mean(model.predict(pre.transform(X_test).astype("float32"), verbose=0)
                         .argmax(1) == enc.transform(y_test)))
    trials = len(tuner.oracle.trials)
    best = tuner.oracle.get_best_trials(1)[0].score
    return {"seconds": seconds, "trials": trials, "fits": trials + 1,
            "best_score": float(best), "test_accuracy": test}


def run_kit_hyperband(budget):
    import kerastune_kit.hypermodel  # noqa: F401  Keras and Keras Tuner load untimed, as for naive
    from kerastune_kit import Categorical, Int, SearchSpace, tune

    X_train, X_test, y_train, y_test, *_rest, make_pre = _hyperband_data()
    space = SearchSpace(nodes=Int(16, 256, step=16), dropout=Categorical([0.2, 0.4, 0.6]))
    started = time.perf_counter()
    # cv=None: one validation split, as stock Keras Tuner (the naive path) trains; tune's
    # default trains every trial on 3 folds of small data (3 times the fits)
    result = tune(X_train, y_train, space, strategy="hyperband",
                  max_epochs=budget["max_epochs"], factor=3, preprocessor=make_pre(),
                  estimator_params={"n_layers": 1}, random_state=0, compare_baseline=False,
                  cv=None)
    seconds = time.perf_counter() - started
    trials = len(result.trials)
    return {"seconds": seconds, "trials": trials, "fits": trials + 1,
            "best_score": float(result.best_score_),
            "test_accuracy": float(result.best_estimator_.score(X_test, y_test))}


#: The memory paths' architectures: 20, more than the 16 programs the kit keeps traced.
MEMORY_ARCHITECTURES = [(sizes, activation)
                        for sizes in ((8,), (100,), (8, 8), (100, 100))
                        for activation in ("relu", "tanh", "elu", "selu", "sigmoid")]


def _memory(make_estimator, fits: int):
    """RSS over ``fits`` sequential fits, each of an architecture drawn at random, as a search draws."""
    import numpy as np

    from kerastune_kit import make_preprocessor

    X_train, _, y_train, _ = _data()
    x = make_preprocessor().fit_transform(X_train).astype("float32")
    draws = np.random.default_rng(0).integers(len(MEMORY_ARCHITECTURES), size=fits)
    rates = np.geomspace(1e-3, 1e-2, 7)
    rss = []
    started = time.perf_counter()
    for i, draw in enumerate(draws):
        sizes, activation = MEMORY_ARCHITECTURES[draw]
        est = make_estimator(sizes, activation, float(rates[i % 7]))
        est.fit(x, np.asarray(y_train))
        est.predict(x[:5])
        del est
        rss.append(_rss_mb())
    seconds = time.perf_counter() - started
    half = len(rss) // 2
    return {"seconds": seconds, "fits": len(rss),
            "architectures": len({int(d) for d in draws}), "rss_after_first_mb": rss[0],
            "rss_max_mb": max(rss), "rss_growth_mb": rss[-1] - rss[0],
            "rss_growth_second_half_mb": rss[-1] - rss[half]}


def run_naive_memory(budget):
    from scikeras.wrappers import KerasClassifier

    def make(sizes, activation, learning_rate):
        return KerasClassifier(model=naive_model, model__sizes=sizes,
                               model__activation=activation,
                               optimizer__learning_rate=learning_rate, epochs=2, batch_size=16,
                               verbose=0, random_state=0)

    return _memory(make, budget["naive_memory_fits"])


def run_kit_memory(budget):
    from kerastune_kit import KerasMLPClassifier

    def make(sizes, activation, learning_rate):
        return KerasMLPClassifier(hidden_layer_sizes=sizes, activation=activation, dropout=0.2,
                                  learning_rate=learning_rate, epochs=2, batch_size=16,
                                  random_state=0)

    return _memory(make, budget["memory_fits"])


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:  # current RSS (Linux)
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


BUDGETS = {
    "full": {"n_iter": 10, "epochs": (6, 15), "max_epochs": 10, "memory_fits": 1000,
             "naive_memory_fits": 100, "scale_epochs": (2, 5), "synthetic_rows": 20_000,
             "scale_cases": ("penguins:10", "digits:10", "synthetic:10", "penguins:100")},
    "smoke": {"n_iter": 2, "epochs": (2, 4), "max_epochs": 2, "memory_fits": 3,
              "naive_memory_fits": 3, "scale_epochs": (1, 3), "synthetic_rows": 300,
              "scale_cases": ("penguins:2", "synthetic:2", "penguins:3")},
}
#: Candidates from which the naive scaling search runs once, whatever ``--repeat`` says.
NAIVE_ONCE_FROM = 100


# ----------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------
def _child(path: str, budget_name: str, case: str | None) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    budget = BUDGETS[budget_name]
    started = time.perf_counter()
    run = globals()["run_" + path.replace("-", "_")]
    result = run(budget) if case is None else run(budget, case)
    result["process_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT_MARK + json.dumps(result), flush=True)


def _run(path: str, budget_name: str, case: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", path, "--budget", budget_name]
    proc = subprocess.run(command + (["--case", case] if case else []),
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"{path} {case or ''} failed (exit {proc.returncode}):\n"
                       f"{proc.stderr[-3000:]}")


def _median(runs: list) -> dict:
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def _table(results: dict) -> str:
    lines = [f"{'path':<16}{'trials':>7}{'fits':>6}{'seconds':>9}{'trials/min':>11}"
             f"{'best CV/val':>12}{'test acc':>9}{'peak RSS MB':>12}"]
    for path in SEARCH_PATHS:
        r = results.get(path)
        if r is None:
            continue
        lines.append(f"{path:<16}{r['trials']:>7}{r['fits']:>6}{r['seconds']:>9.1f}"
                     f"{60 * r['trials'] / r['seconds']:>11.1f}{r['best_score']:>12.3f}"
                     f"{r['test_accuracy']:>9.3f}{r['peak_rss_mb']:>12.0f}")
    for mine, other in (("kit-random", "naive-random"), ("kit-hyperband", "naive-hyperband"),
                        ("kit-random", "sklearn-mlp"), ("kit-estimator", "naive-random"),
                        ("kit-estimator", "sklearn-mlp")):
        theirs, kit = results.get(other), results.get(mine)
        workload = "hyperband" if "hyperband" in mine else "random"
        if mine == "kit-estimator":
            workload += " (KerasMLPClassifier in RandomizedSearchCV)"
        if theirs and kit:
            per_min = (kit["trials"] / kit["seconds"]) / (theirs["trials"] / theirs["seconds"])
            name = "naive" if other.startswith("naive") else other
            speed = theirs["seconds"] / kit["seconds"]
            faster = f"{speed:.1f}x less time" if speed >= 1 else f"{1 / speed:.1f}x the time"
            lines.append(
                f"ratio kit/{name}, {workload}: {per_min:.1f}x trials per minute, "
                f"{faster}, best score "
                f"{kit['best_score'] - theirs['best_score']:+.3f}, test accuracy "
                f"{kit['test_accuracy'] - theirs['test_accuracy']:+.3f}")
    return "\n".join(lines)


def _scaling_table(scaling: dict, runs: dict) -> str:
    lines = [f"{'rows':>7}{'trials':>7}{'naive s':>9}{'kit s':>8}{'kit/naive':>10}"
             f"{'naive best':>11}{'kit best':>9}{'runs':>10}"]
    for case, pair in scaling.items():
        naive, kit = pair.get("naive"), pair.get("kit")
        if not (naive and kit):
            continue
        counts = f"{len(runs[case]['naive'])}+{len(runs[case]['kit'])}"
        lines.append(f"{kit['rows']:>7}{kit['trials']:>7}{naive['seconds']:>9.1f}"
                     f"{kit['seconds']:>8.1f}{naive['seconds'] / kit['seconds']:>9.1f}x"
                     f"{naive['best_score']:>11.3f}{kit['best_score']:>9.3f}{counts:>10}")
    return "\n".join(lines)


def _memory_lines(results: dict) -> str:
    lines = []
    for kind in ("naive", "kit"):
        r = results.get(f"{kind}-memory")
        if r:
            lines.append(
                f"{kind}-memory: {r['fits']} sequential fits of {r['architectures']} "
                f"architectures in {r['seconds']:.0f} s ({r['seconds'] / r['fits']:.2f} s a "
                f"fit), RSS {r['rss_after_first_mb']:.0f} MB after the first, max "
                f"{r['rss_max_mb']:.0f} MB, growth {r['rss_growth_mb']:+.0f} MB "
                f"({r['rss_growth_second_half_mb']:+.0f} MB over the second half)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check it runs")
    parser.add_argument("--only", nargs="+", choices=PATHS, help="run only these paths")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each search path, interleaved; the median is reported")
    parser.add_argument("--scale-repeat", type=int, default=None,
                        help="runs of each scaling cell (default: --repeat)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--budget", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.budget, args.case)
        return 0
    budget_name = "smoke" if args.smoke else "full"
    budget = BUDGETS[budget_name]
    paths = args.only or PATHS
    scale_repeat = args.repeat if args.scale_repeat is None else args.scale_repeat
    runs: dict = {path: [] for path in paths if path != "scaling"}
    scale_runs: dict = {case: {"naive": [], "kit": []} for case in budget["scale_cases"]}

    def save() -> None:  # after every run: an interrupted benchmark keeps what it measured
        if args.json:
            results = {path: _median(r) for path, r in runs.items() if r}
            scaling = {case: {kind: _median(r) for kind, r in pair.items() if r}
                       for case, pair in scale_runs.items()} if "scaling" in paths else {}
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump({"budget": budget_name, "results": results, "runs": runs,
                           "scaling": scaling, "scaling_runs": scale_runs}, handle, indent=2)

    # Machine speed drifts: the searches run `repeat` times, naive and kit
    # interleaved, and each path reports its median run. Memory paths run once.
    for round_ in range(args.repeat):
        for path in paths:
            if path == "scaling" or (round_ and path.endswith("-memory")):
                continue
            print(f"running {path} ({round_ + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
            runs[path].append(_run(path, budget_name))
            save()
    if "scaling" in paths:
        for round_ in range(scale_repeat):
            for case in budget["scale_cases"]:
                for kind in ("naive", "kit"):
                    if round_ and kind == "naive" and int(case.split(":")[1]) >= NAIVE_ONCE_FROM:
                        continue
                    print(f"running {kind}-scale {case} ({round_ + 1}/{scale_repeat}) ...",
                          file=sys.stderr, flush=True)
                    scale_runs[case][kind].append(_run(f"{kind}-scale", budget_name, case))
                    save()
    results = {path: _median(r) for path, r in runs.items() if r}
    print(f"kerastune_kit benchmark ({budget_name} budget, {os.cpu_count()} cores, median of "
          f"{args.repeat} run(s) a search path); baseline: scikeras + stock Keras Tuner, "
          "TensorFlow backend; sklearn-mlp: scikit-learn's MLPClassifier(100, 100)")
    print(_table(results))
    if "scaling" in paths:
        scaling = {case: {kind: _median(r) for kind, r in pair.items() if r}
                   for case, pair in scale_runs.items()}
        print(f"scaling: random search, 3 folds + refit, batch 32..128, "
              f"{budget['scale_epochs'][0]}..{budget['scale_epochs'][1] - 1} epochs; median of "
              f"the runs counted naive+kit (the naive search of {NAIVE_ONCE_FROM}+ candidates "
              "runs once)")
        print(_scaling_table(scaling, scale_runs))
    memory = _memory_lines(results)
    if memory:
        print(memory)
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
