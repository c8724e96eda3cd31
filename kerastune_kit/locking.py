"""One search per folder: an OS file lock that dies with the process holding it.

Two processes writing one search folder would mix their records (each would
replace or extend the other's journal and Keras Tuner project), and both
would "succeed" with wrong results. :class:`FolderLock` holds an exclusive
``fcntl.flock`` on ``<folder>/.kerastune.lock`` for as long as a search
runs. The operating system drops the lock when the process ends, however
it ends (SIGKILL, a crash, a reboot), so a killed search never leaves its
folder locked; the file itself only says who holds the lock (pid, host,
start time, what the folder holds), for the message of the process that is
refused.

Only the process that owns the search takes the lock (a lone process, or the
chief of a distributed Keras Tuner search); Keras Tuner's worker processes
share the chief's folder and do not. Locks are advisory: they keep out other
kerastune_kit searches, not other programs. ``flock`` needs a local file
system, or one whose locks span the machines that share it.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     with FolderLock(folder):
...         pass  # search, alone in ``folder``
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from .errors import FolderInUse

__all__ = ["FolderLock", "FolderInUse", "LOCK_FILE", "is_keras_tuner_worker"]

#: The lock's file, in the folder it guards.
LOCK_FILE = ".kerastune.lock"

_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
_POLL_SECONDS = 0.05


def is_keras_tuner_worker() -> bool:
    """True in a worker process of Keras Tuner's distributed mode (``KERASTUNER_TUNER_ID`` not "chief").

    Such a process shares its chief's folder and takes no lock.
    """
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    return tuner_id is not None and tuner_id != "chief"


class FolderLock:
    """An exclusive lock on a folder, held by one process at a time.

    Parameters
    ----------
    directory : path
        The folder to guard (created if missing). The lock is the file
        ``.kerastune.lock`` in it.
    what : str, default "search"
        What the folder holds, for the error message ("search folder ...").

    Use it as a context manager (``with FolderLock(d):`` takes the lock
    without waiting, ``with FolderLock(d).acquire(wait=5):`` after waiting up
    to 5 s; both release it at the end), or call :meth:`acquire` and
    :meth:`release`. It is not
    re-entrant: a second ``FolderLock`` on the same folder is refused even in
    the same process.
    """

    def __init__(self, directory, *, what: str = "search"):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self, wait: float = 0) -> "FolderLock":
        """Take the lock, waiting up to ``wait`` seconds for its holder to let go.

        Raises :class:`~kerastune_kit.errors.FolderInUse` (naming the folder
        and the holder's pid, host and start time) when it is still held.
        """
        if self._fd is not None:
            raise RuntimeError(f"this FolderLock already holds {str(self.path)!r}; release it "
                               "before acquiring it again.")
        deadline = time.monotonic() + max(0.0, float(wait))
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            fd = self._try_lock()
            if fd is not None:
                self._fd = fd
                self._write_holder()
                return self
            if time.monotonic() >= deadline:
                raise self._in_use(wait)
            time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def release(self) -> None:
        """Let go of the lock (nothing happens when it is not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # removed while still locked: a process waiting on this file finds, once it
            # gets the lock, that the file is no longer the folder's lock, and tries again
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        finally:
            os.close(fd)  # closing drops the lock

    def __enter__(self) -> "FolderLock":
        # ``with FolderLock(d):`` takes the lock without waiting; ``with lock.acquire(wait=5):``
        # enters the lock that ``acquire`` already took
        return self if self.held else self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"FolderLock({str(self.directory)!r}, held={self.held})"

    def holder(self) -> dict | None:
        """Who holds the lock, as its file says (pid, host, started), or None when unknown."""
        try:
            text = self.path.read_text(encoding="utf-8")
            holder = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    # ------------------------------------------------------------------
    def _try_lock(self) -> int | None:
        """A descriptor of the folder's lock file, locked; None when another process holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno in _BUSY:
                    return None
                raise OSError(err.errno, f"cannot lock {str(self.path)!r} ({err.strerror}): "
                              "the file system of this folder may not support file locks; "
                              "put the search on a local disk.", str(self.path)) from err
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # the holder removed this file as it let go: lock the new one

    def _write_holder(self) -> None:
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        data = (json.dumps(holder) + "\n").encode("utf-8")
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # who holds it is only for messages; the lock itself is held

    def _in_use(self, wait: float) -> FolderInUse:
        holder = None
        for _ in range(20):  # the holder writes its details just after it locks
            holder = self.holder()
            if holder is not None:
                break
            time.sleep(0.01)
        if holder:
            who = (f"process {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
                   f"running since {holder.get('started', '?')}")
        else:
            who = "a process that has not said who it is (it is just starting)"
        waited = f" (waited {wait:g} s)" if wait else ""
        what = holder.get("what", self.what) if holder else self.what
        error = FolderInUse(
            f"{what} folder {str(self.directory)!r} is in use by another process: {who}"
            f"{waited}. Two processes writing one folder would mix their records. Wait for it "
            f"to finish, or pass another directory. (The lock is {str(self.path)!r}; it goes "
            "away with its process, even a killed one, so never delete it by hand.)")
        error.directory, error.holder = str(self.directory), holder
        return error
