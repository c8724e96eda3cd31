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

* ``kit-random``: ``KerasMLPClassifier`` in the same ``RandomizedSearchCV``
  (same folds, same distributions, same seed);
* ``kit-hyperband``: ``tune(..., strategy="hyperband", cv=None)`` on the same space
  (one validation split, as the naive path; ``tune``'s default cross-validates).

and RSS growth over 100 sequential fits for both estimators (``*-memory``).

Every path runs in a fresh Python process, one after the other, so that each
pays its own imports and tracing and its peak RSS is its own. The machine's
speed drifts, so each search path runs three times, naive and kit
interleaved, and reports its median run. Run::

    python benchmarks/bench_search.py            # the full comparison (about 10 minutes)
    python benchmarks/bench_search.py --smoke --repeat 1   # tiny budgets: checks that it runs

It prints one table and the kit/naive ratios, and with ``--json FILE`` writes
the raw figures.
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
PATHS = ("naive-random", "kit-random", "naive-hyperband", "kit-hyperband",
         "naive-memory", "kit-memory")


# ----------------------------------------------------------------------
# shared data: penguins, 80/20 stratified split, preprocessing fitted on training rows only
# ----------------------------------------------------------------------
def _data():
    from sklearn.model_selection import train_test_split

    from kerastune_kit import load_penguins

    X, y = load_penguins(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)


def _random_search(estimator, prefix_lr: str, budget: dict):
    from scipy.stats import randint, uniform
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline

    from kerastune_kit import make_preprocessor

    X_train, X_test, y_train, y_test = _data()
    pipe = Pipeline([("preprocess", make_preprocessor()), ("model", estimator)])
    distributions = {
        f"model__{prefix_lr}": uniform(0.001, 0.01),       # U(0.001, 0.011)
        "model__batch_size": randint(2, 16),                # 2..15
        "model__epochs": randint(*budget["epochs"]),        # 6..14
    }
    search = RandomizedSearchCV(
        pipe, distributions, n_iter=budget["n_iter"], random_state=0,
        cv=StratifiedKFold(3, shuffle=True, random_state=0))   # the same folds for both
    started = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    fits = budget["n_iter"] * 3 + 1
    return {"seconds": seconds, "trials": budget["n_iter"], "fits": fits,
            "best_score": float(search.best_score_),
            "test_accuracy": float(search.score(X_test, y_test))}


def naive_model(meta, dropout=0.2):
    """The course notebooks' get_model: Sequential 2 x 100 ReLU, dropout, softmax, Adam."""
    import keras

    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    for _ in range(2):
        model.add(keras.layers.Dense(100, activation="relu", kernel_initializer="he_uniform"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def run_naive_random(budget):
    from scikeras.wrappers import KerasClassifier

    clf = KerasClassifier(model=naive_model, optimizer="adam", verbose=0, random_state=0)
    return _random_search(clf, "optimizer__learning_rate", budget)


def run_kit_random(budget):
    from kerastune_kit import KerasMLPClassifier

    clf = KerasMLPClassifier(dropout=0.2, random_state=0)
    return _random_search(clf, "learning_rate", budget)


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


def _memory(make_estimator, budget):
    import numpy as np

    from kerastune_kit import make_preprocessor

    X_train, _, y_train, _ = _data()
    x = make_preprocessor().fit_transform(X_train).astype("float32")
    rss = []
    started = time.perf_counter()
    for i in range(budget["memory_fits"]):
        est = make_estimator(learning_rate=float(np.geomspace(1e-3, 1e-2, 7)[i % 7]))
        est.fit(x, np.asarray(y_train))
        est.predict(x[:5])
        del est
        rss.append(_rss_mb())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "fits": len(rss), "rss_after_first_mb": rss[0],
            "rss_growth_mb": rss[-1] - rss[0]}


def run_naive_memory(budget):
    from scikeras.wrappers import KerasClassifier

    return _memory(lambda learning_rate: KerasClassifier(
        model=naive_model, optimizer__learning_rate=learning_rate, epochs=3, batch_size=16,
        verbose=0, random_state=0), budget)


def run_kit_memory(budget):
    from kerastune_kit import KerasMLPClassifier

    return _memory(lambda learning_rate: KerasMLPClassifier(
        dropout=0.2, learning_rate=learning_rate, epochs=3, batch_size=16, random_state=0),
        budget)


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:  # current RSS (Linux)
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


BUDGETS = {
    "full": {"n_iter": 10, "epochs": (6, 15), "max_epochs": 10, "memory_fits": 100},
    "smoke": {"n_iter": 2, "epochs": (2, 4), "max_epochs": 2, "memory_fits": 3},
}


# ----------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------
def _child(path: str, budget_name: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    budget = BUDGETS[budget_name]
    started = time.perf_counter()
    result = globals()["run_" + path.replace("-", "_")](budget)
    result["process_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT_MARK + json.dumps(result), flush=True)


def _run(path: str, budget_name: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", path, "--budget", budget_name],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"{path} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _table(results: dict) -> str:
    lines = [f"{'path':<16}{'trials':>7}{'fits':>6}{'seconds':>9}{'trials/min':>11}"
             f"{'best CV/val':>12}{'test acc':>9}{'peak RSS MB':>12}"]
    for path in PATHS:
        r = results.get(path)
        if r is None or "trials" not in r:
            continue
        lines.append(f"{path:<16}{r['trials']:>7}{r['fits']:>6}{r['seconds']:>9.1f}"
                     f"{60 * r['trials'] / r['seconds']:>11.1f}{r['best_score']:>12.3f}"
                     f"{r['test_accuracy']:>9.3f}{r['peak_rss_mb']:>12.0f}")
    for kind in ("naive", "kit"):
        r = results.get(f"{kind}-memory")
        if r:
            lines.append(f"{kind}-memory: {r['fits']} sequential fits in {r['seconds']:.1f} s, "
                         f"RSS {r['rss_after_first_mb']:.0f} MB after the first, "
                         f"growth {r['rss_growth_mb']:+.0f} MB")
    for workload in ("random", "hyperband"):
        naive, kit = results.get(f"naive-{workload}"), results.get(f"kit-{workload}")
        if naive and kit:
            per_min = (kit["trials"] / kit["seconds"]) / (naive["trials"] / naive["seconds"])
            lines.append(
                f"ratio kit/naive, {workload}: {per_min:.1f}x trials per minute, "
                f"{naive['seconds'] / kit['seconds']:.1f}x less time, best score "
                f"{kit['best_score'] - naive['best_score']:+.3f}, test accuracy "
                f"{kit['test_accuracy'] - naive['test_accuracy']:+.3f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, to check it runs")
    parser.add_argument("--only", nargs="+", choices=PATHS, help="run only these paths")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each search path, interleaved; the median is reported")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--budget", default="full", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.budget)
        return 0
    budget = "smoke" if args.smoke else "full"
    paths = args.only or PATHS
    runs: dict[str, list] = {path: [] for path in paths}
    # Machine speed drifts: the searches run `repeat` times, naive and kit
    # interleaved, and each path reports its median run. Memory paths run once.
    for round_ in range(args.repeat):
        for path in paths:
            if round_ and path.endswith("-memory"):
                continue
            print(f"running {path} ({round_ + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
            runs[path].append(_run(path, budget))
    results = {path: sorted(r, key=lambda x: x["seconds"])[(len(r) - 1) // 2]
               for path, r in runs.items()}
    print(f"kerastune_kit benchmark ({budget} budget, {os.cpu_count()} cores, median of "
          f"{args.repeat} run(s) a search path); baseline: scikeras + stock Keras Tuner, "
          "TensorFlow backend")
    print(_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"budget": budget, "results": results, "runs": runs}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
