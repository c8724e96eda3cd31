"""Checks of the data handed to ``fit`` and ``tune``: what a Keras network cannot train on.

Each check raises an error that says what is wrong with ``X`` or ``y`` and
what to do instead (usually: put :func:`~kerastune_kit.make_preprocessor` in
a Pipeline before the network). Nothing here imports Keras.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import column_or_1d

__all__ = ["check_features", "check_labels", "check_class_target", "check_numeric_target",
           "check_lengths", "n_rows"]


def n_rows(data) -> int | None:
    if sp.issparse(data) or hasattr(data, "shape"):
        shape = data.shape
        return shape[0] if len(shape) else None
    try:
        return len(data)
    except TypeError:
        return None


def check_lengths(X, y) -> None:
    n_x, n_y = n_rows(X), n_rows(y)
    if n_x is not None and n_y is not None and n_x != n_y:
        raise ValueError(
            f"X and y have different lengths: X has {n_x} rows, y has {n_y}. "
            "Pass one label per row of X."
        )


def check_labels(name: str, y):
    """Return y as a 1-d array, refusing what a softmax classifier cannot learn.

    Refused: no y, several columns, missing labels (NaN or None: a missing
    label is not a class), continuous numbers (regression targets), and a
    single class.
    """
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None: pass one label "
            "per row of X."
        )
    # A column vector is accepted with scikit-learn's DataConversionWarning;
    # several columns (multi-output) get its "y should be a 1d array" error.
    y = column_or_1d(y, warn=True)
    missing = pd.isna(pd.Series(np.asarray(y, dtype=object))).to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"y has {len(rows)} missing label(s) (NaN or None, first at row {int(rows[0])}): "
            "a missing label is not a class. Drop those rows, or fill in their labels, "
            "before fitting."
        )
    if y.dtype.kind == "f" and y.size and not np.all(np.mod(y, 1) == 0):
        examples = ", ".join(f"{v:g}" for v in pd.unique(y)[:3])
        raise ValueError(
            f"y holds continuous numbers (e.g. {examples}): {name} is a classifier and needs "
            "class labels. If these numbers are classes, pass them as integers or strings "
            "(y.astype(int) or y.astype(str))."
        )
    if y.size and len(pd.unique(np.asarray(y, dtype=object))) == 1:
        raise ValueError(
            f"y has only one class ({y[0]!r}): a classifier needs at least two classes "
            "to learn from. Check the target column, or the split that produced this "
            "training set (use stratified splits)."
        )
    return y


def check_class_target(name: str, y):
    """Return a classifier's target: 1-d labels (see :func:`check_labels`) or a 2-d 0/1 matrix.

    A 2-d ``y`` with two or more columns is an indicator matrix: one-hot rows
    (one 1 a row: a multiclass target) or multilabel rows (any number of 1s).
    Any other 2-d ``y`` is refused.
    """
    if y is not None and not hasattr(y, "shape") and not isinstance(y, (list, tuple)):
        return check_labels(name, y)
    values = None if y is None else np.asarray(y)
    if values is None or values.ndim != 2 or values.shape[1] < 2:
        return check_labels(name, y)
    if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"y has shape {values.shape} with values other than 0 and 1: {name} takes 1-d "
            "class labels, or a 2-d 0/1 indicator matrix (one-hot rows for one class a row, "
            "multilabel rows for several). Pass one label column as y, or encode the labels.")
    if values.shape[0] and (values.sum(axis=0) == values.shape[0]).all():
        raise ValueError(
            f"y is a 0/1 matrix of shape {values.shape} whose columns are all 1: there is "
            "nothing to learn. Check the target columns.")
    return values


def check_numeric_target(name: str, y):
    """Return a regressor's target as a float array, 1-d or 2-d (several targets).

    Refused: no y, text, missing values (NaN), infinity.
    """
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None: pass one number "
            "per row of X.")
    values = np.asarray(y)
    if values.dtype.kind in "OUS":
        try:
            values = values.astype(float)
        except (TypeError, ValueError):
            examples = ", ".join(repr(v) for v in pd.unique(values.ravel())[:3])
            raise ValueError(
                f"y holds text (e.g. {examples}): {name} is a regressor and needs numbers. "
                "For class labels use kerastune_kit.KerasMLPClassifier.") from None
    if values.dtype.kind == "b":
        values = values.astype(float)
    if values.ndim == 2 and values.shape[1] == 1:
        values = column_or_1d(values, warn=True)
    if values.ndim not in (1, 2):
        raise ValueError(f"y has shape {values.shape}: {name} takes a 1-d target, or a 2-d "
                         "array with one column a target.")
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        rows = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
        raise ValueError(
            f"y has {len(rows)} missing or infinite value(s) (first at row {int(rows[0])}): "
            "drop those rows, or fill in their targets, before fitting.")
    return values


def check_features(name: str, X) -> int:
    """Reject what a Keras network cannot train on, with the fix in the message.

    Returns the number of dimensions of X.
    """
    if sp.issparse(X):
        raise TypeError(
            f"{name} does not accept sparse X ({type(X).__name__}); pass a dense "
            "array (X.toarray()) or a transformer with sparse_output=False."
        )
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c, dt in X.dtypes.items() if not pd.api.types.is_numeric_dtype(dt)]
        if bad:
            raise ValueError(
                f"X has non-numeric column(s) {bad}: {name} needs numbers. Encode "
                "categories with kerastune_kit.make_preprocessor() (one-hot) in a "
                "Pipeline before the classifier."
            )
        values = X.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = np.asarray(X)
        if values.dtype.kind in "OUS":
            try:
                values = values.astype(float)
            except ValueError:  # strings; other objects keep numpy's TypeError
                raise ValueError(
                    f"X contains non-numeric values (dtype {values.dtype}): {name} needs "
                    "numbers. Encode categories with kerastune_kit.make_preprocessor() "
                    "(one-hot) in a Pipeline before the classifier."
                ) from None
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        n_nan = int(np.isnan(values).sum())
        n_inf = int(np.isinf(values).sum())
        raise ValueError(
            f"X contains NaN ({n_nan} values) or infinity ({n_inf} values); {name} "
            "cannot train on missing values. Put kerastune_kit.make_preprocessor() "
            "(which imputes them) before it in a Pipeline, so the imputer is fitted "
            "on the training folds only."
        )
    return values.ndim
