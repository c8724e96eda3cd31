"""Bad input across the public API: the error type, and a message that names the problem.

One table, so a reader can see at a glance what each entry point refuses. No case
trains a network: every error comes before training starts.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from kerastune_kit import (
    Categorical, Float, Int, KerasMLPClassifier, SearchSpace, build_mlp, load_penguins,
    make_preprocessor, sweep, tune,
)
from kerastune_kit.journal import open_search

X_OK = np.random.default_rng(0).normal(size=(30, 4)).astype("float32")
Y_OK = np.repeat([0, 1, 2], 10)
SPACE = SearchSpace(nodes=Int(8, 16, step=8))


def _fit(**params):
    return lambda: KerasMLPClassifier(epochs=1, **params).fit(X_OK, Y_OK)


def _fit_data(X, y):
    return lambda: KerasMLPClassifier(epochs=1).fit(X, y)


def _tune(X=X_OK, y=Y_OK, space=SPACE, **kwargs):
    return lambda: tune(X, y, space, compare_baseline=False, **kwargs)


def _with_nan():
    X = X_OK.copy()
    X[3, 1] = np.nan
    return X


def _resume_elsewhere():
    """Resume a random search in a folder that records a grid search (no training needed)."""
    folder = tempfile.mkdtemp()
    open_search(folder, {"strategy": "grid"}, resume=False)
    return tune(X_OK, Y_OK, SPACE, strategy="random", directory=folder, resume=True,
                compare_baseline=False)


CASES = [
    # (id, call, error type, fragments the message must contain)
    ("X with NaN", _fit_data(_with_nan(), Y_OK), ValueError, ["NaN", "make_preprocessor"]),
    ("X with inf", _fit_data(np.where(X_OK > 2, np.inf, X_OK), Y_OK), ValueError, ["infinity"]),
    ("object column", _fit_data(pd.DataFrame({"a": X_OK[:, 0], "b": ["x"] * 30}), Y_OK),
     ValueError, ["non-numeric", "'b'"]),
    ("string array", _fit_data(np.array([["a", "b"]] * 30), Y_OK), ValueError, ["non-numeric"]),
    ("one class", _fit_data(X_OK, np.zeros(30)), ValueError, ["only one class"]),
    ("lengths differ", _fit_data(X_OK, Y_OK[:20]), ValueError, ["30 rows", "20"]),
    ("y is None", _fit_data(X_OK, None), ValueError, ["y"]),
    ("sparse X", _fit_data(sp.csr_matrix(X_OK), Y_OK), TypeError, ["sparse"]),
    ("unknown activation", _fit(activation="relux"), ValueError, ["relux", "relu"]),
    ("unknown optimizer", _fit(optimizer="adamm"), ValueError, ["adamm", "adam"]),
    ("unknown initializer", _fit(kernel_initializer="he_unifrom"), ValueError, ["he_unifrom"]),
    ("negative L2", _fit(kernel_l2=-1e-3), ValueError, ["kernel_l2"]),
    ("negative activity L1", _fit(activity_l1=-1.0), ValueError, ["activity_l1"]),
    ("dropout 1", _fit(dropout=1.0), ValueError, ["dropout"]),
    ("zero nodes", _fit(nodes=0), ValueError, ["nodes"]),
    ("negative layers", _fit(n_layers=-1), ValueError, ["n_layers"]),
    ("bad hidden sizes", _fit(hidden_layer_sizes="64"), TypeError, ["hidden_layer_sizes"]),
    ("zero learning rate", _fit(learning_rate=0.0), ValueError, ["learning_rate"]),
    ("beta_1 of 1", _fit(beta_1=1.0), ValueError, ["beta_1"]),
    ("unknown parameter", lambda: KerasMLPClassifier(nodez=8).fit(X_OK, Y_OK), TypeError,
     ["nodez", "nodes"]),
    ("validation split 1", _fit(validation_split=1.0), ValueError, ["validation_split"]),
    ("build without shape", lambda: build_mlp(n_classes=3), ValueError, ["input_shape"]),
    ("build with one class", lambda: build_mlp(input_shape=4, n_classes=1), ValueError,
     ["n_classes"]),
    ("Int low > high", lambda: Int(10, 1), ValueError, ["10", "1"]),
    ("log Float at 0", lambda: Float(0.0, 1.0, scale="log"), ValueError, ["log"]),
    ("reverse-log outside (0, 1)", lambda: Float(0.5, 1.5, scale="reverse_log"), ValueError,
     ["reverse"]),
    ("empty choices", lambda: Categorical([]), ValueError, ["choices"]),
    ("name given twice", lambda: SearchSpace({"nodes": Int(8, 16)}, nodes=Int(8, 32)),
     ValueError, ["twice"]),
    ("space is not a SearchSpace", _tune(space={"nodes": [8, 16]}), TypeError, ["SearchSpace"]),
    ("empty space", _tune(space=SearchSpace()), ValueError, ["empty"]),
    ("unknown strategy", _tune(strategy="hyperbnad"), ValueError, ["hyperbnad", "hyperband"]),
    ("unknown space name", _tune(space=SearchSpace(nodez=Int(8, 16))), ValueError,
     ["nodez", "nodes"]),
    ("grid over a continuous dimension",
     _tune(space=SearchSpace(learning_rate=Float(1e-4, 1e-2, scale="log")), strategy="grid"),
     ValueError, ["learning_rate"]),
    ("epochs searched by hyperband",
     _tune(space=SearchSpace(epochs=Int(2, 4)), strategy="hyperband"), ValueError,
     ["epochs", "max_epochs"]),
    ("zero trials", _tune(n_trials=0), ValueError, ["n_trials"]),
    ("validation split 0 in tune", _tune(validation_split=0.0), ValueError, ["validation_split"]),
    ("raw penguins with preprocessor=None",
     lambda: tune(*load_penguins(return_X_y=True), SPACE, preprocessor=None,
                  compare_baseline=False),
     ValueError, ["non-numeric", "preprocessor='auto'", "preprocessor=make_preprocessor()"]),
    ("too few samples for the folds", _tune(y=np.r_[np.zeros(28), [1, 1]], cv=3), ValueError,
     ["too few samples", "cv=3"]),
    ("one class in tune", _tune(y=np.zeros(30)), ValueError, ["only one class"]),
    ("resume without a folder", _tune(resume=True), ValueError, ["resume=True", "directory"]),
    ("resume given as text", _tune(resume="yes", directory="unused"), TypeError, ["resume"]),
    ("failure limit 0", _tune(max_consecutive_failures=0), ValueError,
     ["max_consecutive_failures"]),
    ("resume in a folder of another search", lambda: _resume_elsewhere(), ValueError,
     ["holds a different search", "strategy was 'grid', now 'random'", "another directory"]),
    ("sweep over nothing", lambda: sweep(X_OK, Y_OK, "nodes", []), ValueError, ["values"]),
    ("sweep of an unknown parameter", lambda: sweep(X_OK, Y_OK, "nodez", [8]), ValueError,
     ["nodez", "nodes"]),
    ("preprocessor with an unknown column",
     lambda: make_preprocessor(numeric_features=["bill_lenght_mm"]).fit(
         load_penguins(return_X_y=True)[0]), ValueError, ["bill_lenght_mm"]),
]


# ----------------------------------------------------------------------
# the cases issue 13 found, by kind
# ----------------------------------------------------------------------
def _sweep(**kwargs):
    return lambda: sweep(X_OK, Y_OK, "nodes", kwargs.pop("values", [8]), **kwargs)


SILENT = [  # each used to train on another value than the one given, or not at all
    ("batch size 0", _fit(batch_size=0), ValueError, ["batch_size=0", "integer >= 1"]),
    ("negative batch size", _fit(batch_size=-5), ValueError, ["batch_size=-5"]),
    ("batch size as text", _fit(batch_size="32"), TypeError, ["batch_size='32'", "type str"]),
    ("zero epochs", lambda: KerasMLPClassifier(epochs=0).fit(X_OK, Y_OK), ValueError,
     ["epochs=0", "at least 1"]),
    ("negative epochs", lambda: KerasMLPClassifier(epochs=-1).fit(X_OK, Y_OK), ValueError,
     ["epochs=-1"]),
    ("epochs given as True", lambda: KerasMLPClassifier(epochs=True).fit(X_OK, Y_OK), TypeError,
     ["epochs=True", "type bool"]),
    ("batch size 0 in a search space", _tune(space=SearchSpace(batch_size=Categorical([0]))),
     ValueError, ["space['batch_size']", "batch_size=0"]),
    ("sweep over no seeds", _sweep(seeds=()), ValueError, ["seeds=()", "non-empty"]),
    ("partial_fit with a typo", lambda: KerasMLPClassifier(nodez=5).partial_fit(X_OK, Y_OK),
     TypeError, ["nodez", "nodes"]),
]
CRASHES = [  # each used to end deep inside TensorFlow, Keras Tuner or pandas
    ("fractional epochs", lambda: KerasMLPClassifier(epochs=1.5).fit(X_OK, Y_OK), TypeError,
     ["epochs=1.5"]),
    ("zero epochs in a search space", _tune(space=SearchSpace(epochs=Int(0, 1))), ValueError,
     ["space['epochs']", "epochs=0"]),
    ("zero epochs as a fixed setting", _tune(estimator_params={"epochs": 0}), ValueError,
     ["epochs=0"]),
    ("hyperband with max_epochs 0", _tune(strategy="hyperband", max_epochs=0), ValueError,
     ["max_epochs=0"]),
    ("coarse-to-fine with no rounds", _tune(strategy="coarse-to-fine", rounds=0), ValueError,
     ["rounds=0"]),
    ("a network too large for memory", _fit(nodes=10**9), ValueError,
     ["weights", "GB", "lower nodes"]),
    ("a too large network in a search",
     _tune(space=SearchSpace(nodes=Categorical([8, 10**9]), n_layers=Categorical([3]))),
     ValueError, ["GB", "lower nodes"]),
]
VAGUE = [  # each used to get a message that did not name the problem
    ("y with a missing label", _fit_data(X_OK, np.r_[Y_OK[:-1], np.nan]), ValueError,
     ["missing label", "row 29"]),
    ("continuous y", _fit_data(X_OK, np.linspace(0.5, 3.5, 30)), ValueError,
     ["continuous", "class labels"]),
    ("tune with a missing label", _tune(y=np.r_[Y_OK[:-1].astype(float), np.nan]), ValueError,
     ["missing label"]),
    ("random_state as text", _fit(random_state="abc"), TypeError, ["random_state='abc'"]),
    ("misspelt fixed setting in tune", _tune(estimator_params={"dropuot": 0.2}), TypeError,
     ["dropuot", "dropout"]),
    ("top_k 0", _tune(strategy="coarse-to-fine", top_k=0), ValueError, ["top_k=0"]),
    ("directory is a file", lambda: tune(X_OK, Y_OK, SPACE, directory=tempfile.mkstemp()[1],
                                         compare_baseline=False), ValueError,
     ["is a file", "folder"]),
    ("preprocessor given as text", _tune(preprocessor="scale"), TypeError,
     ["preprocessor='scale'", "make_preprocessor"]),
    ("n_jobs 0", _tune(n_jobs=0), ValueError, ["n_jobs=0"]),
    ("dropout in a space out of range", _tune(space=SearchSpace(dropout=Categorical([0.2, 1.0]))),
     ValueError, ["space['dropout']", "dropout=1.0"]),
    ("unknown activation in a space",
     _tune(space=SearchSpace(activation=Categorical(["relu", "rleu"]))), ValueError,
     ["activation='rleu'", "Did you mean 'relu'"]),
    ("sweep of a bad value", _sweep(values=[8, 0]), ValueError, ["nodes=0"]),
]
CASES = CASES + SILENT + CRASHES + VAGUE


def test_the_table_is_large_enough():
    assert len(CASES) >= 30
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("call, error, fragments", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_message_that_names_it(call, error, fragments):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
