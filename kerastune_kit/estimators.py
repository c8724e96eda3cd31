"""A scikit-learn classifier around :func:`kerastune_kit.build_mlp`.

:class:`KerasMLPClassifier` is scikeras' ``KerasClassifier`` with three
things mended:

* scikit-learn >= 1.6 reads an estimator's kind from ``__sklearn_tags__``.
  scikeras 0.13 lists ``ClassifierMixin`` after ``BaseEstimator``, so its
  classifier tags are never reached: ``is_classifier`` is False and ``cv=3``
  silently becomes an unstratified ``KFold``. Here the tags are stated
  explicitly, so searches stratify.
* Every hyperparameter of the network is a top-level parameter, so
  ``GridSearchCV(KerasMLPClassifier(), {"nodes": [50, 100]})``, ``clone`` and
  ``set_params(**search.best_params_)`` work without routed names. The
  scikeras routed names tutorials use (``optimizer__learning_rate``,
  ``model__nodes``, ``fit__epochs``) keep working.
* Bad input fails before training with a message that says what to do, and
  an integer ``random_state`` seeds initial weights, dropout and shuffling.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.utils._tags import ClassifierTags
from sklearn.utils.validation import validate_data

from ._constraints import check_param
from ._inputs import check_features, check_labels, check_lengths
from ._validation import check_number, did_you_mean
from .builders import build_mlp
from .callbacks import as_callback_list
from .errors import InvalidParameterType
from .training import (NetworkView, join_histories, rate_label, seed_from, set_learning_rate,
                       stratified_holdout)

__all__ = ["KerasMLPClassifier"]

#: Estimator parameters that are handed to ``build_mlp`` unchanged.
BUILDER_PARAMS = (
    "n_layers",
    "nodes",
    "hidden_layer_sizes",
    "activation",
    "kernel_initializer",
    "kernel_l1",
    "kernel_l2",
    "activity_l1",
    "activity_l2",
    "dropout",
    "max_norm",
    "batch_norm",
    "optimizer",
    "learning_rate",
    "momentum",
    "beta_1",
    "beta_2",
    "epsilon",
    "weight_decay",
    "loss",
    "metrics",
    "run_eagerly",
)
_OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "weight_decay")
#: Prefixes of scikeras' routed parameters that this estimator honours.
ROUTING_PREFIXES = ("model", "fit", "predict", "optimizer")


class KerasMLPClassifier(KerasClassifier):
    """Keras multi-layer perceptron with the scikit-learn classifier API.

    Each fit builds a fresh network with :func:`kerastune_kit.build_mlp` and
    trains it with ``keras.Model.fit``. Labels may be strings or integers;
    ``X`` may be an array or a numeric DataFrame (put
    :func:`kerastune_kit.make_preprocessor` before it in a Pipeline for raw
    data with categories or missing values). Arrays of images such as
    ``(n, 28, 28)`` are flattened by the network.

    Parameters
    ----------
    n_layers, nodes, hidden_layer_sizes, activation, kernel_initializer, \
kernel_l1, kernel_l2, activity_l1, activity_l2, dropout, max_norm, batch_norm, \
optimizer, learning_rate, momentum, beta_1, beta_2, epsilon, weight_decay, \
loss, metrics, run_eagerly
        The network; see :func:`kerastune_kit.build_mlp` for each one.
        Defaults: two hidden layers of 100 ReLU units, he_uniform, no
        penalties, no dropout, Adam with learning rate 1e-3.
    epochs : int, default 10
        Passes over the training data in each ``fit``.
    batch_size : int, default 32
        Mini-batch size for training and prediction.
    validation_split : float, default 0
        Fraction of the training data held out, stratified by class and
        shuffled with ``random_state``, to report ``val_*`` scores in
        ``history_`` and drive early stopping. (Keras' own split takes the last
        rows, which on class-sorted data is a single class.) Inside a search
        this is carved from each training fold, never from test data.
    validation_batch_size : int, optional
    shuffle : bool, default True
        Shuffle the training data before each epoch.
    callbacks : list of keras.callbacks.Callback or CallbackSet, optional
        Callbacks for ``fit`` (see :mod:`kerastune_kit.callbacks`); cloned with
        the estimator, reset at the start of every fit.
    class_weight : dict or "balanced", optional
    warm_start : bool, default False
        The next ``fit`` continues the trained network: same weights and
        optimiser state (Adam's moments, the step count), the current
        ``learning_rate`` (change it with ``set_params`` between fits) and
        callbacks (a new schedule starts at its epoch 0), and ``history_``
        grows by the new epochs. Each change is recorded in ``segments_`` and
        marked by :func:`~kerastune_kit.plots.plot_history`. ``partial_fit``
        continues the same way, one epoch a call.
    random_state : int, RandomState or None, default None
        An integer makes ``fit`` reproducible: it seeds the initial weights,
        dropout masks and shuffling (TensorFlow's deterministic ops are on
        during the fit).
    verbose : int, default 0
        Keras' progress output (0 silent, 1 progress bar, 2 one line a epoch).
    **routed
        scikeras routed parameters: ``model__<builder parameter>``,
        ``optimizer__<optimizer option>`` (``optimizer__learning_rate``,
        ``optimizer__nesterov``, ...), ``fit__<Model.fit argument>``,
        ``predict__<Model.predict argument>``. A routed value overrides the
        top-level parameter of the same name. ``callbacks__...`` names are
        ordinary nested parameters of a :class:`~kerastune_kit.callbacks.CallbackSet`
        (``callbacks__early_stopping__patience``).

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch values of the loss and metrics (``val_`` ones when there is
        validation data).
    segments_ : list of dict
        The stretches of the network's life, one per change of rate or
        schedule in a continued fit: ``{"start": first epoch (0-based),
        "epochs": n, "learning_rate": label, "rate": number or None}``.
    classes_ : ndarray
        Class labels seen in ``fit``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X`` seen in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasMLPClassifier(nodes=16, epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        *,
        n_layers: int = 2,
        nodes: int = 100,
        hidden_layer_sizes: Sequence[int] | None = None,
        activation: str = "relu",
        kernel_initializer: str = "he_uniform",
        kernel_l1: float = 0.0,
        kernel_l2: float = 0.0,
        activity_l1: float = 0.0,
        activity_l2: float = 0.0,
        dropout: float = 0.0,
        max_norm: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: Any = 1e-3,
        momentum: float | None = None,
        beta_1: float | None = None,
        beta_2: float | None = None,
        epsilon: float | None = None,
        weight_decay: float | None = None,
        loss: Any = "sparse_categorical_crossentropy",
        metrics: Sequence[Any] | None = ("accuracy",),
        run_eagerly: bool = False,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_batch_size: int | None = None,
        shuffle: bool = True,
        callbacks: Any = None,
        class_weight: Any = None,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: int = 0,
        **routed: Any,
    ):
        # Store the arguments unchanged (scikit-learn's convention, which
        # clone and set_params rely on); values are checked in ``fit``.
        self.n_layers = n_layers
        self.nodes = nodes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.kernel_l1 = kernel_l1
        self.kernel_l2 = kernel_l2
        self.activity_l1 = activity_l1
        self.activity_l2 = activity_l2
        self.dropout = dropout
        self.max_norm = max_norm
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.loss = loss
        self.metrics = metrics
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.validation_batch_size = validation_batch_size
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed)

    # ------------------------------------------------------------------
    # scikit-learn protocol
    # ------------------------------------------------------------------
    @classmethod
    def _check_routed_name(cls, key: str) -> None:
        prefix = key.split("__", 1)[0]
        if "__" in key and prefix in ROUTING_PREFIXES:
            return
        known = cls._signature_params()
        raise InvalidParameterType(
            f"{cls.__name__} got an unexpected parameter {key!r}."
            + did_you_mean(key, known)
            + " Network and training settings are top-level parameters (see "
            f"{cls.__name__}().get_params()); routed names start with one of "
            f"{[p + '__' for p in ROUTING_PREFIXES]}."
        )

    @classmethod
    def _signature_params(cls) -> list[str]:
        return BaseEstimator._get_param_names.__func__(cls)

    def _get_param_names(self) -> list[str]:
        # Signature parameters, then every other keyword argument given to
        # __init__/set_params (routed names, and typos, which ``fit`` rejects
        # with a suggestion; keeping them here means ``clone`` keeps them too).
        signature = self._signature_params()
        extra = sorted(
            k for k in vars(self)
            if k not in signature and not k.startswith("_") and not k.endswith("_")
        )
        return signature + extra

    def set_params(self, **params) -> "KerasMLPClassifier":
        """Set parameters, including routed ones such as ``optimizer__learning_rate``.

        Like ``__init__``, this stores values unchecked; ``fit`` validates them.
        """
        signature = set(self._signature_params())
        for key, value in params.items():
            prefix = key.split("__", 1)[0]
            if "__" in key and prefix in ROUTING_PREFIXES:
                setattr(self, key, value)  # scikeras routed name
            elif "__" in key and prefix in signature:
                BaseEstimator.set_params(self, **{key: value})  # nested, e.g. callbacks__...
            else:
                setattr(self, key, value)
        return self

    def validate_params(self) -> None:
        """Check every parameter before anything is built or trained (``fit`` and ``partial_fit`` call it).

        Unknown names are refused with a suggestion; values are checked
        against the declared constraints (:mod:`kerastune_kit._constraints`):
        types first (a bool is not an integer, text is not a number), then
        ranges and names. Routed ``model__<name>`` and ``optimizer__<setting>``
        values are checked like the top-level parameter of the same name.

        Raises
        ------
        InvalidParameterType, InvalidParameterValue
            Naming the parameter, the value and what it must be.
        """
        known = set(self._signature_params())
        owner = type(self).__name__
        for key, value in vars(self).items():
            if key.startswith("_") or key.endswith("_"):
                continue
            if key in known:
                check_param(key, value, owner=owner)
                continue
            self._check_routed_name(key)
            prefix, _, name = key.partition("__")
            if prefix == "model" or (prefix == "optimizer" and name in _OPTIMIZER_SETTINGS):
                check_param(name, value, owner=owner, where=f"{key}: ")

    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        # Built from BaseEstimator's tags directly: scikeras puts
        # ClassifierMixin after BaseEstimator in its bases, so the mixin's
        # tags are never reached through super().
        tags = BaseEstimator.__sklearn_tags__(self)
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    # ------------------------------------------------------------------
    # scikeras hooks
    # ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **kwargs) -> "KerasMLPClassifier":
        """Build a fresh network and train it on ``(X, y)``.

        Returns
        -------
        self
        """
        y = self._check_fit_input(X, y)
        # training goes through kerastune_kit.training.fit_network, which raises
        # TrainingDiverged for a NaN or blown-up loss, as MLPClassifier does for NaN
        return self._continued(self.warm_start, False, super().fit, X, y, sample_weight=sample_weight,
                               **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs) -> "KerasMLPClassifier":
        """Train one more epoch on ``(X, y)`` (building the network on the first call).

        Checks the parameters and the data as ``fit`` does.

        Returns
        -------
        self
        """
        y = self._check_fit_input(X, y)
        return self._continued(True, True, super().partial_fit, X, y, classes=classes,
                               sample_weight=sample_weight, **kwargs)

    def _current_rate(self):
        return vars(self).get("optimizer__learning_rate", self.learning_rate)

    def _continued(self, warm: bool, appends: bool, train, X, y,
                   **kwargs) -> "KerasMLPClassifier":
        """Run ``train``; when it continues a trained network, set the rate first, join the history after.

        ``appends``: ``train`` (scikeras' ``partial_fit``) appends to ``history_`` itself.
        """
        continuing = bool(warm) and self.__sklearn_is_fitted__()
        rate = self._current_rate()
        label, number = rate_label(rate, as_callback_list(self.callbacks))
        if not continuing:
            train(X, y, **kwargs)
            self.segments_ = [{"start": 0, "epochs": len(self.history_.get("loss", ())),
                               "learning_rate": label, "rate": number}]
            return self
        before = {k: list(v) for k, v in self.history_.items()}
        n_before = len(before.get("loss", ()))
        segments = [dict(s) for s in getattr(self, "segments_", [])]
        if "learning_rate" not in before and segments:  # constant rates so far: write them out
            before["learning_rate"] = [np.nan if s["rate"] is None else s["rate"]
                                       for s in segments for _ in range(s["epochs"])]
        set_learning_rate(self.model_, rate)
        self._initialize_callbacks()  # scikeras reads them only when it builds the network
        train(X, y, **kwargs)
        n_new = len(self.history_.get("loss", ())) - (n_before if appends else 0)
        after = {k: list(v)[len(v) - n_new:] for k, v in self.history_.items()}
        last = segments[-1] if segments else None
        self.history_ = defaultdict(list, join_histories(
            before, after, rates=(None, number)))
        if appends and last is not None and last["learning_rate"] == label:
            last["epochs"] += n_new  # one more epoch at the same rate: the same stretch
        else:
            segments.append({"start": n_before, "epochs": n_new, "learning_rate": label,
                             "rate": number})
        self.segments_ = segments
        return self

    def _check_fit_input(self, X, y):
        self.validate_params()
        check_lengths(X, y)
        return check_labels(type(self).__name__, y)

    def _validate_data(self, X=None, y=None, reset: bool = False, y_numeric: bool = False):
        if X is not None:
            if check_features(type(self).__name__, X) >= 2:
                # Feature-count and feature-name checks with scikit-learn's
                # own messages ("X has 3 features, but ... is expecting 4").
                validate_data(self, X, reset=reset, skip_check_array=True)
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _initialize_callbacks(self) -> None:
        self._fit_callbacks = as_callback_list(self.callbacks)
        self._predict_callbacks = []

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        # X and y arrive encoded; carve a stratified, shuffled validation part.
        split = self.validation_split
        if split and "validation_data" not in kwargs:
            check_number("validation_split", split, low=0, high=1, high_inclusive=False)
            X, y, sample_weight, validation = stratified_holdout(
                X, y, sample_weight, split, self._random_state
            )
            kwargs.update(validation_split=0.0, validation_data=validation)
        # scikeras' own seeding context leaves TensorFlow's op determinism on
        # for the rest of the process (it sets TF_DETERMINISTIC_OPS before
        # asking whether determinism was on), after which every unseeded fit
        # fails with "Random ops require a seed". The kit's training sequence
        # seeds instead (kerastune_kit.training.fit_network).
        seed, self._random_state = self._random_state, None
        model, self.model_ = self.model_, NetworkView(
            self.model_, seed=seed, learning_rate=self.learning_rate)
        try:
            super()._fit_keras_model(
                X, y, sample_weight, warm_start=warm_start, epochs=epochs,
                initial_epoch=initial_epoch, **kwargs,
            )
        finally:
            self._random_state = seed
            self.model_ = model

    def _predict_raw(self, X, **kwargs):
        if not hasattr(self, "model_"):
            return super()._predict_raw(X, **kwargs)  # scikeras' NotFittedError
        model, self.model_ = self.model_, NetworkView(self.model_)
        try:
            return super()._predict_raw(X, **kwargs)
        finally:
            self.model_ = model

    def _build_keras_model(self):
        params = {name: getattr(self, name) for name in BUILDER_PARAMS}
        routed = vars(self)
        for key, value in routed.items():
            if key.startswith("model__"):
                name = key[len("model__") :]
                if name not in BUILDER_PARAMS:
                    raise ValueError(
                        f"{key}={value!r}: build_mlp has no parameter {name!r}."
                        + did_you_mean(name, BUILDER_PARAMS)
                    )
                params[name] = value
        optimizer_kwargs = {}
        for key, value in routed.items():
            if key.startswith("optimizer__"):
                name = key[len("optimizer__") :]
                if name in _OPTIMIZER_SETTINGS:
                    params[name] = value
                else:
                    optimizer_kwargs[name] = value
        # scikeras' own draw from a RandomState is always 0 (randint(low=1));
        # draw a real seed, without advancing the caller's generator.
        self._random_state = seed_from(self.random_state)
        return build_mlp(
            **params,
            optimizer_kwargs=optimizer_kwargs or None,
            seed=self._random_state,
            meta=self._get_metadata(),
        )
