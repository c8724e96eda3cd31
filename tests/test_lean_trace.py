"""The fast path's leaner traces: no Python graph kept, and Keras' optimiser steps in fewer ops."""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastune_kit import build_mlp
from kerastune_kit._lean_trace import TracedOnce
from kerastune_kit._lean_update import install


def _model(optimizer: str, **settings):
    return build_mlp(hidden_layer_sizes=(12, 7), input_shape=5, n_classes=3, seed=3,
                     optimizer=optimizer, learning_rate=0.05, **settings)


def _steps(model, x, y, steps: int):
    """``steps`` training steps of Keras' own train_step, traced once."""
    @tf.function
    def step(x, y):
        return model.train_step((x, y))

    for _ in range(steps):
        step(x, y)
    return step


@pytest.mark.parametrize("optimizer, settings", [
    ("adam", {}),
    ("adam", dict(beta_1=0.8, beta_2=0.95, epsilon=1e-4)),
    ("sgd", {}),
    ("sgd", dict(momentum=0.9)),
    ("adam", dict(kernel_l2=1e-3, max_norm=1.5)),  # (a penalty and a constraint: Keras' parts)
])
def test_the_lean_update_is_keras_update_bit_for_bit(optimizer, settings):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(16, 5)).astype("float32"))
    y = tf.constant(rng.integers(0, 3, size=16).astype("int32"))
    stock, lean = _model(optimizer, **settings), _model(optimizer, **settings)
    assert install(lean.optimizer)
    for model in (stock, lean):
        model._symbolic_build(data_batch=(x[:2], y[:2]))
    stock_step, lean_step = _steps(stock, x, y, 4), _steps(lean, x, y, 4)
    for a, b in zip(stock.variables + stock.optimizer.variables,
                    lean.variables + lean.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # what it is for: fewer ops in a training step's trace
    ops = lambda step: len(step.get_concrete_function(x, y).graph.get_operations())  # noqa: E731
    assert ops(lean_step) < ops(stock_step)


@pytest.mark.parametrize("optimizer", [
    keras.optimizers.AdamW(), keras.optimizers.RMSprop(), keras.optimizers.Adam(amsgrad=True),
    keras.optimizers.Nadam()])
def test_other_optimisers_keep_keras_step(optimizer):
    assert not install(optimizer)
    assert "_backend_update_step" not in vars(optimizer)


def test_a_trace_serves_every_size_and_keeps_no_graph():
    from tensorflow.python.framework.func_graph import FuncGraph

    def scaled(x, factor, label):
        return x * factor if label == "times" else x + factor

    function = TracedOnce(scaled)
    gc.collect()
    graphs = sum(isinstance(o, FuncGraph) for o in gc.get_objects())
    for rows in (3, 8, 1):
        got = function(np.ones((rows, 2), "float32"), tf.constant(2.0), "times")
        np.testing.assert_array_equal(got, np.full((rows, 2), 2.0))
    assert function.experimental_get_tracing_count() == 1  # one trace for every row count
    np.testing.assert_array_equal(function(np.ones(4, "float32"), tf.constant(2.0), "plus"),
                                  np.full(4, 3.0))
    np.testing.assert_array_equal(function(tf.ones([2, 2], "float64"), tf.constant(2.0, "float64"),
                                           "times"), np.full((2, 2), 2.0))
    assert function.experimental_get_tracing_count() == 3  # another rank, value, dtype
    gc.collect()
    assert sum(isinstance(o, FuncGraph) for o in gc.get_objects()) == graphs


def test_a_trace_removes_its_own_gradient_entries_only():
    """Entries registered meanwhile by others (a Model.fit traced in another thread) stay."""
    from tensorflow.python.framework import ops

    from kerastune_kit._lean_trace import _gradient_functions

    @tf.custom_gradient
    def doubled(x):
        return 2 * x, lambda dy: 2 * dy

    def step(x):
        ops.RegisterGradient(f"CustomGradient-someone-else-{id(x)}")(lambda op, grad: grad)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(doubled(x))
        return tape.gradient(y, x)

    before = set(_gradient_functions())
    function = TracedOnce(step)
    np.testing.assert_array_equal(function(tf.ones(3)), np.full(3, 2.0))
    left = set(_gradient_functions()) - before
    assert len(left) == 1 and "someone-else" in next(iter(left))  # its own one went
    _gradient_functions().pop(next(iter(left)))
