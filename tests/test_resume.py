"""Resume after a kill with nothing lost: crash-safe records, replay, SIGKILL at several points.

The kill tests run a real search in a child process (tests/_resumable_search.py),
SIGKILL it, resume it in a new process and compare with an uninterrupted run of
the same search in a third one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor, tune
from kerastune_kit.journal import open_search, read_records
from kerastune_kit.results import load_result
from kerastune_kit.space import Float, Int, SearchSpace

SCRIPT = Path(__file__).resolve().parent / "_resumable_search.py"
REPO_ROOT = SCRIPT.parent.parent
TIMEOUT = 240


# ----------------------------------------------------------------------
# the search record (the records themselves: tests/test_journal.py)
# ----------------------------------------------------------------------
def test_resume_refuses_a_folder_of_another_search_and_names_the_difference(tmp_path):
    settings = {"strategy": "random", "cv": 3, "data": "abc"}
    assert open_search(tmp_path, settings, resume=True) is False  # nothing there: a new search
    assert open_search(tmp_path, settings, resume=True) is True
    with pytest.raises(ValueError, match=r"cv was 3, now 5.*another directory"):
        open_search(tmp_path, {**settings, "cv": 5}, resume=True)
    with pytest.raises(ValueError, match="training data"):
        open_search(tmp_path, {**settings, "data": "xyz"}, resume=True)
    (tmp_path / "trials.jsonl").write_text('{"fit": 1}\n')
    assert open_search(tmp_path, {**settings, "cv": 5}, resume=False,
                       record_files=["trials.jsonl"]) is False  # resume=False starts afresh
    assert not (tmp_path / "trials.jsonl").exists()


# ----------------------------------------------------------------------
# resuming in one process: finished fits are replayed, not retrained
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_penguins():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    return X, y


SPACE = SearchSpace(nodes=Int(8, 24, step=8), learning_rate=Float(3e-3, 3e-2, scale="log"))


def _search(X, y, directory, strategy, **kwargs):
    space = SPACE
    options = dict(n_trials=3, cv=2, max_epochs=3, factor=3)
    if strategy not in ("halving", "hyperband"):
        space = SearchSpace({**dict(SPACE.items()), "epochs": Int(1, 3)})
    return tune(X, y, space, strategy=strategy, preprocessor=make_preprocessor(),
                directory=directory, random_state=0, compare_baseline=False,
                **{**options, **kwargs})


def _trained_fits(directory: Path) -> int:
    return sum(len(read_records(path)) for path in directory.glob("*.jsonl"))


def _comparable(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.drop(columns=["fit_time"])


@pytest.mark.parametrize("strategy", ["random", "halving", "coarse-to-fine", "kt-random",
                                      "bayesian"])
def test_resuming_a_finished_search_trains_nothing_and_gives_the_same_result(
        small_penguins, tmp_path, strategy):
    X, y = small_penguins
    first = _search(X, y, tmp_path, strategy)
    fits = _trained_fits(tmp_path)
    assert fits >= 3
    again = _search(X, y, tmp_path, strategy, resume=True)
    assert _trained_fits(tmp_path) == fits  # every fit was replayed from the records
    pd.testing.assert_frame_equal(_comparable(first.trials), _comparable(again.trials))
    assert again.best_params_ == first.best_params_


@pytest.mark.slow
def test_a_part_recorded_search_resumes_in_parallel_workers(small_penguins, tmp_path):
    # the records of a search killed after half its fits; the resume runs in two
    # worker processes (joblib's loky), which replay or train each fit themselves
    X, y = small_penguins
    first = _search(X, y, tmp_path, "random", n_trials=4)
    journal = tmp_path / "trials.jsonl"
    records = journal.read_text().splitlines(keepends=True)
    assert len(records) == 8
    journal.write_text("".join(records[:4]))

    again = _search(X, y, tmp_path, "random", n_trials=4, resume=True, n_jobs=2)
    after = read_records(journal)
    assert len(after) == 8 and len({r["fit"] for r in after}) == 8  # only the missing 4 ran
    assert len({r["pid"] for r in after[4:]} - {os.getpid()}) >= 1  # in worker processes
    pd.testing.assert_frame_equal(_comparable(first.trials), _comparable(again.trials))


def test_a_trial_that_ended_just_before_the_kill_is_not_run_again(small_penguins, tmp_path):
    # Keras Tuner writes a trial's end, then its oracle state, then forgets the trial.
    # A kill between the two writes leaves the trial ended in its own file but running
    # in the oracle's state: rebuild that state and resume.
    X, y = small_penguins
    first = _search(X, y, tmp_path, "kt-random")
    oracle_file = tmp_path / "kerastune" / "oracle.json"
    state = json.loads(oracle_file.read_text())
    last = state["end_order"].pop()
    state["ongoing_trials"] = {"tuner0": last}
    oracle_file.write_text(json.dumps(state))
    fits = _trained_fits(tmp_path)

    again = _search(X, y, tmp_path, "kt-random", resume=True)
    assert _trained_fits(tmp_path) == fits  # stock Keras Tuner 1.4.8 would train it again
    pd.testing.assert_frame_equal(_comparable(first.trials), _comparable(again.trials))


def test_resume_with_other_data_or_space_is_refused_and_loses_nothing(small_penguins, tmp_path):
    X, y = small_penguins
    _search(X, y, tmp_path, "random")
    before = (tmp_path / "trials.jsonl").read_bytes()
    with pytest.raises(ValueError, match="training data"):
        _search(X.iloc[:-5], y.iloc[:-5], tmp_path, "random", resume=True)
    with pytest.raises(ValueError, match="space was"):
        tune(X, y, SearchSpace(nodes=Int(8, 16, step=8)), strategy="random", n_trials=3, cv=2,
             preprocessor=make_preprocessor(), directory=tmp_path, random_state=0,
             compare_baseline=False, resume=True)
    assert (tmp_path / "trials.jsonl").read_bytes() == before


# ----------------------------------------------------------------------
# SIGKILL at several points, then resume in a new process
# ----------------------------------------------------------------------
def _launch(folder: Path, strategy: str, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(SCRIPT), str(folder), strategy, *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _result_of(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=TIMEOUT)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(lines) == 1, out[-4000:]
    return json.loads(lines[0][len("RESULT "):])


def _run(folder: Path, strategy: str, *flags: str) -> dict:
    return _result_of(_launch(folder, strategy, *flags))


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the search ended before {what}:\n{proc.communicate()[0][-4000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never reached {what}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Uninterrupted runs of the two searches the kill tests interrupt."""
    runs = {}
    for strategy in ("random", "hyperband"):
        folder = tmp_path_factory.mktemp(f"uninterrupted-{strategy}")
        runs[strategy] = _run(folder, strategy)
    return runs


@pytest.mark.slow
def test_killed_during_a_fit_resumes_without_losing_or_repeating_a_fit(tmp_path, uninterrupted):
    journal = tmp_path / "search" / "trials.jsonl"
    proc = _launch(tmp_path, "random")
    _kill_when(proc, lambda: len(read_records(journal)) >= 4, "4 recorded fits")
    before = read_records(journal)
    assert 4 <= len(before) < 10  # 5 candidates x 2 folds: killed part-way
    assert not (tmp_path / "results").exists()

    resumed = _run(tmp_path, "random", "--resume")
    after = read_records(journal)
    assert after[: len(before)] == before  # nothing recorded before the kill was lost
    assert len(after) == 10  # each (candidate, fold) fit recorded once: none repeated
    assert len({r["fit"] for r in after}) == 10
    assert {r["pid"] for r in after[len(before):]}.isdisjoint({r["pid"] for r in before})
    assert resumed["trials"] == uninterrupted["random"]["trials"]
    assert resumed["best_params"] == uninterrupted["random"]["best_params"]
    assert load_result(tmp_path / "results").best_params_ == resumed["best_params"]


@pytest.mark.slow
def test_killed_while_writing_results_resumes_to_complete_results(tmp_path, uninterrupted):
    proc = _launch(tmp_path, "random", "--kill-while-writing-results")
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    results = tmp_path / "results"
    assert (results / ".trials.csv.partial.tmp").exists()  # the half-written file is there
    assert not (results / "trials.csv").exists()
    fits = read_records(tmp_path / "search" / "trials.jsonl")
    assert len(fits) == 10  # the search itself had finished

    resumed = _run(tmp_path, "random", "--resume")
    assert read_records(tmp_path / "search" / "trials.jsonl") == fits  # no fit ran again
    assert resumed["trials"] == uninterrupted["random"]["trials"]
    saved = load_result(results)
    assert saved.best_params_ == uninterrupted["random"]["best_params"]
    assert len(saved.trials) == 5


@pytest.mark.slow
def test_keras_tuner_search_killed_during_a_trial_reruns_only_that_trial(tmp_path, uninterrupted):
    # the search's trials are cross-validated (cv="auto": 3 folds on 120 rows), one history
    # record a fold; the kill lands after 2 whole trials and part of the third's folds
    folds = 3
    project = tmp_path / "search" / "kerastune"
    histories = tmp_path / "search" / "kerastune-histories.jsonl"
    proc = _launch(tmp_path, "hyperband")
    _kill_when(proc, lambda: len(read_records(histories)) >= 2 * folds + 1,
               "2 finished trials and a fold of the third")

    def trial_states():
        states = {}
        for path in project.glob("trial_*/trial.json"):
            state = json.loads(path.read_text())
            states[state["trial_id"]] = state
        return states

    finished = {tid: s for tid, s in trial_states().items() if s["status"] == "COMPLETED"}
    assert len(finished) >= 2
    before = read_records(histories)
    keys_before = [r["key"] for r in before]

    resumed = _run(tmp_path, "hyperband", "--resume")
    assert resumed["trials"] == uninterrupted["hyperband"]["trials"]
    assert resumed["best_params"] == uninterrupted["hyperband"]["best_params"]
    after = trial_states()
    assert len(after) == len(uninterrupted["hyperband"]["trials"])
    # trials finished before the kill were not run again: one fit record a fold each
    records = read_records(histories)
    keys_after = [r["key"] for r in records]
    assert keys_after[: len(keys_before)] == keys_before
    from kerastune_kit.hypermodel import trial_key

    for state in finished.values():
        key = trial_key(state["hyperparameters"]["values"])
        assert sorted(r["fold"] for r in records if r["key"] == key) == list(range(folds)), key
        assert after[state["trial_id"]]["score"] == state["score"]
    # the trial killed part-way ran again, whole: the folds it had finished were trained
    # again (so recorded twice), and its score is that of an uninterrupted run, the mean of
    # one result a fold, not of the folds of both runs
    cut = [k for k in dict.fromkeys(keys_before)
           if k not in {trial_key(s["hyperparameters"]["values"]) for s in finished.values()}]
    if cut:  # the kill fell inside a trial (it almost always does)
        partial = [r["fold"] for r in before if r["key"] == cut[0]]
        assert 0 < len(partial) <= folds
        redone = [r["fold"] for r in records[len(before):] if r["key"] == cut[0]]
        assert sorted(redone) == list(range(folds))


@pytest.mark.slow
def test_keras_tuner_search_killed_as_it_creates_a_trial_creates_it_again(
        tmp_path, uninterrupted):
    # Keras Tuner writes a new trial's file before its own state: a kill in between
    # once left that trial "running" for ever, and the resumed search added another
    proc = _launch(tmp_path, "hyperband", "--kill-after-creating-trial=3")
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    project = tmp_path / "search" / "kerastune"
    orphan, = project.glob("trial_*3/trial.json")
    assert json.loads(orphan.read_text())["status"] == "RUNNING"
    assert orphan.parent.name[len("trial_"):] not in json.loads(
        (project / "oracle.json").read_text())["start_order"]

    resumed = _run(tmp_path, "hyperband", "--resume")
    assert resumed["trials"] == uninterrupted["hyperband"]["trials"]
    assert resumed["best_params"] == uninterrupted["hyperband"]["best_params"]
