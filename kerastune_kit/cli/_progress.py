"""The progress bar of ``kerastune-kit tune``: fits recorded so far and the best score.

It reads the search's records (one line per finished fit or trial) from a
background thread, so it works the same for every strategy and for fits
run in other processes.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

__all__ = ["scan", "progress"]


def scan(folder: Path, folds: int = 1) -> tuple[int, float]:
    """Count the fits recorded in ``folder`` so far and find the best score the search ranks by.

    Parameters
    ----------
    folder : Path
        The search's folder (``tune(directory=...)``).
    folds : int, default 1
        Fits per candidate (the CV folds of the scikit-learn strategies). A
        candidate's score is the mean over its folds, as the search ranks
        it, and counts once all of its folds are recorded; one fold alone is
        not the search's score.

    Returns
    -------
    tuple of (int, float)
        The number of records and the best score (NaN while there is none).
    """
    from ..journal import read_records  # skips a line being written right now

    count, best = 0, float("nan")
    per_candidate: dict[tuple, list[float]] = {}
    for path in folder.glob("*.jsonl"):
        for record in read_records(path):
            count += 1
            if record.get("status", "ok") != "ok":
                continue
            score = record.get("score")
            if score is None:  # a Keras Tuner fit: its best epoch, as the tuner ranks it
                score = max(record.get("history", {}).get("val_accuracy", [float("nan")]))
            if "key" in record:  # one fold of a candidate
                per_candidate.setdefault((record["key"], record.get("epochs")), []).append(score)
            elif score == score and not best >= score:
                best = score
    for scores in per_candidate.values():
        if len(scores) >= folds:
            mean = sum(scores[:folds]) / folds
            if mean == mean and not best >= mean:
                best = mean
    return count, best


@contextmanager
def progress(folder: Path, total: int | None, label: str, enabled: bool, folds: int = 1):
    """Show a progress bar over the fits recorded in ``folder`` while the block runs.

    Parameters
    ----------
    folder : Path
        The search's folder, watched twice a second.
    total : int or None
        The number of fits expected; None when the strategy decides as it goes.
    label : str
        Text in front of the bar, e.g. ``"random search"``.
    enabled : bool
        False shows nothing (``--quiet``).
    folds : int, default 1
        Fits per candidate (see :func:`scan`).
    """
    if not enabled:
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stop = threading.Event()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("best so far {task.fields[best]}"), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task(label, total=total, best="-")

        def watch():
            while not stop.wait(0.5):
                count, best = scan(folder, folds)
                bar.update(task, completed=count, best="-" if best != best else f"{best:.3f}")

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            count, best = scan(folder, folds)
            bar.update(task, completed=count, total=total or count,
                       best="-" if best != best else f"{best:.3f}")
