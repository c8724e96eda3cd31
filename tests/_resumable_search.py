"""A small search in its own process, for tests/test_resume.py to kill and resume.

Usage: ``python _resumable_search.py <folder> <strategy> [--resume] [--kill-while-writing-results]``

Runs ``tune`` on 120 penguins rows with its records in ``<folder>/search``,
saves the result in ``<folder>/results`` and prints one line ``RESULT {json}``
(the trials, the best parameters). Every epoch sleeps ``SLOW_EPOCH`` seconds,
so a test that kills the process while fits are being recorded almost always
lands inside a fit.

``--kill-while-writing-results`` makes the process SIGKILL itself halfway
through writing ``trials.csv`` of the results: what a kill at that moment
leaves on disk, a half-written temporary file, is really left there.
``--kill-after-creating-trial=N`` makes it SIGKILL itself right after Keras
Tuner wrote trial N's new file, before Keras Tuner's own state records it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import keras
from sklearn.model_selection import train_test_split

import kerastune_kit.results
from kerastune_kit import load_penguins, make_preprocessor
from kerastune_kit.results import save_result
from kerastune_kit.search import tune
from kerastune_kit.space import Float, Int, SearchSpace

SLOW_EPOCH = 0.05


class SlowEpochs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(SLOW_EPOCH)


def kill_halfway_through(name):
    write = kerastune_kit.results.write_text_atomic

    def writer(path, text):
        if os.path.basename(path) != name:
            return write(path, text)
        partial = os.path.join(os.path.dirname(path), f".{name}.partial.tmp")
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text[: len(text) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    kerastune_kit.results.write_text_atomic = writer


def kill_after_creating_trial(number: int):
    """SIGKILL this process right after Keras Tuner writes trial ``number``'s new file."""
    from kerastune_kit.hypermodel import _DurableOracle

    save_trial = _DurableOracle._save_trial

    def saver(self, trial):
        save_trial(self, trial)
        if int(trial.trial_id) == number and str(trial.status) == "RUNNING" and \
                not trial.metrics.metrics:
            os.kill(os.getpid(), signal.SIGKILL)

    _DurableOracle._save_trial = saver


def main(folder: str, strategy: str, *flags: str) -> int:
    if "--kill-while-writing-results" in flags:
        kill_halfway_through("trials.csv")
    for flag in flags:
        if flag.startswith("--kill-after-creating-trial="):
            kill_after_creating_trial(int(flag.split("=")[1]))
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=120, stratify=y, random_state=0)
    space = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 3e-2, scale="log"))
    options = dict(max_epochs=3, factor=3)
    if strategy == "random":
        space = SearchSpace({**dict(space.items()), "epochs": Int(2, 3)})
        options = dict(n_trials=5, cv=2)
    result = tune(X, y, space, strategy=strategy, preprocessor=make_preprocessor(),
                  callbacks=[SlowEpochs()], directory=os.path.join(folder, "search"),
                  resume="--resume" in flags, random_state=0, compare_baseline=False, **options)
    save_result(result, os.path.join(folder, "results"))
    trials = result.trials
    report = {
        "trials": trials[["trial", "status", "score", *space.names, "epochs_trained", "error"]]
        .to_dict("records"),
        "best_params": result.best_params_,
        "best_score": result.best_score_,
    }
    print("RESULT " + json.dumps(report, default=float), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
