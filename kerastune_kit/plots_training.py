"""Plots of one training run: history, learning-rate schedule, test-set predictions, weights.

Test-set predictions: the confusion matrix of a classifier, and a
regressor's predicted-vs-actual and residual plots.

Each function takes a fitted estimator (or its history, a schedule, a Keras
model), draws on an optional ``ax`` / ``axes`` and returns the Axes (one
panel) or the Figure (several panels). None calls ``plt.show()`` or changes
rcParams. They are re-exported by :mod:`kerastune_kit.plots`. Keras is
imported only by :func:`plot_first_layer_weights`, when it is called.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._plot_helpers import axes_or_new
from ._validation import check_positive_int, did_you_mean

__all__ = ["plot_lr_schedule", "plot_history", "plot_confusion_matrix",
           "plot_predicted_vs_actual", "plot_residuals", "plot_first_layer_weights",
           "plot_lr_find"]


# ----------------------------------------------------------------------------- helpers
def _history(source: Any) -> dict:
    if isinstance(source, Mapping):
        return dict(source)
    if hasattr(source, "history_"):
        return dict(source.history_)
    if isinstance(getattr(source, "history", None), Mapping):  # keras.callbacks.History
        return dict(source.history)
    if hasattr(source, "fit"):
        raise ValueError(f"{type(source).__name__} has no history_: fit it first.")
    raise TypeError(f"source={type(source).__name__} must be a fitted estimator (history_), a "
                    "Keras History or a history dict of per-epoch lists.")


# ----------------------------------------------------------------------------- training
def plot_lr_schedule(source: Any, epochs: int | None = None, ax: Axes | None = None) -> Axes:
    """Learning rate per epoch (x from 1), from a history or a schedule.

    Parameters
    ----------
    source : fitted estimator, history dict, keras History, or schedule
        A history needs ``learning_rate`` (the schedule callbacks write it);
        a schedule is called as ``source(epoch)``, ``epoch = 0 .. epochs-1``.
    epochs : int, optional
        Required for a schedule; for a history, keeps the first ``epochs``.
    ax : Axes, optional

    Returns
    -------
    Axes
        A marker per epoch; log y when the rates span more than one decade.
    """
    check_positive_int("epochs", epochs, allow_none=True)
    if callable(source) and not hasattr(source, "history_") and not isinstance(source, Mapping):
        if epochs is None:
            raise ValueError(f"source is a schedule ({type(source).__name__}): pass epochs=, "
                             "the number of epochs to draw.")
        rates = [float(source(epoch)) for epoch in range(epochs)]
        title = type(source).__name__
    else:
        history = _history(source)
        if "learning_rate" not in history:
            raise ValueError("the history has no 'learning_rate' (keys: "
                             f"{sorted(history)}); train with a schedule callback such as "
                             "StepDecay, or pass the schedule itself with epochs=.")
        rates = [float(v) for v in history["learning_rate"]][:epochs]
        title = "learning rate used per epoch"
    if not rates:
        raise ValueError("there are no learning rates to plot (0 epochs).")
    ax = axes_or_new(ax)
    ax.plot(range(1, len(rates) + 1), rates, "-o", ms=4)
    positive = [r for r in rates if r > 0]
    if len(positive) == len(rates) and max(rates) / min(rates) > 10:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="learning rate", title=title)
    return ax


def plot_history(source: Any, metrics: str | Sequence[str] = ("loss", "accuracy"),
                 axes: Any = None) -> Figure:
    """Training curves, one panel per metric: training solid, validation dashed.

    Parameters
    ----------
    source : fitted estimator, history dict or keras History
    metrics : str or sequence of str, default ("loss", "accuracy")
    axes : array of Axes, optional
        At least one per metric.

    Returns
    -------
    Figure
    """
    history = _history(source)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for metric in metrics:
        if metric not in history:
            raise ValueError(f"the history has no metric {metric!r}."
                             + did_you_mean(metric, history) + f" Keys: {sorted(history)}")
    if axes is None:
        axes = plt.subplots(1, len(metrics), squeeze=False, figsize=(4 * len(metrics), 3.2),
                            layout="constrained")[1]
    axes = list(np.ravel(axes))
    if len(axes) < len(metrics):
        raise ValueError(f"axes has {len(axes)} Axes for {len(metrics)} metrics {metrics}.")
    for ax, metric in zip(axes, metrics):
        values = history[metric]
        # one rule in every plot: validation solid, training dashed
        ax.plot(range(1, len(values) + 1), values, "--", color="C1", label="training")
        if history.get("val_" + metric):
            ax.plot(range(1, len(history["val_" + metric]) + 1), history["val_" + metric], "-",
                    color="C0", label="validation")
        _mark_segments(ax, getattr(source, "segments_", None))
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.legend(fontsize=8)
    return axes[0].figure


def _mark_segments(ax: Axes, segments: Any) -> None:
    """A dotted line where a warm-started fit continued, labelled with its new rate."""
    if not isinstance(segments, (list, tuple)) or len(segments) < 2:
        return
    for segment in segments[1:]:
        x = segment["start"] + 0.5
        ax.axvline(x, color="grey", ls=":", lw=1)
        ax.annotate(f"lr {segment['learning_rate']}", (x, 1.0), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=7, color="grey")


def plot_lr_find(result: Any, ax: Axes | None = None) -> Axes:
    """A learning-rate range test: loss against rate (log x), the suggestions marked.

    Parameters
    ----------
    result : LRFindResult
        From :func:`kerastune_kit.lr_find`.
    ax : Axes, optional

    Returns
    -------
    Axes
        Raw losses faint, smoothed loss solid, a vertical line at each
        suggestion (``steepest``, ``min/10``, and the one ``result.suggestion``
        uses, labelled with its rate).
    """
    for attribute in ("learning_rates", "losses", "smoothed", "suggest"):
        if not hasattr(result, attribute):
            raise TypeError(f"result={type(result).__name__} must be the LRFindResult of "
                            "kerastune_kit.lr_find(...).")
    ax = axes_or_new(ax)
    rates = np.asarray(result.learning_rates)
    ax.plot(rates, result.losses, color="C0", alpha=0.3, lw=1, label="loss per step")
    ax.plot(rates, result.smoothed, color="C0", lw=2, label="smoothed")
    finite = np.asarray(result.smoothed)[np.isfinite(result.smoothed)]
    if finite.size:
        top = min(float(finite.max()), 4 * float(finite.min())) if finite.min() > 0 else None
        if top is not None and top > finite.min():
            margin = 0.05 * (top - finite.min())
            ax.set_ylim(finite.min() - margin, top + margin)
    styles = {"steepest": ("C2", "--"), "min/10": ("C3", "--")}
    for rule, (color, ls) in styles.items():
        ax.axvline(result.suggest(rule), color=color, ls=ls, lw=1,
                   label=f"{rule}: {result.suggest(rule):.2g}")
    ax.axvline(result.suggestion, color="k", lw=1.5,
               label=f"suggestion ({result.rule}): {result.suggestion:.2g}")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="training loss", title="learning-rate range test")
    ax.legend(fontsize=8)
    return ax


def plot_confusion_matrix(estimator: Any, X: Any, y: Any, ax: Axes | None = None,
                          normalize: str | None = None) -> Axes:
    """Confusion matrix of a fitted classifier on ``(X, y)``, titled with the accuracy.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X, y : evaluation data (e.g. the test split)
    ax : Axes, optional
    normalize : {None, "true", "pred", "all"}
        As in scikit-learn's ``ConfusionMatrixDisplay``.

    Returns
    -------
    Axes
    """
    from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    # from_predictions with the estimator's classes is from_estimator without
    # predicting twice (the accuracy needs the same predictions).
    y_pred = estimator.predict(X)
    display = ConfusionMatrixDisplay.from_predictions(
        y, y_pred, labels=getattr(estimator, "classes_", None), normalize=normalize, ax=ax,
        colorbar=False, values_format=".2f" if normalize else "d")
    display.ax_.set_title(f"accuracy {accuracy_score(y, y_pred):.3f}"
                          + (f" (normalised: {normalize})" if normalize else ""))
    return display.ax_


def _predictions(estimator: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(y, predictions)`` of a fitted regressor as float columns, one per target."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    actual = np.asarray(y, dtype=float)
    actual = actual.reshape(len(actual), -1)
    predicted = np.asarray(estimator.predict(X), dtype=float).reshape(len(actual), -1)
    if predicted.shape != actual.shape:
        raise ValueError(f"y has {actual.shape[1]} target column(s) but the estimator predicts "
                         f"{predicted.shape[1]}: pass the targets it was fitted on.")
    return actual, predicted


def _scatter_targets(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """One scatter per target column (labelled when there are several)."""
    for j in range(x.shape[1]):
        ax.scatter(x[:, j], y[:, j], s=14, alpha=0.6, edgecolor="k", lw=0.3, color=f"C{j}",
                   label=f"target {j}" if x.shape[1] > 1 else None)
    if x.shape[1] > 1:
        ax.legend(fontsize=8)


def plot_predicted_vs_actual(estimator: Any, X: Any, y: Any, ax: Axes | None = None) -> Axes:
    """A fitted regressor's predictions against the true values on ``(X, y)``, titled with R^2.

    Parameters
    ----------
    estimator : fitted regressor or Pipeline ending in one
    X, y : evaluation data (e.g. the test split)
    ax : Axes, optional

    Returns
    -------
    Axes
        One point per row (a colour per target column), the diagonal
        ``predicted = actual`` dashed, equal scales on both axes.
    """
    from sklearn.metrics import r2_score

    actual, predicted = _predictions(estimator, X, y)
    ax = axes_or_new(ax)
    _scatter_targets(ax, actual, predicted)
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    ax.plot([low, high], [low, high], "--", color="0.4", lw=1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(xlabel="actual", ylabel="predicted",
           title=f"R^2 {r2_score(actual, predicted):.3f} on {len(actual)} rows")
    return ax


def plot_residuals(estimator: Any, X: Any, y: Any, ax: Axes | None = None) -> Axes:
    """A fitted regressor's residuals (actual minus predicted) against its predictions.

    The parameters are :func:`plot_predicted_vs_actual`'s. Returns the Axes:
    one point per row (a colour per target column), the zero line dashed,
    titled with the root mean squared and mean absolute errors. A funnel or
    a curve in the points is structure the model missed.
    """
    actual, predicted = _predictions(estimator, X, y)
    residuals = actual - predicted
    ax = axes_or_new(ax)
    _scatter_targets(ax, predicted, residuals)
    ax.axhline(0.0, ls="--", color="0.4", lw=1)
    rmse = float(np.sqrt(np.mean(residuals ** 2)))
    ax.set(xlabel="predicted", ylabel="residual (actual - predicted)",
           title=f"residuals: RMSE {rmse:.3g}, MAE {float(np.mean(np.abs(residuals))):.3g}")
    return ax


def plot_first_layer_weights(model_or_estimator: Any, image_shape: Sequence[int] | None = None,
                             n: int = 16, ncols: int = 8) -> Figure:
    """Incoming weights of the first Dense layer's units, drawn as images.

    Parameters
    ----------
    model_or_estimator : keras Model, fitted KerasMLPClassifier, or Pipeline ending in one
    image_shape : tuple of int, optional
        ``(h, w)`` or ``(h, w, 3)``; default the network's input shape, which
        must then have more than one dimension (flat 64-pixel digits need
        ``image_shape=(8, 8)``).
    n, ncols : int, default 16 and 8
        Units to draw (the first ``n``) and panels per row.

    Returns
    -------
    Figure
        Grey images; RGB ones scaled to [0, 1] unit by unit.
    """
    import keras

    check_positive_int("n", n), check_positive_int("ncols", ncols)
    model = model_or_estimator
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    if not isinstance(model, keras.Model):
        if getattr(model, "model_", None) is None:
            raise ValueError(f"{type(model).__name__} has no model_: pass a fitted "
                             "KerasMLPClassifier, a Pipeline ending in one, or a keras Model.")
        model = model.model_
    dense = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None:
        raise ValueError(f"the model {model.name!r} has no Dense layer.")
    kernel = keras.ops.convert_to_numpy(dense.kernel)
    n_in, units = kernel.shape
    if image_shape is None:
        image_shape = tuple(int(d) for d in model.input_shape[1:])
        if len(image_shape) < 2:
            side, rgb = math.isqrt(n_in), math.isqrt(n_in // 3)
            hint = (f"image_shape=({side}, {side})" if side * side == n_in else
                    f"image_shape=({rgb}, {rgb}, 3)" if 3 * rgb * rgb == n_in else
                    "image_shape=(h, w)")
            raise ValueError(f"the network's input is flat ({n_in} features), so the images' "
                             f"shape is unknown: pass {hint}.")
    image_shape = tuple(int(d) for d in image_shape)
    if int(np.prod(image_shape)) != n_in or len(image_shape) not in (2, 3) or (
            len(image_shape) == 3 and image_shape[2] not in (1, 3)):
        raise ValueError(f"image_shape={image_shape} must be (h, w) or (h, w, 3) with h*w*c = "
                         f"{n_in}, the first Dense layer's inputs.")
    n = min(n, units)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(1.3 * ncols, 1.4 * nrows + 0.4),
                             layout="constrained")
    for unit, ax in enumerate(axes.ravel()):
        if unit >= n:
            ax.remove()
            continue
        image = kernel[:, unit].reshape(image_shape)
        if image.ndim == 3 and image.shape[2] == 3:
            span = float(image.max() - image.min()) or 1.0
            ax.imshow((image - image.min()) / span)
        else:
            ax.imshow(image.reshape(image_shape[:2]), cmap="gray")
        ax.set_title(f"unit {unit}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"first Dense layer {dense.name!r}: {n} of {units} units", fontsize=9)
    return fig
