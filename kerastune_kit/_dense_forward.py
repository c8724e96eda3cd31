"""Predictions of a plain stack of Dense layers, its weights passed in: one trace per layout.

:func:`~kerastune_kit.fastfit.fast_predict` runs a network through its
architecture's template, which first needs the template built (a Keras
model), its weights copied in (a traced call) and its forward function
traced: about 0.2 s for the first prediction of an architecture, most of the
scoring of a small search. A network of ``Dense`` and ``Dropout`` layers only
(what :func:`~kerastune_kit.build_mlp` makes without batch normalisation)
predicts here instead: its kernels and biases are arguments of a function
traced once per sequence of activations, with any widths, and the ops are
the ones ``Dense.call`` runs (``MatMul``, ``BiasAdd``, the layer's activation;
dropout does nothing at inference), so the outputs are the same, bit for bit
(tested against the template and ``Model.predict``).
"""

from __future__ import annotations

import threading

import keras
import numpy as np

from ._lean_trace import TracedOnce

__all__ = ["dense_layout", "dense_predict"]

_FUNCTIONS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def dense_layout(model: keras.Model):
    """``(steps, weights)`` of a float32 stack of Dense, Activation and Dropout layers, else None.

    ``steps`` names each Dense layer's activation (``("dense", name)``) and each
    Activation layer's (``("activation", name)``), the key of the traced
    function; ``weights`` holds the Dense layers' kernel and bias variables.
    """
    steps, weights = [], []
    for layer in model.layers:
        if type(layer) is keras.layers.InputLayer or type(layer) is keras.layers.Dropout:
            continue  # (dropout does nothing at inference)
        if getattr(layer, "compute_dtype", None) != "float32":
            return None
        if type(layer) is keras.layers.Dense:
            if (not layer.use_bias or getattr(layer, "lora_enabled", False)
                    or getattr(layer, "quantization_mode", None) or layer.kernel.dtype != "float32"):
                return None
            weights.extend((layer.kernel, layer.bias))
            kind = "dense"
        elif type(layer) is keras.layers.Activation:
            kind = "activation"
        else:
            return None
        name = _activation_name(layer.activation)
        if name is None:
            return None
        steps.append((kind, name))
    return (tuple(steps), weights) if weights else None


def _activation_name(function) -> str | None:
    """The name Keras knows ``function`` by, when it gives back that very function."""
    try:
        name = keras.activations.serialize(function)
    except (ValueError, TypeError):
        return None
    return name if isinstance(name, str) and keras.activations.get(name) is function else None


def _function(steps: tuple):
    with _LOCK:
        function = _FUNCTIONS.get(steps)
    if function is not None:
        return function
    import tensorflow as tf

    plan = [(kind, keras.activations.get(name)) for kind, name in steps]

    def forward(weights, x):
        i = 0
        for kind, activation in plan:
            if kind == "dense":  # as Dense.call: matmul, add, its activation
                x = keras.ops.matmul(x, weights[i])
                # (keras.ops.add of a vector of known width is a BiasAdd, which TensorFlow
                # may fuse with the MatMul; the width is not known to this trace)
                x = tf.nn.bias_add(x, weights[i + 1])
                i += 2
            x = activation(x)
        return x

    # (weights and rows of every size: one trace, kept without its Python graph)
    function = TracedOnce(forward, autograph=False)
    with _LOCK:
        return _FUNCTIONS.setdefault(steps, function)


def dense_predict(layout, x: np.ndarray, chunk: int) -> np.ndarray:
    """The network's outputs for the rows of ``x``, ``chunk`` rows a call."""
    import tensorflow as tf

    from ._template import lean_executor

    steps, variables = layout
    function = _function(steps)
    weights = tuple(tf.convert_to_tensor(v.value) for v in variables)
    x = np.asarray(x, dtype=np.float32)
    with lean_executor():
        parts = [function(weights, tf.convert_to_tensor(x[i:i + chunk]))
                 for i in range(0, len(x), chunk)]
    return np.concatenate([np.asarray(p) for p in parts])
