"""An Optuna search in its own process, for tests/test_optuna_resume.py to SIGKILL and resume.

Usage: ``python _optuna_search_proc.py <folder> [--resume] [--n-jobs=N]``

Runs ``tune(strategy="optuna")`` on 120 penguins rows with its study in
``<folder>`` and prints one line ``RESULT {json}`` (the trials table's
status, score and parameters).
"""

from __future__ import annotations

import json
import sys

from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor
from kerastune_kit.search import tune
from kerastune_kit.space import Float, Int, SearchSpace

N_TRIALS = 8


def main(folder: str, *flags: str) -> int:
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=120, stratify=y, random_state=0)
    n_jobs = next((int(f.split("=")[1]) for f in flags if f.startswith("--n-jobs=")), None)
    space = SearchSpace(nodes=Int(4, 32, step=4), learning_rate=Float(1e-3, 1e-1, scale="log"))
    result = tune(X, y, space, strategy="optuna", n_trials=N_TRIALS, cv=2, pruner="median",
                  directory=folder, resume="--resume" in flags, n_jobs=n_jobs,
                  preprocessor=make_preprocessor(), estimator_params={"epochs": 15},
                  compare_baseline=False)
    table = result.trials[["status", "score", "nodes", "learning_rate", "epochs_trained"]]
    print("RESULT " + json.dumps(table.to_dict(orient="list")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
