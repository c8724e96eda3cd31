"""What :class:`~kerastune_kit.KerasMLPClassifier` and :class:`~kerastune_kit.KerasMLPRegressor` share.

:class:`MLPEstimatorBase` holds the parameter handling (every builder
parameter top level, scikeras' routed names, declared constraints checked in
``fit`` *and* ``partial_fit``), the weights (``sample_weight`` and
``class_weight`` combined on a copy, then normalised so that a weight of 2
counts as a repeated row), the validation hold-out, and the training through
the kit's own sequence (:func:`~kerastune_kit.training.fit_network`). The
subclasses say what the target is (:meth:`MLPEstimatorBase._prepare_target`)
and which output layer it needs (:meth:`MLPEstimatorBase._output`).

scikeras supplies the outer loop (``BaseWrapper._fit``: validate, build,
encode, train); the weights, targets, output layers and training are the
kit's own, so its behaviour does not rest on scikeras' internals.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._constraints import check_param
from ._inputs import check_features, check_lengths
from ._template import settle_optimizer
from ._validation import check_number, did_you_mean
from .builders import BUILD_ARGUMENTS, build_mlp
from .callbacks import as_callback_list
from .errors import InvalidParameterType
from .training import (NetworkView, join_histories, rate_label, seed_from, set_learning_rate,
                       stratified_holdout)

__all__ = ["MLPEstimatorBase", "BUILDER_PARAMS", "ROUTING_PREFIXES", "normalised_weights"]

#: Estimator parameters that are handed to ``build_mlp`` unchanged.
BUILDER_PARAMS = (
    "n_layers", "nodes", "hidden_layer_sizes", "activation", "kernel_initializer",
    "kernel_l1", "kernel_l2", "activity_l1", "activity_l2", "dropout", "max_norm",
    "batch_norm", "optimizer", "learning_rate", "momentum", "beta_1", "beta_2", "epsilon",
    "weight_decay", "loss", "metrics", "run_eagerly",
)
_OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "weight_decay")
#: Prefixes of scikeras' routed parameters that the estimators honour.
ROUTING_PREFIXES = ("model", "fit", "predict", "optimizer")


def normalised_weights(sample_weight: np.ndarray | None) -> np.ndarray | None:
    """Weights rescaled to average 1 (a new array).

    Keras divides a weighted loss by the number of rows, not by the sum of
    the weights, so multiplying every weight by 3 would triple the gradient
    (and make SGD diverge). Rescaled to mean 1, weights only say how much one
    row counts against another: a weight of 2 is a repeated row, and the
    scale of the weights does not change the fit.
    """
    if sample_weight is None:
        return None
    total = float(np.sum(sample_weight))
    if total <= 0:
        return np.asarray(sample_weight, dtype="float32")
    return (np.asarray(sample_weight, dtype="float64") * (len(sample_weight) / total)).astype(
        "float32")


#: Key of the pickled estimator state holding what Keras' saving leaves out of ``model_``.
_MODEL_EXTRAS = "_kerastune_model_extras"


def _model_extras(model) -> dict:
    """What Keras' saving does not keep of a network: its build arguments, its seed generators' states."""
    seeds = {}
    for i, layer in enumerate(model.layers):
        generator = getattr(layer, "seed_generator", None)
        if isinstance(generator, keras.random.SeedGenerator):
            seeds[i] = np.array(keras.ops.convert_to_numpy(generator.state))
    return {"build_arguments": _plain(getattr(model, BUILD_ARGUMENTS, None)), "seed_states": seeds}


def _plain(value):
    """``value`` with Keras' tracked containers (set on a model's attributes) as plain ones."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _restore_model_extras(model, extras: dict) -> None:
    """Put back on a loaded network what :func:`_model_extras` recorded."""
    if extras.get("build_arguments") is not None:
        setattr(model, BUILD_ARGUMENTS, extras["build_arguments"])
    layers = model.layers
    for i, value in extras.get("seed_states", {}).items():
        generator = getattr(layers[i], "seed_generator", None) if i < len(layers) else None
        if isinstance(generator, keras.random.SeedGenerator):
            generator.state.assign(value)


class MLPEstimatorBase:
    """Mixin for a scikeras wrapper that builds its network with :func:`~kerastune_kit.build_mlp`.

    Put it first in the bases (``class KerasMLPRegressor(MLPEstimatorBase,
    KerasRegressor)``). Subclasses declare every parameter in ``__init__``
    and set ``_declares_parameters = True``; a user's subclass may take
    ``**kwargs`` and pass them on, as with scikit-learn estimators.
    """

    #: Set on a class whose ``__init__`` lists the estimator's parameters.
    _declares_parameters = False
    #: Whether the validation hold-out is stratified by class.
    _stratify_holdout = True

    # ------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------
    @classmethod
    def _signature_params(cls) -> list[str]:
        """Parameters of ``__init__``, following ``**kwargs`` up to the kit's estimator class.

        A subclass written ``def __init__(self, extra=1, **kwargs)`` passes the
        rest on to the kit's ``__init__``: its parameters are ``extra`` and
        every parameter of the kit's class.
        """
        names: list[str] = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            params = inspect.signature(init).parameters.values()
            names += [p.name for p in params if p.name != "self"
                      and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            if klass.__dict__.get("_declares_parameters") or not any(
                    p.kind == p.VAR_KEYWORD for p in params):
                break
        return sorted(set(names))

    @classmethod
    def _check_routed_name(cls, key: str) -> None:
        prefix = key.split("__", 1)[0]
        if "__" in key and prefix in ROUTING_PREFIXES:
            return
        raise InvalidParameterType(
            f"{cls.__name__} got an unexpected parameter {key!r}."
            + did_you_mean(key, cls._signature_params())
            + " Network and training settings are top-level parameters (see "
            f"{cls.__name__}().get_params()); routed names start with one of "
            f"{[p + '__' for p in ROUTING_PREFIXES]}."
        )

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

    def set_params(self, **params):
        """Set parameters, including routed ones such as ``optimizer__learning_rate``.

        Like ``__init__``, this stores values unchecked; ``fit`` validates them.
        """
        signature = set(self._signature_params())
        for key, value in params.items():
            prefix = key.split("__", 1)[0]
            if "__" in key and prefix in signature and prefix not in ROUTING_PREFIXES:
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

    # ------------------------------------------------------------------
    # the network
    # ------------------------------------------------------------------
    @property
    def model_(self):
        """The fitted Keras network, its optimiser state complete.

        A fit on the fast path leaves the optimiser state pending on the
        network (creating Keras' optimiser variables is most of a small fit's
        fixed cost, and a network fitted inside a search is only scored);
        reading ``model_`` creates them, with the values training left
        (:func:`~kerastune_kit._template.settle_optimizer`), so whoever sees
        the network (saving, pickling, a continued fit, the user) sees
        exactly the state training produced. The estimator's own scoring
        reads the network without settling it.
        """
        try:
            model = self.__dict__["model_"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'model_'") \
                from None
        settle_optimizer(model)
        return model

    @model_.setter
    def model_(self, model) -> None:
        self.__dict__["model_"] = model

    @model_.deleter
    def model_(self) -> None:
        del self.__dict__["model_"]

    @property
    def initialized_(self) -> bool:
        """Whether the estimator has a network (scikeras' flag; reads it without settling it)."""
        return "model_" in self.__dict__

    # ------------------------------------------------------------------
    # pickling
    # ------------------------------------------------------------------
    def __getstate__(self):
        """The estimator's state, plus what Keras' own saving drops from ``model_``.

        scikeras pickles the network through Keras' saving, which keeps the
        weights and the optimiser state but not the arguments ``build_mlp``
        recorded on the model (which tell the fast path which traced program
        trains it) nor the dropout layers' seed-generator states (which
        decide the next masks). Both travel here, so a loaded estimator
        trains on the fast path, exactly as one that was never pickled.
        """
        if self.initialized_:
            settle_optimizer(self.__dict__["model_"])
        state = dict(super().__getstate__())
        model = state.get("model_")
        if model is not None:
            state[_MODEL_EXTRAS] = _model_extras(model)
        return state

    def __setstate__(self, state):
        state = dict(state)
        extras = state.pop(_MODEL_EXTRAS, None)
        super().__setstate__(state)
        if extras is not None and getattr(self, "model_", None) is not None:
            _restore_model_extras(self.model_, extras)

    def __sklearn_is_fitted__(self) -> bool:
        return self.initialized_

    # ------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------
    def _fit_entry(self, X, y, sample_weight, *, partial: bool, classes=None, **kwargs):
        """What ``fit`` and ``partial_fit`` share: every check, then scikeras' loop."""
        self.validate_params()
        check_lengths(X, y)
        y = self._check_target(y)
        weights = self._combined_weights(X, y, sample_weight)
        fresh = not (partial or self.warm_start) or not hasattr(self, "model_")
        if fresh:
            self._prepare_target(y, weights, classes)
        if partial:
            def train():
                BaseWrapper.partial_fit(self, X, y, sample_weight=weights, **kwargs)
        else:
            def train():
                BaseWrapper.fit(self, X, y, sample_weight=weights, **kwargs)
        return self._continued(not fresh, partial, train)

    def _current_rate(self):
        return vars(self).get("optimizer__learning_rate", self.learning_rate)

    def _continued(self, continuing: bool, appends: bool, train):
        """Run ``train()``; when it continues a trained network, set the rate first, join the history after.

        ``appends``: ``train`` (scikeras' ``partial_fit``) appends to ``history_`` itself.
        """
        rate = self._current_rate()
        label, number = rate_label(rate, as_callback_list(self.callbacks))
        if not continuing:
            train()
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
        train()
        n_new = len(self.history_.get("loss", ())) - (n_before if appends else 0)
        after = {k: list(v)[len(v) - n_new:] for k, v in self.history_.items()}
        last = segments[-1] if segments else None
        self.history_ = defaultdict(list, join_histories(before, after, rates=(None, number)))
        if appends and last is not None and last["learning_rate"] == label:
            last["epochs"] += n_new  # one more epoch at the same rate: the same stretch
        else:
            segments.append({"start": n_before, "epochs": n_new, "learning_rate": label,
                             "rate": number})
        self.segments_ = segments
        return self

    def _check_target(self, y):
        raise NotImplementedError

    def _prepare_target(self, y, sample_weight, classes) -> None:
        """Decide, before the network is built, how the target is encoded and learnt."""
        raise NotImplementedError

    def _output(self) -> dict:
        """``build_mlp`` arguments of the output layer: ``output``, ``loss``, ``n_outputs``."""
        raise NotImplementedError

    def _combined_weights(self, X, y, sample_weight):
        """``sample_weight`` times the class weights, on a new float array (the caller's is never changed)."""
        class_weight = getattr(self, "class_weight", None)
        if sample_weight is None and class_weight is None:
            return None
        weights = _check_sample_weight(sample_weight, np.empty((len(y), 0)), dtype=np.float64,
                                       ensure_non_negative=True, copy=True)
        if class_weight is not None:
            y = np.asarray(y)
            labels = y.argmax(axis=1) if y.ndim == 2 and np.all(y.sum(axis=1) == 1) else y
            weights = weights * compute_sample_weight(class_weight=class_weight, y=labels)
        return weights

    def _validate_data(self, X=None, y=None, reset: bool = False, y_numeric: bool = False):
        if X is not None:
            if check_features(type(self).__name__, X) >= 2:
                # Feature-count and feature-name checks with scikit-learn's
                # own messages ("X has 3 features, but ... is expecting 4").
                validate_data(self, X, reset=reset, skip_check_array=True)
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _check_model_compatibility(self, y) -> None:
        """The output layer is chosen from the target before building (nothing to check after)."""

    def _initialize_callbacks(self) -> None:
        self._fit_callbacks = as_callback_list(self.callbacks)
        self._predict_callbacks = []

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        # X and y arrive encoded; carve a shuffled (stratified) validation part.
        split = self.validation_split
        if split and "validation_data" not in kwargs:
            check_number("validation_split", split, low=0, high=1, high_inclusive=False)
            X, y, sample_weight, validation = stratified_holdout(
                X, y, sample_weight, split, self._random_state, stratify=self._stratify_holdout
            )
            if len(validation) == 3:
                validation = validation[:2] + (normalised_weights(validation[2]),)
            kwargs.update(validation_split=0.0, validation_data=validation)
        sample_weight = normalised_weights(sample_weight)
        # scikeras' own seeding context leaves TensorFlow's op determinism on
        # for the rest of the process (it sets TF_DETERMINISTIC_OPS before
        # asking whether determinism was on), after which every unseeded fit
        # fails with "Random ops require a seed". The kit's training sequence
        # seeds instead (kerastune_kit.training.fit_network).
        seed, self._random_state = self._random_state, None
        model = self.model_
        self.model_ = NetworkView(model, seed=seed, learning_rate=self.learning_rate,
                                  defer_optimizer=True)
        try:
            super()._fit_keras_model(
                X, y, sample_weight, warm_start=warm_start, epochs=epochs,
                initial_epoch=initial_epoch, **kwargs,
            )
        finally:
            self._random_state = seed
            self.model_ = model

    def _predict_raw(self, X, **kwargs):
        if not self.initialized_:
            return super()._predict_raw(X, **kwargs)  # scikeras' NotFittedError
        model = self.__dict__["model_"]  # (predicting needs no optimiser state: left pending)
        self.model_ = NetworkView(model)
        try:
            return super()._predict_raw(X, **kwargs)
        finally:
            self.model_ = model

    def _build_keras_model(self):
        params: dict[str, Any] = {name: getattr(self, name) for name in BUILDER_PARAMS}
        routed = vars(self)
        for key, value in routed.items():
            if key.startswith("model__"):
                name = key[len("model__"):]
                if name not in BUILDER_PARAMS:
                    raise ValueError(
                        f"{key}={value!r}: build_mlp has no parameter {name!r}."
                        + did_you_mean(name, BUILDER_PARAMS)
                    )
                params[name] = value
        optimizer_kwargs = {}
        for key, value in routed.items():
            if key.startswith("optimizer__"):
                name = key[len("optimizer__"):]
                if name in _OPTIMIZER_SETTINGS:
                    params[name] = value
                else:
                    optimizer_kwargs[name] = value
        params.update(self._output())
        # scikeras' own draw from a RandomState is always 0 (randint(low=1));
        # draw a real seed, without advancing the caller's generator.
        self._random_state = seed_from(self.random_state)
        return build_mlp(
            **params,
            optimizer_kwargs=optimizer_kwargs or None,
            seed=self._random_state,
            meta=self._get_metadata(),
        )
