"""Traced functions kept as their runtime functions only: the Python graphs go once traced.

Why
---
A ``tf.function`` keeps every trace's Python graph (a ``FuncGraph``: each op
as a Python object, a C++ node with its shape-inference state, the stack
trace it was made from) for as long as the function lives, beside the
function TensorFlow's runtime actually runs. The fast path keeps its
programs for the whole search, and measured with memray those graphs were
about a third of a program's memory (some 3-4 MB of a 2-layer network's 10).
Nothing reads them after the trace: a call needs only the runtime function's
name, its captured variables and its input/output types.

What
----
:class:`TracedOnce` traces a Python function once per *kind* of arguments
(which are None, each tensor's dtype and rank, the other Python values),
with every tensor dimension left unknown, so one trace serves all sizes of
data, batch and weights. It keeps the trace's runtime function
(TensorFlow's ``AtomicFunction``) and its captured inputs, and lets the
graph go. The gradient entries a training trace registers in TensorFlow's
process-wide table (``tf.custom_gradient``: never removed by TensorFlow, and
each holds its graph) are removed once the trace is built: those registered
while it was traced that its own graphs name (the kit's traces run one at a
time; another thread's ``Model.fit`` may trace meanwhile).

Where this TensorFlow lacks the private parts this relies on
(``ConcreteFunction._inference_function``, the gradient table), the
function stays a ``tf.function`` trace and keeps its graph: only memory is
lost.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

__all__ = ["TracedOnce"]

#: Held while the kit traces one of its functions (see the module docstring).
_TRACING = threading.RLock()


def _gradient_functions() -> dict | None:
    """TensorFlow's process-wide table of registered gradient functions, or None.

    ``tf.custom_gradient`` in a traced function registers the gradient under
    a new name (``CustomGradient-<uid>``) in this table and never removes it;
    the entry's closure holds the traced graph. Keras' optimiser makes one in
    every training trace (the all-reduce of the gradients under the default
    distribution strategy). None when this TensorFlow keeps the table
    elsewhere.
    """
    try:
        from tensorflow.python.framework import ops

        table = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return table if isinstance(table, dict) else None


def _gradient_overrides(graph, seen: set) -> set:
    """The gradient entries (``_gradient_op_type``) the ops of ``graph`` and of the function
    graphs it calls are differentiated with."""
    if graph is None or id(graph) in seen:
        return set()
    seen.add(id(graph))
    names = set()
    for op in graph.get_operations():
        try:
            names.add(op.get_attr("_gradient_op_type").decode())
        except (ValueError, AttributeError):
            pass
    for function in getattr(graph, "_functions", {}).values():
        inner = getattr(function, "_cached_graph", None) or getattr(function, "_func_graph", None)
        names |= _gradient_overrides(inner, seen)
    return names


def _as_tensors(value):
    """NumPy arrays as tensors, in lists and tuples too."""
    import tensorflow as tf

    if isinstance(value, np.ndarray):
        return tf.convert_to_tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_as_tensors(v) for v in value)
    return value


def _kind(value) -> Any:
    """What a trace is made for: a tensor's dtype and rank, other values as they are."""
    import tensorflow as tf

    if tf.is_tensor(value):
        return ("tensor", value.dtype.name, value.shape.rank)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_kind(v) for v in value))
    return ("value", value)


def _relaxed(value):
    """A tensor as a spec with every dimension unknown; lists and tuples item by item."""
    import tensorflow as tf

    if tf.is_tensor(value):
        return tf.TensorSpec([None] * value.shape.rank, value.dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_relaxed(v) for v in value)
    return value


def _drop_graphs(atomic, seen: set, *, called: bool = True) -> None:
    """Let the Python graphs of a runtime function and of the functions it calls go.

    The functions it calls (a loop's body) also let go of their definitions
    as Python protocol buffers: only the function called from Python reads
    its own (TensorFlow reads it back from the runtime if ever needed).
    """
    if id(atomic) in seen:
        return
    seen.add(id(atomic))
    if hasattr(atomic, "_cached_graph"):
        atomic._cached_graph = None
    if not called and hasattr(atomic, "_cached_definition"):
        atomic._cached_definition = None
    for child in getattr(atomic, "children", ()):
        _drop_graphs(child, seen, called=False)


class TracedOnce:
    """``python_function`` traced once per kind of arguments, each trace kept without its graph.

    Called with positional arguments only: tensors, NumPy arrays (as
    tensors), None, lists or tuples of these, and Python values (part of
    the kind: another value is another trace). With ``signature`` (a list of
    ``tf.TensorSpec`` structures, as ``tf.function``'s ``input_signature``)
    it is traced once, for that signature.
    """

    def __init__(self, python_function: Callable, *, autograph: bool = True,
                 signature: list | None = None):
        self._python_function = python_function
        self._autograph = autograph
        self._signature = signature
        self._calls: dict = {}  # kind -> callable running that kind's trace
        self._tracings = 0

    def experimental_get_tracing_count(self) -> int:
        """How many times this function was traced (as ``tf.function``'s method of that name)."""
        return self._tracings

    def __call__(self, *args):
        args = _as_tensors(args)
        kind = "signature" if self._signature is not None else _kind(args)
        call = self._calls.get(kind)
        if call is None:
            call = self._calls[kind] = self._trace(
                _relaxed(args) if self._signature is None else self._signature)
        return call(args)

    def _trace(self, specs) -> Callable:
        import tensorflow as tf

        function = tf.function(self._python_function, autograph=self._autograph)
        with _TRACING:
            table = _gradient_functions()
            before = None if table is None else set(table)
            concrete = function.get_concrete_function(*specs)
            # the trace's own gradient entries: needed only while it built its gradients
            if before is not None:
                for name in (set(table) - before) & _gradient_overrides(concrete.graph, set()):
                    table.pop(name, None)
        self._tracings += 1
        atomic = getattr(concrete, "_inference_function", None)
        if atomic is None or not hasattr(atomic, "call_with_captures"):
            return lambda call_args: concrete(*call_args)  # (keeps its graph)
        captures = list(concrete.captured_inputs)
        _drop_graphs(atomic, set())
        return lambda call_args: atomic.call_with_captures(call_args, {}, captures)
