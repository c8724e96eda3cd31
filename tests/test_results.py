"""Saved results: plain files (CSV and JSON, never a pickle) that load back equal.

The results are built by hand, the way :func:`kerastune_kit.tune` lays them out,
so nothing here trains a network; saving a refitted network is covered by the
end-to-end and resume tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from kerastune_kit.results import SavedResult, load_result, save_result
from kerastune_kit.space import Float, Int, SearchSpace

SPACE = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 1e-1, scale="log"))
ERROR = 'ValueError: bad "learning_rate", got 0.05\nin fit'  # quotes, a comma, a newline


def _trials() -> pd.DataFrame:
    rows = []
    for i, (status, score, nodes, lr) in enumerate([
            ("ok", 0.70, 8, 0.001), ("ok", 0.90, 16, 0.0123456789), ("failed", np.nan, 24, 0.05),
            ("ok", 0.80, 32, 0.1), ("ok", 0.60, 16, 0.003)]):
        curve = [] if status == "failed" else [0.5 + 0.1 * e + 0.01 * i for e in range(3)]
        rows.append({"trial": i, "round": 0, "strategy": "random", "status": status,
                     "score": score, "score_std": 0.01 * i, "nodes": nodes, "learning_rate": lr,
                     "epochs_trained": len(curve), "fit_time": 1.25 + i,
                     "error": ERROR if status == "failed" else "",
                     "train_curve": [v + 0.05 for v in curve], "val_curve": curve})
    return pd.DataFrame(rows)


def _baseline() -> pd.DataFrame:
    table = pd.DataFrame(
        [[0.9, 0.8, 0.85, 0.07, np.nan, np.nan], [0.7, 0.75, 0.725, 0.035, np.nan, np.nan],
         [0.2, 0.05, 0.125, 0.106, 1.67, 0.34]],
        index=["network", "logistic regression", "difference"],
        columns=["fold_0", "fold_1", "mean", "std", "t_statistic", "p_value"])
    table.attrs["scoring"] = "accuracy"
    return table


def _result(baseline: bool = True, **changes) -> SimpleNamespace:
    fields = dict(trials=_trials(), best_score_=np.float64(0.9), strategy="random",
                  best_params_={"nodes": np.int64(16), "learning_rate": np.float64(0.0123456789)},
                  space=SPACE, baseline_=_baseline() if baseline else None, best_estimator_=None)
    return SimpleNamespace(**{**fields, **changes})


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "results"
    paths = save_result(_result(), folder, extra={"dataset": "penguins", "test_accuracy": 0.875})
    return folder, paths


# ----------------------------------------------------------------------
# what is written
# ----------------------------------------------------------------------
def test_the_files_written_are_plain_csv_and_json_and_nothing_is_pickled(saved):
    folder, paths = saved
    names = {"trials": "trials.csv", "best_params": "best_params.json",
             "space": "space.json", "baseline": "baseline.csv"}
    assert paths == {key: folder / name for key, name in names.items()}
    assert sorted(p.name for p in folder.iterdir()) == sorted(names.values())  # no temporaries
    for path in paths.values():
        raw = path.read_bytes()
        assert not raw.startswith(b"\x80")  # a pickle's first byte (protocol 2 and later)
        raw.decode("utf-8")  # text, not binary
    assert json.loads(paths["space"].read_text())["type"] == "SearchSpace"
    assert set(json.loads(paths["best_params"].read_text())) == {
        "strategy", "best_score", "best_params", "extra", "baseline"}  # the table's meaning
    header = paths["trials"].read_text().splitlines()[0]
    assert header == ("trial,round,strategy,status,score,score_std,nodes,learning_rate,"
                      "epochs_trained,fit_time,error,train_curve,val_curve")
    assert '"[0.5, 0.6, 0.7]"' in paths["trials"].read_text()  # curves as JSON lists


def test_without_a_baseline_or_an_estimator_only_three_files_are_written(tmp_path):
    paths = save_result(_result(baseline=False), tmp_path)
    assert sorted(paths) == ["best_params", "space", "trials"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best_params.json", "space.json", "trials.csv"]
    assert load_result(tmp_path).baseline_ is None


# ----------------------------------------------------------------------
# what is read back
# ----------------------------------------------------------------------
def test_loading_gives_back_equal_trials_with_curves_as_lists_and_errors_as_text(saved):
    folder, _ = saved
    loaded = load_result(folder)
    assert isinstance(loaded, SavedResult) and loaded.directory == folder
    pd.testing.assert_frame_equal(loaded.trials, _trials())
    for column in ("train_curve", "val_curve"):
        assert all(type(curve) is list for curve in loaded.trials[column])
        assert all(type(v) is float for curve in loaded.trials[column] for v in curve)
    assert loaded.trials.loc[1, "val_curve"] == [0.51, 0.61, 0.71]
    assert loaded.trials.loc[2, "train_curve"] == []
    assert loaded.trials["error"].tolist() == ["", "", ERROR, "", ""]
    assert all(type(e) is str for e in loaded.trials["error"])
    assert np.isnan(loaded.trials.loc[2, "score"])


def test_an_error_column_without_errors_comes_back_as_empty_strings_not_nan(tmp_path):
    trials = _trials()
    trials = trials[trials["status"] == "ok"].reset_index(drop=True)
    save_result(_result(trials=trials), tmp_path)
    assert "," * 2 + '"[' in (tmp_path / "trials.csv").read_text()  # an empty CSV cell
    loaded = load_result(tmp_path)
    assert loaded.trials["error"].tolist() == ["", "", "", ""]
    pd.testing.assert_frame_equal(loaded.trials, trials)


def test_loading_gives_back_the_params_score_strategy_space_and_baseline(saved):
    folder, _ = saved
    loaded = load_result(folder)
    assert loaded.best_params_ == {"nodes": 16, "learning_rate": 0.0123456789}
    assert [type(v) for v in loaded.best_params_.values()] == [int, float]  # not NumPy
    assert loaded.best_score_ == 0.9 and type(loaded.best_score_) is float
    assert loaded.strategy == "random"
    assert loaded.space == SPACE and loaded.space.names == ["nodes", "learning_rate"]
    assert repr(loaded.space) == repr(SPACE)
    pd.testing.assert_frame_equal(pd.DataFrame(loaded.baseline_), _baseline())
    # the table's values come back, and it prints whole, with what its numbers mean
    assert loaded.baseline_.attrs == {"scoring": "accuracy",
                                      "names": tuple(_baseline().index[:2])}
    assert "(accuracy; corrected resampled t-test" in repr(loaded.baseline_)
    assert repr(loaded.baseline_).splitlines()[0].split()[-1] == "p_value"


def test_a_tuple_parameter_comes_back_as_a_list(tmp_path):
    save_result(_result(best_params_={"hidden": (16, 8), "nodes": 16}), tmp_path)
    assert load_result(tmp_path).best_params_ == {"hidden": [16, 8], "nodes": 16}


def test_top_sorts_by_score_and_drops_failed_trials_and_the_curve_and_error_columns(saved):
    folder, _ = saved
    loaded = load_result(folder)
    top = loaded.top(2)
    assert top["trial"].tolist() == [1, 3]
    assert top["score"].tolist() == [0.9, 0.8]
    everything = loaded.top(10)
    assert everything["trial"].tolist() == [1, 3, 0, 4]  # the failed trial 2 is left out
    assert set(everything["status"]) == {"ok"}
    assert list(everything.columns) == [
        "trial", "round", "strategy", "status", "score", "score_std", "nodes", "learning_rate",
        "epochs_trained", "fit_time"]
    assert len(loaded.trials) == 5  # top() leaves the table alone


def test_extra_lands_in_best_params_json(saved, tmp_path):
    folder, paths = saved
    assert json.loads(paths["best_params"].read_text()) == {
        "strategy": "random", "best_score": 0.9,
        "best_params": {"nodes": 16, "learning_rate": 0.0123456789},
        "extra": {"dataset": "penguins", "test_accuracy": 0.875},
        "baseline": {"scoring": "accuracy"}}  # what the comparison's numbers mean
    save_result(_result(), tmp_path / "plain")
    assert json.loads((tmp_path / "plain" / "best_params.json").read_text())["extra"] == {}


# ----------------------------------------------------------------------
# mistakes
# ----------------------------------------------------------------------
def test_loading_a_folder_without_trials_csv_says_what_to_pass(tmp_path):
    (tmp_path / "best_params.json").write_text("{}")
    with pytest.raises(FileNotFoundError) as error:
        load_result(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{str(tmp_path)!r} holds no trials.csv")
    assert "pass the output folder of a `kerastune-kit tune` run (or of save_result)" in message


def test_saving_where_the_folder_cannot_be_created_raises_oserror_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    target = blocker / "results"
    with pytest.raises(OSError, match=re.escape(f"directory={str(target)!r} cannot be created")) \
            as error:
        save_result(_result(), target)
    assert "choose a writable output folder" in str(error.value)
    assert blocker.read_text() == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_saving_into_a_path_given_as_a_string_creates_the_parents(tmp_path):
    target = tmp_path / "deep" / "er" / "results"
    paths = save_result(_result(), str(target))
    assert all(isinstance(p, Path) and p.parent == target for p in paths.values())
    assert load_result(str(target)).best_params_ == {"nodes": 16, "learning_rate": 0.0123456789}
