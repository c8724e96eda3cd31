"""An Optuna search SIGKILLed mid-trial resumes from its SQLite study with every finished trial kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

SCRIPT = Path(__file__).with_name("_optuna_search_proc.py")
REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300


def _launch(folder: Path, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(SCRIPT), str(folder), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _result_of(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=TIMEOUT)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(lines) == 1, out[-4000:]
    return json.loads(lines[0][len("RESULT "):])


def _finished(folder: Path) -> int:
    path = folder / "optuna-trials.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def _study(folder: Path):
    return optuna.load_study(study_name="kerastune", storage=f"sqlite:///{folder}/optuna.db")


def _kill_after(proc, folder: Path, n: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while _finished(folder) < n:
        if proc.poll() is not None:
            pytest.fail(f"the search ended early:\n{proc.communicate()[0][-4000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no trial finished in time")
        time.sleep(0.01)
    time.sleep(0.3)  # into the next trial's training
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2], ids=["one process", "two processes"])
def test_killed_search_resumes_from_the_study_keeping_every_finished_trial(tmp_path, n_jobs):
    flags = (f"--n-jobs={n_jobs}",)
    proc = _launch(tmp_path, *flags)
    _kill_after(proc, tmp_path, 2)
    if n_jobs == 2:  # the orphaned worker notices its parent is gone and stops
        time.sleep(3)
    before = {t.number: t for t in _study(tmp_path).trials}
    done = {n: t for n, t in before.items() if t.state.is_finished()}
    running = [n for n, t in before.items() if t.state.name == "RUNNING"]
    assert len(done) >= 2 and running  # killed inside a trial

    result = _result_of(_launch(tmp_path, "--resume", *flags))
    study = _study(tmp_path)
    after = {t.number: t for t in study.trials}
    for number, trial in done.items():  # every finished trial kept, untouched
        assert after[number].state == trial.state
        assert after[number].values == trial.values and after[number].params == trial.params
    interrupted = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert sorted(t.number for t in interrupted) == sorted(running)
    retried = {t.user_attrs["retry_of"]: t for t in study.trials if "retry_of" in t.user_attrs}
    # the trial the kill cut short ran again, with the same values. Its values are read from
    # the study after the resume: with two processes the orphaned worker may still ask for a
    # value between the snapshot above and its noticing that its parent is gone.
    for number in running:
        if not after[number].params:  # killed before it asked for any: nothing to rerun
            assert number not in retried
            continue
        assert retried[number].params == after[number].params
        assert retried[number].state.is_finished()
    # the budget: 8 trials in the table, none twice
    assert len(result["status"]) == 8 and set(result["status"]) <= {"ok", "pruned"}
    counted = [t for t in study.trials if not t.user_attrs.get("interrupted")]
    assert len(counted) == 8
