"""Declared constraints of the estimator's parameters, checked once before anything is built.

Modelled on scikit-learn's ``_param_validation``: each parameter of
:class:`~kerastune_kit.KerasMLPClassifier` has a constraint here (a type, a
range, a list of names), and :func:`check_params` checks values against
them with one message style: the parameter, the value and its type, what it
must be and how to fix it. ``bool`` is never an integer and a string never a
number. The same table checks a search space's values (every choice, both
bounds) and ``tune``'s fixed estimator parameters before a search starts,
so a search never trains one trial on a value the estimator refuses.
Nothing here imports Keras.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ._validation import did_you_mean
from .errors import InvalidParameterType, InvalidParameterValue

__all__ = ["ACTIVATION_NAMES", "INITIALIZER_NAMES", "OPTIMIZER_NAMES", "LOSS_NAMES",
           "ESTIMATOR_CONSTRAINTS", "check_params", "check_param", "describe",
           "check_network_size", "candidate_values"]

#: Hidden-layer activations (Keras names).
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "selu", "gelu", "silu",
                    "swish", "softplus", "relu6", "linear")
#: Kernel initialisers by name (``zeros`` and ``ones`` on purpose: equal weights break learning).
INITIALIZER_NAMES = ("he_uniform", "he_normal", "glorot_uniform", "glorot_normal",
                     "lecun_uniform", "lecun_normal", "random_normal", "random_uniform",
                     "truncated_normal", "orthogonal", "zeros", "ones")
#: Optimisers by name.
OPTIMIZER_NAMES = ("adam", "adamw", "nadam", "sgd", "rmsprop")
#: Loss names the estimators take ("auto": the loss that fits the target; which
#: losses fit which target is decided in kerastune_kit._targets).
LOSS_NAMES = ("auto", "sparse_categorical_crossentropy", "categorical_crossentropy",
              "binary_crossentropy", "mse", "mae", "huber", "log_cosh", "mean_squared_error",
              "mean_absolute_error")

_INT_MAX_SEED = 2**32 - 1


# ----------------------------------------------------------------------
# constraints: (test, description) pairs, composed with any_of
# ----------------------------------------------------------------------
def _integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def integer(low: int | None = None, high: int | None = None):
    span = (f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]")
    return (lambda v: _integer(v) and (low is None or v >= low) and (high is None or v <= high),
            span, "integer")


def real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False):
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    span = f"a number in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"

    def test(v):
        if not _real(v):
            return False
        if low is not None and (v <= low if low_open else v < low):
            return False
        return not (high is not None and (v >= high if high_open else v > high))

    return test, span, "number"


def one_of(*names: str):
    test = (lambda v: isinstance(v, str) and v.lower() in names)
    test.names = names  # for "did you mean" suggestions
    return test, f"one of {list(names)}", "name"


def boolean():
    return (lambda v: isinstance(v, (bool, np.bool_)), "True or False", "bool")


def none():
    return (lambda v: v is None, "None", "none")


def not_text():
    return (lambda v: v is not None and not isinstance(v, (str, bytes, numbers.Number)),
            "an object", "object")


def positive_widths():
    return (lambda v: isinstance(v, (list, tuple)) and all(
        _integer(w) and w >= 1 for w in v), "a list or tuple of integers >= 1, e.g. (64, 32)",
        "widths")


def anything():
    return (lambda v: True, "anything", "any")


def random_state():
    return (lambda v: v is None or (_integer(v) and 0 <= v <= _INT_MAX_SEED)
            or isinstance(v, np.random.RandomState),
            f"None, an integer in [0, {_INT_MAX_SEED}] or a numpy RandomState", "seed")


def class_weights():
    return (lambda v: v is None or v == "balanced" or isinstance(v, Mapping),
            "None, 'balanced' or a dict {class: weight}", "weights")


#: parameter -> (constraints, any of which is enough; a hint for the fix)
ESTIMATOR_CONSTRAINTS: dict[str, tuple[tuple, str]] = {
    "n_layers": ((integer(0),), "the number of hidden layers (0: softmax regression)"),
    "nodes": ((integer(1),), "units in each hidden layer"),
    "hidden_layer_sizes": ((none(), positive_widths()), "explicit widths, or None"),
    "activation": ((one_of(*ACTIVATION_NAMES),), "a Keras activation name"),
    "kernel_initializer": ((one_of(*INITIALIZER_NAMES),), "an initialiser name"),
    "kernel_l1": ((real(0),), "an L1 penalty strength; 0 switches it off"),
    "kernel_l2": ((real(0),), "an L2 penalty strength; 0 switches it off"),
    "activity_l1": ((real(0),), "an L1 penalty strength; 0 switches it off"),
    "activity_l2": ((real(0),), "an L2 penalty strength; 0 switches it off"),
    "dropout": ((real(0, 1, high_open=True),), "the fraction of units dropped in training"),
    "max_norm": ((none(), real(0, low_open=True)), "a max-norm limit, or None"),
    "batch_norm": ((boolean(),), "batch normalisation on or off"),
    "optimizer": ((one_of(*OPTIMIZER_NAMES), not_text()), "an optimiser name or instance"),
    "learning_rate": ((real(0, low_open=True), not_text()),
                      "a rate > 0 (e.g. 1e-3) or a Keras schedule"),
    "momentum": ((none(), real(0, 1, high_open=True)), "SGD/RMSprop momentum, or None"),
    "beta_1": ((none(), real(0, 1, low_open=False, high_open=True)), "Adam's beta_1, or None"),
    "beta_2": ((none(), real(0, 1, high_open=True)), "Adam's beta_2, or None"),
    "epsilon": ((none(), real(0, low_open=True)), "the optimiser's epsilon, or None"),
    "weight_decay": ((none(), real(0)), "decoupled weight decay, or None"),
    "loss": ((one_of(*LOSS_NAMES), not_text()), "a loss name or a Keras Loss"),
    "target_scaling": ((boolean(),), "standardise y inside the regressor"),
    "metrics": ((none(), not_text()), "a list of metrics, or None"),
    "run_eagerly": ((boolean(),), "eager mode (slow; for debugging)"),
    "epochs": ((integer(1),), "passes over the training data; at least 1"),
    "batch_size": ((integer(1),), "rows per mini-batch, e.g. 32"),
    "validation_split": ((real(0, 1, high_open=True),),
                         "the fraction held out for validation; 0 for none"),
    "validation_batch_size": ((none(), integer(1)), "rows per validation batch, or None"),
    "shuffle": ((boolean(),), "shuffle before each epoch"),
    "callbacks": ((anything(),), ""),
    "class_weight": ((class_weights(),), "class weights"),
    "warm_start": ((boolean(),), "keep training the fitted network"),
    "random_state": ((random_state(),), "a seed for reproducible fits"),
    "verbose": ((integer(0, 2), one_of("auto")), "Keras' progress output: 0, 1 or 2"),
}


def describe(name: str) -> str:
    """What ``name`` must be, in words (for messages)."""
    constraints, _ = ESTIMATOR_CONSTRAINTS[name]
    return " or ".join(c[1] for c in constraints)


def check_param(name: str, value: Any, *, owner: str = "KerasMLPClassifier",
                where: str = "") -> None:
    """Check one value against the constraint of ``name`` (unknown names pass).

    Raises
    ------
    InvalidParameterType
        The value has the wrong type (a bool for an integer, text for a number...).
    InvalidParameterValue
        The type is right but the value is out of range or not a known name.
    """
    entry = ESTIMATOR_CONSTRAINTS.get(name)
    if entry is None:
        return
    constraints, hint = entry
    if isinstance(value, np.generic):
        value = value.item()
    if any(test(value) for test, _, _ in constraints):
        return
    kinds = {kind for _, _, kind in constraints}
    right_type = (
        ("integer" in kinds and _integer(value)) or ("number" in kinds and _real(value))
        or ("name" in kinds and isinstance(value, str)))
    cls = InvalidParameterValue if right_type else InvalidParameterType
    detail = f"{name}={value!r}" + ("" if right_type else f" (type {type(value).__name__})")
    fix = f" ({hint})" if hint else ""
    names = [n for test, _, _ in constraints for n in getattr(test, "names", ())]
    guess = did_you_mean(value.lower(), names) if isinstance(value, str) and names else ""
    raise cls(f"{where}{detail} is not valid for {owner}: it must be {describe(name)}{fix}."
              + guess)


def check_params(params: Mapping[str, Any], *, owner: str = "KerasMLPClassifier",
                 where: str = "") -> None:
    """Check every known parameter in ``params`` (see :func:`check_param`)."""
    for name, value in params.items():
        check_param(name, value, owner=owner, where=where)


def candidate_values(dimension) -> list:
    """The values of a search-space dimension worth checking: all of a finite one, else its bounds."""
    if hasattr(dimension, "choices"):
        return list(dimension.choices)
    if hasattr(dimension, "value"):
        return [dimension.value]
    return [dimension.low, dimension.high]  # a range: both bounds are drawn


def check_network_size(input_width: int, widths: Sequence[int], n_classes: int, *,
                       memory_bytes: int | None = None) -> None:
    """Refuse, before anything is allocated, a network too large to train in this machine's memory.

    Training holds about four float32 copies of every weight (the weights,
    their gradients and Adam's two moments); a network that needs more than
    half the machine's memory is refused with the estimate.
    """
    sizes = [int(input_width), *(int(w) for w in widths), int(n_classes)]
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    needed = 4 * 4 * n_params
    memory = memory_bytes if memory_bytes is not None else _physical_memory()
    if memory is not None and needed > memory / 2:
        raise InvalidParameterValue(
            f"the network would have {n_params:.3g} weights (hidden layers {list(widths)} on "
            f"{input_width} features), about {needed / 1e9:.3g} GB to train, more than half "
            f"of this machine's {memory / 1e9:.3g} GB: lower nodes, n_layers or "
            "hidden_layer_sizes.")


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
