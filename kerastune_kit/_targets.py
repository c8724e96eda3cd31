"""What a target ``y`` is, which output layer and loss fit it, and how it is encoded.

The estimators decide here, before anything is built, what network a target
needs:

=====================  ==========================  ==========================================
target                 output layer                losses accepted (first: ``loss="auto"``)
=====================  ==========================  ==========================================
two classes (1-d)      2-unit softmax              sparse_categorical_crossentropy,
                       (1 sigmoid unit with BCE)   categorical_crossentropy, binary_crossentropy
k > 2 classes (1-d)    k-unit softmax              sparse_categorical_crossentropy,
                                                   categorical_crossentropy
one-hot (2-d, one 1    k-unit softmax              categorical_crossentropy,
a row)                 (k sigmoid units with BCE)  sparse_categorical_crossentropy,
                                                   binary_crossentropy (then multilabel)
multilabel (2-d 0/1)   k sigmoid units             binary_crossentropy
numbers (regressor)    linear units                mse, mae, huber, log_cosh
=====================  ==========================  ==========================================

A loss that does not fit the target is refused with a message naming the
loss, the target and the losses that fit. Keras ``Loss`` objects are taken
as given (the output layer then follows the target). Nothing here imports
Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .errors import InvalidParameterValue

__all__ = ["TargetPlan", "classifier_plan", "regression_loss", "ClassTargetEncoder", "infer_task",
           "TargetScaler", "CLASSIFIER_LOSSES", "REGRESSION_LOSSES", "weighted_mean_std"]

#: Losses for class targets.
CLASSIFIER_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                     "binary_crossentropy")
#: Losses for numeric targets (Keras names), with the long spellings Keras also takes.
REGRESSION_LOSSES = ("mse", "mae", "huber", "log_cosh")
_REGRESSION_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae",
                       "logcosh": "log_cosh"}


@dataclass(frozen=True)
class TargetPlan:
    """How one classification target is trained.

    Attributes
    ----------
    kind : {"binary", "multiclass", "one-hot", "multilabel"}
    output : {"softmax", "sigmoid"}
        The output layer's activation.
    loss : str or keras.losses.Loss
        The loss compiled into the network.
    encoding : {"codes", "one-hot", "binary", "indicator"}
        What the network is trained on: integer class codes, one-hot rows,
        a 0/1 column, or the 0/1 indicator matrix itself.
    """

    kind: str
    output: str
    loss: Any
    encoding: str


def _target_kind(y: np.ndarray, n_classes: int) -> str:
    if y.ndim == 1:
        return "binary" if n_classes == 2 else "multiclass"
    if y.shape[1] >= 2 and np.all(y.sum(axis=1) == 1):
        return "one-hot"
    return "multilabel"


def _refuse(loss: str, kind: str, fits: tuple[str, ...], extra: str = "") -> None:
    raise InvalidParameterValue(
        f"loss={loss!r} does not fit a {kind} target: use one of {list(fits)} "
        f"(or loss='auto').{extra}")


def classifier_plan(y: np.ndarray, loss: Any, n_classes: int) -> TargetPlan:
    """Decide the output layer, loss and encoding for a class target ``y``.

    Parameters
    ----------
    y : ndarray
        1-d labels, or a 2-d 0/1 indicator matrix (one-hot or multilabel).
    loss : str or keras.losses.Loss
        The estimator's ``loss`` parameter (``"auto"`` picks the first that fits).
    n_classes : int
        Number of classes (1-d ``y``) or columns (2-d ``y``).

    Raises
    ------
    InvalidParameterValue
        The loss does not fit the target (e.g. ``binary_crossentropy`` on
        three classes, a regression loss on classes).
    """
    kind = _target_kind(y, n_classes)
    if not isinstance(loss, str):  # a Keras Loss object: taken as given
        if kind == "multilabel":
            return TargetPlan(kind, "sigmoid", loss, "indicator")
        return TargetPlan(kind, "softmax", loss, "one-hot" if kind == "one-hot" else "codes")
    name = loss.lower()
    if name in REGRESSION_LOSSES or name in _REGRESSION_ALIASES:
        raise InvalidParameterValue(
            f"loss={loss!r} is a regression loss and y holds class labels ({kind}): use "
            "kerastune_kit.KerasMLPRegressor for numeric targets, or a classification loss "
            f"{list(CLASSIFIER_LOSSES)}.")
    if kind == "multilabel":
        if name in ("auto", "binary_crossentropy"):
            return TargetPlan(kind, "sigmoid", "binary_crossentropy", "indicator")
        _refuse(loss, "multilabel (2-d 0/1 y with rows holding several or no 1s)",
                ("binary_crossentropy",),
                " Softmax losses need exactly one class a row; multilabel columns are "
                "independent sigmoid units.")
    if kind == "one-hot":
        if name in ("auto", "categorical_crossentropy"):
            return TargetPlan(kind, "softmax", "categorical_crossentropy", "one-hot")
        if name == "sparse_categorical_crossentropy":
            return TargetPlan(kind, "softmax", name, "codes")
        return TargetPlan("multilabel", "sigmoid", name, "indicator")  # binary_crossentropy
    if name in ("auto", "sparse_categorical_crossentropy"):
        return TargetPlan(kind, "softmax", "sparse_categorical_crossentropy", "codes")
    if name == "categorical_crossentropy":
        return TargetPlan(kind, "softmax", name, "one-hot")
    if kind == "binary":  # binary_crossentropy
        return TargetPlan(kind, "sigmoid", name, "binary")
    _refuse(loss, f"multiclass ({n_classes} classes)",
            ("sparse_categorical_crossentropy", "categorical_crossentropy"),
            " binary_crossentropy needs two classes, or a 2-d 0/1 multilabel y.")
    raise AssertionError("unreachable")


def regression_loss(loss: Any) -> Any:
    """The Keras name of a regression loss (``"mse"`` for ``"mean_squared_error"``).

    Raises
    ------
    InvalidParameterValue
        A classification loss, or an unknown name.
    """
    if not isinstance(loss, str):
        return loss
    name = _REGRESSION_ALIASES.get(loss.lower(), loss.lower())
    if name == "auto":
        return "mse"
    if name in REGRESSION_LOSSES:
        return name
    hint = (" It is a classification loss: use kerastune_kit.KerasMLPClassifier for class "
            "labels." if name in CLASSIFIER_LOSSES else "")
    raise InvalidParameterValue(
        f"loss={loss!r} does not fit a regression target: use one of "
        f"{list(REGRESSION_LOSSES)}.{hint}")


class ClassTargetEncoder(BaseEstimator, TransformerMixin):
    """Encode class targets for the network and decode its outputs.

    Parameters
    ----------
    encoding : {"codes", "one-hot", "binary", "indicator"}
        See :class:`TargetPlan`.
    categories : array-like, optional
        All the classes (``partial_fit(classes=...)``); default: those in ``y``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels (1-d ``y``), or the column indices ``0..k-1`` (2-d ``y``).
    """

    def __init__(self, encoding: str = "codes", categories=None):
        self.encoding = encoding
        self.categories = categories

    def fit(self, y: np.ndarray) -> "ClassTargetEncoder":
        y = np.asarray(y)
        self.y_ndim_ = y.ndim
        self.y_dtype_ = y.dtype
        if y.ndim == 2:
            self.classes_ = np.arange(y.shape[1])
        elif self.categories is not None:
            self.classes_ = np.unique(np.asarray(self.categories))
        else:
            self.classes_ = np.unique(y)
        self.n_classes_ = len(self.classes_)
        return self

    def _codes(self, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2:
            return y.argmax(axis=1).astype("int32")
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"y has labels not seen in the first fit: {list(np.unique(y[unseen]))[:5]}; "
                f"known classes: {list(self.classes_)}. Pass every class to "
                "partial_fit(..., classes=...) on the first call.")
        return codes.astype("int32")

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if self.encoding == "indicator":
            return y.astype("float32")
        codes = self._codes(y)
        if self.encoding == "codes":
            return codes
        if self.encoding == "binary":
            return codes.astype("float32").reshape(-1, 1)
        return np.eye(self.n_classes_, dtype="float32")[codes]

    def inverse_transform(self, raw: np.ndarray, return_proba: bool = False) -> np.ndarray:
        raw = np.asarray(raw, dtype="float64")
        if self.encoding == "binary":
            p = raw.reshape(-1)
            proba = np.column_stack([1 - p, p])
        else:
            proba = raw
        if return_proba:
            return proba
        if self.encoding == "indicator":
            return (proba > 0.5).astype(self.y_dtype_)
        codes = proba.argmax(axis=1)
        if self.y_ndim_ == 2:  # one-hot in, one-hot out
            return np.eye(self.n_classes_, dtype=self.y_dtype_)[codes]
        return self.classes_[codes]

    def get_metadata(self) -> dict:
        return {"classes_": self.classes_, "n_classes_": self.n_classes_,
                "n_outputs_": 1, "n_outputs_expected_": 1}


def weighted_mean_std(y: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of ``y`` under ``weights`` (1 for a constant column)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype="float64")
    if w.sum() <= 0:
        w = np.ones(len(y))
    mean = np.average(y, axis=0, weights=w)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=w))
    return mean, np.where(std > 0, std, 1.0)


class TargetScaler(BaseEstimator, TransformerMixin):
    """Standardise regression targets for training and undo it on predictions.

    Parameters
    ----------
    scale : bool, default True
        Centre and scale each target column (weighted by ``sample_weight``
        when given), so that one learning rate suits targets of any size.
        ``False`` trains on ``y`` as it is.
    sample_weight : ndarray, optional
        Weights of the rows, for the mean and standard deviation.
    """

    def __init__(self, scale: bool = True, sample_weight=None):
        self.scale = scale
        self.sample_weight = sample_weight

    def fit(self, y: np.ndarray) -> "TargetScaler":
        y = np.asarray(y, dtype="float64")
        self.y_ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        if self.scale:
            self.mean_, self.scale_ = weighted_mean_std(y2, self.sample_weight)
        else:
            self.mean_, self.scale_ = np.zeros(y2.shape[1]), np.ones(y2.shape[1])
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        y2 = np.asarray(y, dtype="float64").reshape(len(y), -1)
        return ((y2 - self.mean_) / self.scale_).astype("float32")

    def inverse_transform(self, raw: np.ndarray) -> np.ndarray:
        y = np.asarray(raw, dtype="float64").reshape(len(raw), -1) * self.scale_ + self.mean_
        return y.ravel() if self.y_ndim_ == 1 else y

    def get_metadata(self) -> dict:
        return {"n_outputs_": self.n_outputs_, "n_outputs_expected_": 1}


#: A numeric target with at most this many distinct integers is read as classes.
MAX_CLASSES_GUESSED = 10
#: A numeric target with at least this many distinct values is read as a regression target.
MIN_VALUES_FOR_REGRESSION = 30


def infer_task(y) -> tuple[str | None, str]:
    """Guess the task from a target: ``("classification" | "regression" | None, reason)``.

    Text, booleans and at most :data:`MAX_CLASSES_GUESSED` distinct integers
    are classes; non-integer numbers, or at least
    :data:`MIN_VALUES_FOR_REGRESSION` distinct integers, are a regression
    target. Anything between is ambiguous (None): the caller must be told.
    """
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.dtype.kind not in "biuf":
        return "classification", "the target holds text labels"
    if values.dtype.kind == "b":
        return "classification", "the target holds True/False"
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    n_unique = len(np.unique(finite))
    if values.dtype.kind == "f" and not np.all(np.mod(finite, 1) == 0):
        return "regression", f"the target holds non-integer numbers ({n_unique} distinct values)"
    if n_unique <= MAX_CLASSES_GUESSED:
        return "classification", f"the target holds {n_unique} distinct integers"
    if n_unique >= MIN_VALUES_FOR_REGRESSION:
        return "regression", f"the target holds {n_unique} distinct numbers"
    return None, (f"the target holds {n_unique} distinct integers: they could be classes or "
                  "numbers to predict")
