"""Broken storage never gives a silently wrong result.

Each test damages a search's storage the way a tester did (two processes on
one folder, a journal that cannot be appended, search.json or Keras Tuner's
state files cut or deleted, the histories journal cut, a full disk, an edited
score) and checks that the kit stops with an error naming the file, the
problem and the fix, and that what was recorded before is still there. Real
files, real processes, real (tiny) searches; a full disk is a real tmpfs
where this machine lets the tests mount one, and a simulated ENOSPC as well.
The journal's own unit tests are in tests/test_journal.py.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor, tune
from kerastune_kit.hypermodel import trial_key
from kerastune_kit.errors import DamagedRecord, FolderInUse, RecordWriteError
from kerastune_kit.journal import MANIFEST, append_record, read_records, repair_tail
from kerastune_kit.locking import LOCK_FILE, FolderLock
from kerastune_kit.report import write_report
from kerastune_kit.results import save_result
from kerastune_kit.space import Int, SearchSpace

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
SPACE = SearchSpace(nodes=Int(4, 64, step=4))  # two trials draw two widths: four fits


# ----------------------------------------------------------------------
# helpers: tiny searches, other processes, a small real disk
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def penguins():
    X, y = load_penguins(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=90, stratify=y, random_state=0)
    return X, y


def _tune(data, directory, strategy="random", **kwargs):
    X, y = data
    return tune(X, y, SPACE, strategy=strategy, n_trials=2, cv=2,
                preprocessor=make_preprocessor(), estimator_params={"epochs": 2},
                directory=directory, random_state=0, compare_baseline=False, **kwargs)


def _comparable(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.drop(columns=["fit_time"])


@pytest.fixture(scope="module")
def finished(penguins, tmp_path_factory):
    """Finished tiny searches (folder, result) to copy and damage: scikit-learn and Keras Tuner."""
    runs = {}
    for strategy in ("random", "kt-random"):
        folder = tmp_path_factory.mktemp(f"finished-{strategy}")
        runs[strategy] = (folder, _tune(penguins, folder, strategy))
    return runs


def _copy_of(finished, strategy, tmp_path) -> Path:
    folder = tmp_path / "search"
    shutil.copytree(finished[strategy][0], folder)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _python(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT),
                                                   os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for_line(proc: subprocess.Popen, expected: str) -> None:
    line = proc.stdout.readline().strip()
    assert line == expected, line + proc.stdout.read()


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte; the filler's path."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as err:
            assert err.errno == errno.ENOSPC
        try:
            while True:
                handle.write(b"\0")
        except OSError as err:
            assert err.errno == errno.ENOSPC
    return filler


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MiB tmpfs (mounting needs root); skipped where it cannot be mounted."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the simulated "
                    "ENOSPC tests cover the same code")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fail_on_journal(monkeypatch, call: str, code: int, name: str, *, after: int = 0,
                     half_first: bool = False):
    """Make ``os.<call>`` fail with ``code`` on the file ``name``, after ``after`` good calls."""
    real = getattr(os, call)
    seen = []

    def failing(target, *args, **kwargs):
        where = target if isinstance(target, (str, os.PathLike)) else \
            os.readlink(f"/proc/self/fd/{target}")
        if os.path.basename(os.fspath(where)) != name:
            return real(target, *args, **kwargs)
        seen.append(1)
        if len(seen) <= after:
            return real(target, *args, **kwargs)
        if half_first and len(seen) == after + 1:  # a filling disk: a short write first
            return real(target, args[0][: len(args[0]) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, call, failing)
    return seen


# ----------------------------------------------------------------------
# 1. two processes on one folder: a lock that dies with its process
# ----------------------------------------------------------------------
HOLD = """
import sys, time
from kerastune_kit.locking import FolderLock
lock = FolderLock(sys.argv[1]).acquire()
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
print("RELEASED", flush=True)
"""

TRY = """
import sys
from kerastune_kit.errors import FolderInUse
from kerastune_kit.locking import FolderLock
try:
    FolderLock(sys.argv[1]).acquire()
except FolderInUse as err:
    print("REFUSED", err, flush=True)
    sys.exit(3)
print("ACQUIRED", flush=True)
"""


def test_a_second_process_is_refused_with_the_holders_pid_and_a_sigkill_frees_the_lock(
        tmp_path):
    holder = _python(HOLD, str(tmp_path), "600")
    try:
        _wait_for_line(holder, "LOCKED")
        info = json.loads((tmp_path / LOCK_FILE).read_text())
        assert info["pid"] == holder.pid and info["host"] == socket.gethostname()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", info["started"])

        other = _python(TRY, str(tmp_path))  # another process
        out, _ = other.communicate(timeout=TIMEOUT)
        assert other.returncode == 3, out
        assert f"process {holder.pid} on host {socket.gethostname()}" in out

        with pytest.raises(FolderInUse) as error:  # and this one, after waiting a little
            FolderLock(tmp_path).acquire(wait=0.3)
        message = str(error.value)
        assert f"search folder {str(tmp_path)!r} is in use by another process: process " \
            f"{holder.pid} on host {socket.gethostname()}, running since " \
            f"{info['started']} (waited 0.3 s)" in message
        assert "Wait for it to finish, or pass another directory" in message
        assert error.value.holder == info and error.value.directory == str(tmp_path)
        assert isinstance(error.value, RuntimeError)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=TIMEOUT)
    assert holder.returncode == -signal.SIGKILL
    assert (tmp_path / LOCK_FILE).exists()  # left behind by the kill, but not held

    with FolderLock(tmp_path) as lock:  # no waiting needed
        assert lock.held
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
        other = _python(TRY, str(tmp_path))
        out, _ = other.communicate(timeout=TIMEOUT)
        assert other.returncode == 3 and f"process {os.getpid()} " in out
    assert not lock.held and not (tmp_path / LOCK_FILE).exists()  # released: removed
    other = _python(TRY, str(tmp_path))
    out = other.communicate(timeout=TIMEOUT)[0]
    assert out.strip() == "ACQUIRED"


def test_acquire_waits_for_a_holder_that_lets_go(tmp_path):
    holder = _python(HOLD, str(tmp_path), "1.0")
    _wait_for_line(holder, "LOCKED")
    started = time.monotonic()
    lock = FolderLock(tmp_path).acquire(wait=TIMEOUT)
    waited = time.monotonic() - started
    try:
        assert 0.3 < waited < TIMEOUT
        assert holder.communicate(timeout=TIMEOUT)[0].strip() == "RELEASED"
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    finally:
        lock.release()


def test_one_folder_lock_at_a_time_even_in_one_process(tmp_path):
    folder = tmp_path / "new" / "search"  # created when missing
    with FolderLock(folder, what="results"):
        with pytest.raises(FolderInUse, match=re.escape(f"results folder {str(folder)!r} is "
                                                        "in use")):
            FolderLock(folder).acquire()
    lock = FolderLock(folder).acquire()
    with pytest.raises(RuntimeError, match="already holds"):
        lock.acquire()
    lock.release()
    lock.release()  # a second release does nothing


TAKE_TURNS = """
import os, sys, time
from kerastune_kit.locking import FolderLock
folder, turns = sys.argv[1], int(sys.argv[2])
for _ in range(turns):
    with FolderLock(folder).acquire(wait=60):
        # exclusive creation fails if another process holds the lock at the same time
        fd = os.open(os.path.join(folder, "inside"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        time.sleep(0.002)
        os.close(fd)
        os.unlink(os.path.join(folder, "inside"))
print("DONE", flush=True)
"""


def test_processes_taking_turns_never_hold_the_lock_together(tmp_path):
    # the lock file is removed on release: a process that was waiting on the removed
    # file must not think it holds the lock next to one that locked a new file
    workers = [_python(TAKE_TURNS, str(tmp_path), "60") for _ in range(4)]
    outs = [w.communicate(timeout=TIMEOUT)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * 4, outs
    assert all(out.strip() == "DONE" for out in outs)


def test_tune_refuses_a_folder_another_search_holds(penguins, tmp_path):
    # needs tune to hold FolderLock for the whole search (wired in kerastune_kit/search.py)
    with FolderLock(tmp_path):
        with pytest.raises(FolderInUse, match=re.escape(f"{str(tmp_path)!r} is in use by "
                                                        f"another process: process "
                                                        f"{os.getpid()} ")):
            _tune(penguins, tmp_path)
    assert not (tmp_path / MANIFEST).exists()  # refused before it wrote anything


@pytest.mark.slow
def test_two_cli_runs_on_one_output_folder_the_second_is_refused_and_nothing_is_doubled(
        tmp_path):
    out = tmp_path / "run"
    argv = ["tune", "--budget", "3", "--cv", "2", "--epochs", "2", "--out", str(out),
            "--set", "nodes=4:64:4", "--set", "n_layers=1", "-q"]
    first = subprocess.Popen([sys.executable, "-m", "kerastune_kit", *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "search" / MANIFEST).exists():  # the first is searching
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "kerastune_kit", *argv],
                                capture_output=True, text=True, timeout=TIMEOUT,
                                env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"output folder {str(out)!r} is in use by another process: process " \
            f"{first.pid} on host" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.wait(timeout=TIMEOUT * 3) == 0, first.stdout.read()
    finally:
        if first.poll() is None:
            first.kill()
    records = read_records(out / "search" / "trials.jsonl")
    assert len(records) == 6 and len({r["fit"] for r in records}) == 6  # 3 x 2 folds, once
    assert len(pd.read_csv(out / "trials.csv")) == 3
    assert not (out / LOCK_FILE).exists() and not (out / "search" / LOCK_FILE).exists()


def test_a_cli_run_refused_by_the_lock_leaves_no_folder_behind(tmp_path, capsys):
    from kerastune_kit.cli import main

    holder = _python(HOLD, str(tmp_path / "search"), "600")  # a search running in run/search
    try:
        _wait_for_line(holder, "LOCKED")
        code = main(["tune", "--out", str(tmp_path), "--budget", "2", "--epochs", "1", "-q"])
        assert code == 2
        err = capsys.readouterr().err
        assert f"search folder {str(tmp_path / 'search')!r} is in use by another process: " \
            f"process {holder.pid} " in err
        assert not (tmp_path / "search" / MANIFEST).exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=TIMEOUT)
    assert not (tmp_path / LOCK_FILE).exists()  # the CLI let go of the output folder


# ----------------------------------------------------------------------
# 2. a journal that cannot be appended, on resume
# ----------------------------------------------------------------------
def _cut_journal(folder: Path, keep: int) -> list[dict]:
    journal = folder / "trials.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:keep]))
    return read_records(journal)


@pytest.mark.slow
def test_a_journal_that_cannot_be_appended_stops_the_resume_with_record_write_error(
        penguins, finished, tmp_path, monkeypatch):
    # chmod 444 (root ignores modes here, so the EACCES is made by a patch)
    folder = _copy_of(finished, "random", tmp_path)
    kept = _cut_journal(folder, 2)  # a search killed after 2 of its 4 fits
    (folder / "trials.jsonl").chmod(0o444)
    _fail_on_journal(monkeypatch, "open", errno.EACCES, "trials.jsonl")
    with pytest.raises(RecordWriteError) as error:
        _tune(penguins, folder, resume=True)
    monkeypatch.undo()
    message = str(error.value)
    assert f"cannot append a record to {str(folder / 'trials.jsonl')!r}: permission " \
        "denied" in message
    assert "nothing recorded so far is lost" in message
    assert read_records(folder / "trials.jsonl") == kept

    (folder / "trials.jsonl").chmod(0o644)  # fixed: the resume completes, as uninterrupted
    again = _tune(penguins, folder, resume=True)
    pd.testing.assert_frame_equal(_comparable(again.trials),
                                  _comparable(finished["random"][1].trials))
    assert read_records(folder / "trials.jsonl")[:2] == kept


# ----------------------------------------------------------------------
# 3. search.json and Keras Tuner's state files deleted, cut or garbage
# ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("strategy, holds", [
    ("random", "trials.jsonl"),
    ("kt-random", "kerastune-histories.jsonl, the Keras Tuner project kerastune/"),
])
def test_a_deleted_search_json_is_refused_instead_of_retraining(penguins, finished, tmp_path,
                                                                 strategy, holds):
    folder = _copy_of(finished, strategy, tmp_path)
    (folder / MANIFEST).unlink()
    before = _snapshot(folder)
    with pytest.raises(DamagedRecord) as error:
        _tune(penguins, folder, strategy, resume=True)
    message = str(error.value)
    assert f"resume=True: {str(folder / MANIFEST)!r} is missing, but the folder holds " \
        f"records of a search ({holds})" in message
    assert "restore search.json, or start afresh with resume=False (without --resume) to " \
        "replace them" in message
    assert _snapshot(folder) == before  # nothing discarded, nothing trained


@pytest.mark.slow
def test_a_half_written_search_json_is_called_damaged(penguins, finished, tmp_path):
    folder = _copy_of(finished, "random", tmp_path)
    text = (folder / MANIFEST).read_text()
    (folder / MANIFEST).write_text(text[: len(text) // 2])
    before = _snapshot(folder)
    with pytest.raises(DamagedRecord) as error:
        _tune(penguins, folder, resume=True)
    message = str(error.value)
    assert f"{str(folder / MANIFEST)!r} cannot be read: it is damaged (cut short or " \
        "edited" in message
    assert "not written by kerastune_kit" not in message
    assert "resume=False to start a new search there" in message
    assert _snapshot(folder) == before


def _cut(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["cut oracle.json", "deleted oracle.json", "cut trial.json",
                                    "deleted trial.json", "garbage oracle.json"])
def test_a_damaged_keras_tuner_state_file_is_named_with_the_fix(penguins, finished, tmp_path,
                                                                  damage):
    folder = _copy_of(finished, "kt-random", tmp_path)
    project = folder / "kerastune"
    trial_file = sorted(project.glob("trial_*/trial.json"))[-1]
    target = trial_file if "trial.json" in damage else project / "oracle.json"
    if damage.startswith("cut"):
        _cut(target)
        problem = "is damaged (cut short or edited: "
    elif damage.startswith("deleted"):
        target.unlink()
        problem = "is missing"
    else:
        target.write_bytes(b"\x00\xff\xfe binary garbage")
        problem = "is damaged (cut short or edited: "
    before = _snapshot(folder)
    with pytest.raises(DamagedRecord) as error:
        _tune(penguins, folder, "kt-random", resume=True)
    message = str(error.value)
    assert message.startswith(f"{str(target)!r} {problem}")
    assert f"Keras Tuner cannot reload the search's project {str(project)!r}" in message
    assert "Restore the file from a copy, or start afresh with resume=False (without " \
        "--resume)" in message
    assert error.value.path == str(target)
    assert _snapshot(folder) == before


@pytest.mark.slow
@pytest.mark.parametrize("garbage", [b"\x00\x89PNG\xff\xfe\x01\x02", b"garbage, not json"],
                         ids=["binary", "text"])
def test_a_garbage_journal_line_stops_the_resume_naming_file_and_line(
        penguins, finished, tmp_path, garbage):
    folder = _copy_of(finished, "random", tmp_path)
    journal = folder / "trials.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:2], garbage + b"\n", *lines[2:]]))
    before = _snapshot(folder)
    with pytest.raises(DamagedRecord) as error:
        _tune(penguins, folder, resume=True)
    assert str(error.value).startswith(f"{str(journal)!r}, line 3, is damaged: it is not ")
    assert "Delete that line to run that fit again on resume" in str(error.value)
    assert _snapshot(folder) == before  # checked before anything trained
    # deleting the line, as the message says, resumes to the uninterrupted result
    journal.write_bytes(b"".join(lines))
    again = _tune(penguins, folder, resume=True)
    pd.testing.assert_frame_equal(_comparable(again.trials),
                                  _comparable(finished["random"][1].trials))


# ----------------------------------------------------------------------
# 4. Keras Tuner's histories journal cut mid-line or deleted
# ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["cut mid-line", "deleted"])
def test_completed_trials_without_a_history_are_reported_with_a_warning(
        penguins, finished, tmp_path, damage):
    folder = _copy_of(finished, "kt-random", tmp_path)
    histories = folder / "kerastune-histories.jsonl"
    n_trials = len(finished["kt-random"][1].trials)
    if damage == "deleted":
        histories.unlink()
        lost, state = list(range(n_trials)), "is missing"
    else:
        data = histories.read_bytes()
        histories.write_bytes(data[: len(data) - 40])  # the last trial's last fold's line, cut
        kept = {(r["key"], r["fold"]) for r in read_records(histories)}
        lost = [int(row.trial) for row in finished["kt-random"][1].trials.itertuples()
                if any((trial_key({"nodes": int(row.nodes)}), fold) not in kept
                       for fold in range(2))]  # cv=2: a record a fold
        assert len(lost) == 1
        state = "holds no record"
    assert lost
    with pytest.warns(UserWarning) as caught:
        again = _tune(penguins, folder, "kt-random", resume=True)
    message = next(str(w.message) for w in caught if "epochs_trained" in str(w.message))
    assert message.startswith(f"{str(histories)!r} {state} of completed trial(s) "
                              f"{', '.join(map(str, lost))}: their scores are kept, but their "
                              "curves and epochs_trained are unknown")
    trials = again.trials
    assert trials.loc[lost, "epochs_trained"].eq(0).all()
    assert trials["score"].tolist() == finished["kt-random"][1].trials["score"].tolist()


@pytest.mark.slow
def test_complete_histories_give_no_warning(penguins, finished, tmp_path):
    folder = _copy_of(finished, "kt-random", tmp_path)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*epochs_trained are unknown")
        again = _tune(penguins, folder, "kt-random", resume=True)
    assert (again.trials["epochs_trained"] == 2).all()


# ----------------------------------------------------------------------
# 5. a full disk
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_disk_that_fills_mid_search_stops_it_and_the_resume_completes_it(
        penguins, finished, tmp_path, monkeypatch):
    folder = tmp_path / "search"
    # the third fit's record: half of it written, then no space left
    _fail_on_journal(monkeypatch, "write", errno.ENOSPC, "trials.jsonl", after=2,
                     half_first=True)
    with pytest.raises(RecordWriteError) as error:
        _tune(penguins, folder)
    monkeypatch.undo()
    assert str(error.value).startswith(f"cannot append a record to "
                                       f"{str(folder / 'trials.jsonl')!r}: no space left on "
                                       "device")
    kept = read_records(folder / "trials.jsonl")
    assert len(kept) == 2  # the torn third line is not a record
    assert not (folder / "trials.jsonl").read_bytes().endswith(b"\n")

    again = _tune(penguins, folder, resume=True)  # space freed: resume
    pd.testing.assert_frame_equal(_comparable(again.trials),
                                  _comparable(finished["random"][1].trials))
    after = read_records(folder / "trials.jsonl")
    assert after[:2] == kept and len(after) == 4


def test_a_report_that_cannot_be_written_leaves_the_old_report(finished, tmp_path,
                                                                monkeypatch):
    result = finished["random"][1]
    report = tmp_path / "report.html"
    report.write_text("<html>old report</html>")
    real_fsync = os.fsync

    def full_disk(fd):  # the temporary file's data cannot reach the disk
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(RecordWriteError) as error:
        write_report(result, tmp_path)
    monkeypatch.undo()
    message = str(error.value)
    assert message.startswith(f"cannot write {str(report)!r}: no space left on device")
    assert f"kerastune-kit report {tmp_path}" in message
    assert report.read_text() == "<html>old report</html>"  # not a truncated new one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_model_that_cannot_be_saved_leaves_no_partial_file(finished, tmp_path, monkeypatch):
    result = finished["random"][1]
    import keras

    def full_disk(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a zip")  # what a full disk leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(keras.Model, "save", full_disk)
    with pytest.raises(RecordWriteError) as error:
        save_result(result, tmp_path)
    monkeypatch.undo()
    assert str(error.value).startswith(f"cannot write {str(tmp_path / 'best_model.keras')!r}: "
                                       "no space left on device")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert ".best_model.partial.keras" not in names and "best_model.keras" not in names
    assert "best_params.json" not in names  # the set is not marked complete


def test_a_full_real_disk_loses_no_journal_line_and_leaves_no_partial_files(
        finished, small_disk):
    result = finished["random"][1]
    journal = small_disk / "trials.jsonl"
    for i in range(3):
        append_record(journal, {"fit": i, "score": 0.5})
    kept = journal.read_bytes()
    (small_disk / "report.html").write_text("<html>old report</html>")
    filler = _fill(small_disk)

    with pytest.raises(RecordWriteError, match=re.escape(
            f"cannot append a record to {str(journal)!r}: no space left on device")):
        append_record(journal, {"fit": 3, "payload": "x" * 20000})  # more than a page
    assert journal.read_bytes().startswith(kept)
    assert [r["fit"] for r in read_records(journal)] == [0, 1, 2]

    with pytest.raises(RecordWriteError, match=re.escape(
            f"cannot write {str(small_disk / 'report.html')!r}: no space left on device")):
        write_report(result, small_disk)
    assert (small_disk / "report.html").read_text() == "<html>old report</html>"

    # room for the small files of the results, not for the model: its save fails
    results = small_disk / "results"
    results.mkdir()
    os.truncate(filler, filler.stat().st_size - 3 * 4096)
    with pytest.raises(RecordWriteError, match="no space left on device") as error:
        save_result(result, results)
    assert error.value.filename == str(results / "best_model.keras")
    assert sorted(p.name for p in results.iterdir()) == ["space.json", "trials.csv"]
    # no partial model, no temporary file, and no best_params.json to mark the set complete

    filler.unlink()  # space freed: everything goes through, the journal resumes
    assert repair_tail(journal) >= 0 and journal.read_bytes() == kept
    append_record(journal, {"fit": 3, "score": 0.75})
    assert [r["fit"] for r in read_records(journal)] == [0, 1, 2, 3]
    write_report(result, small_disk)
    assert "Top trials" in (small_disk / "report.html").read_text()
    save_result(result, results)
    assert (results / "best_model.keras").exists()
    assert not [p.name for p in results.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_a_keras_tuner_search_on_a_full_disk_stops_before_its_checkpoint_not_in_a_crash(
        penguins, finished, small_disk):
    # HDF5 can end the process with a segmentation fault when a checkpoint meets a full
    # disk: a trial checks the room for its checkpoint first and stops the search cleanly
    folder = small_disk / "search"
    filler = _fill(small_disk)
    os.truncate(filler, filler.stat().st_size - 64 * 4096)  # room for records, not 1 MiB
    with pytest.raises(RecordWriteError) as error:
        _tune(penguins, folder, "kt-random")
    message = str(error.value)
    assert message.startswith("cannot write ") and "checkpoint" in message
    assert "no space left on device" in message and "resume" in message
    assert (folder / MANIFEST).exists()  # what was written stays

    filler.unlink()  # space freed: the resume runs the search to the uninterrupted result
    again = _tune(penguins, folder, "kt-random", resume=True)
    pd.testing.assert_frame_equal(_comparable(again.trials),
                                  _comparable(finished["kt-random"][1].trials))


# ----------------------------------------------------------------------
# 6. a score edited inside the journal
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_score_edited_in_the_journal_is_refused_not_used(penguins, finished, tmp_path):
    folder = _copy_of(finished, "random", tmp_path)
    journal = folder / "trials.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["score"] = 1.0 if record["score"] != 1.0 else 0.0  # the crc left as it was
    lines[1] = json.dumps(record) + "\n"
    journal.write_text("".join(lines))
    before = _snapshot(folder)
    with pytest.raises(DamagedRecord) as error:
        _tune(penguins, folder, resume=True)
    assert str(error.value).startswith(
        f"{str(journal)!r}, line 2, is damaged: its checksum does not match its content")
    assert _snapshot(folder) == before
