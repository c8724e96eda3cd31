"""Crash-safe records of a search, so a killed search can resume with nothing lost.

A search directory holds:

* ``search.json``: what was searched (strategy, space, settings, a fingerprint
  of the data). ``tune(..., resume=True)`` refuses to continue a search whose
  record differs, and says which setting changed.
* append-only JSON-lines files, one line per finished fit or trial. A line is
  written with a single ``write`` on a file opened for appending and synced
  to disk before the search goes on; a process killed while writing leaves
  at most one torn last line, which readers skip and :func:`repair_tail`
  removes before new lines are appended.

Whole files (``search.json``, Keras Tuner's trial and oracle states, saved
results) are written to a temporary file in the same folder and renamed over
the old one, so a reader sees the old file or the new one, never half of one.
Nothing here imports Keras.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "append_record", "read_records", "repair_tail", "write_text_atomic", "write_json_atomic",
    "data_fingerprint", "stable_repr", "plain", "values_key", "open_search",
]

MANIFEST = "search.json"


def append_record(path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line and sync it to disk.

    One ``os.write`` on an ``O_APPEND`` descriptor: lines from several
    processes sharing the file (parallel fits, Keras Tuner workers) do not
    interleave.
    """
    line = (json.dumps(record, default=stable_repr) + "\n").encode("utf-8")
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(path) -> list[dict]:
    """The complete records of a JSON-lines file, in order; torn lines are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a kill, or being written right now
    return records


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


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
    return f"{name} was {saved!r}, now {now!r}"


def open_search(directory, settings: Mapping[str, Any], *, resume: bool,
                record_files: Iterable[str] = ()) -> bool:
    """Start or continue the search recorded in ``directory``; return True when resuming.

    ``settings`` must be JSON-safe. With ``resume=True`` and a
    ``search.json`` already there, every setting must match (else
    ``ValueError`` naming the first that differs) and torn record lines are
    cut off. Otherwise the search starts afresh: ``record_files`` (names
    relative to ``directory``) are removed and ``search.json`` is written.
    """
    folder = Path(directory)
    manifest = folder / MANIFEST
    settings = json.loads(json.dumps(dict(settings), default=stable_repr))
    if resume and manifest.exists():
        try:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            raise ValueError(
                f"resume=True: {str(manifest)!r} cannot be read; it was not written by "
                "kerastune_kit. Pass a directory that holds a kerastune_kit search, or "
                "resume=False to start a new search there.") from None
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
        return True
    for name in record_files:
        for path in folder.glob(name):
            path.unlink()
    write_json_atomic(manifest, settings)
    return False
