"""Crash-safe records of a search: JSON lines, atomic writes, stable keys and search.json.

Everything here runs on real files in ``tmp_path``; nothing trains a network.
The kill-and-resume tests of whole searches are in tests/test_resume.py.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kerastune_kit.errors import DamagedRecord, RecordWriteError
from kerastune_kit.journal import (
    CHECKSUM, MANIFEST, append_record, data_fingerprint, open_search, plain, read_records, repair_tail,
    stable_repr, values_key, write_json_atomic, write_text_atomic,
)

SETTINGS = {"strategy": "random", "cv": 3, "n_trials": 5, "data": "abc123"}
RECORD_FILES = ("trials.jsonl", "round*.jsonl")


class Opaque:
    """An object whose plain repr holds its memory address."""


# ----------------------------------------------------------------------
# JSON-lines records
# ----------------------------------------------------------------------
def test_a_torn_last_line_is_skipped_then_cut_before_appending(tmp_path):
    path = tmp_path / "fits.jsonl"
    append_record(path, {"fit": "a", "score": 0.5})
    append_record(path, {"fit": "b", "score": 0.75})
    with open(path, "ab") as handle:  # what a kill in the middle of a write would leave
        handle.write(b'{"fit": "c", "sco')
    assert [r["fit"] for r in read_records(path)] == ["a", "b"]
    assert repair_tail(path) == len(b'{"fit": "c", "sco')
    append_record(path, {"fit": "c", "score": 1.0})
    assert [r["fit"] for r in read_records(path)] == ["a", "b", "c"]
    assert repair_tail(path) == 0


def test_a_record_is_one_json_line_and_values_json_cannot_hold_become_stable_reprs(tmp_path):
    path = tmp_path / "fits.jsonl"
    append_record(path, {"fit": "a", "params": {"nodes": 8}, "model": Opaque()})
    text = path.read_text()
    assert text.count("\n") == 1 and text.endswith("\n")
    expected = {"fit": "a", "params": {"nodes": 8}, "model": "<test_journal.Opaque object>"}
    line = json.loads(text)
    assert line.pop(CHECKSUM) == zlib.crc32(
        json.dumps(expected, sort_keys=True, separators=(",", ":")).encode())
    assert line == expected
    assert read_records(path) == [expected]  # the checksum is not handed back


def test_reading_records_of_a_missing_file_blank_lines_and_a_torn_middle_line(tmp_path):
    path = tmp_path / "fits.jsonl"
    assert read_records(path) == []
    assert repair_tail(path) == 0
    path.write_text('{"fit": 1}\n\n   \n{"fit": 3}\n')
    assert read_records(path) == [{"fit": 1}, {"fit": 3}]  # blank lines are skipped
    # a torn line with lines after it is no kill's trace (a kill leaves only the last
    # line torn, and resuming cuts it before appending): it is refused, not skipped
    path.write_text('{"fit": 1}\n\n{"fit": 2, "sc\n   \n{"fit": 3}\n')
    with pytest.raises(DamagedRecord, match=re.escape(f"{str(path)!r}, line 3, is damaged: "
                                                      "it is not JSON")) as error:
        read_records(path)
    assert error.value.path == str(path) and error.value.line == 3
    assert repair_tail(path) == 0  # the file ends with a newline: nothing is cut
    path.write_bytes(b"")
    assert repair_tail(path) == 0 and path.read_bytes() == b""


def _append_lines(path: str, worker: int, n_lines: int, start) -> None:
    start.wait()
    for i in range(n_lines):
        # long lines, so that interleaved writes would show as broken JSON
        append_record(path, {"worker": worker, "i": i, "payload": f"{worker}-{i}-" * 200})


def test_records_appended_by_several_processes_at_once_never_interleave(tmp_path):
    path = tmp_path / "fits.jsonl"
    n_workers, n_lines = 4, 50
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(n_workers)
    workers = [context.Process(target=_append_lines, args=(str(path), w, n_lines, start))
               for w in range(n_workers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * n_workers

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()
    records = read_records(path)
    assert len(lines) == len(records) == n_workers * n_lines  # no line skipped as torn
    assert sorted((r["worker"], r["i"]) for r in records) == [
        (w, i) for w in range(n_workers) for i in range(n_lines)]
    for record in records:
        assert record["payload"] == f"{record['worker']}-{record['i']}-" * 200
    for w in range(n_workers):  # each process's lines are in the order it wrote them
        assert [r["i"] for r in records if r["worker"] == w] == list(range(n_lines))


# ----------------------------------------------------------------------
# whole files, written atomically
# ----------------------------------------------------------------------
def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path):
    path = tmp_path / "trials.csv"
    write_text_atomic(path, "old\n")

    class Unprintable:
        def __str__(self):
            raise RuntimeError("killed while writing")

    with pytest.raises(TypeError):
        write_text_atomic(path, Unprintable())
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv"]  # no temporary left


def test_an_atomic_json_write_replaces_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"old": True})
    write_json_atomic(path, {"trial": 3, "values": (1, 2), "model": Opaque()})
    assert json.loads(path.read_text()) == {"trial": 3, "values": [1, 2],
                                            "model": "<test_journal.Opaque object>"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


# ----------------------------------------------------------------------
# keys and fingerprints that are the same in every process
# ----------------------------------------------------------------------
def test_the_data_fingerprint_follows_values_not_memory():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    y = np.array(["p", "q", "q"])
    assert data_fingerprint(X, y) == data_fingerprint(X.copy(), y.copy())
    changed = X.copy()
    changed.loc[1, "a"] = 2.5
    assert data_fingerprint(changed, y) != data_fingerprint(X, y)
    assert data_fingerprint(X, y[::-1]) != data_fingerprint(X, y)


def test_the_data_fingerprint_of_numbers_includes_their_shape_and_a_missing_part():
    images = np.arange(24, dtype="float32").reshape(6, 2, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    fingerprint = data_fingerprint(images, y)
    assert re.fullmatch(r"[0-9a-f]{24}", fingerprint)
    assert data_fingerprint(images.copy(), y.copy()) == fingerprint
    assert data_fingerprint(images.reshape(6, 4), y) != fingerprint  # same bytes, other shape
    assert data_fingerprint(images, None) != data_fingerprint(images)
    assert data_fingerprint(images, None) == data_fingerprint(images.copy(), None)


def test_values_key_ignores_the_order_of_the_names():
    assert values_key({"nodes": 16, "learning_rate": 0.01, "activation": "relu"}) == \
        values_key({"activation": "relu", "learning_rate": 0.01, "nodes": 16})
    assert values_key({"nodes": 16, "learning_rate": 0.01}) == \
        '{"learning_rate": 0.01, "nodes": 16}'
    assert values_key({"nodes": 16}) != values_key({"nodes": 32})
    assert values_key({"nodes": 16}) != values_key({"units": 16})


def test_values_key_makes_numpy_scalars_equal_to_the_python_numbers_they_hold():
    python = {"nodes": 16, "learning_rate": 0.25, "batch_norm": True, "activation": "relu"}
    numpy = {"nodes": np.int64(16), "learning_rate": np.float64(0.25),
             "batch_norm": np.bool_(True), "activation": np.str_("relu")}
    assert values_key(numpy) == values_key(python)
    assert values_key({"hidden": (16, 8)}) == values_key({"hidden": [16, 8]})
    assert values_key({"model": Opaque()}) == values_key({"model": Opaque()})


def test_stable_repr_has_no_memory_addresses():
    first, second = Opaque(), Opaque()
    assert repr(first) != repr(second)  # plain reprs differ by address
    assert stable_repr(first) == stable_repr(second) == "<test_journal.Opaque object>"
    assert stable_repr([first, {"f": _append_lines}]) == \
        "[<test_journal.Opaque object>, {'f': <function _append_lines>}]"
    assert "0x" not in stable_repr(object())
    assert stable_repr({"nodes": 8, "name": "a"}) == "{'nodes': 8, 'name': 'a'}"  # else repr


def test_plain_turns_numpy_scalars_into_python_numbers_and_leaves_the_rest():
    for value, expected in [(np.int64(3), 3), (np.float64(0.5), 0.5), (np.bool_(True), True),
                            (np.float32(0.5), 0.5), (np.str_("relu"), "relu")]:
        got = plain(value)
        assert got == expected and type(got) is type(expected)
    for value in [3, 0.5, "relu", None, [np.int64(1)], np.array([1, 2]), np.array(3)]:
        assert plain(value) is value  # not a NumPy scalar: unchanged, not even copied


# ----------------------------------------------------------------------
# search.json: start, resume or refuse
# ----------------------------------------------------------------------
def _write_records(folder, name="trials.jsonl", n=2):
    for i in range(n):
        append_record(folder / name, {"fit": i, "score": 0.5 + i / 10})


def test_a_new_search_writes_search_json_and_removes_the_named_record_files(tmp_path):
    _write_records(tmp_path, "trials.jsonl")
    _write_records(tmp_path, "round1.jsonl")
    (tmp_path / "notes.txt").write_text("keep me\n")
    settings = {**SETTINGS, "space": ("nodes", "learning_rate")}
    assert open_search(tmp_path, settings, resume=False, record_files=RECORD_FILES) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", MANIFEST]
    assert json.loads((tmp_path / MANIFEST).read_text()) == {
        **SETTINGS, "space": ["nodes", "learning_rate"]}  # as JSON holds it
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"


def test_resume_with_the_same_settings_keeps_the_records_and_cuts_a_torn_tail(tmp_path):
    assert open_search(tmp_path, SETTINGS, resume=False, record_files=RECORD_FILES) is False
    _write_records(tmp_path, "trials.jsonl", n=2)
    _write_records(tmp_path, "other.jsonl", n=1)
    complete = (tmp_path / "trials.jsonl").read_bytes()
    manifest = (tmp_path / MANIFEST).read_bytes()
    for name in ("trials.jsonl", "other.jsonl"):
        with open(tmp_path / name, "ab") as handle:
            handle.write(b'{"fit": 2, "sc')

    assert open_search(tmp_path, dict(reversed(SETTINGS.items())), resume=True,
                       record_files=RECORD_FILES) is True
    assert (tmp_path / "trials.jsonl").read_bytes() == complete
    assert [r["fit"] for r in read_records(tmp_path / "trials.jsonl")] == [0, 1]
    assert (tmp_path / "other.jsonl").read_bytes().endswith(b'"sc')  # not named: untouched
    assert (tmp_path / MANIFEST).read_bytes() == manifest


def test_resume_with_a_setting_that_json_cannot_hold_compares_its_stable_repr(tmp_path):
    assert open_search(tmp_path, {**SETTINGS, "callback": Opaque()}, resume=False) is False
    assert json.loads((tmp_path / MANIFEST).read_text())["callback"] == \
        "<test_journal.Opaque object>"
    assert open_search(tmp_path, {**SETTINGS, "callback": Opaque()}, resume=True) is True


def test_resume_with_a_changed_setting_names_it_as_was_and_now(tmp_path):
    open_search(tmp_path, SETTINGS, resume=False, record_files=RECORD_FILES)
    _write_records(tmp_path)
    records = (tmp_path / "trials.jsonl").read_bytes()
    manifest = (tmp_path / MANIFEST).read_bytes()

    with pytest.raises(ValueError) as error:
        open_search(tmp_path, {**SETTINGS, "cv": 5}, resume=True, record_files=RECORD_FILES)
    message = str(error.value)
    assert "cv was 3, now 5" in message
    assert f"directory={str(tmp_path)!r} holds a different search" in message
    assert "Resume with the same data and settings, or pass another directory" in message

    with pytest.raises(ValueError, match=re.escape(
            "(n_trials was 5, now 8; strategy was 'random', now 'grid')")):
        open_search(tmp_path, {**SETTINGS, "strategy": "grid", "n_trials": 8}, resume=True)
    with pytest.raises(ValueError, match=re.escape("(n_jobs was None, now 2)")):
        open_search(tmp_path, {**SETTINGS, "n_jobs": 2}, resume=True)  # a setting added
    with pytest.raises(ValueError, match=re.escape("(n_trials was 5, now None)")):
        open_search(tmp_path, {k: v for k, v in SETTINGS.items() if k != "n_trials"},
                    resume=True)  # a setting dropped
    # a refused resume changes nothing on disk
    assert (tmp_path / "trials.jsonl").read_bytes() == records
    assert (tmp_path / MANIFEST).read_bytes() == manifest


def test_resume_with_changed_training_data_says_the_training_data_differ(tmp_path):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = np.array([0, 1, 0, 1])
    open_search(tmp_path, {**SETTINGS, "data": data_fingerprint(X, y)}, resume=False)
    assert open_search(tmp_path, {**SETTINGS, "data": data_fingerprint(X.copy(), y.copy())},
                       resume=True) is True
    with pytest.raises(ValueError) as error:
        open_search(tmp_path, {**SETTINGS, "data": data_fingerprint(X.iloc[:-1], y[:-1])},
                    resume=True)
    message = str(error.value)
    assert "(the training data (X, y) differ from the saved search's)" in message
    assert "data was" not in message  # the fingerprints themselves are not shown


@pytest.mark.parametrize("content", [b'{"strategy": "random", "cv"', b"\xff\xfe\x00garbage"],
                         ids=["cut-short", "not-text"])
def test_a_damaged_search_json_is_refused_as_damaged(tmp_path, content):
    (tmp_path / MANIFEST).write_bytes(content)
    _write_records(tmp_path)
    records = (tmp_path / "trials.jsonl").read_bytes()
    with pytest.raises(DamagedRecord) as error:
        open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES)
    message = str(error.value)
    assert f"{str(tmp_path / MANIFEST)!r} cannot be read: it is damaged (cut short or " \
        "edited" in message
    assert "not written by kerastune_kit" not in message  # it was: it is damaged
    assert "Restore it from a copy, or pass resume=False to start a new search there" in message
    assert error.value.path == str(tmp_path / MANIFEST)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert (tmp_path / MANIFEST).read_bytes() == content  # a refused resume changes nothing
    assert (tmp_path / "trials.jsonl").read_bytes() == records


@pytest.mark.parametrize("content", [b"[1, 2, 3]", b'"search"'], ids=["list", "string"])
def test_a_json_search_json_that_is_no_kit_record_is_refused_as_not_written_by_the_kit(
        tmp_path, content):
    (tmp_path / MANIFEST).write_bytes(content)
    with pytest.raises(ValueError) as error:
        open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES)
    message = str(error.value)
    assert f"{str(tmp_path / MANIFEST)!r} cannot be read" in message
    assert "it was not written by kerastune_kit" in message
    assert "resume=False to start a new search there" in message
    assert not isinstance(error.value, DamagedRecord)
    assert (tmp_path / MANIFEST).read_bytes() == content


def test_resume_without_a_search_json_starts_afresh_only_in_a_folder_without_records(tmp_path):
    (tmp_path / "notes.txt").write_text("not a record\n")
    (tmp_path / "empty.jsonl").write_bytes(b"")  # a record file with no record in it
    (tmp_path / "elsewhere").mkdir()  # a folder, but no Keras Tuner project
    assert open_search(tmp_path, SETTINGS, resume=True, record_files=("*.jsonl",)) is False
    assert json.loads((tmp_path / MANIFEST).read_text()) == SETTINGS
    assert open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES) is True


def test_resume_with_records_but_no_search_json_is_refused_and_replaces_nothing(tmp_path):
    _write_records(tmp_path, "trials.jsonl")
    records = (tmp_path / "trials.jsonl").read_bytes()
    with pytest.raises(DamagedRecord) as error:
        open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES)
    message = str(error.value)
    assert f"{str(tmp_path / MANIFEST)!r} is missing, but the folder holds records of a " \
        "search (trials.jsonl)" in message
    assert "restore search.json, or start afresh with resume=False (without --resume) to " \
        "replace them" in message
    assert (tmp_path / "trials.jsonl").read_bytes() == records
    assert not (tmp_path / MANIFEST).exists()
    # resume=False is the way to replace them
    assert open_search(tmp_path, SETTINGS, resume=False, record_files=RECORD_FILES) is False
    assert not (tmp_path / "trials.jsonl").exists()


@pytest.mark.parametrize("leftover", ["kerastune/oracle.json", "kerastune/trial_00/trial.json"])
def test_resume_with_a_keras_tuner_project_but_no_search_json_is_refused(tmp_path, leftover):
    (tmp_path / leftover).parent.mkdir(parents=True)
    (tmp_path / leftover).write_text("{}")
    with pytest.raises(DamagedRecord, match=re.escape(
            "holds records of a search (the Keras Tuner project kerastune/)")):
        open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES)
    assert (tmp_path / leftover).read_text() == "{}"


def test_resume_checks_every_record_before_anything_trains(tmp_path):
    open_search(tmp_path, SETTINGS, resume=False, record_files=RECORD_FILES)
    _write_records(tmp_path, "round1.jsonl", n=3)
    lines = (tmp_path / "round1.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"score": 0.6', b'"score": 0.9')
    (tmp_path / "round1.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(DamagedRecord, match=re.escape(
            f"{str(tmp_path / 'round1.jsonl')!r}, line 2, is damaged: its checksum does not "
            "match")):
        open_search(tmp_path, SETTINGS, resume=True, record_files=RECORD_FILES)


# ----------------------------------------------------------------------
# checksums: an edited or garbage line is refused, naming file and line
# ----------------------------------------------------------------------
def test_an_edited_score_is_refused_naming_the_file_the_line_and_the_fix(tmp_path):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=3)
    assert [r["score"] for r in read_records(path)] == [0.5, 0.6, 0.7]
    text = path.read_text()
    path.write_text(text.replace('"score": 0.6', '"score": 0.99'))
    with pytest.raises(DamagedRecord) as error:
        read_records(path)
    message = str(error.value)
    assert f"{str(path)!r}, line 2, is damaged: its checksum does not match its content " \
        "(the line was edited or corrupted)" in message
    assert "Delete that line to run that fit again on resume" in message
    assert "start afresh with resume=False (without --resume)" in message
    # deleting the line, as the message says, makes the file readable again
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2])
    assert [r["score"] for r in read_records(path)] == [0.5, 0.7]


@pytest.mark.parametrize("garbage, problem", [
    (b"\x89PNG\r\n\x1a\x00\xff\xfe", "it is not UTF-8 text"),
    (b"<html>not a record</html>", "it is not JSON"),
    (b"[1, 2]", "it holds a JSON list, not a record"),
], ids=["binary", "text", "json-list"])
def test_a_garbage_line_before_the_last_is_refused_naming_file_and_line(tmp_path, garbage,
                                                                        problem):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=1)
    with open(path, "ab") as handle:
        handle.write(garbage.replace(b"\n", b"") + b"\n")
    _write_records(tmp_path, n=1)
    with pytest.raises(DamagedRecord, match=re.escape(f"{str(path)!r}, line 2, is damaged: "
                                                      f"{problem}")):
        read_records(path)


def test_binary_garbage_as_a_torn_last_line_is_skipped_like_any_torn_line(tmp_path):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=2)
    with open(path, "ab") as handle:
        handle.write(b"\xff\xfe\x00half")  # no newline: what a kill mid-write leaves
    assert [r["fit"] for r in read_records(path)] == [0, 1]


def test_lines_written_before_checksums_existed_are_read_as_they_are(tmp_path):
    path = tmp_path / "trials.jsonl"
    path.write_text('{"fit": "old", "score": 0.5, "history": {"accuracy": [0.4, 0.5]}}\n')
    append_record(path, {"fit": "new", "score": 0.75})
    assert read_records(path) == [
        {"fit": "old", "score": 0.5, "history": {"accuracy": [0.4, 0.5]}},
        {"fit": "new", "score": 0.75}]


def test_checksums_hold_for_values_that_change_form_in_json(tmp_path):
    path = tmp_path / "trials.jsonl"
    record = {"values": (8, 0.1), "nan": float("nan"), "inf": float("inf"),
              "text": "caf\u00e9 \u2713", "big": 2**70, "float": 0.1 + 0.2, "model": Opaque(),
              "nested": {"b": [1, {"a": None}], "a": True}}
    append_record(path, record)
    got, = read_records(path)
    assert got["values"] == [8, 0.1] and np.isnan(got["nan"]) and got["inf"] == float("inf")
    assert got["text"] == "caf\u00e9 \u2713" and got["big"] == 2**70 and got["float"] == 0.1 + 0.2
    assert got["nested"] == {"b": [1, {"a": None}], "a": True}
    with pytest.raises(ValueError, match="may not hold the field 'crc'"):
        append_record(path, {"crc": 1})


# ----------------------------------------------------------------------
# a record that cannot be written: one clear error, nothing lost
# ----------------------------------------------------------------------
def _fail_on(monkeypatch, name: str, code: int, *, journal: str = ".jsonl"):
    """Make ``os.<name>`` fail with ``code`` on the journal's descriptor (or path) only."""
    real = getattr(os, name)

    def failing(target, *args, **kwargs):
        where = target if isinstance(target, (str, os.PathLike)) else \
            os.readlink(f"/proc/self/fd/{target}")
        if os.fspath(where).endswith(journal):
            raise OSError(code, os.strerror(code))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, name, failing)


@pytest.mark.parametrize("call", ["open", "write", "fsync"])
def test_a_full_disk_raises_record_write_error_naming_the_file_and_how_to_resume(
        tmp_path, monkeypatch, call):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=2)
    before = path.read_bytes()
    _fail_on(monkeypatch, call, errno.ENOSPC)
    with pytest.raises(RecordWriteError) as error:
        append_record(path, {"fit": 2, "score": 0.9})
    monkeypatch.undo()
    message = str(error.value)
    assert message.startswith(f"cannot append a record to {str(path)!r}: no space left on "
                              "device")
    assert "Free some disk space, then resume" in message
    assert "nothing recorded so far is lost" in message and "--resume" in message
    assert isinstance(error.value, OSError) and error.value.errno == errno.ENOSPC
    assert error.value.filename == str(path)
    assert isinstance(error.value.__cause__, OSError)
    assert path.read_bytes().startswith(before)  # the records before are untouched
    fits = [r["fit"] for r in read_records(path)]
    # a failed sync comes after the write: the line is there, but was never promised
    assert fits == ([0, 1, 2] if call == "fsync" else [0, 1])


def test_a_write_denied_raises_record_write_error_that_says_permission(tmp_path, monkeypatch):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=1)
    _fail_on(monkeypatch, "open", errno.EACCES)
    with pytest.raises(RecordWriteError, match=re.escape(
            f"cannot append a record to {str(path)!r}: permission denied")) as error:
        append_record(path, {"fit": 1})
    assert "Make the file and its folder writable" in str(error.value)
    assert error.value.errno == errno.EACCES


def test_a_disk_that_fills_part_way_through_a_line_leaves_a_torn_tail_resume_cuts(
        tmp_path, monkeypatch):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=2)
    before = path.read_bytes()
    real_write, calls = os.write, []

    def half_then_full(fd, data):  # what a filling disk does: a short write, then ENOSPC
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(".jsonl"):
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(RecordWriteError, match="no space left on device"):
        append_record(path, {"fit": 2, "payload": "x" * 500})
    monkeypatch.undo()
    assert len(calls) == 2  # the rest of the line was tried, not dropped
    assert path.read_bytes().startswith(before) and len(path.read_bytes()) > len(before)
    assert [r["fit"] for r in read_records(path)] == [0, 1]  # the torn tail is skipped
    assert repair_tail(path) > 0 and path.read_bytes() == before


def _append_as_nobody(path) -> tuple:
    """Try append_record in a forked child that dropped to the user "nobody"; its outcome."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no imports, no threads, just the call
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                append_record(path, {"fit": "x"})
                outcome = ["ok", None, ""]
            except RecordWriteError as err:
                outcome = [type(err).__name__, err.errno, str(err)]
            os.write(write_end, json.dumps(outcome).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(data))


def test_a_read_only_journal_really_refuses_the_record(tmp_path):
    path = tmp_path / "trials.jsonl"
    _write_records(tmp_path, n=1)
    before = path.read_bytes()
    path.chmod(0o444)
    if os.geteuid() != 0:
        with pytest.raises(RecordWriteError) as error:
            append_record(path, {"fit": "x"})
        outcome = (type(error.value).__name__, error.value.errno, str(error.value))
    else:
        # root ignores file modes: a child process drops to "nobody" to meet a real EACCES
        folder = Path(tempfile.mkdtemp(prefix="kerastune-readonly-"))
        try:
            folder.chmod(0o755)
            shared = folder / "trials.jsonl"
            shutil.copy(path, shared)
            shared.chmod(0o444)
            outcome = _append_as_nobody(str(shared))
            assert shared.read_bytes() == before
            path = shared
        finally:
            shutil.rmtree(folder)
    assert outcome[0] == "RecordWriteError" and outcome[1] == errno.EACCES, outcome
    assert f"cannot append a record to {str(path)!r}: permission denied" in outcome[2]
    assert "nothing recorded so far is lost" in outcome[2]


def test_an_atomic_write_that_fails_for_want_of_space_raises_record_write_error(
        tmp_path, monkeypatch):
    path = tmp_path / "trials.csv"
    write_text_atomic(path, "old\n")
    _fail_on(monkeypatch, "fsync", errno.ENOSPC, journal=".tmp")
    with pytest.raises(RecordWriteError) as error:
        write_text_atomic(path, "new\n")
    monkeypatch.undo()
    message = str(error.value)
    assert message.startswith(f"cannot write {str(path)!r}: no space left on device")
    assert "the earlier trials.csv, if any, is unchanged and no partial file is left" in message
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv"]
