"""Safe loading: saved models load with Keras' safe mode on; results are plain data, never pickles."""

from __future__ import annotations

import json
import pickle

import keras
import numpy as np
import pytest

from kerastune_kit import Int, SearchSpace, load_checkpoint, tune
from kerastune_kit.results import load_result, save_result


def test_a_model_file_carrying_python_code_is_refused(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)  # arbitrary code in the file
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        load_checkpoint(path)
    # the same file does load when safe mode is switched off: the refusal is safe mode's
    assert keras.saving.load_model(path, safe_mode=False) is not None


def test_a_results_folder_holds_only_plain_files_and_loads_without_unpickling(iris, tmp_path):
    X, y = iris
    result = tune(X[:90], y[:90], SearchSpace(nodes=Int(4, 8, step=4)), strategy="grid", cv=2,
                  estimator_params={"epochs": 1}, directory=tmp_path / "search",
                  random_state=0, compare_baseline=True)
    paths = save_result(result, tmp_path / "results")
    files = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert files == ["baseline.csv", "best_model.keras", "best_params.json", "space.json",
                     "trials.csv"]
    for name in ("baseline.csv", "best_params.json", "space.json", "trials.csv"):
        text = (tmp_path / "results" / name).read_text(encoding="utf-8")  # plain text
        assert not text.startswith("\x80")  # no pickle header
    json.loads(paths["best_params"].read_text())

    # load_result reads CSV/JSON only: a pickle planted under the expected name is not run
    planted = pickle.dumps(print)
    saved = load_result(tmp_path / "results")
    assert saved.best_params_ == result.best_params_
    (tmp_path / "results" / "space.json").write_bytes(planted)
    with pytest.raises(ValueError):
        load_result(tmp_path / "results")

    model = load_checkpoint(paths["best_model"])
    probabilities = model.predict(X[:5].astype("float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
