"""Every kind of class target: binary (softmax or sigmoid), multiclass, one-hot, multilabel,
and every loss-target pairing accepted or refused before training."""

from __future__ import annotations

import numpy as np
import pytest

from kerastune_kit import KerasMLPClassifier
from kerastune_kit._targets import ClassTargetEncoder, classifier_plan, regression_loss
from kerastune_kit.errors import InvalidParameterValue

FAST = dict(nodes=16, n_layers=1, epochs=15, batch_size=16, learning_rate=0.03, random_state=0)

BINARY = np.array([0, 1] * 10)
MULTICLASS = np.array([0, 1, 2] * 10)
ONE_HOT = np.eye(3, dtype=int)[MULTICLASS]
MULTILABEL = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]] * 5)

ACCEPTED = "accepted"
# (target, loss) -> (output layer, encoding) or the fragment of the refusal
PAIRINGS = {
    ("binary", "auto"): ("softmax", "codes"),
    ("binary", "sparse_categorical_crossentropy"): ("softmax", "codes"),
    ("binary", "categorical_crossentropy"): ("softmax", "one-hot"),
    ("binary", "binary_crossentropy"): ("sigmoid", "binary"),
    ("binary", "mse"): "regression loss",
    ("multiclass", "auto"): ("softmax", "codes"),
    ("multiclass", "sparse_categorical_crossentropy"): ("softmax", "codes"),
    ("multiclass", "categorical_crossentropy"): ("softmax", "one-hot"),
    ("multiclass", "binary_crossentropy"): "binary_crossentropy needs two classes",
    ("multiclass", "huber"): "regression loss",
    ("one-hot", "auto"): ("softmax", "one-hot"),
    ("one-hot", "categorical_crossentropy"): ("softmax", "one-hot"),
    ("one-hot", "sparse_categorical_crossentropy"): ("softmax", "codes"),
    ("one-hot", "binary_crossentropy"): ("sigmoid", "indicator"),
    ("one-hot", "mae"): "regression loss",
    ("multilabel", "auto"): ("sigmoid", "indicator"),
    ("multilabel", "binary_crossentropy"): ("sigmoid", "indicator"),
    ("multilabel", "sparse_categorical_crossentropy"): "does not fit a multilabel",
    ("multilabel", "categorical_crossentropy"): "does not fit a multilabel",
    ("multilabel", "log_cosh"): "regression loss",
}
TARGETS = {"binary": BINARY, "multiclass": MULTICLASS, "one-hot": ONE_HOT,
           "multilabel": MULTILABEL}


@pytest.mark.parametrize("target, loss", sorted(PAIRINGS))
def test_every_loss_target_pairing_is_decided_before_anything_is_built(target, loss):
    y = TARGETS[target]
    n = y.shape[1] if y.ndim == 2 else len(np.unique(y))
    expected = PAIRINGS[(target, loss)]
    if isinstance(expected, str):
        with pytest.raises(InvalidParameterValue, match=expected) as info:
            classifier_plan(y, loss, n)
        assert f"loss={loss!r}" in str(info.value)
    else:
        plan = classifier_plan(y, loss, n)
        assert (plan.output, plan.encoding) == expected


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "binary_crossentropy"])
def test_a_refused_pairing_fails_fit_before_training(loss):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = MULTICLASS[:20] if loss == "binary_crossentropy" else MULTILABEL
    est = KerasMLPClassifier(**FAST, loss=loss)
    with pytest.raises(ValueError, match=f"loss='{loss}'"):
        est.fit(X, y)
    assert not hasattr(est, "history_") and not hasattr(est, "model_")


def test_regression_loss_names():
    assert regression_loss("mean_squared_error") == "mse"
    assert regression_loss("auto") == "mse"
    with pytest.raises(InvalidParameterValue, match="KerasMLPClassifier"):
        regression_loss("binary_crossentropy")


def test_encoder_round_trip_for_string_labels():
    y = np.array(["b", "a", "c", "a"])
    enc = ClassTargetEncoder("one-hot").fit(y)
    onehot = enc.transform(y)
    assert onehot.shape == (4, 3)
    assert list(enc.inverse_transform(onehot)) == list(y)


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] + 0.5 * X[:, 1] > 0


def test_binary_with_a_sigmoid_unit():
    X, y = _blobs()
    y = np.where(y, "yes", "no")
    est = KerasMLPClassifier(**FAST, loss="binary_crossentropy").fit(X, y)
    out = est.model_.get_layer("output")
    assert out.units == 1 and out.activation.__name__ == "sigmoid"
    proba = est.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(est.predict(X)) <= {"yes", "no"}
    assert est.score(X, y) > 0.9
    assert est.target_kind_ == "binary"


def test_binary_default_stays_a_two_unit_softmax():
    X, y = _blobs()
    est = KerasMLPClassifier(**FAST).fit(X, y)
    out = est.model_.get_layer("output")
    assert out.units == 2 and out.activation.__name__ == "softmax"
    assert est.score(X, y) > 0.9


def test_categorical_crossentropy_on_binary_labels_trains():
    # scikeras crashed inside Keras here; the labels are one-hot encoded for the loss
    X, y = _blobs()
    est = KerasMLPClassifier(**FAST, loss="categorical_crossentropy").fit(X, y.astype(int))
    assert est.score(X, y.astype(int)) > 0.9


def test_multilabel_gets_one_sigmoid_unit_per_label():
    X, _ = _blobs()
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(int)
    est = KerasMLPClassifier(**FAST).fit(X, Y)
    assert est.target_kind_ == "multilabel"
    out = est.model_.get_layer("output")
    assert out.units == 3 and out.activation.__name__ == "sigmoid"
    pred = est.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype
    assert set(np.unique(pred)) <= {0, 1}
    assert est.predict_proba(X).shape == (120, 3)
    assert (pred == Y).mean() > 0.85


def test_one_hot_y_is_a_multiclass_target_over_its_columns():
    X, _ = _blobs()
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    Y = np.eye(3)[labels]
    est = KerasMLPClassifier(**FAST).fit(X, Y)
    assert est.target_kind_ == "one-hot"
    assert list(est.classes_) == [0, 1, 2]
    assert est.model_.get_layer("output").activation.__name__ == "softmax"
    pred = est.predict(X)
    assert pred.shape == (120, 3) and (pred.sum(axis=1) == 1).all()  # one-hot rows back
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
    assert est.score(X, Y) > 0.8


def test_a_2d_y_that_is_not_0_1_is_refused_with_the_reason():
    X, _ = _blobs(20)
    with pytest.raises(ValueError, match="values other than 0 and 1"):
        KerasMLPClassifier(**FAST).fit(X, np.arange(40).reshape(20, 2))
