"""Model builders: one function that turns hyperparameters into a compiled Keras MLP.

``build_mlp`` is the single place where a network is made. The scikit-learn
estimator (:class:`kerastune_kit.KerasMLPClassifier`) and, later, the Keras
Tuner hypermodel both call it, so a set of hyperparameters means the same
network whichever search runs it.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Mapping, Sequence

import keras

from ._constraints import ACTIVATION_NAMES, check_network_size
from ._validation import check_choice, check_number, check_positive_int
from .errors import InvalidParameterType, InvalidParameterValue

#: Attribute of a built model holding the arguments that rebuild it (read by
#: kerastune_kit.fastfit).
BUILD_ARGUMENTS = "_kerastune_build_arguments"

__all__ = [
    "build_mlp",
    "resolve_hidden_layers",
    "make_optimizer",
    "ACTIVATIONS",
    "INITIALIZERS",
    "OPTIMIZERS",
    "LOSSES",
    "OUTPUT_LOSSES",
]

#: Hidden-layer activations ``build_mlp`` accepts (Keras names).
ACTIVATIONS = ACTIVATION_NAMES

#: Kernel initialisers by name. ``zeros`` and ``ones`` are here on purpose:
#: the course material shows that equal weights stop a network from learning.
INITIALIZERS = {
    "he_uniform": keras.initializers.HeUniform,
    "he_normal": keras.initializers.HeNormal,
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
    "lecun_normal": keras.initializers.LecunNormal,
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
    "truncated_normal": keras.initializers.TruncatedNormal,
    "orthogonal": keras.initializers.Orthogonal,
    "zeros": keras.initializers.Zeros,
    "ones": keras.initializers.Ones,
}
_UNSEEDED_INITIALIZERS = {"zeros", "ones"}

#: Optimisers by name, with the settings of ``build_mlp`` each one uses.
OPTIMIZERS = {
    "adam": (keras.optimizers.Adam, ("beta_1", "beta_2", "epsilon")),
    "adamw": (keras.optimizers.AdamW, ("beta_1", "beta_2", "epsilon")),
    "nadam": (keras.optimizers.Nadam, ("beta_1", "beta_2", "epsilon")),
    "sgd": (keras.optimizers.SGD, ("momentum",)),
    "rmsprop": (keras.optimizers.RMSprop, ("momentum", "epsilon")),
}

#: Losses by output layer. Softmax: the sparse loss takes integer class codes,
#: the dense one one-hot rows. Sigmoid (binary or multilabel): 0/1 targets.
#: Linear (regression): numbers.
OUTPUT_LOSSES = {
    "softmax": ("sparse_categorical_crossentropy", "categorical_crossentropy"),
    "sigmoid": ("binary_crossentropy",),
    "linear": ("mse", "mae", "huber", "log_cosh", "mean_squared_error", "mean_absolute_error"),
}
#: Every loss name ``build_mlp`` accepts.
LOSSES = tuple(name for names in OUTPUT_LOSSES.values() for name in names)


def resolve_hidden_layers(
    n_layers: int = 2, nodes: int = 100, hidden_layer_sizes: Sequence[int] | None = None
) -> tuple[int, ...]:
    """Return the widths of the hidden layers.

    ``hidden_layer_sizes`` wins when given (``(64, 32)`` is two layers of 64 and
    32 units, ``()`` is no hidden layer); otherwise there are ``n_layers``
    layers of ``nodes`` units each (``n_layers=0`` is a softmax regression).

    Examples
    --------
    >>> resolve_hidden_layers(3, 10)
    (10, 10, 10)
    >>> resolve_hidden_layers(hidden_layer_sizes=[64, 32])
    (64, 32)
    """
    if hidden_layer_sizes is not None:
        if isinstance(hidden_layer_sizes, (str, bytes)) or not isinstance(
            hidden_layer_sizes, Sequence
        ):
            raise InvalidParameterType(
                f"hidden_layer_sizes={hidden_layer_sizes!r} (type "
                f"{type(hidden_layer_sizes).__name__}) must be a list or tuple of "
                "positive integers, e.g. (64, 32), or None to use n_layers and nodes."
            )
        for i, width in enumerate(hidden_layer_sizes):
            check_positive_int(f"hidden_layer_sizes[{i}]", width)
        return tuple(int(w) for w in hidden_layer_sizes)
    if isinstance(n_layers, bool) or not isinstance(n_layers, numbers.Integral) or n_layers < 0:
        raise InvalidParameterValue(
            f"n_layers={n_layers!r} must be an integer >= 0 (0 means no hidden layer)."
        )
    check_positive_int("nodes", nodes)
    return (int(nodes),) * int(n_layers)


def make_optimizer(
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    *,
    momentum: float | None = None,
    beta_1: float | None = None,
    beta_2: float | None = None,
    epsilon: float | None = None,
    weight_decay: float | None = None,
    optimizer_kwargs: Mapping[str, Any] | None = None,
) -> keras.optimizers.Optimizer:
    """Return a fresh Keras optimiser.

    Settings left at ``None`` keep Keras' defaults. A setting the chosen
    optimiser does not have (``momentum`` for Adam, ``beta_1`` for SGD) is
    ignored, so one search space can vary the optimiser and its settings
    together. ``optimizer_kwargs`` go to the optimiser's constructor unchanged
    (``nesterov``, ``clipnorm``, ...). An optimiser instance is copied, never
    shared between models.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer.__class__.from_config(optimizer.get_config())
    name = check_choice("optimizer", optimizer, OPTIMIZERS, what="optimizer")
    cls, accepted = OPTIMIZERS[name]
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        check_number("learning_rate", learning_rate, low=0, low_inclusive=False)
        learning_rate = float(learning_rate)
    settings = {"momentum": momentum, "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}
    check_number("momentum", momentum, low=0, high=1, high_inclusive=False, allow_none=True)
    check_number("beta_1", beta_1, low=0, high=1, high_inclusive=False, allow_none=True)
    check_number("beta_2", beta_2, low=0, high=1, high_inclusive=False, allow_none=True)
    check_number("epsilon", epsilon, low=0, low_inclusive=False, allow_none=True)
    check_number("weight_decay", weight_decay, low=0, allow_none=True)
    kwargs: dict[str, Any] = {
        key: value for key, value in settings.items() if key in accepted and value is not None
    }
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    kwargs.update(optimizer_kwargs or {})
    try:
        return cls(learning_rate=learning_rate, **kwargs)
    except (TypeError, ValueError) as err:
        raise InvalidParameterValue(
            f"optimizer={name!r} does not accept the options {sorted(kwargs)} ({err}). "
            "Remove or rename the unknown optimizer__ option."
        ) from None


def _regularizer(l1: float, l2: float, kind: str):
    check_number(f"{kind}_l1", l1, low=0)
    check_number(f"{kind}_l2", l2, low=0)
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


def _input_shape(input_shape, meta) -> tuple[int, ...]:
    if input_shape is None and meta is not None:
        input_shape = tuple(meta["X_shape_"][1:])
    if input_shape is None:
        raise InvalidParameterValue(
            "input_shape=None: pass the number of features (e.g. input_shape=6) or the "
            "shape of one sample (e.g. (28, 28)) when calling build_mlp directly."
        )
    if isinstance(input_shape, numbers.Integral):
        input_shape = (input_shape,)
    input_shape = tuple(input_shape)
    for i, dim in enumerate(input_shape):
        check_positive_int(f"input_shape[{i}]", dim)
    return input_shape


def _n_units(output: str, n_classes, n_outputs, meta) -> int:
    """Units of the output layer: one per class (softmax), else one per target column."""
    if output == "softmax":
        return _n_classes(n_classes if n_outputs is None else n_outputs, meta)
    units = n_outputs if n_outputs is not None else n_classes
    if units is None:
        raise InvalidParameterValue(
            f"n_outputs=None: pass the number of output units (e.g. n_outputs=1) when calling "
            f"build_mlp directly with output={output!r}.")
    check_positive_int("n_outputs", units)
    return int(units)


def _n_classes(n_classes, meta) -> int:
    if n_classes is None and meta is not None:
        n_classes = meta.get("n_classes_")
    if n_classes is None:
        raise InvalidParameterValue(
            "n_classes=None: pass the number of classes (e.g. n_classes=3) when calling "
            "build_mlp directly."
        )
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise InvalidParameterValue(
            f"n_classes={n_classes!r}: a classifier needs at least 2 classes in y."
        )
    return int(n_classes)


@contextlib.contextmanager
def _first_names():
    """Keras' automatic names inside the block start afresh: ``adam``, ``seed_generator``, ...

    Keras names the objects it names itself (optimisers, dropout seed
    generators) with a process-wide counter: ``adam_41``, ``seed_generator_87``.
    Their variables' names go into TensorFlow's variable-creating op, and
    TensorFlow's eager kernel cache keeps one kernel for every name it sees, for
    as long as the process lives: about 35 KB a variable (measured), 105 KB a
    network (its optimiser's step counter and learning rate, a seed
    generator's state). Inside this block the counter starts from zero, so
    every network of one architecture makes the same names and reuses the
    same kernels; the counter of the rest of the process is left as it was.
    (Layer names are the builder's own and unique within a network.)
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - another Keras layout: names as Keras gives them
        yield
        return
    saved = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", None)  # (Keras makes a fresh one)
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


def build_mlp(
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
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    momentum: float | None = None,
    beta_1: float | None = None,
    beta_2: float | None = None,
    epsilon: float | None = None,
    weight_decay: float | None = None,
    optimizer_kwargs: Mapping[str, Any] | None = None,
    loss: str | keras.losses.Loss = "sparse_categorical_crossentropy",
    metrics: Sequence[Any] | None = ("accuracy",),
    input_shape: int | Sequence[int] | None = None,
    n_classes: int | None = None,
    output: str = "softmax",
    n_outputs: int | None = None,
    seed: int | None = None,
    run_eagerly: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> keras.Model:
    """Build and compile a multi-layer perceptron for classification or regression.

    Layers: ``Input -> [Flatten] -> (Dense -> [BatchNorm] -> activation ->
    [Dropout]) x hidden -> Dense(units, output)``: ``n_classes`` softmax
    units by default, sigmoid units for binary and multilabel targets,
    linear units for regression.

    Parameters
    ----------
    n_layers, nodes : int, default 2 and 100
        Number of hidden layers and units in each. ``n_layers=0`` gives a
        softmax regression.
    hidden_layer_sizes : sequence of int, optional
        Explicit widths, e.g. ``(64, 32)``; takes precedence over
        ``n_layers``/``nodes``.
    activation : str, default "relu"
        One of :data:`ACTIVATIONS`.
    kernel_initializer : str, default "he_uniform"
        One of :data:`INITIALIZERS`.
    kernel_l1, kernel_l2, activity_l1, activity_l2 : float, default 0
        L1/L2 penalty strengths on the hidden kernels and on the hidden
        layers' outputs. 0 switches a penalty off; negative is an error.
    dropout : float, default 0
        Dropout rate after each hidden layer, in [0, 1). Active only in training.
    max_norm : float, optional
        Max-norm constraint on each hidden unit's incoming weights.
    batch_norm : bool, default False
        Batch normalisation between each hidden Dense layer and its activation.
    optimizer : {"adam", "adamw", "nadam", "sgd", "rmsprop"} or Optimizer
    learning_rate : float or LearningRateSchedule, default 1e-3
    momentum, beta_1, beta_2, epsilon, weight_decay : float, optional
        Optimiser settings; ``None`` keeps Keras' default. Settings the chosen
        optimiser lacks are ignored (see :func:`make_optimizer`).
    optimizer_kwargs : dict, optional
        Extra keyword arguments for the optimiser's constructor.
    loss : str or Loss, default "sparse_categorical_crossentropy"
        A name must fit ``output`` (see :data:`OUTPUT_LOSSES`): softmax takes
        the categorical cross-entropies, sigmoid ``binary_crossentropy``,
        linear ``mse``, ``mae``, ``huber`` or ``log_cosh``.
    metrics : sequence, default ("accuracy",)
    input_shape : int or tuple, optional
        Features per sample, or the shape of one sample (``(28, 28)``,
        ``(32, 32, 3)``): multi-dimensional input is flattened. Read from
        ``meta`` when the estimator calls the builder.
    n_classes : int, optional
        Number of classes (>= 2). Read from ``meta`` when the estimator calls.
    output : {"softmax", "sigmoid", "linear"}, default "softmax"
        The output layer: class probabilities that sum to 1, independent 0/1
        probabilities (one unit for a binary target, one per label for
        multilabel), or numbers (regression).
    n_outputs : int, optional
        Units of the output layer; for softmax it stands for ``n_classes``.
    seed : int, optional
        Seeds every initialiser and dropout layer, so the same seed gives the
        same initial network.
    run_eagerly : bool, default False
        Passed to ``Model.compile`` (slow; for debugging).
    meta : dict, optional
        scikeras' fit metadata (``X_shape_``, ``n_classes_``).

    Returns
    -------
    keras.Model
        A compiled model whose output is one softmax probability per class.

    Examples
    --------
    >>> model = build_mlp(input_shape=6, n_classes=3, nodes=16, seed=0)
    >>> [layer.units for layer in model.layers if hasattr(layer, "units")]
    [16, 16, 3]
    """
    widths = resolve_hidden_layers(n_layers, nodes, hidden_layer_sizes)
    activation = check_choice("activation", activation, ACTIVATIONS, what="activation")
    init_name = check_choice(
        "kernel_initializer", kernel_initializer, INITIALIZERS, what="kernel initializer"
    )
    check_number("dropout", dropout, low=0, high=1, high_inclusive=False)
    check_number("max_norm", max_norm, low=0, low_inclusive=False, allow_none=True)
    if seed is not None:
        check_number("seed", seed, low=0)
    output = check_choice("output", output, OUTPUT_LOSSES, what="output layer")
    if not isinstance(loss, keras.losses.Loss):
        loss = check_choice("loss", loss, LOSSES, what="loss")
        if loss not in OUTPUT_LOSSES[output]:
            raise InvalidParameterValue(
                f"loss={loss!r} does not fit output={output!r}: use one of "
                f"{list(OUTPUT_LOSSES[output])}.")
    kernel_reg = _regularizer(kernel_l1, kernel_l2, "kernel")
    activity_reg = _regularizer(activity_l1, activity_l2, "activity")
    shape = _input_shape(input_shape, meta)
    classes = _n_units(output, n_classes, n_outputs, meta)
    check_network_size(math.prod(shape), widths, classes)  # before any weight is allocated
    # automatic names (optimiser, seed generators) the same for every network: see _first_names
    with _first_names():
        opt = make_optimizer(
            optimizer,
            learning_rate,
            momentum=momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_decay=weight_decay,
            optimizer_kwargs=optimizer_kwargs,
        )

        def seed_for(offset: int) -> int | None:
            return None if seed is None else int(seed) + offset

        def initializer(offset: int):
            cls = INITIALIZERS[init_name]
            return cls() if init_name in _UNSEEDED_INITIALIZERS else cls(seed=seed_for(offset))

        inputs = keras.Input(shape=shape, name="features")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
        for i, width in enumerate(widths):
            x = keras.layers.Dense(
                width,
                kernel_initializer=initializer(i),
                kernel_regularizer=kernel_reg,
                activity_regularizer=activity_reg,
                kernel_constraint=keras.constraints.MaxNorm(max_norm) if max_norm else None,
                use_bias=not batch_norm,
                name=f"hidden_{i}",
            )(x)
            if batch_norm:
                x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = keras.layers.Activation(activation, name=f"{activation}_{i}")(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout, seed=seed_for(1000 + i), name=f"dropout_{i}")(x)
        outputs = keras.layers.Dense(
            classes,
            activation=output,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed_for(len(widths))),
            name="output",
        )(x)
        model = keras.Model(inputs, outputs, name="mlp")
        model.compile(
            optimizer=opt,
            loss=loss,
            metrics=list(metrics) if metrics else None,
            run_eagerly=run_eagerly,
        )
    # Everything that rebuilds this network, resolved: kerastune_kit.fastfit
    # works out from it which traced program the network can share.
    setattr(model, BUILD_ARGUMENTS, dict(
        hidden_layer_sizes=widths, activation=activation, kernel_initializer=init_name,
        kernel_l1=kernel_l1, kernel_l2=kernel_l2, activity_l1=activity_l1,
        activity_l2=activity_l2, dropout=dropout, max_norm=max_norm, batch_norm=batch_norm,
        optimizer=optimizer, learning_rate=learning_rate, momentum=momentum, beta_1=beta_1,
        beta_2=beta_2, epsilon=epsilon, weight_decay=weight_decay,
        optimizer_kwargs=dict(optimizer_kwargs or {}), loss=loss,
        metrics=tuple(metrics) if metrics else None, input_shape=shape, n_classes=classes,
        output=output, seed=seed, run_eagerly=run_eagerly,
    ))
    return model

