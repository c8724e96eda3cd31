"""Import TensorFlow without its start-up chatter.

Importing TensorFlow prints a handful of lines to the process's standard
error before Python's logging is involved ("All log messages before
absl::InitializeLog() is called ...", "oneDNN custom operations are on ...",
"This TensorFlow binary is optimized to use ..."). ``TF_CPP_MIN_LOG_LEVEL``
does not stop them: they are written before TensorFlow reads it. The
command line and the notebooks call :func:`quiet_tensorflow` first, which
imports TensorFlow and Keras with file descriptor 2 pointed at a temporary
file, and shows what was captured only when the import fails.
Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

__all__ = ["quiet_tensorflow"]


def quiet_tensorflow(*, verbose: bool = False) -> None:
    """Import TensorFlow and Keras now, hiding their start-up log lines; draw plots off-screen.

    Parameters
    ----------
    verbose : bool, default False
        Show TensorFlow's start-up lines (the command line's ``-v``).

    Notes
    -----
    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (TensorFlow's later C++ warnings),
    TensorFlow's Python logger to ERROR and ``MPLBACKEND=Agg`` where the
    caller has not chosen otherwise. Calling it again, or after TensorFlow
    was imported, only sets those.

    Examples
    --------
    >>> from kerastune_kit import quiet_tensorflow
    >>> quiet_tensorflow()  # then import or use anything Keras-backed
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "ipykernel" not in sys.modules:
        os.environ.setdefault("MPLBACKEND", "Agg")  # a notebook keeps its inline plots
    tf_logger = logging.getLogger("tensorflow")
    if tf_logger.level == logging.NOTSET:  # respect a level the user chose
        tf_logger.setLevel(logging.ERROR)
    if verbose or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401  (loads TensorFlow, its backend)
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
