"""What a search's fits share: preprocessing fitted once a fold, candidates trained ahead in the
background, predictions through one trace a layout of Dense layers."""

from __future__ import annotations

import pickle
import threading

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from kerastune_kit import KerasMLPClassifier, KerasMLPRegressor, SearchSpace, tune
from kerastune_kit._dense_forward import _function, dense_layout
from kerastune_kit._fitted_memo import FITTED_KEY, FittedMemo
from kerastune_kit.errors import TooManyFailures
from kerastune_kit.fastfit import fast_predict
from kerastune_kit.fold_batches import STATS
from kerastune_kit.space import Categorical, Float, Int
from kerastune_kit.strategies._stacking import StackAhead


class CountingScaler(StandardScaler):
    """A StandardScaler that counts its fits, and its transforms by row count (in every clone)."""

    fits = 0
    transforms: dict = {}

    def fit(self, X, y=None, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)

    def transform(self, X, copy=None):
        type(self).transforms[len(X)] = type(self).transforms.get(len(X), 0) + 1
        return super().transform(X, copy=copy)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    return X * 10 + 3, y


def _stack_threads():
    return [t for t in threading.enumerate() if t.name.startswith("kerastune-stack")]


# ----------------------------------------------------------------------
# preprocessing fitted once a fold
# ----------------------------------------------------------------------
@pytest.mark.parametrize("stacked", ["1", "0"])
def test_a_search_fits_its_preprocessor_once_a_fold_and_once_for_the_refit(data, monkeypatch,
                                                                             stacked):
    monkeypatch.setenv("KERASTUNE_STACK_FOLDS", stacked)
    CountingScaler.fits = 0
    result = tune(*data, SearchSpace(learning_rate=Float(1e-3, 1e-2)), strategy="random",
                  n_trials=3, cv=3, preprocessor=CountingScaler(), random_state=0,
                  estimator_params={"epochs": 2}, compare_baseline=False)
    assert CountingScaler.fits == 3 + 1  # not 3 candidates x 3 folds (x 2 when stacked) + 1
    assert result.best_estimator_.memory is None  # the refitted pipeline keeps no search data
    assert not hasattr(result.best_estimator_[0], FITTED_KEY)  # (nor the memo's mark)
    assert (result.trials["status"] == "ok").all()


def test_each_folds_held_out_rows_are_transformed_once_for_all_candidates(data):
    CountingScaler.transforms = {}
    tune(*data, SearchSpace(learning_rate=Float(1e-3, 1e-2)), strategy="random", n_trials=4,
         cv=3, preprocessor=CountingScaler(), random_state=0, estimator_params={"epochs": 2},
         compare_baseline=False)
    assert CountingScaler.transforms.get(len(data[0]) // 3) == 3  # a fold's 50 rows: not 4 x 3


@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_a_memo_pipeline_scores_as_pipeline_score(data, scoring):
    from sklearn.metrics import get_scorer

    from kerastune_kit._scoring import score_with

    X, y = data
    memo = FittedMemo()
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("net", KerasMLPClassifier(nodes=8, epochs=2, random_state=0))],
                        memory=memo).fit(X[:100], y[:100])
    plain = clone(pipeline).set_params(memory=None).fit(X[:100], y[:100])
    expected = (plain.score(X[100:], y[100:]) if scoring is None
                else get_scorer(scoring)(plain, X[100:], y[100:]))
    hits = memo.hits
    assert score_with(pipeline, X[100:], y[100:], scoring) == pytest.approx(expected, abs=1e-12)
    assert score_with(pipeline, X[100:], y[100:], scoring) == pytest.approx(expected, abs=1e-12)
    assert memo.hits == hits + 1  # the held-out rows transformed once
    rows = memo.transformed(pipeline, X[100:])
    rows[:] = 0  # (a copy: what the memo keeps is untouched)
    assert score_with(pipeline, X[100:], y[100:], scoring) == pytest.approx(expected, abs=1e-12)


def test_the_memo_hands_out_copies_of_what_it_fitted(data):
    X, y = data
    memo = FittedMemo()
    CountingScaler.fits = 0
    first, fitted = memo.fit_transform(CountingScaler(), X, y)
    again, refitted = memo.fit_transform(CountingScaler(), X, y)
    assert CountingScaler.fits == 1 and memo.hits == 1
    np.testing.assert_array_equal(first, again)
    assert again is not first and refitted is not fitted  # no two pipelines share a fit
    np.testing.assert_array_equal(refitted.mean_, fitted.mean_)
    memo.fit_transform(CountingScaler(with_mean=False), X, y)  # other parameters: fitted anew
    memo.fit_transform(CountingScaler(), X[:-1], y[:-1])  # other rows: fitted anew
    assert CountingScaler.fits == 3


def test_pipelines_share_the_memo_but_a_pickled_one_carries_it_empty(data):
    X, y = data
    memo = FittedMemo()
    pipe = Pipeline([("scale", CountingScaler()), ("model", LogisticRegression())], memory=memo)
    CountingScaler.fits = 0
    pipe.fit(X, y)
    copy = clone(pipe)
    assert copy.memory is memo
    copy.fit(X, y)
    assert CountingScaler.fits == 1
    np.testing.assert_array_equal(copy.predict(X), pipe.predict(X))
    loaded = pickle.loads(pickle.dumps(pipe))
    assert isinstance(loaded.memory, FittedMemo) and loaded.memory is not memo
    loaded.fit(X, y)
    assert CountingScaler.fits == 2  # its memo is empty: nothing of the data travelled


def test_fits_with_fit_parameters_and_oversized_results_are_not_remembered(data):
    X, y = data
    memo = FittedMemo()
    pipe = Pipeline([("scale", CountingScaler()), ("model", LogisticRegression())], memory=memo)
    CountingScaler.fits = 0
    weights = np.linspace(0.5, 1.5, len(y))
    pipe.fit(X, y, scale__sample_weight=weights)
    pipe.fit(X, y, scale__sample_weight=weights[::-1])
    assert CountingScaler.fits == 2 and memo.hits == 0
    small = FittedMemo(max_bytes=X.nbytes - 1)
    small.fit_transform(CountingScaler(), X, y)
    small.fit_transform(CountingScaler(), X, y)
    assert CountingScaler.fits == 4 and small.hits == 0
    # held-out rows transformed for scoring share the bound with the fits
    bounded = FittedMemo(max_bytes=X[:100].nbytes + X[100:].nbytes // 2)
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())],
                    memory=bounded).fit(X[:100], y[:100])
    for _ in range(2):
        bounded.transformed(pipe, X[100:])
    assert bounded.hits == 0  # (the fold's fit is kept; its held-out rows would pass the bound)
    roomy = FittedMemo()
    pipe.set_params(memory=roomy).fit(X[:100], y[:100])
    for _ in range(2):
        roomy.transformed(pipe, X[100:])
    assert roomy.hits == 1


# ----------------------------------------------------------------------
# candidates trained ahead, in the background
# ----------------------------------------------------------------------
def _random_search(data, monkeypatch, ahead: str, expect_stacked=True, **settings):
    monkeypatch.setenv("KERASTUNE_STACK_AHEAD", ahead)
    space = SearchSpace(learning_rate=Float(1e-3, 3e-2, scale="log"), batch_size=Int(4, 16))
    before = STATS["stacked"]
    result = tune(*data, space, strategy="random", n_trials=5, cv=3, random_state=0,
                  estimator_params={"epochs": 3, "activation": "tanh"}, compare_baseline=False,
                  **settings)
    assert (STATS["stacked"] > before) == expect_stacked
    return result


def test_candidates_trained_ahead_score_as_candidates_trained_in_turn(data, monkeypatch):
    in_turn = _random_search(data, monkeypatch, "0")
    ahead = _random_search(data, monkeypatch, "1")
    np.testing.assert_allclose(ahead.trials["score"], in_turn.trials["score"], atol=1e-12)
    assert ahead.best_params_ == in_turn.best_params_
    for a, b in zip(ahead.trials["train_curve"], in_turn.trials["train_curve"]):
        np.testing.assert_array_equal(a, b)
    assert not _stack_threads()  # the background training ended with the search


class EpochCounter(keras.callbacks.Callback):
    """A callback of the user's own: its fits train one by one (not stacked)."""

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1


def test_fits_trained_alone_in_the_background_repeat_exactly(data, monkeypatch):
    """Lone fits seed NumPy's global generator: ahead of the search they run one at a time."""
    runs = [_random_search(data, monkeypatch, ahead, callbacks=[EpochCounter()],
                           expect_stacked=False) for ahead in ("1", "1", "0")]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.trials["score"], runs[0].trials["score"])
    assert not _stack_threads()


def test_a_search_stopped_by_failures_stops_its_background_training(data, monkeypatch, tmp_path):
    monkeypatch.setenv("KERASTUNE_STACK_AHEAD", "1")
    space = SearchSpace(learning_rate=Categorical([200.0, 300.0, 400.0, 500.0, 600.0, 700.0]))
    with pytest.raises(TooManyFailures):
        tune(*data, space, strategy="grid", cv=3, random_state=0, directory=tmp_path / "s",
             estimator_params={"epochs": 2, "optimizer": "sgd"}, compare_baseline=False,
             max_consecutive_failures=2)
    assert not _stack_threads()
    records = (tmp_path / "s").rglob("*.jsonl")
    lines = [line for path in records for line in path.read_text().splitlines()
             if '"status": "failed"' in line]
    assert len(lines) == 2 * 3  # the two candidates the search scored; none trained ahead


def test_a_batch_out_of_turn_is_not_handed_over():
    ahead = StackAhead(estimator=None, candidates=[{"a": 1}, {"a": 2}], splits=[], X=None,
                       y=None, ahead=0)
    try:
        assert not ahead.take([{"a": 2}])
        assert ahead.taken == 0
    finally:
        ahead.close()


# ----------------------------------------------------------------------
# predictions through one trace a layout
# ----------------------------------------------------------------------
@pytest.mark.parametrize("estimator", [
    KerasMLPClassifier(hidden_layer_sizes=(8,), activation="tanh", dropout=0.2),
    KerasMLPClassifier(hidden_layer_sizes=(37, 5, 64), activation="sigmoid"),
    KerasMLPClassifier(hidden_layer_sizes=(16,), activation="selu", kernel_l2=1e-3),
    KerasMLPRegressor(hidden_layer_sizes=(12, 12), activation="elu"),
])
def test_predictions_of_dense_stacks_are_model_predicts_bit_for_bit(data, estimator):
    X, y = data
    X = X.astype("float32")
    target = X[:, 0] if isinstance(estimator, KerasMLPRegressor) else y
    model = clone(estimator).set_params(epochs=1, random_state=0).fit(X, target).model_
    assert dense_layout(model) is not None
    np.testing.assert_array_equal(fast_predict(model, X),
                                  model.predict(X, batch_size=4096, verbose=0))


def test_one_trace_serves_every_width_of_a_layout(data):
    X, y = data
    X = X.astype("float32")
    models = [KerasMLPClassifier(hidden_layer_sizes=(w, w), activation="relu", epochs=1,
                                 random_state=0).fit(X, y).model_ for w in (8, 40, 100)]
    for model in models:
        fast_predict(model, X)
    steps = dense_layout(models[0])[0]
    assert all(dense_layout(m)[0] == steps for m in models)
    assert _function(steps).experimental_get_tracing_count() == 1


def test_a_network_with_batch_normalisation_predicts_through_its_template(data):
    X, y = data
    X = X.astype("float32")
    model = KerasMLPClassifier(hidden_layer_sizes=(8,), batch_norm=True, epochs=1,
                               random_state=0).fit(X, y).model_
    assert dense_layout(model) is None
    np.testing.assert_allclose(fast_predict(model, X),
                               model.predict(X, batch_size=4096, verbose=0), rtol=1e-6)
