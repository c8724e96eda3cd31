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
the optimiser state comes back at the end of the fit (for an estimator's
network, as arrays its optimiser variables are made from when something
first reads them: see ``defer_optimizer`` of :func:`fast_fit`). Hidden
layers narrower than the template fill its top-left block, zeros elsewhere
(see :func:`padded_width`). The user's model stays the user's own
object: nothing is shared between two fitted estimators, and the template
never leaves this module (its programs are in :mod:`kerastune_kit._template`).

Callbacks say what they need from this path through :class:`FastPathHints`.

The cache keeps the programs of the last 16 architectures used. A program
it drops leaves TensorFlow with it (TensorFlow's kernel cache is cleared
once per 8 dropped programs), so a search over more architectures than that
traces some again but does not grow in memory. The programs keep their
traces without the Python graphs they were traced from
(:class:`~kerastune_kit._lean_trace.TracedOnce`): about 5 MB a program, not
10. TensorFlow's kernel cache is also cleared once per 250
networks trained (:func:`note_network`): networks made elsewhere than by
:func:`~kerastune_kit.build_mlp` leave kernels there that are never used
again.

The programs run on TensorFlow's single-threaded executor
(:func:`~kerastune_kit._template.lean_executor`): their ops are too small
for a thread pool to pay.

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
import json
import threading
from typing import Any, Mapping

import keras
import numpy as np

from ._dense_forward import dense_layout, dense_predict
from ._optional import switched_on
from ._template import Program, lean_executor, settle_optimizer
from .errors import InvalidParameterValue
from .builders import ACTIVATIONS, BUILD_ARGUMENTS, build_mlp

__all__ = ["fast_fit", "fast_predict", "fast_fit_enabled", "clear_programs", "FastPathHints",
           "architecture_key", "padded_width", "note_network", "NETWORKS_PER_FLUSH"]


_MAX_PROGRAMS = 16
_PROGRAMS: "collections.OrderedDict[str, Program]" = collections.OrderedDict()
_PROGRAMS_LOCK = threading.Lock()
_FIT_KEYWORDS = {
    "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data",
    "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch",
    "validation_steps", "validation_batch_size", "validation_freq",
}


class FastPathHints:
    """What a callback needs from the fast path: mix this in and override what differs.

    The fast path runs a whole epoch per traced call and copies the weights
    between the template and the user's model only when a callback needs
    them. A callback tells it what it needs through these two methods; the
    defaults are what a callback with epoch hooks only needs.

    A callback that does not derive from this class is judged by its code: a
    batch hook (``on_train_batch_*``, ``on_batch_*``) means it needs every
    step, and it is assumed to touch the weights.
    """

    def needs_every_step(self) -> bool:
        """True if batch-level hooks must run after every training step (not once per span)."""
        return False

    def touches_weights(self) -> bool:
        """True if the callback reads or changes the model's weights between epochs."""
        return True


def fast_fit_enabled() -> bool:
    """False when the environment variable ``KERASTUNE_FAST_FIT`` is ``0``."""
    return switched_on("KERASTUNE_FAST_FIT")


def clear_programs() -> None:
    """Forget every traced template (they are rebuilt on the next fit) and free their memory."""
    with _PROGRAMS_LOCK:
        dropped = list(_PROGRAMS.values())
        _PROGRAMS.clear()
    _note_dropped(dropped, flush=True)


#: Programs dropped from the cache between two flushes of TensorFlow's kernel cache.
_RELEASES_PER_FLUSH = _MAX_PROGRAMS // 2
#: Networks trained between two flushes of TensorFlow's kernel cache (see :func:`note_network`).
NETWORKS_PER_FLUSH = 250
_released_since_flush = 0
_networks_since_flush = 0


def _note_dropped(dropped: list, *, flush: bool = False) -> None:
    """Now and then free the kernels TensorFlow made for dropped programs.

    A dropped program's runtime functions leave TensorFlow with the program
    (its traces keep no Python graph: :class:`~kerastune_kit._lean_trace.TracedOnce`);
    the kernels TensorFlow instantiated to run them stay in its process-wide
    kernel cache (some MB a program) until that cache is cleared, which
    makes every live program instantiate its kernels again on its next call.
    Clearing it once per ``_RELEASES_PER_FLUSH`` dropped programs bounds the
    memory of dead kernels and shares that cost among as many misses.
    """
    global _released_since_flush

    with _PROGRAMS_LOCK:
        _released_since_flush += len(dropped)
        flush = flush or _released_since_flush >= _RELEASES_PER_FLUSH
        if flush:
            _released_since_flush = 0
    if flush and dropped:
        _flush_kernels()


def note_network() -> None:
    """Count a network trained; clear TensorFlow's kernel cache once per ``NETWORKS_PER_FLUSH``.

    TensorFlow's eager kernel cache keeps a kernel for every variable name
    it ever saw (its variable-creating op has the name as an attribute),
    about 35 KB each, for as long as the process lives. Networks made by
    :func:`~kerastune_kit.build_mlp` make the same names every time (see
    ``builders._first_names``); networks of other builders, and optimiser
    objects whose names Keras numbers, leave about 100 KB a network there,
    and a search of thousands of fits would grow without bound. Clearing the
    cache now and then frees them; the live programs instantiate their
    kernels again on their next call (about 75 ms a program, measured).
    """
    global _networks_since_flush

    with _PROGRAMS_LOCK:
        _networks_since_flush += 1
        flush = _networks_since_flush >= NETWORKS_PER_FLUSH
        if flush:
            _networks_since_flush = 0
    if flush:
        _flush_kernels()


def _flush_kernels() -> None:
    from tensorflow.python.eager import context

    context.context().clear_kernel_cache()


#: Activations with f(0) = 0. A hidden unit whose weights in and out are all
#: zero then outputs 0 and gets zero gradients under every optimiser and
#: penalty here, so a network of these can train inside a wider template,
#: zero-padded, exactly as it trains at its own width.
_ZERO_AT_ZERO = frozenset(ACTIVATIONS) - {"sigmoid", "softplus"}

#: Settings the template takes from each fit's model (see kerastune_kit._template).
_PER_FIT_SETTINGS = ("dropout", "kernel_l1", "kernel_l2", "activity_l1", "activity_l2")


def padded_width(width: int, layers: int = 2) -> int:
    """The template width for a hidden layer of a network with ``layers`` hidden layers.

    Two hidden layers or more: the next of 64, 128, 256, 512, ... (powers of
    two), as between two hidden layers a step's arithmetic grows with the
    square of the padded width (2 x 100 units trained as 2 x 256 did six
    times the work of 2 x 128). One hidden layer: the next of 256, 1024,
    4096, ..., as its arithmetic grows only linearly and stays small beside
    the per-step overhead (a step of 16 units costs what a step of 256 does),
    while every other template width would cost a tracing (about a second).
    """
    padded, base = (64, 2) if layers > 1 else (256, 4)
    while padded < width:
        padded *= base
    return padded


def architecture_key(arguments: Mapping[str, Any]) -> tuple[str, dict] | None:
    """The cache key and the template's build arguments for a network, or None.

    ``arguments`` are what :func:`~kerastune_kit.build_mlp` recorded on the
    model. Networks that differ only in learning rate, seed, dropout rate or
    penalty strengths (not in which of them are 0: a rate of 0 means no
    dropout layers, nor their seed state, and a strength of 0 a term Keras
    leaves out of the trace) share one program; so do hidden widths that pad
    to the same template width. None when the arguments are not plain data
    (optimiser, loss, metric or schedule objects): no shared program.
    """
    if arguments.get("run_eagerly") or isinstance(
            arguments["learning_rate"], keras.optimizers.schedules.LearningRateSchedule):
        return None
    template = {k: v for k, v in arguments.items() if k != "run_eagerly"}
    if template["activation"] in _ZERO_AT_ZERO:
        widths = template["hidden_layer_sizes"]
        template["hidden_layer_sizes"] = tuple(padded_width(w, len(widths)) for w in widths)
    shape = {k: v for k, v in template.items() if k not in ("learning_rate", "seed")}
    for name in _PER_FIT_SETTINGS:
        shape[name] = bool(shape[name] > 0)
    try:
        return json.dumps(shape, sort_keys=True, allow_nan=False), template
    except (TypeError, ValueError):
        return None


def _program_for(model: keras.Model) -> Program | None:
    """The template program for ``model``'s architecture, or None if it has none."""
    arguments = getattr(model, BUILD_ARGUMENTS, None)
    if arguments is None or not fast_fit_enabled() or getattr(model, "run_eagerly", False):
        return None
    spec = architecture_key(arguments)
    if spec is None:
        return None
    key, build_args = spec
    policy = getattr(getattr(model, "dtype_policy", None), "name", "float32")
    key = f"{key}|{policy}"  # (a mixed-precision network computes in float16: its own program)
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(key)
        if program is not None:
            _PROGRAMS.move_to_end(key)
    if program is None:
        program = Program(build_mlp(**build_args))
        dropped = []
        with _PROGRAMS_LOCK:
            program = _PROGRAMS.setdefault(key, program)
            while len(_PROGRAMS) > _MAX_PROGRAMS:
                dropped.append(_PROGRAMS.popitem(last=False)[1])
        _note_dropped(dropped)  # (outside the lock: a flush never waits for a fit)
    return program if program.compatible(model) and program.policy == policy else None


def _known_answer(callback, question: str, tuner_hooks) -> bool | None:
    """What is known of a callback without looking at its code, or None.

    Its own answer when it declares one (:class:`FastPathHints`); no for
    Keras' History and progress bar; for Keras Tuner's callback, whether the
    tuner overrides any of ``tuner_hooks``.
    """
    if isinstance(callback, FastPathHints):
        return bool(getattr(callback, question)())
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


def fast_fit(model: keras.Model, x=None, y=None, *, fallback_context=None,
             defer_optimizer: bool = False, **kwargs):
    """Train ``model`` like ``model.fit(x, y, **kwargs)``, through its architecture's template.

    Returns the ``History`` callback, as ``Model.fit`` does. Falls back to
    ``model.fit`` for anything the fast path does not cover (see the module
    docstring), inside ``fallback_context()`` when one is given.

    ``defer_optimizer=True`` (for a model whose owner calls
    :func:`~kerastune_kit._template.settle_optimizer` before anyone else
    sees it, as the estimators do) leaves the optimiser state of a fast fit
    pending as arrays on the model instead of creating its optimiser
    variables, unless a callback reads or changes the weights (and could
    save the model). A model with state pending is settled before it trains.
    """
    settle_optimizer(model)
    program = _program_for(model)
    if (program is None or _as_array(x) is None or _as_array(y) is None or len(x) == 0
            or _unsupported(kwargs)):
        with fallback_context() if fallback_context is not None else contextlib.nullcontext():
            return model.fit(x, y, **kwargs)
    with program.lock, lean_executor(program.lean):
        return _fit_with(program, model, x, y, defer_optimizer=defer_optimizer, **kwargs)


def _fit_with(program: Program, model, x, y, *, defer_optimizer=False, batch_size=None, epochs=1,
              verbose="auto", callbacks=None, validation_data=None, shuffle=True,
              sample_weight=None, initial_epoch=0, validation_batch_size=None, **_ignored):
    import tensorflow as tf

    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise InvalidParameterValue(f"batch_size={batch_size!r} must be an integer >= 1 (rows per "
                                    "mini-batch), e.g. 32.")
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
    pushed = False  # the template holds this model's weights (else another fit's: never pull them)
    for epoch in range(initial_epoch, epochs):
        program.model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        order = tf.convert_to_tensor(
            np.random.permutation(n) if shuffle else np.arange(n), tf.int32)
        if synced or not pushed:
            program.push_weights(model)  # callbacks may have changed them
            pushed = True
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
    if pushed and not synced:
        program.pull_weights(model)
    if defer_optimizer and not synced:
        program.stash_optimizer(model)
    else:
        program.pull_optimizer(model)
    callback_list.on_train_end(logs=epoch_logs)
    for callback in callback_list.callbacks:
        if isinstance(callback, keras.callbacks.History):
            return callback
    return model.history


def fast_predict(model: keras.Model, x, batch_size: int | None = None, **kwargs) -> np.ndarray:
    """``model.predict(x)`` through one traced function per layout (no new tracing).

    A network of Dense and Dropout layers only predicts with its weights as
    arguments of a function shared by every network of its activations
    (:mod:`kerastune_kit._dense_forward`); others through their architecture's
    template.
    """
    plain = _as_array(x) is not None and not kwargs.get("callbacks") and not (
        set(kwargs) - {"verbose", "callbacks", "steps"}) and kwargs.get("steps") is None
    chunk = max(int(batch_size or 32), 4096)
    if (plain and len(x) and fast_fit_enabled() and not getattr(model, "run_eagerly", False)
            and getattr(model, BUILD_ARGUMENTS, None) is not None):
        layout = dense_layout(model)
        if layout is not None:
            return dense_predict(layout, x, chunk)
    program = _program_for(model)
    if program is None or not plain:
        return model.predict(x, batch_size=batch_size, **kwargs)
    import tensorflow as tf

    with program.lock, lean_executor(program.lean):
        program.push_weights(model)
        parts = [program._forward(tf.convert_to_tensor(x[i:i + chunk]))
                 for i in range(0, len(x), chunk)]
    return np.concatenate([np.asarray(p) for p in parts]) if parts else model.predict(x)
