"""The data a search trains on: checked before anything trains, and split for validation.

:func:`check_data` refuses, with the fix, data a search cannot use (raw
categories with ``preprocessor=None``, a class with fewer rows than folds);
:func:`split_for_validation` carves the validation split (stratified for
classes) of the strategies that score on one split and of ``sweep``, the
preprocessor fitted on the training part only. Heavy imports (NumPy, scikit-learn) happen inside the functions.
"""

from __future__ import annotations

from ..errors import InvalidParameterType

__all__ = ["check_preprocessor", "check_data", "split_for_validation"]


def check_preprocessor(preprocessor) -> None:
    if preprocessor is not None and not (hasattr(preprocessor, "fit")
                                         and hasattr(preprocessor, "transform")):
        raise InvalidParameterType(
            f"preprocessor={preprocessor!r} (type {type(preprocessor).__name__}) must be a "
            "scikit-learn transformer (with fit and transform), e.g. make_preprocessor(), or "
            "None.")


def check_data(X, y, settings, strategy) -> None:
    """Refuse data the search cannot use, before anything trains."""
    import numpy as np

    from .._inputs import check_features, check_labels, check_numeric_target

    if settings.preprocessor is None:
        try:
            check_features("tune", X)
        except ValueError as err:  # raw categories or NaN with preprocessor=None
            raise ValueError(f"{err} In tune, leave preprocessor='auto' (the default), which "
                             "builds make_preprocessor() for such data, or pass "
                             "preprocessor=make_preprocessor().") from None
    if settings.task == "regression":
        check_numeric_target("tune", y)
        return
    folds = (settings.cv if strategy.uses_folds or settings.folds_are_trials else None) or 2
    if settings.compare_baseline:
        folds = max(folds, settings.baseline_cv)
    labels, counts = np.unique(check_labels("tune", y).astype(str), return_counts=True)
    small = {label: int(n) for label, n in zip(labels, counts) if n < folds}
    if small:
        raise ValueError(
            f"too few samples for cv={folds}: class(es) {small} have fewer rows than folds, so "
            "some training folds would miss them. Lower cv, merge rare classes, or gather "
            "more rows.")


def split_for_validation(X, y, fraction: float, seed, preprocessor, *, stratify: bool = True):
    """Stratified train/validation split of training data; the preprocessor is fitted on the train part.

    Returns ``X_train, X_val, y_train, y_val, encoder``: float32 features,
    labels as class codes, and the fitted ``LabelEncoder``. With
    ``stratify=False`` (a regression target) the split is a plain shuffled
    one, ``y`` is returned as it is and ``encoder`` is None.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder

    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=fraction, stratify=y if stratify else None, random_state=seed)
    if preprocessor is not None:
        fitted = clone(preprocessor).fit(X_train)
        X_train, X_val = fitted.transform(X_train), fitted.transform(X_val)

    def as_float(a):
        return np.asarray(a, dtype="float32")

    if not stratify:
        return as_float(X_train), as_float(X_val), np.asarray(y_train), np.asarray(y_val), None
    encoder = LabelEncoder().fit(y)
    return (as_float(X_train), as_float(X_val), encoder.transform(y_train),
            encoder.transform(y_val), encoder)
