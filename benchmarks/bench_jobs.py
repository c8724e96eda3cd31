"""``tune``'s random search in one process (folds stacked) against scikit-learn's process pool.

The workload is ``bench_search.py``'s kit-random: penguins, 10 candidates x 3 folds +
refit, learning rate ~ U(0.001, 0.011), batch size 2..15, epochs 6..14, dropout 0.2.
``n_jobs=1`` trains each candidate's folds together in this process; ``n_jobs=2``
hands the fits to scikit-learn's (joblib's loky) pool of 2 worker processes, where
they train one by one. The searches run ``--rounds`` times each, interleaved, in one
process: the first round of each pays its tracing (and, for the pool, starting the
workers and importing TensorFlow in them); later rounds show a warm process and a
warm pool, as a notebook that runs several searches sees them. Run::

    python benchmarks/bench_jobs.py            # 3 rounds, about a minute

It prints each search's time, the median of the warm rounds and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import warnings

    warnings.filterwarnings("ignore")
    import bench_search

    import kerastune_kit.strategies._journaled  # noqa: F401  (imports untimed)
    from kerastune_kit import Float, Int, SearchSpace, make_preprocessor, tune

    X_train, _, y_train, _ = bench_search._data()
    space = SearchSpace(learning_rate=Float(0.001, 0.011), batch_size=Int(2, 15),
                        epochs=Int(6, 14))
    times: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.rounds):
        for jobs in (1, 2):
            started = time.perf_counter()
            result = tune(X_train, y_train, space, strategy="random", n_trials=10, cv=3,
                          preprocessor=make_preprocessor(), random_state=0,
                          compare_baseline=False, n_jobs=jobs,
                          estimator_params={"dropout": 0.2, "validation_split": 0.0})
            seconds = time.perf_counter() - started
            times[jobs].append(seconds)
            print(f"round {round_ + 1} n_jobs={jobs}: {seconds:5.1f} s, best CV score "
                  f"{result.best_score_:.3f}", flush=True)
    if args.rounds > 1:
        one, two = (statistics.median(times[j][1:]) for j in (1, 2))
        print(f"warm rounds, median: n_jobs=1 (folds stacked) {one:.1f} s, n_jobs=2 (pool) "
              f"{two:.1f} s; ratio n_jobs=1 / n_jobs=2: {one / two:.2f}")
        print(f"first round: n_jobs=1 {times[1][0]:.1f} s, n_jobs=2 {times[2][0]:.1f} s "
              "(tracing; for the pool also starting its workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
