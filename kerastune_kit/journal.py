"""Crash-safe records of a search, so a killed search can resume with nothing lost.

A search directory holds:

* ``search.json``: what was searched (strategy, space, settings, a fingerprint
  of the data). ``tune(..., resume=True)`` refuses to continue a search whose
  record differs, and says which setting changed.
* append-only JSON-lines files, one line per finished fit or trial. A line is
  written with a single ``write`` on a file opened for appending and synced
  to disk before the search goes on; a process killed while writing leaves
  at most one torn last line, which readers skip and :func:`repair_tail`
  removes before new lines are appended. Each line carries a checksum of its
  content (``"crc"``): a line that was edited, or that is not a record at all,
  raises :class:`~kerastune_kit.errors.DamagedRecord` naming the file and the
  line instead of being used or skipped. A line that cannot be written (a
  full disk, no permission) raises
  :class:`~kerastune_kit.errors.RecordWriteError`: the search stops, with
  everything recorded before kept.

Whole files (``search.json``, Keras Tuner's trial and oracle states, saved
results) are written to a temporary file in the same folder and renamed over
the old one, so a reader sees the old file or the new one, never half of one.
Nothing here imports Keras.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import hashlib
import json
import os
import re
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import DamagedRecord, RecordWriteError

__all__ = [
    "append_record", "read_records", "repair_tail", "write_text_atomic", "write_json_atomic",
    "data_fingerprint", "stable_repr", "plain", "values_key", "open_search", "write_error",
    "CHECKSUM", "MANIFEST", "WRITE_ERRNOS",
]

MANIFEST = "search.json"

#: The field of a record line that holds the checksum of the rest of the line.
CHECKSUM = "crc"


def _checksum(record: Mapping[str, Any]) -> int:
    """CRC-32 of the canonical JSON of ``record`` (sorted keys, no spaces)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return zlib.crc32(canonical.encode("ascii"))


_CAUSES = {
    errno_codes.ENOSPC: ("no space left on device", "free some disk space"),
    errno_codes.EDQUOT: ("disk quota exceeded", "free some space or raise the quota"),
    errno_codes.EACCES: ("permission denied: this process may not write it",
                         "make the file and its folder writable (e.g. chmod u+w)"),
    errno_codes.EPERM: ("operation not permitted: this process may not write it",
                        "make the file and its folder writable (e.g. chmod u+w)"),
    errno_codes.EROFS: ("the file system is read-only", "remount it writable"),
}

#: The error numbers of a write that fails for a reason outside the kit (disk, rights).
WRITE_ERRNOS = frozenset(_CAUSES)


def write_error(path, err: OSError, *, what: str, kept: str) -> RecordWriteError:
    """The :class:`RecordWriteError` for ``err`` (an OSError) while writing ``path``.

    ``what`` says what failed ("cannot append a record to"), ``kept`` what is
    still safe and how to go on after the fix.
    """
    cause, fix = _CAUSES.get(err.errno, (err.strerror or str(err), "fix the cause"))
    return RecordWriteError(
        err.errno, f"{what} {os.fspath(path)!r}: {cause} ({type(err).__name__}: {err}). "
        f"{fix[0].upper()}{fix[1:]}, then {kept}", os.fspath(path))


def append_record(path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line and sync it to disk.

    One ``os.write`` on an ``O_APPEND`` descriptor: lines from several
    processes sharing the file (parallel fits, Keras Tuner workers) do not
    interleave. The line carries the checksum of its content (``"crc"``,
    checked by :func:`read_records`). An ``OSError`` while opening, writing
    or syncing (a full disk, no permission) raises :class:`RecordWriteError`
    naming the file and the cause; the lines written before stay as they were.
    """
    body = json.loads(json.dumps(dict(record), default=stable_repr))  # as a reader sees it
    if CHECKSUM in body:
        raise ValueError(f"a record may not hold the field {CHECKSUM!r}: the journal keeps "
                         "each line's checksum there. Rename that field.")
    line = (json.dumps({**body, CHECKSUM: _checksum(body)}) + "\n").encode("utf-8")
    try:
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            while written < len(line):  # a short write: the disk filled up part-way
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise write_error(path, err, what="cannot append a record to", kept=(
            "resume (tune(..., resume=True), or the same command with --resume): nothing "
            "recorded so far is lost, a torn last line is cut off, and only the fits or "
            "trials not recorded run again.")) from err


def _damaged(path: Path, number: int, problem: str) -> DamagedRecord:
    error = DamagedRecord(
        f"{str(path)!r}, line {number}, is damaged: {problem}. The search will not use or skip "
        "it silently. Delete that line to run that fit again on resume, or start afresh "
        "with resume=False (without --resume), which replaces the search's records.")
    error.path, error.line = str(path), number
    return error


def _parse_line(path: Path, number: int, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _damaged(path, number, f"it is not UTF-8 text ({err.reason} at byte "
                                     f"{err.start})") from None
    try:
        record = json.loads(text)
    except ValueError as err:
        raise _damaged(path, number, f"it is not JSON ({err})") from None
    if not isinstance(record, dict):
        raise _damaged(path, number, f"it holds a JSON {type(record).__name__}, not a record")
    if CHECKSUM not in record:
        return record  # written before records carried checksums: taken as it is
    stored = record.pop(CHECKSUM)
    if stored != _checksum(record):
        raise _damaged(path, number, "its checksum does not match its content (the line "
                                     "was edited or corrupted)")
    return record


def read_records(path) -> list[dict]:
    """The complete records of a JSON-lines file, in order, without their checksums.

    A torn last line (no newline at its end: a process killed while writing
    it, or a line being written right now) is skipped; blank lines too. Any
    other line that is not UTF-8, not a JSON object, or whose checksum does
    not match raises :class:`DamagedRecord` naming the file and the line.
    Lines without a checksum (written by older versions) are taken as they are.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline: nothing, or a torn line
    return [_parse_line(path, number, raw) for number, raw in enumerate(lines, start=1)
            if raw.strip()]


def repair_tail(path) -> int:
    """Cut a torn last line (no newline at its end) off ``path``; return the bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


def _umask() -> int:
    """The process's umask (read once, at import, when no other thread writes files yet)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The mode of a file the kit writes: what ``open()`` would give it.
_FILE_MODE = 0o666 & ~_umask()


def write_text_atomic(path, text: str, *, again: str | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    The file gets the mode ``open()`` would give it (0644 under umask 022).
    A failure leaves the earlier file, if any, as it was and no temporary
    file behind; an ``OSError`` (a full disk, no permission) is raised as
    :class:`RecordWriteError` naming ``path``; ``again`` (how to write it
    again once the cause is fixed) completes its message.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _atomic_write_error(path, err, again) from err
    try:
        # mkstemp makes the file private (0600); give it the mode any other file of the
        # kit gets (0644 under the usual umask 022), so a results folder is uniform
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _atomic_write_error(path, err, again) from err
        raise


def _atomic_write_error(path: Path, err: OSError, again: str | None) -> RecordWriteError:
    again = again or ("run what wrote it again (a search resumed with resume=True, or "
                      "--resume, writes its files again from its records, training nothing "
                      "already recorded)")
    return write_error(path, err, what="cannot write", kept=(
        f"{again}. {path.name} is written through a temporary file and a rename, so the "
        f"earlier {path.name}, if any, is unchanged and no partial file is left."))


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, default=stable_repr))


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable_repr(value) -> str:
    """``repr`` without memory addresses, so it is the same in every process."""
    return _ADDRESS.sub("", repr(value))


def plain(value):
    """A NumPy scalar as the Python number it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def values_key(values: Mapping[str, Any]) -> str:
    """A stable text key for named values (a candidate's, a trial's): same in every process."""
    return json.dumps({k: plain(values[k]) for k in sorted(values)}, default=stable_repr)


def data_fingerprint(*arrays) -> str:
    """A short hash of the values (not the memory) of arrays, frames and label vectors."""
    digest = hashlib.blake2b(digest_size=12)
    for data in arrays:
        if data is None:
            digest.update(b"none")
            continue
        if isinstance(data, (pd.DataFrame, pd.Series)):
            frame = data
        else:
            values = np.asarray(data)
            if values.dtype.kind in "biuf":  # numbers: their bytes, fast for images too
                digest.update(f"{values.dtype.str}{values.shape}".encode())
                digest.update(np.ascontiguousarray(values).tobytes())
                continue
            frame = pd.DataFrame(values.reshape(len(values), -1) if values.ndim != 1 else values)
        digest.update(str(frame.shape).encode())
        if isinstance(frame, pd.DataFrame):
            digest.update(json.dumps([str(c) for c in frame.columns]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _describe_change(name: str, saved, now) -> str:
    if name == "data":
        return "the training data (X, y) differ from the saved search's"
    if name == "trial_folds":  # Keras Tuner trials on folds (cv=k) or on one split (cv=None)
        def said(folds):
            return "one validation split (cv=None)" if folds is None else f"{folds} folds (cv={folds})"
        return (f"its Keras Tuner trials were scored on {said(saved)}, now on {said(now)}; "
                "resume with the cv it was started with")
    return f"{name} was {saved!r}, now {now!r}"


def _leftover_records(folder: Path, record_files: Iterable[str]) -> list[str]:
    """What in ``folder`` holds a search's records: non-empty record files, Keras Tuner projects."""
    found = sorted({path.name for name in record_files for path in folder.glob(name)
                    if path.is_file() and path.stat().st_size > 0})
    for child in sorted(folder.iterdir()):
        if child.is_dir() and ((child / "oracle.json").exists()
                               or any(child.glob("trial_*/trial.json"))):
            found.append(f"the Keras Tuner project {child.name}/")
    return found


def _read_manifest(manifest: Path) -> dict:
    """The settings ``search.json`` holds; DamagedRecord / ValueError when it cannot be used."""
    try:
        saved = json.loads(manifest.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        error = DamagedRecord(
            f"resume=True: {str(manifest)!r} cannot be read: it is damaged (cut short or "
            f"edited: {err}). It records the search's settings, which a resume is checked "
            "against. Restore it from a copy, or pass resume=False to start a new search "
            "there (this replaces the folder's records).")
        error.path = str(manifest)
        raise error from None
    if not isinstance(saved, dict):  # JSON, but not the settings a kit search records
        raise ValueError(
            f"resume=True: {str(manifest)!r} cannot be read; it was not written by "
            "kerastune_kit. Pass a directory that holds a kerastune_kit search, or "
            "resume=False to start a new search there.")
    return saved


def open_search(directory, settings: Mapping[str, Any], *, resume: bool,
                record_files: Iterable[str] = (), state_files: Iterable[str] = ()) -> bool:
    """Start or continue the search recorded in ``directory``; return True when resuming.

    ``settings`` must be JSON-safe. With ``resume=True`` and a
    ``search.json`` already there, every setting must match (else
    ``ValueError`` naming the first that differs), torn record lines are cut
    off and every record is checked (:class:`DamagedRecord` for a damaged
    line, before anything trains). With ``resume=True``, no ``search.json``
    but records there (``record_files``, a Keras Tuner project), it refuses
    (:class:`DamagedRecord`) rather than replace them. Otherwise the search
    starts afresh: ``record_files`` (names relative to ``directory``) are
    removed and ``search.json`` is written. ``state_files`` (e.g. an Optuna
    study's database) are treated alike, except that a resume does not read
    them as journals: their owner checks them.
    """
    record_files, state_files = list(record_files), list(state_files)
    folder = Path(directory)
    manifest = folder / MANIFEST
    settings = json.loads(json.dumps(dict(settings), default=stable_repr))
    if resume and not manifest.exists() and folder.is_dir():
        leftovers = _leftover_records(folder, record_files + state_files)
        if leftovers:
            error = DamagedRecord(
                f"resume=True: {str(manifest)!r} is missing, but the folder holds records "
                f"of a search ({', '.join(leftovers)}). Without search.json they cannot be "
                "checked against this search's settings, and starting afresh would replace "
                "them: restore search.json, or start afresh with resume=False (without "
                "--resume) to replace them.")
            error.path = str(manifest)
            raise error
    if resume and manifest.exists():
        saved = _read_manifest(manifest)
        changed = [name for name in sorted(set(saved) | set(settings))
                   if saved.get(name) != settings.get(name)]
        if changed:
            details = "; ".join(_describe_change(n, saved.get(n), settings.get(n))
                                for n in changed)
            raise ValueError(
                f"resume=True: directory={str(folder)!r} holds a different search ({details}). "
                "Resume with the same data and settings, or pass another directory (or "
                "resume=False) to start a new search.")
        for name in record_files:
            for path in folder.glob(name):
                repair_tail(path)
                read_records(path)  # a damaged line stops the resume before anything trains
        return True
    for name in record_files + state_files:
        for path in folder.glob(name):
            path.unlink()
    write_json_atomic(manifest, settings)
    return False
