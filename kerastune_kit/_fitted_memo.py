"""A search's memory of fitted preprocessing: each fold's preprocessor is fitted once, not per candidate.

A scikit-learn search over ``Pipeline(preprocessor, network)`` fits the
preprocessor again for every candidate on every fold, though the fold's rows
and the preprocessor are the same each time; ``tune``'s folds stacking fits it
once more before the search asks. On penguins that was 61 fits of the
``ColumnTransformer`` (about 9 ms each) for 4 different ones.

:class:`FittedMemo` has the interface of ``joblib.Memory`` that
``Pipeline(memory=...)`` uses (``cache``), and keeps the results in this
process's memory, not on disk: the transformed rows and the fitted
transformer, keyed by the unfitted transformer's parameters and a hash of the
rows and targets it is fitted on. A hit returns copies, as ``joblib.Memory``
returns what it loads, so no two pipelines share a fitted transformer. It is
the same caching scikit-learn documents for ``memory`` (a preprocessor fitted
twice on the same data is assumed to come out the same), held for one search.

The search also scores every candidate on each fold's held-out rows, through
the same fitted preprocessing: :meth:`FittedMemo.transformed` remembers those
rows transformed (on penguins, 30 transforms of the ``ColumnTransformer``,
about 5 ms each, for 3 different ones). A fitted transformer the memo hands
out carries the key it was fitted under (:data:`FITTED_KEY`).
"""

from __future__ import annotations

import collections
import copy
import functools
import inspect
import threading
from typing import Any, Callable

import numpy as np

__all__ = ["FittedMemo", "FITTED_KEY"]

#: Attribute of a fitted transformer the memo handed out: the key it was fitted under.
FITTED_KEY = "_kerastune_fitted_key"


class FittedMemo:
    """``Pipeline(memory=FittedMemo())``: fitted preprocessing remembered in memory, for one search.

    Parameters
    ----------
    max_entries : int
        Fits kept (the least recently used goes first); a search needs one
        per fold, and one for the refit.
    max_bytes : int
        The transformed rows kept, in bytes, at most (entries are dropped,
        oldest first, to stay under it; one larger than this is not kept).
    """

    def __init__(self, max_entries: int = 12, max_bytes: int = 256 * 2**20):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        #: key -> (transformed rows, fitted transformer, bytes of the rows)
        self._entries: "collections.OrderedDict[str, tuple]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self._fitting: dict[str, threading.Event] = {}
        #: (fitted keys, rows' hash) -> (the rows transformed, their bytes): see transformed()
        self._transformed: "collections.OrderedDict[str, tuple]" = collections.OrderedDict()
        self.hits = 0
        self.misses = 0

    # joblib.Memory's interface, as Pipeline uses it
    def cache(self, func: Callable | None = None, ignore=None, **_ignored) -> Callable:
        if func is None:
            return functools.partial(self.cache, ignore=ignore)
        return _Remembered(self, func)

    def fit_transform(self, transformer, X, y=None):
        """``(transformer fitted on X, y).transform(X)`` and the fitted transformer, remembered.

        ``transformer`` is fitted as it is given (clone it first to keep it unfitted).
        """
        def fit():
            return transformer.fit_transform(X, y), transformer

        return self._remembered(self._key(transformer, X, y), fit)

    def transformed(self, pipeline, X):
        """``pipeline[:-1].transform(X)``, remembered when the memo fitted all of those steps.

        For scoring a search's candidates on a fold's held-out rows: the key is
        the keys the steps were fitted under and a hash of ``X``. Anything else
        (a step fitted elsewhere, or none to transform) is transformed as asked.
        Kept under the same ``max_bytes`` as the fits (at most ``2 * max_entries``
        of them).
        """
        steps = [step for _, step in pipeline.steps[:-1] if step not in (None, "passthrough")]
        keys = [getattr(step, FITTED_KEY, None) for step in steps]
        if not steps or None in keys:
            return pipeline[:-1].transform(X)
        import joblib

        key = joblib.hash((keys, X))
        with self._lock:
            entry = self._transformed.get(key)
            if entry is not None:
                self._transformed.move_to_end(key)
                self.hits += 1
        if entry is not None:
            return _copied(entry[0])
        Xt = pipeline[:-1].transform(X)
        size = _nbytes(Xt)
        if size <= self.max_bytes:
            with self._lock:
                self._transformed[key] = (_copied(Xt), size)
                self._transformed.move_to_end(key)
                self._evict()
        return Xt

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._transformed.clear()

    # -- inside ------------------------------------------------------------
    @staticmethod
    def _key(transformer, X, y) -> str:
        import joblib

        return joblib.hash((transformer, X, y))

    def _remembered(self, key: str, fit: Callable[[], tuple]):
        """The remembered result for ``key``, else ``fit()``'s, remembered.

        One fit a key at a time: a thread that asks for a key another thread
        is fitting waits for that fit (a search's folds are fitted from two
        threads at once when candidates train ahead).
        """
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    break
                fitting = self._fitting.get(key)
                if fitting is None:
                    self._fitting[key] = threading.Event()
                    self.misses += 1
            if fitting is None:
                try:
                    result = fit()
                    if isinstance(result, tuple) and len(result) == 2:
                        if self._put(key, result):
                            _mark(result[1], key)
                    return result
                finally:
                    with self._lock:
                        self._fitting.pop(key).set()
            fitting.wait()  # then look again (a failed or unkept fit: fit here)
        Xt, fitted, _ = entry
        return _copied(Xt), _mark(copy.deepcopy(fitted), key)

    def _put(self, key: str, result: tuple) -> bool:
        """Keep a fit's result; False if it is too large to keep."""
        Xt, fitted = result
        size = _nbytes(Xt)
        if size > self.max_bytes:
            return False
        # (a copy: the caller keeps, and may change, its own)
        entry = (_copied(Xt), copy.deepcopy(fitted), size)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
        return True

    def _evict(self) -> None:
        """Drop the least recently used until the counts and ``max_bytes`` are kept (locked)."""
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        while len(self._transformed) > 2 * self.max_entries:
            self._transformed.popitem(last=False)
        while (sum(e[2] for e in self._entries.values())
               + sum(e[1] for e in self._transformed.values())) > self.max_bytes:
            # the transformed held-out rows first: a fit costs more to make again
            (self._transformed or self._entries).popitem(last=False)

    # a search's clones share the memory; a pickled pipeline carries an empty one
    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __reduce__(self):
        return (type(self), (self.max_entries, self.max_bytes))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Remembered:
    """``FittedMemo.cache(func)``: ``func`` is scikit-learn's fit-and-transform of one step.

    Only the plain case is remembered: no sample weight and no fit
    parameters; anything else calls ``func``.
    """

    def __init__(self, memo: FittedMemo, func: Callable):
        self.memo, self.func = memo, func
        self.signature = inspect.signature(func)

    def __call__(self, *args, **kwargs):
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return self.func(*args, **kwargs)
        arguments = bound.arguments
        names = list(self.signature.parameters)
        transformer = arguments.get(names[0])
        if (arguments.get("weight") is not None or _has_values(arguments.get("params"))
                or "X" not in arguments):
            return self.func(*args, **kwargs)
        key = self.memo._key(transformer, arguments["X"], arguments.get("y"))
        return self.memo._remembered(key, lambda: self.func(*args, **kwargs))


def _has_values(params: Any) -> bool:
    """Whether routed fit parameters hold anything (a Bunch of dicts, or a dict)."""
    if not params:
        return False
    if isinstance(params, dict):
        return any(_has_values(v) if isinstance(v, dict) else True for v in params.values())
    return True


def _mark(fitted, key: str):
    """``fitted``, carrying the key it was fitted under (:data:`FITTED_KEY`)."""
    try:
        setattr(fitted, FITTED_KEY, key)
    except AttributeError:  # (an object that takes no attributes: never remembered by key)
        pass
    return fitted


def _copied(X):
    return X.copy() if hasattr(X, "copy") else copy.deepcopy(X)


def _nbytes(X) -> int:
    if isinstance(X, np.ndarray):
        return int(X.nbytes)
    data = getattr(X, "data", None)  # a sparse matrix
    if isinstance(data, np.ndarray):
        return int(data.nbytes) * 3
    memory_usage = getattr(X, "memory_usage", None)  # a DataFrame
    if callable(memory_usage):
        return int(memory_usage(deep=True).sum())
    return 0
