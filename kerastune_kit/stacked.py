"""Train several networks of one architecture at once: stacked weights, one traced program.

Why
---
On small data a training step costs TensorFlow's graph executor about the
same whatever the network's size: some 250 small ops at a microsecond or
two each. The folds of one candidate in a cross-validated search are the
same network, with the same settings, trained on different rows. Stacked
along a leading axis (weights ``[k, in, out]``, batches ``[k, rows,
features]``) they train in one step of the same number of ops: three folds
took 1.8-2.0 times one fold alone on the 2-core benchmark machine (2 x 100
units, batches of 2), not three times.

What
----
:func:`train_stacked` trains ``k`` members, each a model built by
:func:`~kerastune_kit.build_mlp` with its own data, validation data, seed and
initial weights, and everything else equal (:func:`stack_key`). Each member
trains exactly as it would alone on the fast path
(:mod:`kerastune_kit.fastfit`), except for its dropout masks:

* the same mini-batches, shuffled each epoch by NumPy from the member's own
  seed, as :func:`~kerastune_kit.training.fit_network` shuffles;
* the same loss (the mean over the batch's rows, plus the kernel penalties
  and the activity penalties divided by the batch's rows), the same Adam or
  SGD update, the same step count (a member with fewer batches an epoch
  waits, unchanged, while the others take their last step);
* the same per-epoch ``History``: the loss averaged over the epoch's rows,
  accuracy, and the validation loss and accuracy after each epoch;
* dropout masks are drawn from a seed made from the members' seeds: the same
  distribution, not the same draws as a member trained alone.

Without dropout a stacked member's weights match a lone fit's to float
rounding (tested); with dropout, its scores match in distribution (tested).

The program is traced once per architecture and shape of state (layer
count, activation, which penalties and dropout are on, the optimiser): sizes
of data, batches, epochs and members are tensors of the call.

What it does not cover (networks that compute in another dtype than
float32, callbacks other than Keras' own history, progress output
(``verbose``), sample or class weights, another loss than sparse categorical
cross-entropy on a softmax output, other optimisers than Adam and SGD
without Nesterov, batch normalisation, max-norm, weight decay, learning-rate
schedules, inputs of more than one axis) has no :func:`stack_key` and trains
alone.
"""

from __future__ import annotations

import collections
import json
import threading
from typing import Any, Mapping, Sequence

import keras
import numpy as np

from ._lean_trace import TracedOnce
from ._template import PENDING_OPTIMIZER, lean_executor, settle_optimizer
from .builders import BUILD_ARGUMENTS
from .fastfit import fast_fit_enabled

__all__ = ["stack_key", "train_stacked", "StackedRun"]

#: Fit arguments a stacked member may be given (others: it trains alone).
_FIT_ARGUMENTS = {"batch_size", "epochs", "verbose", "callbacks", "validation_data", "shuffle",
                  "sample_weight", "initial_epoch", "validation_batch_size", "class_weight",
                  "validation_split"}
_OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}


def _optimizer_kind(optimizer) -> str | None:
    """"adam" or "sgd" for the optimisers the stack computes, else None."""
    return next((name for name, cls in _OPTIMIZERS.items() if type(optimizer) is cls), None)

#: Rows the loss before training is measured on (as the divergence check's).
STARTING_ROWS = 256


class StackedRun:
    """One member's share of a stacked fit: its model, data, seed and fit arguments.

    After :func:`train_stacked`, ``history`` is the member's ``History`` (as
    ``Model.fit`` returns it).
    """

    def __init__(self, model: keras.Model, x, y, *, seed: int | None, defer_optimizer: bool,
                 fit_kwargs: Mapping[str, Any]):
        self.model, self.x, self.y, self.seed = model, x, y, seed
        self.defer_optimizer = defer_optimizer
        self.fit_kwargs = dict(fit_kwargs)
        self.history: keras.callbacks.History | None = None
        #: The loss before training (as :func:`~kerastune_kit.callbacks.starting_loss`).
        self.starting_loss: float | None = None


def _plain_callbacks(callbacks) -> bool:
    return all(isinstance(cb, (keras.callbacks.History, keras.callbacks.ProgbarLogger))
               for cb in (callbacks or []))


def stack_key(model: keras.Model, x, y, fit_kwargs: Mapping[str, Any]) -> str | None:
    """What the members of one stack must share, as a string; None if this fit cannot be stacked."""
    args = getattr(model, BUILD_ARGUMENTS, None)
    if (args is None or not fast_fit_enabled() or not isinstance(x, np.ndarray)
            or not isinstance(y, np.ndarray)):
        return None
    if x.ndim != 2 or len(x) == 0 or set(fit_kwargs) - _FIT_ARGUMENTS:
        return None
    if (fit_kwargs.get("sample_weight") is not None or fit_kwargs.get("class_weight") is not None
            or fit_kwargs.get("validation_split")
            or fit_kwargs.get("verbose", "auto") not in (0, "auto", None)  # a progress bar
            or fit_kwargs.get("initial_epoch", 0) != 0 or not _plain_callbacks(
                fit_kwargs.get("callbacks"))
            or fit_kwargs.get("shuffle", True) not in (True, False)):
        return None
    validation = fit_kwargs.get("validation_data")
    if validation is not None and (
            not isinstance(validation, (tuple, list)) or len(validation) != 2
            or not all(isinstance(v, np.ndarray) for v in validation) or len(validation[0]) == 0):
        return None
    if (args["batch_norm"] or args["max_norm"] or args["weight_decay"] or args["run_eagerly"]
            or args["optimizer_kwargs"] or args["output"] != "softmax"
            or args["loss"] != "sparse_categorical_crossentropy"
            or args["metrics"] not in (None, ("accuracy",))
            or not isinstance(args["learning_rate"], (int, float))):
        return None
    if any(getattr(layer, "compute_dtype", "float32") != "float32" for layer in model.layers):
        return None  # (a mixed-precision or float64 network: the stack computes in float32)
    optimizer = model.optimizer
    kind = _optimizer_kind(optimizer)
    if kind is None or getattr(optimizer, "amsgrad", False) or getattr(optimizer, "nesterov", False):
        return None
    if any(getattr(optimizer, name, None) for name in ("clipnorm", "clipvalue", "global_clipnorm")):
        return None
    if getattr(optimizer, "use_ema", False) or optimizer.built:
        return None  # (a built optimiser holds state from an earlier fit: warm starts train alone)
    settings = {name: float(getattr(optimizer, name)) for name in
                ("beta_1", "beta_2", "epsilon", "momentum") if hasattr(optimizer, name)}
    settings["learning_rate"] = float(np.asarray(optimizer.learning_rate))
    shape = {k: v for k, v in args.items()
             if k not in ("seed", "learning_rate", "kernel_initializer")}
    fit = {k: fit_kwargs.get(k, d) for k, d in
           (("batch_size", 32), ("epochs", 1), ("shuffle", True))}
    fit["validation"] = validation is not None
    fit["validation_batch_size"] = fit_kwargs.get("validation_batch_size")
    try:
        return json.dumps([kind, settings, shape, fit, int(x.shape[1])], sort_keys=True,
                          allow_nan=False)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------
# the traced program: one per structure, cached
# ----------------------------------------------------------------------
_PROGRAMS: "collections.OrderedDict[tuple, Any]" = collections.OrderedDict()
_PROGRAMS_LOCK = threading.Lock()
_MAX_PROGRAMS = 8


def _structure(model: keras.Model, kind: str, momentum: bool) -> tuple:
    args = getattr(model, BUILD_ARGUMENTS)
    return (len(args["hidden_layer_sizes"]), args["activation"], args["dropout"] > 0,
            args["kernel_l1"] > 0, args["kernel_l2"] > 0, args["activity_l1"] > 0,
            args["activity_l2"] > 0, kind, momentum)


def _program(structure: tuple):
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(structure)
        if program is not None:
            _PROGRAMS.move_to_end(structure)
            return program
    program = _trace(*structure)
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.setdefault(structure, program)
        while len(_PROGRAMS) > _MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
    return program


def _trace(layers: int, activation: str, dropout: bool, k_l1: bool, k_l2: bool, a_l1: bool,
           a_l2: bool, kind: str, momentum: bool):
    """The training function of one structure (see :func:`train_stacked` for its arguments)."""
    import tensorflow as tf

    act = keras.activations.get(activation)
    n_weights = 2 * layers + 2
    n_slots = {"adam": 2, "sgd": 1 if momentum else 0}[kind]
    f32, i32 = tf.float32, tf.int32
    dyn = lambda rank, dtype=f32: tf.TensorSpec([None] * rank, dtype)  # noqa: E731
    weight_specs = tuple(dyn(3 if i % 2 == 0 else 2) for i in range(n_weights))
    signature = [
        dyn(3), dyn(2, i32), dyn(2),            # X [k, n, d], Y [k, n], xmask [k, n]
        dyn(4, i32), dyn(4),                    # order [e, s, k, b] (row of member m of k at
                                                # m * n + row), mask [e, s, k, b]
        dyn(3), dyn(2, i32), dyn(2),            # VX [k, v, d], VY [k, v], vmask [k, v]
        weight_specs,                           # weights, each [k, ...]
        tuple(weight_specs for _ in range(n_slots)),  # optimiser slots
        dyn(1),                                 # steps taken so far, a member [k]
        tf.TensorSpec([9], f32),                # lr, rate, k_l1, k_l2, a_l1, a_l2, b1, b2, eps/mom
        tf.TensorSpec([2], i32),                # dropout seed
        tf.TensorSpec([], tf.bool),             # validate
    ]

    def penalties(ws, hyper):
        """Kernel penalties of each member, [k]."""
        total = 0.0
        for i in range(layers):
            kernel = ws[2 * i]
            if k_l1:
                total += hyper[2] * tf.reduce_sum(tf.abs(kernel), axis=[1, 2])
            if k_l2:
                total += hyper[3] * tf.reduce_sum(tf.square(kernel), axis=[1, 2])
        return total

    def forward(ws, x, rows, hyper, seed, training):
        """Output logits [k, b, classes] and each member's activity penalty [k]."""
        h, activity = x, 0.0
        real = rows[:, :, None]
        count = tf.maximum(tf.reduce_sum(rows, axis=1), 1.0)
        for i in range(layers):
            z = tf.matmul(h, ws[2 * i]) + ws[2 * i + 1][:, None, :]
            if a_l1:
                activity += hyper[4] * tf.reduce_sum(tf.abs(z) * real, axis=[1, 2]) / count
            if a_l2:
                activity += hyper[5] * tf.reduce_sum(tf.square(z) * real, axis=[1, 2]) / count
            h = act(z)
            if dropout and training:
                noise = tf.random.stateless_uniform(tf.shape(h), seed + tf.constant([0, i]))
                h = tf.where(noise >= hyper[1], h * (1.0 / (1.0 - hyper[1])), tf.zeros_like(h))
        logits = tf.matmul(h, ws[-2]) + ws[-1][:, None, :]
        return logits, activity

    def losses(logits, y, rows):
        """Each row's cross-entropy [k, b] and correctness.

        From the logits, as Keras computes it for a softmax output layer (it
        keeps the logits on the layer's output), not from clipped probabilities.
        """
        classes = tf.shape(logits)[-1]
        flat = keras.losses.sparse_categorical_crossentropy(
            tf.reshape(y, [-1]), tf.reshape(logits, [-1, classes]), from_logits=True)
        ce = tf.reshape(flat, tf.shape(y))
        right = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=i32), y), f32) * rows
        return ce * rows, right

    def member_losses(ws, x, y, rows, hyper, seed, training):
        """Each member's loss [k] as Keras reports it (the mean over its real rows, plus its
        kernel and activity penalties), its rows' correctness [k, b] and its real rows [k]."""
        logits, activity = forward(ws, x, rows, hyper, seed, training)
        ce, right = losses(logits, y, rows)
        count = tf.reduce_sum(rows, axis=1)
        loss = (tf.reduce_sum(ce, axis=1) / tf.maximum(count, 1.0) + penalties(ws, hyper)
                + activity)
        return loss, right, count

    def update(ws, slots, grads, active, t, hyper):
        """One optimiser step for the members with ``active`` 1; the others keep their state."""
        t_new = t + active
        lr = hyper[0]
        masks = {2: active[:, None] > 0, 3: active[:, None, None] > 0}  # by weight rank
        if kind == "adam":
            b1, b2, eps = hyper[6], hyper[7], hyper[8]
            step = tf.maximum(t_new, 1.0)
            alpha = lr * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
            alphas = {2: alpha[:, None], 3: alpha[:, None, None]}
        new_ws, new_slots = [], [list(s) for s in slots]
        for j, (w, g) in enumerate(zip(ws, grads)):
            rank = 3 if j % 2 == 0 else 2  # kernels [k, in, out], biases [k, out]
            on = masks[rank]
            if kind == "adam":
                m, v = slots[0][j], slots[1][j]
                m2 = m + (g - m) * (1 - b1)
                v2 = v + (tf.square(g) - v) * (1 - b2)
                w2 = w - (m2 * alphas[rank]) / (tf.sqrt(v2) + eps)
                new_slots[0][j], new_slots[1][j] = tf.where(on, m2, m), tf.where(on, v2, v)
            elif momentum:
                m = slots[0][j]
                m2 = m * hyper[8] - g * lr
                w2 = w + m2
                new_slots[0][j] = tf.where(on, m2, m)
            else:
                w2 = w - g * lr
            new_ws.append(tf.where(on, w2, w))
        return tuple(new_ws), tuple(tuple(s) for s in new_slots), t_new

    def train(X, Y, xmask, order, mask, VX, VY, vmask, weights, slots, t, hyper, seed, validate):
        epochs, steps = tf.shape(order)[0], tf.shape(order)[1]
        k = tf.shape(X)[0]
        X_flat = tf.reshape(X, [-1, tf.shape(X)[2]])
        Y_flat = tf.reshape(Y, [-1])
        history = [tf.TensorArray(f32, size=epochs) for _ in range(4)]

        def epoch_body(e, ws, sl, t, hist):
            def step_body(s, ws, sl, t, loss_sum, right_sum, row_sum):
                idx, rows = order[e, s], mask[e, s]  # rows of the members' data laid end to end
                x = tf.gather(X_flat, idx)
                y = tf.gather(Y_flat, idx)
                with tf.GradientTape() as tape:
                    tape.watch(ws)
                    step_seed = seed + tf.stack([e, s * 1024])
                    loss, right, count = member_losses(ws, x, y, rows, hyper, step_seed, True)
                    active = tf.cast(count > 0, f32)
                    total = tf.reduce_sum(loss * active)
                grads = tape.gradient(total, ws)
                ws2, sl2, t2 = update(ws, sl, grads, active, t, hyper)
                return (s + 1, ws2, sl2, t2, loss_sum + loss * count,
                        right_sum + tf.reduce_sum(right, axis=1), row_sum + count)

            zeros = tf.zeros([k], f32)
            _, ws, sl, t, loss_sum, right_sum, row_sum = tf.while_loop(
                lambda s, *_: s < steps, step_body, (0, ws, sl, t, zeros, zeros, zeros))
            rows = tf.maximum(row_sum, 1.0)
            hist = list(hist)
            hist[0] = hist[0].write(e, loss_sum / rows)
            hist[1] = hist[1].write(e, right_sum / rows)

            def evaluate():
                loss, right, count = member_losses(ws, VX, VY, vmask, hyper, seed, False)
                return loss, tf.reduce_sum(right, axis=1) / tf.maximum(count, 1.0)

            val_loss, val_acc = tf.cond(validate, evaluate, lambda: (zeros, zeros))
            hist[2] = hist[2].write(e, val_loss)
            hist[3] = hist[3].write(e, val_acc)
            return e + 1, ws, sl, t, tuple(hist)

        # the loss before training, on the first rows, as the divergence check measures it
        # (kerastune_kit.callbacks.starting_loss)
        start, _, _ = member_losses(weights, X[:, :STARTING_ROWS], Y[:, :STARTING_ROWS],
                                    xmask[:, :STARTING_ROWS], hyper, seed, False)
        _, ws, sl, t, history = tf.while_loop(
            lambda e, *_: e < epochs, epoch_body, (0, weights, slots, t, tuple(history)))
        return ws, sl, t, tuple(h.stack() for h in history), start

    return TracedOnce(train, autograph=False, signature=signature)  # (kept without its graph)


# ----------------------------------------------------------------------
# running a stack
# ----------------------------------------------------------------------
def _orders(runs: Sequence[StackedRun], batch_size: int, epochs: int, shuffle: bool):
    """Row order and row mask of every step: [epochs, steps, members, batch_size].

    Each member's rows are shuffled each epoch with NumPy's legacy generator
    seeded with its seed, the draws :func:`~kerastune_kit.training.fit_network`
    makes for a lone fit (or from NumPy's global generator without a seed).
    """
    steps = max(-(-len(r.x) // batch_size) for r in runs)
    order = np.zeros((epochs, steps, len(runs), batch_size), np.int32)
    mask = np.zeros(order.shape, np.float32)
    for m, run in enumerate(runs):
        n = len(run.x)
        draw = np.random.RandomState(run.seed).permutation if run.seed is not None else (
            np.random.permutation)
        member_steps = -(-n // batch_size)
        pad = member_steps * batch_size - n
        for e in range(epochs):
            rows = draw(n) if shuffle else np.arange(n)
            flat = np.concatenate([rows, np.zeros(pad, np.int64)]).reshape(member_steps, -1)
            order[e, :member_steps, m] = flat
            mask[e, :member_steps, m] = 1.0
            if pad:
                mask[e, member_steps - 1, m, batch_size - pad:] = 0.0
    return order, mask


def _padded(arrays: Sequence[np.ndarray], dtype) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of different lengths stacked, zero-padded; and the mask of real rows."""
    longest = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), longest, *arrays[0].shape[1:]), dtype)
    mask = np.zeros((len(arrays), longest), np.float32)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
        mask[i, :len(a)] = 1.0
    return out, mask


def _slot_layout(model: keras.Model, kind: str) -> list:
    """What each of the optimiser's variables holds, in its order: ("iterations",),
    ("learning_rate",) or (slot, weight index). Read from a throwaway optimiser of the
    same configuration built on the model's weights."""
    optimizer = model.optimizer
    probe = type(optimizer).from_config(optimizer.get_config())
    weights = model.trainable_variables
    probe.build(weights)
    slots = ([getattr(probe, "_momentums", []), getattr(probe, "_velocities", [])]
             if kind == "adam" else [getattr(probe, "momentums", [])])
    where = {id(probe.iterations): ("iterations",)}
    learning_rate = getattr(probe, "_learning_rate", None)
    if learning_rate is not None:
        where[id(learning_rate)] = ("learning_rate",)
    for s, variables in enumerate(slots):
        for j, variable in enumerate(variables):
            if variable is not None:
                where[id(variable)] = (s, j)
    layout = [where.get(id(v)) for v in probe.variables]
    if any(entry is None for entry in layout):
        raise ValueError(f"unknown state in {type(optimizer).__name__}")
    return layout


#: The optimiser's variable layout by (optimiser, momentum on, weight count): the same for
#: every network of a structure, so probed once.
_LAYOUTS: dict[tuple, list] = {}


def train_stacked(runs: Sequence[StackedRun]) -> None:
    """Train ``runs`` (all with one :func:`stack_key`) together; sets each run's ``history``.

    Each model ends with its trained weights and its optimiser state (pending,
    as the fast path leaves it, when its run defers it).
    """
    import tensorflow as tf

    first = runs[0]
    args = getattr(first.model, BUILD_ARGUMENTS)
    optimizer = first.model.optimizer
    kind = _optimizer_kind(optimizer)
    momentum = kind == "sgd" and float(optimizer.momentum) != 0
    fit = first.fit_kwargs
    batch_size = int(fit.get("batch_size") or 32)
    epochs = int(fit.get("epochs", 1))
    order, mask = _orders(runs, batch_size, epochs, bool(fit.get("shuffle", True)))
    X, xmask = _padded([r.x.astype(np.float32, copy=False) for r in runs], np.float32)
    order += (np.arange(len(runs), dtype=np.int32) * X.shape[1])[:, None]  # members end to end
    Y, _ = _padded([np.asarray(r.y).reshape(len(r.y)) for r in runs], np.int32)
    validate = fit.get("validation_data") is not None
    if validate:
        VX, vmask = _padded([np.asarray(r.fit_kwargs["validation_data"][0], np.float32)
                             for r in runs], np.float32)
        VY, _ = _padded([np.asarray(r.fit_kwargs["validation_data"][1]).reshape(-1)
                         for r in runs], np.int32)
    else:
        VX, VY, vmask = X[:, :1], Y[:, :1], np.ones((len(runs), 1), np.float32)
    weights = [np.stack(ws) for ws in zip(*[[np.asarray(v) for v in r.model.trainable_variables]
                                            for r in runs])]
    n_slots = {"adam": 2, "sgd": 1 if momentum else 0}[kind]
    slots = tuple(tuple(np.zeros_like(w) for w in weights) for _ in range(n_slots))
    last = float(optimizer.epsilon) if kind == "adam" else float(optimizer.momentum)
    hyper = np.array([float(np.asarray(optimizer.learning_rate)), args["dropout"],
                      args["kernel_l1"], args["kernel_l2"], args["activity_l1"],
                      args["activity_l2"], float(getattr(optimizer, "beta_1", 0.0)),
                      float(getattr(optimizer, "beta_2", 0.0)), last], np.float32)
    seeds = [r.seed if r.seed is not None else np.random.randint(2 ** 31) for r in runs]
    seed = np.array([hash(tuple(seeds)) % (2 ** 31 - 1), len(runs)], np.int32)
    layout_key = (kind, momentum, len(weights))
    layout = _LAYOUTS.get(layout_key)
    if layout is None:
        layout = _LAYOUTS[layout_key] = _slot_layout(first.model, kind)
    program = _program(_structure(first.model, kind, momentum))
    with lean_executor():
        ws, sl, t, history, start = program(
            X, Y, xmask, order, mask, VX, VY, vmask, tuple(tf.constant(w) for w in weights),
            tuple(tuple(tf.constant(s) for s in group) for group in slots),
            tf.zeros([len(runs)], tf.float32), hyper, seed, tf.constant(validate))
    ws = [np.asarray(w) for w in ws]
    sl = [[np.asarray(s) for s in group] for group in sl]
    t = np.asarray(t)
    history = [np.asarray(h) for h in history]
    start = np.asarray(start)
    for m, run in enumerate(runs):
        for variable, value in zip(run.model.trainable_variables, ws):
            variable.assign(value[m])
        pending = []
        for entry in layout:
            if entry == ("iterations",):
                pending.append(np.asarray(int(t[m]), np.int64))
            elif entry == ("learning_rate",):
                pending.append(np.asarray(hyper[0], np.float32))
            else:
                pending.append(sl[entry[0]][entry[1]][m])
        object.__setattr__(run.model, PENDING_OPTIMIZER, pending)
        if not run.defer_optimizer:
            settle_optimizer(run.model)
        run.history = _history(run, history, m, bool(args["metrics"]), validate, epochs)
        run.starting_loss = float(start[m])


def _history(run: StackedRun, history, member: int, accuracy: bool, validate: bool,
             epochs: int):
    """A ``History`` callback as ``Model.fit`` leaves it, from the stacked run's figures."""
    callback = keras.callbacks.History()
    callback.set_model(run.model)
    callback.set_params({"verbose": 0, "epochs": epochs,
                         "steps": -(-len(run.x) // int(run.fit_kwargs.get("batch_size") or 32))})
    callback.on_train_begin()
    for e in range(epochs):
        logs = {"loss": float(history[0][e, member])}
        if accuracy:
            logs["accuracy"] = float(history[1][e, member])
        if validate:
            logs["val_loss"] = float(history[2][e, member])
            if accuracy:
                logs["val_accuracy"] = float(history[3][e, member])
        callback.on_epoch_end(e, logs)
    run.model.history = callback
    return callback
