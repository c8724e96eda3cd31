"""Save a search's results as plain data, and read them back.

A results folder holds only plain, safe-to-open files:

* ``trials.csv``: the trials table (per-epoch curves as JSON lists);
* ``best_params.json``: the best parameters, the score and the strategy;
* ``space.json``: the search space (:meth:`SearchSpace.to_json`);
* ``baseline.csv``: the comparison with the linear baseline, when made;
* ``best_model.keras``: the refitted best network in the Keras format
  (load it with :func:`kerastune_kit.load_checkpoint`, safe mode on).

Nothing is pickled, so opening a results folder never runs code.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .comparison import as_comparison
from .errors import RecordWriteError
from .journal import write_error, write_text_atomic
from .space import SearchSpace
from .trials import CURVE_COLUMNS, SearchResult

__all__ = ["save_result", "load_result", "SavedResult"]

@dataclass(repr=False)
class SavedResult(SearchResult):
    """A search result read back from its folder (no estimator: see ``best_model.keras``)."""

    directory: Path | None = None


def _jsonable(value: Any):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


_AGAIN = ("save the results again (save_result, or the same `kerastune-kit tune` command "
          "with --resume, which replays the recorded fits instead of training them)")


def _write(path: Path, text: str) -> None:
    """``write_text_atomic`` (looked up when called), any OSError as RecordWriteError naming ``path``."""
    try:
        write_text_atomic(path, text)
    except RecordWriteError:
        raise
    except OSError as err:
        raise write_error(path, err, what="cannot write", kept=f"{_AGAIN}.") from err


def _save_model(network, path: Path) -> None:
    """Save a Keras model to ``path`` through a partial file and a rename.

    A failure leaves the earlier model, if any, and no partial file; an
    ``OSError`` (a full disk, no permission) becomes RecordWriteError naming ``path``.
    """
    partial = path.parent / f".{path.stem}.partial{path.suffix}"
    try:
        network.save(partial)
        os.replace(partial, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        if isinstance(err, OSError) and not isinstance(err, RecordWriteError):
            raise write_error(path, err, what="cannot write", kept=(
                f"{_AGAIN}; the earlier {path.name}, if any, is unchanged and no partial "
                "file is left.")) from err
        raise


def save_result(result, directory, *, extra: dict | None = None) -> dict[str, Path]:
    """Write ``result`` (a TuneResult) into ``directory``; return the paths written.

    ``extra`` (JSON-safe) is stored in ``best_params.json`` under ``"extra"``,
    e.g. the dataset name and the final test scores.
    """
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"directory={str(directory)!r} cannot be created ({err}); choose a "
                      "writable output folder.") from None
    paths = {"trials": folder / "trials.csv", "best_params": folder / "best_params.json",
             "space": folder / "space.json"}
    table = result.trials.copy()
    for column in CURVE_COLUMNS:
        table[column] = table[column].map(lambda curve: json.dumps([float(v) for v in curve]))
    # every file through a temporary file and a rename: a kill while writing leaves the
    # old file or the new one, never half of one; best_params.json, written last, marks
    # a complete set
    _write(paths["space"], result.space.to_json())
    _write(paths["trials"], table.to_csv(index=False))
    if getattr(result, "baseline_", None) is not None:
        paths["baseline"] = folder / "baseline.csv"
        _write(paths["baseline"], result.baseline_.to_csv())
    estimator = getattr(result, "best_estimator_", None)
    if estimator is not None:
        model = estimator[-1] if hasattr(estimator, "steps") else estimator
        paths["best_model"] = folder / "best_model.keras"
        _save_model(model.model_, paths["best_model"])
    summary = {
        "strategy": result.strategy,
        "best_score": float(result.best_score_),
        "best_params": {k: _jsonable(v) for k, v in result.best_params_.items()},
        "extra": extra or {},
    }
    for name in ("task_", "scoring_"):  # what was tuned and what the scores mean, when known
        if getattr(result, name, None) is not None:
            summary[name.rstrip("_")] = getattr(result, name)
    if getattr(result, "baseline_", None) is not None:  # what the table's numbers mean
        summary["baseline"] = {k: _jsonable(v) for k, v in result.baseline_.attrs.items()
                               if k in ("scoring", "n_splits", "names")}
    _write(paths["best_params"], json.dumps(summary, indent=2, default=repr))
    return paths


def load_result(directory) -> SavedResult:
    """Read a folder written by :func:`save_result`."""
    folder = Path(directory)
    trials_path = folder / "trials.csv"
    if not trials_path.exists():
        raise FileNotFoundError(
            f"{str(folder)!r} holds no trials.csv: pass the output folder of a "
            "`kerastune-kit tune` run (or of save_result).")
    trials = pd.read_csv(trials_path)
    if "error" in trials:
        trials["error"] = trials["error"].fillna("").astype(str)
    for column in CURVE_COLUMNS:
        trials[column] = trials[column].map(json.loads)
    summary = json.loads((folder / "best_params.json").read_text(encoding="utf-8"))
    space = SearchSpace.from_json(folder / "space.json")
    baseline_path = folder / "baseline.csv"
    baseline = None
    if baseline_path.exists():
        table = pd.read_csv(baseline_path, index_col=0)
        table.attrs.update({k: tuple(v) if k == "names" else v
                            for k, v in summary.get("baseline", {}).items()})
        baseline = as_comparison(table)
    return SavedResult(trials=trials, best_params_=summary["best_params"],
                       best_score_=summary["best_score"], strategy=summary["strategy"],
                       space=space, baseline_=baseline, directory=folder,
                       task_=summary.get("task"), scoring_=summary.get("scoring"))
