"""Fast training of small in-memory networks: one traced program per architecture.

Why
---
A search trains many small networks. With TensorFlow, ``Model.fit`` on a
network of a few thousand weights spends almost all of its time on overhead,
not arithmetic: about a second tracing (and XLA-compiling) a new training
function for every new model, 55-85 ms per epoch rebuilding a ``tf.data``
iterator, and a Python round trip for every step. The maths of one fit is
about a millisecond.

How
---
For each architecture (everything :func:`~kerastune_kit.build_mlp` was given
except the learning rate and the seed; of the dropout rate and the L1/L2
penalty strengths only which are 0) this module keeps one private *template*
model with three traced TensorFlow functions: run a span of training steps
over in-memory tensors (a ``tf.while_loop``, batch size and row order as
tensors, so no shape change retraces), evaluate, and predict. To train a
user's model, its weights, dropout seeds, optimiser state, learning rate,
dropout rates and penalty strengths are copied into the template (the
weights and optimiser state in one traced call each), the template
trains, and the new weights are copied back at the end of the fit, or after
every span, before the callbacks run, when a callback reads or changes them;
the optimiser state comes back at the end of the fit. Hidden
layers narrower than the template fill its top-left block, zeros elsewhere
(see ``build_mlp``'s padded widths). The user's model stays the user's own
object: nothing is shared between two fitted estimators, and the template
never leaves this module.

Semantics are those of ``Model.fit`` with ``steps_per_execution`` equal to
the steps of one epoch: the same ``train_step`` / ``test_step`` (loss,
regularisation penalties, optimiser, metrics), the same epochs, batches,
shuffling each epoch, validation each epoch, callbacks and ``History``.
As with ``steps_per_execution``, batch-level callback hooks are called once
per span; a callback that needs every step (a per-step learning-rate
schedule, or any unknown callback with batch hooks) gets spans of one step.

Anything this path does not cover (data that are not arrays, ``class_weight``,
``validation_split``, ``steps_per_epoch``, eager mode, an optimiser or
schedule object instead of names and floats) goes to ``Model.fit``
unchanged. Set the environment variable ``KERASTUNE_FAST_FIT=0`` to send
everything there.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
from typing import Any, Mapping

import keras
import numpy as np

from .builders import SPEC_ATTRIBUTE, build_mlp

__all__ = ["fast_fit", "fast_predict", "fast_fit_enabled", "clear_programs", "FastFitView"]

class _OwnTracingNotice(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning about this module's programs.

    TensorFlow counts tracings per Python function, so a search that creates a
    program for each of several architectures (each traced once) looks to it
    like one function retracing; the warning's advice does not apply.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("retracing" in message and "kerastune_kit.fastfit._Program" in message)


logging.getLogger("tensorflow").addFilter(_OwnTracingNotice())

_MAX_PROGRAMS = 16
_PROGRAMS: "collections.OrderedDict[str, _Program]" = collections.OrderedDict()
_PROGRAMS_LOCK = threading.Lock()
_FIT_KEYWORDS = {
    "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data",
    "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch",
    "validation_steps", "validation_batch_size", "validation_freq",
}


def fast_fit_enabled() -> bool:
    """False when the environment variable ``KERASTUNE_FAST_FIT`` is ``0``."""
    return os.environ.get("KERASTUNE_FAST_FIT", "1").strip().lower() not in ("0", "false", "no")


def clear_programs() -> None:
    """Forget every traced template (they are rebuilt on the next fit)."""
    with _PROGRAMS_LOCK:
        _PROGRAMS.clear()


class _VariableRateDropout(keras.layers.Dropout):
    """The template's dropout layer: its rate is a variable, not a constant of the trace.

    Keras' ``Dropout.call`` tests ``rate > 0`` in Python and hands TensorFlow
    the float, so each rate would need a program of its own (about a second
    of tracing). This layer draws the same uniform numbers from the same seed
    generator as ``keras.random.dropout`` does with TensorFlow, keeps the same
    units (``noise >= rate`` in float32) and scales them by the same float32
    ``1 / (1 - rate)``, worked out in Python as TensorFlow does for a float
    rate (dividing by ``1 - rate`` in float32 would round differently): the
    same outputs, bit for bit, for every rate in (0, 1).

    Template layers become this class in place (see :meth:`adopt`), so the
    template keeps exactly the variables ``build_mlp`` gave it, seed generator
    included, and they still line up one-to-one with a user's model.
    """

    @classmethod
    def adopt(cls, layer: keras.layers.Dropout) -> "_VariableRateDropout":
        layer.__class__ = cls
        # a plain tf.Variable, set around Keras' tracking: not among the model's variables
        object.__setattr__(layer, "_rate_and_scale", _scalars(cls._values(layer.rate)))
        return layer

    @staticmethod
    def _values(rate: float) -> list:
        return [rate, 1 / (1 - rate)]

    def takes(self, layer) -> bool:
        """Whether this layer can stand for ``layer`` of a user's model."""
        return (isinstance(layer, keras.layers.Dropout) and 0 < float(layer.rate) < 1
                and layer.noise_shape is None)

    def set_from(self, layer) -> None:
        rate = float(layer.rate)
        if rate != self.rate:  # an assignment only when the rate changes
            self._rate_and_scale.assign(self._values(rate))
            self.rate = rate

    def call(self, inputs, training=False):
        import tensorflow as tf

        if not training:
            return inputs
        noise = keras.random.uniform(tf.shape(inputs), dtype=inputs.dtype,
                                     seed=self.seed_generator)
        rate_and_scale = tf.cast(self._rate_and_scale, inputs.dtype)
        return tf.where(noise >= rate_and_scale[0], inputs * rate_and_scale[1],
                        tf.zeros((), inputs.dtype))


class _VariablePenalty(keras.regularizers.Regularizer):
    """The template's L1/L2 penalty (on a kernel or on a layer's output), strengths as variables.

    Searches draw ``kernel_l2`` and the like from continuous ranges, and
    ``keras.regularizers.L1L2`` bakes its floats into the trace: a program per
    draw. This computes the same sums times the same float32 strengths; only
    which of the two strengths are 0 is fixed, as the terms Keras leaves out
    are left out here too (the architecture key records that much).
    """

    def __init__(self, where: str, penalty: keras.regularizers.L1L2):
        self.where = where  # "kernel" or "activity"
        self.l1, self.l2 = penalty.l1, penalty.l2
        self._strengths = _scalars([self.l1, self.l2])

    @staticmethod
    def of(layer, where: str):
        """The L1L2 penalty of ``layer``'s kernel or output, or None."""
        if where == "kernel":
            penalty = getattr(getattr(layer, "kernel", None), "regularizer", None)
        else:
            penalty = getattr(layer, "activity_regularizer", None)
        return penalty if isinstance(penalty, keras.regularizers.L1L2) else None

    @classmethod
    def adopt(cls, layer, where: str) -> "_VariablePenalty":
        penalty = cls(where, cls.of(layer, where))
        if where == "kernel":
            layer.kernel.regularizer = penalty
        else:
            layer.activity_regularizer = penalty
        return penalty

    def takes(self, layer) -> bool:
        theirs = self.of(layer, self.where)
        return theirs is not None and (theirs.l1 != 0, theirs.l2 != 0) == (
            self.l1 != 0, self.l2 != 0)

    def set_from(self, layer) -> None:
        theirs = self.of(layer, self.where)
        if (theirs.l1, theirs.l2) != (self.l1, self.l2):
            self._strengths.assign(np.array([theirs.l1, theirs.l2], dtype="float32"))
            self.l1, self.l2 = theirs.l1, theirs.l2

    def __call__(self, x):
        strengths = keras.ops.cast(self._strengths, x.dtype)
        penalty = keras.ops.convert_to_tensor(0.0, dtype=x.dtype)
        if self.l1 != 0:
            penalty += strengths[0] * keras.ops.sum(keras.ops.absolute(x))
        if self.l2 != 0:
            penalty += strengths[1] * keras.ops.sum(keras.ops.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def _scalars(values) -> Any:
    """A float32 variable outside any Keras model: set between fits, read by the traced program."""
    import tensorflow as tf

    return tf.Variable(np.array(values, dtype="float32"), trainable=False)


def _setting_slots(model: keras.Model) -> list[tuple[int, str]]:
    """(layer index, kind) of every setting a template takes from each fit's model.

    Dropout rates and L1/L2 penalty strengths: the architecture key says only
    which of them are non-zero (see ``builders._architecture_key``).
    """
    slots = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.Dropout):
            slots.append((i, "dropout"))
        slots.extend((i, where) for where in ("kernel", "activity")
                     if _VariablePenalty.of(layer, where) is not None)
    return slots


class _Program:
    """A template model of one architecture and its traced train/test/forward functions."""

    def __init__(self, template: keras.Model):
        import tensorflow as tf

        self.model = template
        # the template's dropout rates and penalty strengths become variables, set per fit
        self._slots = _setting_slots(template)
        self._settings = [
            (i, _VariableRateDropout.adopt(template.layers[i]) if kind == "dropout"
             else _VariablePenalty.adopt(template.layers[i], kind))
            for i, kind in self._slots]
        self.lock = threading.RLock()
        self.built = False
        self._optimizer_initial: list[np.ndarray] = []
        self._train = tf.function(self._train_span, reduce_retracing=True)
        self._test = tf.function(self._test_all, reduce_retracing=True)
        self._forward = tf.function(self._forward_rows, reduce_retracing=True)
        # state copies between the template and a model: one traced call each way
        self._load = tf.function(self._load_values, reduce_retracing=True)
        self._read = tf.function(self._read_values, reduce_retracing=True)

    # -- traced bodies ---------------------------------------------------
    def _train_span(self, x, y, sw, order, batch_size, start, stop):
        import tensorflow as tf

        n = tf.shape(order)[0]
        for step in tf.range(start, stop):
            low = step * batch_size
            rows = order[low:tf.minimum(low + batch_size, n)]
            if sw is None:
                self.model.train_step((tf.gather(x, rows), tf.gather(y, rows)))
            else:
                self.model.train_step((tf.gather(x, rows), tf.gather(y, rows), tf.gather(sw, rows)))
        return self.model.get_metrics_result()

    def _test_all(self, x, y, sw, batch_size):
        import tensorflow as tf

        n = tf.shape(x)[0]
        for step in tf.range((n + batch_size - 1) // batch_size):
            low = step * batch_size
            high = tf.minimum(low + batch_size, n)
            if sw is None:
                self.model.test_step((x[low:high], y[low:high]))
            else:
                self.model.test_step((x[low:high], y[low:high], sw[low:high]))
        return self.model.get_metrics_result()

    def _forward_rows(self, x):
        return self.model(x, training=False)

    def _template_variables(self, which: str) -> list:
        return self.model.variables if which == "weights" else self.model.optimizer.variables

    def _load_values(self, which, values):
        """Template variables <- values; a smaller value fills the top-left block, zeros the rest."""
        import tensorflow as tf

        for target, value in zip(self._template_variables(which), values):
            want = tf.shape(target)
            padding = tf.stack([tf.zeros_like(want), want - tf.shape(value)], axis=1)
            target.assign(tf.pad(value, padding))

    def _read_values(self, which, shapes):
        """The template's values, each cut to the top-left block of the given shape."""
        import tensorflow as tf

        return [tf.slice(v, tf.zeros_like(shape), shape)
                for v, shape in zip(self._template_variables(which), shapes)]

    # -- state transfer ----------------------------------------------------
    def build(self, x, y, sw) -> None:
        """Create the template's metric, loss and optimiser variables (once)."""
        if self.built:
            return
        batch = (x[:2], y[:2]) if sw is None else (x[:2], y[:2], sw[:2])
        self.model._symbolic_build(data_batch=batch)
        self._optimizer_initial = [np.array(v.numpy()) for v in self.model.optimizer.variables]
        self.built = True

    def _push(self, which: str, variables) -> None:
        import tensorflow as tf

        # tensors, not variables: a traced function relaxes tensor shapes correctly
        self._load(which, [tf.convert_to_tensor(v.value) for v in variables])

    def _pull(self, which: str, variables, skip=None) -> None:
        shapes = [np.asarray(v.shape, dtype=np.int32) for v in variables]
        for variable, value in zip(variables, self._read(which, shapes)):
            if variable is not skip:
                variable.assign(value)

    def push_weights(self, model: keras.Model) -> None:
        self._push("weights", model.variables)

    def pull_weights(self, model: keras.Model) -> None:
        self._pull("weights", model.variables)

    def push_optimizer(self, model: keras.Model) -> None:
        mine, theirs = self.model.optimizer, model.optimizer
        if theirs.built and len(theirs.variables) == len(mine.variables):
            self._push("optimizer", theirs.variables)
        else:
            for variable, value in zip(mine.variables, self._optimizer_initial):
                variable.assign(value)
        self.push_learning_rate(model)

    def push_learning_rate(self, model: keras.Model) -> None:
        self.model.optimizer.learning_rate = float(
            keras.ops.convert_to_numpy(model.optimizer.learning_rate))

    def pull_optimizer(self, model: keras.Model) -> None:
        """Own optimiser <- template state; the learning rate stays the model's own.

        (Callbacks set the model's learning rate; it is pushed before every span.)
        """
        mine, theirs = self.model.optimizer, model.optimizer
        if not theirs.built:
            theirs.build(model.trainable_variables)
        if len(theirs.variables) == len(mine.variables):
            self._pull("optimizer", theirs.variables, skip=getattr(theirs, "_learning_rate", None))

    def push_settings(self, model: keras.Model) -> None:
        """Template dropout rates and penalty strengths <- the model's."""
        layers = model.layers
        for i, setting in self._settings:
            setting.set_from(layers[i])

    def compatible(self, model: keras.Model) -> bool:
        """Same variables, each at most as large as the template's (hidden widths are padded).

        The settings the template takes per fit must line up too: dropout in
        the same layers (rates in (0, 1), as the template's cannot be switched
        off), the same penalties switched on.
        """
        layers = model.layers
        if _setting_slots(model) != self._slots or not all(
                setting.takes(layers[i]) for i, setting in self._settings):
            return False
        mine, theirs = self.model.variables, model.variables
        return len(mine) == len(theirs) and all(
            len(a.shape) == len(b.shape) and a.dtype == b.dtype
            and all(m >= t for m, t in zip(a.shape, b.shape)) for a, b in zip(mine, theirs))


def _program_for(model: keras.Model) -> _Program | None:
    """The template program for ``model``'s architecture, or None if it has none."""
    spec = getattr(model, SPEC_ATTRIBUTE, None)
    if spec is None or not fast_fit_enabled() or getattr(model, "run_eagerly", False):
        return None
    key, build_args = spec
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(key)
        if program is not None:
            _PROGRAMS.move_to_end(key)
    if program is None:
        program = _Program(build_mlp(**build_args))
        with _PROGRAMS_LOCK:
            program = _PROGRAMS.setdefault(key, program)
            while len(_PROGRAMS) > _MAX_PROGRAMS:
                _PROGRAMS.popitem(last=False)
    return program if program.compatible(model) else None


def _known_answer(callback, question: str, tuner_hooks) -> bool | None:
    """What is known of a callback without looking at its code, or None.

    Its own answer (an attribute or method named ``question``); no for Keras'
    History and progress bar; for Keras Tuner's callback, whether the tuner
    overrides any of ``tuner_hooks``.
    """
    own = getattr(callback, question, None)
    if own is not None:
        return bool(own() if callable(own) else own)
    if isinstance(callback, (keras.callbacks.History, keras.callbacks.ProgbarLogger)):
        return False
    kt_callback = _keras_tuner_callback_type()
    if kt_callback is not None and isinstance(callback, kt_callback):
        return _tuner_overrides(callback.tuner, tuner_hooks)
    return None


def _needs_every_step(callback) -> bool:
    """Whether a callback must see every training step (not one call per span)."""
    known = _known_answer(callback, "needs_every_step", ("on_batch_begin", "on_batch_end"))
    if known is not None:
        return known
    base = keras.callbacks.Callback
    return any(getattr(type(callback), hook) is not getattr(base, hook)
               for hook in ("on_train_batch_begin", "on_train_batch_end",
                            "on_batch_begin", "on_batch_end"))


def _touches_weights(callback) -> bool:
    """Whether a callback reads or changes the model's weights between epochs.

    If none does, a fit copies the weights into the template once and back
    once, not around every epoch (about 8 ms an epoch for a 2 x 100 network).
    Unknown callbacks are assumed to.
    """
    known = _known_answer(callback, "touches_weights", ("on_epoch_begin", "on_epoch_end"))
    return True if known is None else known


def _keras_tuner_callback_type():
    import sys

    if "keras_tuner" not in sys.modules:
        return None
    from keras_tuner.src.engine.tuner_utils import TunerCallback

    return TunerCallback


def _tuner_overrides(tuner, hooks) -> bool:
    """Whether a tuner overrides any of Keras Tuner's no-op hooks ``hooks``."""
    from keras_tuner.src.engine.tuner import Tuner

    return any(getattr(type(tuner), hook, None) is not getattr(Tuner, hook) for hook in hooks)


def _as_array(data):
    return data if isinstance(data, np.ndarray) else None


def _unsupported(kwargs: Mapping[str, Any]) -> bool:
    if set(kwargs) - _FIT_KEYWORDS:
        return True
    if kwargs.get("class_weight") is not None or kwargs.get("validation_split"):
        return True
    if kwargs.get("steps_per_epoch") is not None or kwargs.get("validation_steps") is not None:
        return True
    if kwargs.get("validation_freq", 1) != 1 or kwargs.get("shuffle", True) not in (True, False):
        return True
    validation = kwargs.get("validation_data")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
            return True
        if any(v is not None and _as_array(v) is None for v in validation):
            return True
    sw = kwargs.get("sample_weight")
    return sw is not None and _as_array(sw) is None


def fast_fit(model: keras.Model, x=None, y=None, *, fallback_context=None, **kwargs):
    """Train ``model`` like ``model.fit(x, y, **kwargs)``, through its architecture's template.

    Returns the ``History`` callback, as ``Model.fit`` does. Falls back to
    ``model.fit`` for anything the fast path does not cover (see the module
    docstring), inside ``fallback_context()`` when one is given.
    """
    program = _program_for(model)
    if (program is None or _as_array(x) is None or _as_array(y) is None or len(x) == 0
            or _unsupported(kwargs)):
        with fallback_context() if fallback_context is not None else contextlib.nullcontext():
            return model.fit(x, y, **kwargs)
    with program.lock:
        return _fit_with(program, model, x, y, **kwargs)


def _fit_with(program: _Program, model, x, y, *, batch_size=None, epochs=1, verbose="auto",
              callbacks=None, validation_data=None, shuffle=True, sample_weight=None,
              initial_epoch=0, validation_batch_size=None, **_ignored):
    import tensorflow as tf

    batch_size = int(batch_size or 32)
    n = len(x)
    x_t, y_t = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
    sw_t = None if sample_weight is None else tf.convert_to_tensor(sample_weight, "float32")
    val = None
    if validation_data is not None:
        vx, vy, *rest = validation_data
        vsw = rest[0] if rest else None
        val = (tf.convert_to_tensor(vx), tf.convert_to_tensor(vy),
               None if vsw is None else tf.convert_to_tensor(vsw, "float32"))
    program.build(x_t, y_t, sw_t)
    steps = -(-n // batch_size)
    callback_list = callbacks if isinstance(callbacks, keras.callbacks.CallbackList) else (
        keras.callbacks.CallbackList(
            callbacks, add_history=True, add_progbar=verbose not in (0, "auto"),
            verbose=verbose, epochs=epochs, steps=steps, model=model))
    every_step = any(_needs_every_step(cb) for cb in callback_list.callbacks)
    span = 1 if every_step else steps
    synced = every_step or any(_touches_weights(cb) for cb in callback_list.callbacks)
    bs_t = tf.constant(batch_size, tf.int32)
    val_bs_t = tf.constant(int(validation_batch_size or batch_size), tf.int32)

    program.push_optimizer(model)
    program.push_settings(model)
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict = {}
    epoch_logs = None
    for epoch in range(initial_epoch, epochs):
        program.model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        order = tf.convert_to_tensor(
            np.random.permutation(n) if shuffle else np.arange(n), tf.int32)
        if synced or epoch == initial_epoch:
            program.push_weights(model)  # callbacks may have changed them
        for begin in range(0, steps, span):
            end = min(begin + span, steps)
            callback_list.on_train_batch_begin(begin)
            program.push_learning_rate(model)
            logs = program._train(x_t, y_t, sw_t, order, bs_t,
                                  tf.constant(begin, tf.int32), tf.constant(end, tf.int32))
            logs = {k: float(v) for k, v in logs.items()}
            if span < steps:
                program.pull_weights(model)
            callback_list.on_train_batch_end(end - 1, logs)
            if model.stop_training:
                break
        if synced and span == steps:  # (spans shorter than an epoch pulled them already)
            program.pull_weights(model)  # for the callbacks
        epoch_logs = dict(logs)
        if val is not None:
            program.model.reset_metrics()
            val_logs = program._test(val[0], val[1], val[2], val_bs_t)
            epoch_logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    if not synced:
        program.pull_weights(model)
    program.pull_optimizer(model)
    callback_list.on_train_end(logs=epoch_logs)
    for callback in callback_list.callbacks:
        if isinstance(callback, keras.callbacks.History):
            return callback
    return model.history


def fast_predict(model: keras.Model, x, batch_size: int | None = None, **kwargs) -> np.ndarray:
    """``model.predict(x)`` through the architecture's template (no new tracing)."""
    program = _program_for(model)
    if program is None or _as_array(x) is None or kwargs.get("callbacks") or (
            set(kwargs) - {"verbose", "callbacks", "steps"}) or kwargs.get("steps") is not None:
        return model.predict(x, batch_size=batch_size, **kwargs)
    import tensorflow as tf

    chunk = max(int(batch_size or 32), 4096)
    with program.lock:
        if not program.built:
            return model.predict(x, batch_size=batch_size, **kwargs)
        program.push_weights(model)
        parts = [program._forward(tf.convert_to_tensor(x[i:i + chunk]))
                 for i in range(0, len(x), chunk)]
    return np.concatenate([np.asarray(p) for p in parts]) if parts else model.predict(x)


class FastFitView:
    """A stand-in for a Keras model whose ``fit``/``predict`` take the fast path.

    Every other attribute is the model's own. Used by the estimator for the
    span of one ``fit`` or ``predict`` call, so scikeras' code calls the fast
    path without knowing.
    """

    def __init__(self, model: keras.Model, fallback_context=None):
        self._model = model
        self._fallback_context = fallback_context

    def fit(self, x=None, y=None, **kwargs):
        return fast_fit(self._model, x, y, fallback_context=self._fallback_context, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        return fast_predict(self._model, x, batch_size=batch_size, **kwargs)

    def __getattr__(self, name):
        return getattr(self._model, name)
