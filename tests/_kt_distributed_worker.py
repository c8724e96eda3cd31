"""One process of a distributed Keras Tuner search, run by tests/test_distributed.py.

Usage: ``python _kt_distributed_worker.py <shared directory>`` with Keras Tuner's
``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT`` set.
The chief (``KERASTUNER_TUNER_ID=chief``) serves the oracle and prints one line
``RESULT {json}``; a worker runs the trials the chief hands out (``tune`` returns None)
and prints ``WORKER-DONE <id>``.

Every fit appends the process's tuner id to a file in the shared directory:
``ran-<id>.txt`` for a fit run by Keras Tuner (a trial) and ``refit-<id>.txt`` for
any other fit (the chief's refit of the best parameters on all the training data).
``KT_TEST_SLOW_EPOCH`` (seconds) makes every epoch of every fit that long at least.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import keras
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor
from kerastune_kit.search import tune
from kerastune_kit.space import Float, Int, SearchSpace

SPACE = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 3e-2, scale="log"))


class RecordTrainer(keras.callbacks.Callback):
    """Record which process trains: ``ran-<id>.txt`` for trials, ``refit-<id>.txt`` otherwise.

    With ``KT_TEST_PEERS`` (comma-separated worker ids) set, a worker's first
    trial does not end before every peer has started a trial (or
    ``PEER_WAIT`` seconds passed), so a worker that imports TensorFlow faster
    cannot run all the trials alone; Keras Tuner then has to hand the other
    workers trials of their own.
    """

    PEER_WAIT = 90.0

    def __init__(self, directory: str):
        super().__init__()
        self.directory = directory
        self._in_trial = False

    def _path(self, kind: str, tuner_id: str) -> str:
        return os.path.join(self.directory, f"{kind}-{tuner_id}.txt")

    def on_train_begin(self, logs=None):
        tuner_id = os.environ["KERASTUNER_TUNER_ID"]
        # a trial's fit is called from Keras Tuner's Tuner.run_trial; the refit from tune()
        self._in_trial = any(f"keras_tuner{os.sep}" in frame.filename
                             for frame in traceback.extract_stack())
        with open(self._path("ran" if self._in_trial else "refit", tuner_id), "a",
                  encoding="utf-8") as handle:
            handle.write(tuner_id + "\n")

    def on_epoch_end(self, epoch, logs=None):
        # KT_TEST_SLOW_EPOCH: seconds per epoch, so a test can kill a worker mid-trial
        time.sleep(float(os.environ.get("KT_TEST_SLOW_EPOCH", "0")))

    def on_train_end(self, logs=None):
        peers = [p for p in os.environ.get("KT_TEST_PEERS", "").split(",") if p]
        if not self._in_trial or not peers:
            return
        with open(self._path("ran", os.environ["KERASTUNER_TUNER_ID"]), encoding="utf-8") as f:
            if len(f.read().split()) > 1:  # only the first trial waits
                return
        deadline = time.monotonic() + self.PEER_WAIT
        while time.monotonic() < deadline:
            if all(os.path.exists(self._path("ran", peer)) for peer in peers):
                return
            time.sleep(0.2)


def main(directory: str) -> int:
    X, y = load_penguins(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    result = tune(
        X_train, y_train, SPACE, strategy="kt-random", n_trials=4, directory=directory,
        preprocessor=make_preprocessor(), estimator_params={"epochs": 3},
        callbacks=[RecordTrainer(directory)], random_state=0, compare_baseline=False,
    )
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if tuner_id != "chief":
        print(f"WORKER-DONE {tuner_id} returned={result!r}", flush=True)
        return 0 if result is None else 1
    trials = result.trials
    report = {
        "n_trials": len(trials),
        "statuses": trials["status"].tolist(),
        "scores": [float(s) for s in trials["score"]],
        "best_params": result.best_params_,
        "best_score": result.best_score_,
        "train_curve_lengths": [len(c) for c in trials["train_curve"]],
        "epochs_trained": [int(e) for e in trials["epochs_trained"]],
    }
    print("RESULT " + json.dumps(report, default=float), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
