"""An honest baseline: compare a model with a linear model (logistic regression, or RidgeCV for regression) on the same folds.

A tuned neural network is only interesting if it beats a simple, well-understood
model evaluated under exactly the same conditions. This module provides

* :func:`make_baseline` -- a logistic-regression (or, for regression,
  ``RidgeCV``) :class:`~sklearn.pipeline.Pipeline` whose preprocessing is
  fitted inside each training fold;
* :func:`compare_with_baseline` -- cross-validates a model and the baseline on
  identical folds and tabulates the per-fold scores and their differences;
* :func:`corrected_resampled_ttest` -- the Nadeau & Bengio (2003) corrected
  resampled t-test used to attach a p-value to the mean difference.

Only NumPy, pandas, SciPy and scikit-learn are imported here; nothing in this
module imports Keras or TensorFlow.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone, is_regressor
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from ._validation import check_number, check_positive_int
from .comparison import Comparison, model_label

__all__ = ["make_baseline", "compare_with_baseline", "corrected_resampled_ttest"]


def make_baseline(
    preprocessor: BaseEstimator | None = None,
    *,
    C: float = 1.0,
    max_iter: int = 2000,
    random_state: int | None = None,
    task: str = "classification",
) -> Pipeline:
    """Build a linear baseline pipeline: logistic regression, or ``RidgeCV`` for regression.

    Parameters
    ----------
    preprocessor : estimator or None, default=None
        A transformer (for example the unfitted ``ColumnTransformer`` returned
        by :func:`kerastune_kit.make_preprocessor`). It is cloned, so the object
        you pass is never fitted. ``None`` uses a
        :class:`~sklearn.preprocessing.StandardScaler`, which suits purely
        numeric data without missing values.
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression; must be
        > 0. Smaller values regularise more.
    max_iter : int, default=2000
        Maximum number of solver iterations.
    random_state : int or None, default=None
        Seed passed to :class:`~sklearn.linear_model.LogisticRegression`.
    task : {"classification", "regression"}, default "classification"
        ``"regression"`` puts :class:`~sklearn.linear_model.RidgeCV` (its
        penalty chosen by efficient leave-one-out CV within each training
        fold) in place of the logistic regression; ``C`` and ``max_iter`` are
        then unused.

    Returns
    -------
    sklearn.pipeline.Pipeline
        An unfitted pipeline with the steps ``"preprocess"`` and ``"logreg"``
        (``"ridge"`` for regression).
        Because the preprocessing is a pipeline step, cross-validation fits it
        on the training folds only.

    Examples
    --------
    >>> from kerastune_kit import make_baseline
    >>> pipe = make_baseline(C=0.5)
    >>> [name for name, _ in pipe.steps]
    ['preprocess', 'logreg']
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task={task!r} must be 'classification' or 'regression'.")
    check_number("C", C, low=0, low_inclusive=False)
    check_positive_int("max_iter", max_iter)
    if preprocessor is None:
        preprocess = StandardScaler()
    else:
        if not (hasattr(preprocessor, "fit") and hasattr(preprocessor, "transform")):
            raise TypeError(
                f"preprocessor={preprocessor!r} (type {type(preprocessor).__name__}) "
                "is not a scikit-learn transformer; pass an object with fit and "
                "transform methods (e.g. kerastune_kit.make_preprocessor()) or None."
            )
        preprocess = clone(preprocessor)
    if task == "regression":
        return Pipeline([("preprocess", preprocess),
                         ("ridge", RidgeCV(alphas=np.logspace(-3, 3, 13)))])
    logreg = LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)
    return Pipeline([("preprocess", preprocess), ("logreg", logreg)])


def corrected_resampled_ttest(
    differences: Sequence[float] | np.ndarray,
    n_train: float,
    n_test: float,
) -> tuple[float, float]:
    """Nadeau & Bengio's corrected resampled t-test for paired CV scores.

    Given the per-fold score differences ``d_1, ..., d_k`` between two models
    evaluated on the same ``k`` train/test splits, the statistic is::

        t = mean(d) / sqrt((1/k + n_test/n_train) * var(d, ddof=1))

    and the two-sided p-value comes from Student's t distribution with
    ``k - 1`` degrees of freedom.

    Why the correction matters: the ordinary paired t-test assumes the ``k``
    differences are independent, but in cross-validation the training sets
    of different folds overlap heavily (in 5-fold CV any two training sets
    share 75% of their rows), so the fold scores are positively correlated.
    The naive variance estimate ``var(d)/k`` is then too small, the
    t-statistic too large and the test far too eager to declare a difference.
    Nadeau & Bengio replace ``1/k`` by ``1/k + n_test/n_train`` to account
    for that correlation.

    Parameters
    ----------
    differences : array-like of shape (k,)
        Per-fold score differences (model minus baseline); ``k >= 2``.
    n_train : float
        Number of training rows per fold (the mean if folds differ); > 0.
    n_test : float
        Number of test rows per fold (the mean if folds differ); > 0.

    Returns
    -------
    t_statistic : float
        The corrected t-statistic. If all differences are equal (zero
        variance) it is ``0.0`` when they are all zero and ``+inf``/``-inf``
        otherwise.
    p_value : float
        Two-sided p-value (``1.0`` and ``0.0`` respectively in the
        zero-variance cases).

    References
    ----------
    C. Nadeau and Y. Bengio, "Inference for the Generalization Error",
    *Machine Learning* 52(3), 239-281, 2003. doi:10.1023/A:1024068626366

    Examples
    --------
    >>> from kerastune_kit import corrected_resampled_ttest
    >>> t, p = corrected_resampled_ttest([0.01, 0.02, 0.03, 0.04, 0.05],
    ...                                  n_train=120, n_test=30)
    >>> round(t, 4), round(p, 4)
    (2.8284, 0.0474)
    """
    try:
        d = np.asarray(differences, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"differences={differences!r} must be a 1-D sequence of numbers "
            "(the per-fold score differences)."
        ) from exc
    if d.ndim != 1:
        raise ValueError(
            f"differences must be 1-D (one value per fold); got an array of shape "
            f"{d.shape}. Pass the per-fold differences as a flat list."
        )
    k = d.shape[0]
    if k < 2:
        raise ValueError(
            f"differences={differences!r} has {k} value(s); the t-test needs at least "
            "2 folds. Use cv >= 2 (5 or 10 is typical)."
        )
    if not np.all(np.isfinite(d)):
        raise ValueError(
            f"differences={differences!r} contains NaN or infinite values; every "
            "fold must have a finite score difference."
        )
    check_number("n_train", n_train, low=0, low_inclusive=False)
    check_number("n_test", n_test, low=0, low_inclusive=False)

    mean = float(d.mean())
    # Compare values exactly: np.var of equal floats may leave rounding noise.
    if np.all(d == d[0]):
        if mean == 0.0:
            return 0.0, 1.0
        return (float(np.inf) if mean > 0 else float(-np.inf)), 0.0

    variance = float(d.var(ddof=1))
    corrected_se = np.sqrt((1.0 / k + float(n_test) / float(n_train)) * variance)
    t_statistic = mean / corrected_se
    p_value = 2.0 * stats.t.sf(abs(t_statistic), df=k - 1)
    return float(t_statistic), float(min(p_value, 1.0))


def _n_samples(obj: Any) -> int:
    shape = getattr(obj, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(obj)


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(estimator: Any) -> str:
    """Short human-readable name: class name, with steps for a Pipeline."""
    if isinstance(estimator, Pipeline):
        steps = ", ".join(f"{name}={type(step).__name__}" for name, step in estimator.steps)
        return f"Pipeline({steps})"
    return type(estimator).__name__


def _check_names(names: Any) -> tuple[str, str]:
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) != 2:
        raise ValueError(
            f"names={names!r} must be a pair of row labels, e.g. "
            "names=('mlp', 'logreg')."
        )
    names = (str(names[0]), str(names[1]))
    if names[0] == names[1] or "difference" in names:
        raise ValueError(
            f"names={names!r} must be two different labels other than 'difference' "
            "(that label is used for the third row)."
        )
    return names


def _materialize_splits(
    cv: Any, X: Any, y: Any, estimator: Any, random_state: Any
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Turn ``cv`` into an explicit list of (train, test) index arrays."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(
                f"cv={cv!r} is too small; cross-validation needs at least 2 folds. "
                "Use cv=5 or cv=10."
            )
        classification = type_of_target(y) in ("binary", "multiclass") and not is_regressor(
            estimator
        )
        splitter_cls = StratifiedKFold if classification else KFold
        splitter = splitter_cls(n_splits=int(cv), shuffle=True, random_state=random_state)
        splits = list(splitter.split(X, y))
    elif isinstance(cv, (str, bytes, bool)):
        splits = None  # str has a .split method too; reject it below
    elif hasattr(cv, "split"):
        splits = list(cv.split(X, y))
    elif isinstance(cv, Iterable):
        splits = list(cv)
    else:
        splits = None
    if splits is None:
        raise TypeError(
            f"cv={_short_repr(cv)} (type {type(cv).__name__}) is not understood; pass an int "
            "(number of folds), a scikit-learn splitter such as KFold(5), or an "
            "iterable of (train_indices, test_indices) pairs."
        )
    if len(splits) < 2:
        raise ValueError(
            f"cv={_short_repr(cv)} produced {len(splits)} split(s); comparing models needs at "
            "least 2 folds. Use cv=5 or a splitter with n_splits >= 2."
        )
    try:
        splits = [(np.asarray(train), np.asarray(test)) for train, test in splits]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cv={_short_repr(cv)} must yield (train_indices, test_indices) pairs; "
            "check the splitter or the iterable you passed."
        ) from exc
    return splits


def _scoring_name(scoring: Any) -> str:
    if scoring is None:
        return "estimator.score"
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", None) or repr(scoring)


def compare_with_baseline(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    baseline: BaseEstimator | None = None,
    preprocessor: BaseEstimator | None = None,
    cv: int | Any = 5,
    scoring: str | Any = "auto",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    names: Sequence[str] | None = None,
) -> Comparison:
    """Cross-validate a model and a baseline on the same folds and compare them.

    The splits are generated once and reused for both models, so every fold
    difference compares the two models on exactly the same training and test
    rows. Both estimators are cloned; the ones you pass are never fitted.

    Preprocessing belongs *inside* each pipeline (pass ``estimator`` as a
    :class:`~sklearn.pipeline.Pipeline` whose first step is the
    preprocessor, and the default baseline puts ``preprocessor`` in its
    ``"preprocess"`` step). Imputation medians, scaling ranges and one-hot
    categories are then learned from the training folds only, so no
    information from a test fold leaks into the model that is scored on it.

    The p-value on the ``"difference"`` row comes from
    :func:`corrected_resampled_ttest` (Nadeau & Bengio, 2003), not from a
    plain paired t-test, which would be over-confident because the training
    sets of the folds overlap.

    Parameters
    ----------
    estimator : estimator
        The model to assess, typically a ``Pipeline`` of a preprocessor and a
        classifier such as :class:`kerastune_kit.KerasMLPClassifier`.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Features (the training part only; keep your test set out of this).
    y : array-like of shape (n_samples,)
        Targets.
    baseline : estimator or None, default=None
        The reference model. ``None`` uses
        ``make_baseline(preprocessor, random_state=random_state)``, with
        ``task="regression"`` (``RidgeCV``) when ``estimator`` is a regressor.
    preprocessor : transformer or None, default=None
        Preprocessing for the default baseline; only valid when ``baseline``
        is None (put it inside your own baseline pipeline otherwise).
    cv : int, splitter or iterable, default=5
        An int ``k`` means ``StratifiedKFold(k, shuffle=True,
        random_state=random_state)`` for classification targets (``KFold``
        otherwise); ``k`` must be >= 2. Any scikit-learn splitter or an
        iterable of ``(train_indices, test_indices)`` pairs is also accepted.
    scoring : str, callable or None, default="auto"
        A single scikit-learn scorer (name or callable); None uses each
        estimator's ``score`` method. ``"auto"`` is ``"accuracy"``, or
        ``"r2"`` when ``estimator`` is a regressor.
    random_state : int or None, default=0
        Seed for the fold shuffling and the default baseline.
    n_jobs : int or None, default=None
        Parallel jobs for :func:`~sklearn.model_selection.cross_validate`.
        Keep None for Keras models.
    names : pair of str, optional
        Row labels for the estimator and the baseline. By default the class
        name of each one's final step (``KerasMLPClassifier``,
        ``LogisticRegression``): the labels ``tune``, the command line, the
        report and the notebooks all show.

    Returns
    -------
    Comparison
        A DataFrame (:class:`~kerastune_kit.comparison.Comparison`) that
        prints every column and a summary sentence. Index ``[names[0],
        names[1], "difference"]``; columns ``fold_0`` ...
        ``fold_{k-1}``, ``"mean"``, ``"std"`` (ddof=1), ``"t_statistic"`` and
        ``"p_value"`` (NaN on the two model rows). The difference row is
        model minus baseline, fold by fold. ``df.attrs`` holds ``scoring``,
        ``n_splits``, ``n_train`` and ``n_test`` (mean fold sizes),
        ``estimator`` and ``baseline`` (short descriptions) and ``names``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from kerastune_kit import compare_with_baseline
    >>> X, y = load_iris(return_X_y=True)
    >>> table = compare_with_baseline(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    >>> list(table.index)
    ['DecisionTreeClassifier', 'LogisticRegression', 'difference']
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['fold_0', 'fold_1', 'fold_2', 'mean', 'std', 't_statistic', 'p_value']
    """
    for param, value in (("estimator", estimator), ("baseline", baseline)):
        if value is not None and not hasattr(value, "fit"):
            raise TypeError(
                f"{param}={value!r} (type {type(value).__name__}) is not a "
                "scikit-learn estimator; pass an object with a fit method."
            )
    if names is not None:
        names = _check_names(names)
    if baseline is not None and preprocessor is not None:
        raise ValueError(
            "preprocessor is only used to build the default baseline, but a baseline "
            f"was also given (baseline={_describe(baseline)}). Put the preprocessor "
            "inside your baseline pipeline, or pass baseline=None."
        )
    if not (scoring is None or isinstance(scoring, str) or callable(scoring)):
        raise TypeError(
            f"scoring={scoring!r} (type {type(scoring).__name__}) must be a single "
            "scorer: a name such as 'accuracy', a callable scorer, or None."
        )
    n_x, n_y = _n_samples(X), _n_samples(y)
    if n_x != n_y:
        raise ValueError(
            f"X and y have different lengths: X has {n_x} rows but y has {n_y}. "
            "Pass features and targets for the same samples."
        )

    regression = is_regressor(estimator)
    if scoring == "auto":
        scoring = "r2" if regression else "accuracy"
    if baseline is None:
        baseline = make_baseline(preprocessor, random_state=random_state,
                                 task="regression" if regression else "classification")
    if names is None:
        names = (model_label(estimator), model_label(baseline))
        if names[0] == names[1]:
            names = (names[0], f"{names[1]} (baseline)")

    splits = _materialize_splits(cv, X, y, estimator, random_state)
    k = len(splits)

    scores = []
    for model in (estimator, baseline):
        result = cross_validate(
            clone(model),
            X,
            y,
            cv=splits,
            scoring=scoring,
            n_jobs=n_jobs,
            error_score="raise",
        )
        scores.append(np.asarray(result["test_score"], dtype=float))
    model_scores, baseline_scores = scores
    differences = model_scores - baseline_scores

    n_train = float(np.mean([len(train) for train, _ in splits]))
    n_test = float(np.mean([len(test) for _, test in splits]))
    t_statistic, p_value = corrected_resampled_ttest(differences, n_train, n_test)

    fold_columns = [f"fold_{i}" for i in range(k)]
    rows = np.vstack([model_scores, baseline_scores, differences])
    table = Comparison(rows, index=[names[0], names[1], "difference"], columns=fold_columns)
    table["mean"] = rows.mean(axis=1)
    table["std"] = rows.std(axis=1, ddof=1)
    table["t_statistic"] = [np.nan, np.nan, t_statistic]
    table["p_value"] = [np.nan, np.nan, p_value]
    table.attrs.update(
        {
            "scoring": _scoring_name(scoring),
            "n_splits": k,
            "n_train": n_train,
            "n_test": n_test,
            "estimator": _describe(estimator),
            "baseline": _describe(baseline),
            "names": names,
        }
    )
    return table
