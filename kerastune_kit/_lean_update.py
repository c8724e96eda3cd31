"""The templates' optimiser step: Keras' Adam and SGD updates, each step's scalars worked out once.

Why
---
Keras' ``Optimizer.apply`` updates the variables one by one through
``tf.distribute``'s update machinery, and Adam's ``update_step`` works out,
for every variable again, the learning rate, the step count and both bias
corrections. Traced, that was 223 of the 465 ops of a 2-layer network's
training step (measured). A trace's memory grows with its ops (about 10 KB an
op once TensorFlow has instantiated it), and so does the time of a step on
small data, where every op costs its microsecond or two whatever its size.

What
----
:func:`install` gives one optimiser (a template's, never a user's) its own
``_backend_update_step``: the part of ``apply`` after gradient clipping and
weight decay and before the step counter, which Keras lets backends replace.
It makes, for each variable, the same float ops in the same order as Keras'
``update_step``, but the scalars every variable shares (the learning rate
read, the step count, the bias corrections) once a step: the same numbers, bit
for bit (tested). Everything else of ``apply`` stays Keras': empty
gradients, loss scaling, clipping, weight decay, constraints, moving
averages, the step counter.

Only Adam (without AMSGrad) and SGD are covered, outside any
``tf.distribute`` strategy of the caller's; other optimisers keep Keras'
own step.
"""

from __future__ import annotations

import keras

__all__ = ["install"]


def install(optimizer) -> bool:
    """Give ``optimizer`` the once-a-step scalars update; False if it keeps Keras' own."""
    kind = type(optimizer)
    if kind is keras.optimizers.Adam and not optimizer.amsgrad:
        update = _adam
    elif kind is keras.optimizers.SGD:
        update = _sgd
    else:
        return False
    if not all(hasattr(optimizer, name) for name in ("_get_variable_index", "assign_add")):
        return False  # (another Keras: its own step)

    def backend_update_step(grads, trainable_variables, learning_rate):
        import tensorflow as tf

        if tf.distribute.has_strategy():  # (a strategy's replicas: Keras' own machinery)
            return kind._backend_update_step(optimizer, grads, trainable_variables,
                                             learning_rate)
        return update(optimizer, grads, trainable_variables, learning_rate)

    # an instance attribute, around Keras' attribute tracking: this optimiser only
    object.__setattr__(optimizer, "_backend_update_step", backend_update_step)
    return True


def _per_dtype(make):
    """``make(dtype)`` once for each dtype asked for."""
    made: dict = {}

    def get(dtype):
        if dtype not in made:
            made[dtype] = make(dtype)
        return made[dtype]

    return get


def _adam(optimizer, grads, variables, learning_rate) -> None:
    """As ``keras.optimizers.Adam.update_step`` for each variable (AMSGrad off)."""
    from keras import ops

    def scalars(dtype):
        lr = ops.cast(learning_rate, dtype)
        local_step = ops.cast(optimizer.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(optimizer.beta_1, dtype), local_step)
        beta_2_power = ops.power(ops.cast(optimizer.beta_2, dtype), local_step)
        return lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    alphas = _per_dtype(scalars)
    for gradient, variable in zip(grads, variables):
        gradient = ops.cast(gradient, variable.dtype)
        index = optimizer._get_variable_index(variable)
        m, v = optimizer._momentums[index], optimizer._velocities[index]
        alpha = alphas(variable.dtype)
        optimizer.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - optimizer.beta_1))
        optimizer.assign_add(
            v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - optimizer.beta_2))
        optimizer.assign_sub(
            variable,
            ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), optimizer.epsilon)))


def _sgd(optimizer, grads, variables, learning_rate) -> None:
    """As ``keras.optimizers.SGD.update_step`` for each variable."""
    from keras import ops

    rates = _per_dtype(lambda dtype: ops.cast(learning_rate, dtype))
    momenta = _per_dtype(lambda dtype: ops.cast(optimizer.momentum, dtype))
    for gradient, variable in zip(grads, variables):
        lr = rates(variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if optimizer.momentum == 0:
            optimizer.assign_sub(variable, ops.multiply(gradient, lr))
            continue
        m = optimizer.momentums[optimizer._get_variable_index(variable)]
        momentum = momenta(variable.dtype)
        optimizer.assign(m, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, lr)))
        if optimizer.nesterov:
            optimizer.assign_add(variable, ops.subtract(ops.multiply(m, momentum),
                                                        ops.multiply(gradient, lr)))
        else:
            optimizer.assign_add(variable, m)
