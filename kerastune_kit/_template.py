"""The fast path's templates: one private Keras model per architecture, and its traced programs.

A :class:`Program` holds a template model built by
:func:`~kerastune_kit.build_mlp` and the traced TensorFlow functions that
train, evaluate and run it over in-memory tensors; the state copies
between the template and a user's model (weights and optimiser state in one
traced call each way) are shared by all programs. Settings that vary from
fit to fit without changing the architecture (dropout rates, L1/L2 penalty
strengths) are variables of the template (:class:`VariableRateDropout`,
:class:`VariablePenalty`), so they share one trace.
:mod:`kerastune_kit.fastfit` keeps the cache of programs and runs the epochs.

Every trace is kept as its runtime function only
(:class:`~kerastune_kit._lean_trace.TracedOnce`): a program dropped from
the cache frees what TensorFlow made for it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import keras
import numpy as np

from ._lean_trace import TracedOnce
from ._lean_update import install as install_lean_update
from ._optional import switched_on

__all__ = ["Program", "VariableRateDropout", "VariablePenalty", "setting_slots",
           "settle_optimizer", "PENDING_OPTIMIZER", "lean_executor"]


class VariableRateDropout(keras.layers.Dropout):
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
    def adopt(cls, layer: keras.layers.Dropout) -> "VariableRateDropout":
        layer.__class__ = cls
        # a plain tf.Variable, set around Keras' tracking: not among the model's variables
        object.__setattr__(layer, "_rate_and_scale", float_variables(cls._values(layer.rate)))
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


class VariablePenalty(keras.regularizers.Regularizer):
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
        self._strengths = float_variables([self.l1, self.l2])

    @staticmethod
    def of(layer, where: str):
        """The L1L2 penalty of ``layer``'s kernel or output, or None."""
        if where == "kernel":
            penalty = getattr(getattr(layer, "kernel", None), "regularizer", None)
        else:
            penalty = getattr(layer, "activity_regularizer", None)
        return penalty if isinstance(penalty, keras.regularizers.L1L2) else None

    @classmethod
    def adopt(cls, layer, where: str) -> "VariablePenalty":
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


#: Attribute of a user's model holding optimiser state not yet in its variables (see
#: :meth:`Program.stash_optimizer`); set around Keras' tracking, never saved.
PENDING_OPTIMIZER = "_kerastune_pending_optimizer"


def lean_executor(usable: bool = True):
    """Context in which TensorFlow runs the kit's traced programs with its single-threaded executor.

    A program's ops are tiny (a 100-unit layer on a mini-batch of a few
    rows): TensorFlow's default executor hands each ready op to its thread
    pool, which costs more than most of these ops take. The single-threaded
    executor runs them in order on the calling thread; each op still uses
    the intra-op threads for its own arithmetic. On the 2-core benchmark
    machine a fast-path step took about half the time. Set the environment
    variable ``KERASTUNE_LEAN_EXECUTOR=0`` for TensorFlow's default; a program
    that cannot run on it (``usable`` False, see :attr:`Program.lean`) gets the
    default too.
    """
    if not usable or not switched_on("KERASTUNE_LEAN_EXECUTOR"):
        return contextlib.nullcontext()
    try:
        from tensorflow.python.eager import context
    except ImportError:  # pragma: no cover - another TensorFlow layout
        return contextlib.nullcontext()
    return context.function_executor_type("SINGLE_THREADED_EXECUTOR")


def settle_optimizer(model) -> None:
    """Create ``model``'s optimiser variables and set them from its pending state, if it has any.

    What :meth:`Program.pull_optimizer` does at the end of a fit, done when
    something first needs the state: the optimiser is built on the model's
    trainable variables, and every variable but the learning rate (the
    model's own) gets the template's value, cut to its top-left block as
    the traced copy cuts it. A no-op for a model with nothing pending.
    """
    pending = vars(model).pop(PENDING_OPTIMIZER, None) if hasattr(model, "__dict__") else None
    if pending is None:
        return
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    if len(variables) != len(pending):
        return
    skip = getattr(optimizer, "_learning_rate", None)
    for variable, value in zip(variables, pending):
        if variable is not skip:
            variable.assign(value[tuple(slice(0, int(d)) for d in variable.shape)])


def float_variables(values) -> Any:
    """A float32 variable outside any Keras model: set between fits, read by the traced program."""
    import tensorflow as tf

    return tf.Variable(np.array(values, dtype="float32"), trainable=False)


def setting_slots(model: keras.Model) -> list[tuple[int, str]]:
    """(layer index, kind) of every setting a template takes from each fit's model.

    Dropout rates and L1/L2 penalty strengths: the architecture key says only
    which of them are non-zero (see :func:`kerastune_kit.fastfit.architecture_key`).
    """
    slots = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.Dropout):
            slots.append((i, "dropout"))
        slots.extend((i, where) for where in ("kernel", "activity")
                     if VariablePenalty.of(layer, where) is not None)
    return slots


class Program:
    """A template model of one architecture and its traced train/test/forward functions."""

    def __init__(self, template: keras.Model):
        self.model = template
        install_lean_update(template.optimizer)  # (Adam and SGD: fewer ops a step, same numbers)
        # the template's dropout rates and penalty strengths become variables, set per fit
        self._slots = setting_slots(template)
        self._settings = [
            (i, VariableRateDropout.adopt(template.layers[i]) if kind == "dropout"
             else VariablePenalty.adopt(template.layers[i], kind))
            for i, kind in self._slots]
        self.lock = threading.RLock()
        # a mixed-precision template's training (Keras' LossScaleOptimizer: a conditional
        # update inside the loop) hung TensorFlow 2.21's single-threaded executor: not for it
        self.policy = getattr(getattr(template, "dtype_policy", None), "name", "float32")
        self.lean = (self.policy == "float32"
                     and type(template.optimizer).__name__ != "LossScaleOptimizer")
        self.built = False
        self._optimizer_initial: list[np.ndarray] = []
        self._rate: float | None = None  # the rate last pushed into the template
        self._train = TracedOnce(self._train_span)
        self._test = TracedOnce(self._test_all)
        # (no loops in these three: AutoGraph's rewriting of their source, about 0.1 s a
        # function the first time in a process, would change nothing)
        self._forward = TracedOnce(self._forward_rows, autograph=False)

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

        _LOAD(_handles(self._template_variables(which)),
              [tf.convert_to_tensor(v.value) for v in variables])

    def _read(self, which: str, shapes) -> list:
        """The template's values, each cut to the top-left block of the given shape."""
        mine = self._template_variables(which)
        return _READ(_handles(mine), tuple(v.dtype for v in mine),
                     [np.asarray(shape, dtype=np.int32) for shape in shapes])

    def _pull(self, which: str, variables, skip=None) -> None:
        for variable, value in zip(variables, self._read(which, [v.shape for v in variables])):
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
        self._rate = None  # (the copy set the template's rate variable too)
        self.push_learning_rate(model)

    def push_learning_rate(self, model: keras.Model) -> None:
        """Template rate <- the model's (before every span: callbacks change it).

        The template's rate variable is assigned only when the rate differs
        from the one last pushed (an assignment is about 0.3 ms, a fit makes
        one per epoch or per step).
        """
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        if rate != self._rate:
            self.model.optimizer.learning_rate = rate
            self._rate = rate

    def pull_optimizer(self, model: keras.Model) -> None:
        """Own optimiser <- template state; the learning rate stays the model's own.

        (Callbacks set the model's learning rate; it is pushed before every span.)
        """
        mine, theirs = self.model.optimizer, model.optimizer
        if not theirs.built:
            theirs.build(model.trainable_variables)
        if len(theirs.variables) == len(mine.variables):
            self._pull("optimizer", theirs.variables, skip=getattr(theirs, "_learning_rate", None))

    def stash_optimizer(self, model: keras.Model) -> None:
        """Keep the template's optimiser state on ``model`` as arrays, its own variables not yet made.

        Creating a Keras optimiser's variables costs a few milliseconds each
        (Adam on a 2-layer network: a dozen), most of a small fit's fixed
        cost, and a model trained inside a search is usually scored and
        dropped without its optimiser state ever being read.
        :func:`settle_optimizer` later gives ``model`` exactly what
        :meth:`pull_optimizer` would have given it now.
        """
        values = self._read("optimizer", [v.shape for v in self.model.optimizer.variables])
        object.__setattr__(model, PENDING_OPTIMIZER, [np.array(v) for v in values])

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
        if setting_slots(model) != self._slots or not all(
                setting.takes(layers[i]) for i, setting in self._settings):
            return False
        mine, theirs = self.model.variables, model.variables
        return len(mine) == len(theirs) and all(
            len(a.shape) == len(b.shape) and a.dtype == b.dtype
            and all(m >= t for m, t in zip(a.shape, b.shape)) for a, b in zip(mine, theirs))


# -- state copies between a template and a model: one traced call each way, shared by all
# programs (the variables go in as their handles: one trace per count, dtypes and ranks)
def _handles(variables) -> list:
    return [v.value.handle for v in variables]


def _load_values(handles, values):
    """Variables <- values; a smaller value fills the top-left block, zeros the rest."""
    import tensorflow as tf

    for handle, value in zip(handles, values):
        want = tf.raw_ops.VariableShape(input=handle, out_type=tf.int32)
        padding = tf.stack([tf.zeros_like(want), want - tf.shape(value)], axis=1)
        tf.raw_ops.AssignVariableOp(resource=handle, value=tf.pad(value, padding))


def _read_values(handles, dtypes, shapes):
    """The variables' values, each cut to the top-left block of the given shape."""
    import tensorflow as tf

    return [tf.slice(tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype),
                     tf.zeros_like(shape), shape)
            for handle, dtype, shape in zip(handles, dtypes, shapes)]


_LOAD = TracedOnce(_load_values, autograph=False)
_READ = TracedOnce(_read_values, autograph=False)
