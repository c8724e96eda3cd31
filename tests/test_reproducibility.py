"""One random_state, two runs: the same trials and the same scores (TensorFlow backend, CPU).

random_state=0 on purpose: Keras Tuner takes an oracle seed of 0 to mean "no seed".
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import Categorical, Float, Int, SearchSpace, load_penguins, make_preprocessor, tune


@pytest.fixture(scope="module")
def penguins_small():
    X, y = load_penguins(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, train_size=120, stratify=y, random_state=0)
    return X_train, y_train


@pytest.mark.slow
@pytest.mark.parametrize("strategy, kwargs", [
    ("random", dict(n_trials=3)),
    ("hyperband", dict(max_epochs=3, factor=3)),
])
def test_same_seed_same_trials_and_scores(penguins_small, tmp_path, strategy, kwargs):
    X, y = penguins_small
    space = SearchSpace(nodes=Int(8, 32, step=8), dropout=Categorical([0.0, 0.2]),
                        learning_rate=Float(1e-3, 3e-2, scale="log"))
    if strategy == "random":
        space = SearchSpace({**dict(space.items()), "epochs": Int(2, 4)})
    runs = [tune(X, y, space, strategy=strategy, preprocessor=make_preprocessor(),
                 random_state=0, compare_baseline=False, directory=tmp_path / f"run{i}",
                 **kwargs) for i in range(2)]
    columns = [c for c in runs[0].trials.columns if c != "fit_time"]
    pd.testing.assert_frame_equal(runs[0].trials[columns], runs[1].trials[columns])
    assert runs[0].best_params_ == runs[1].best_params_
