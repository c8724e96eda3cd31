"""Run several estimator fits so that their trainings happen together, stacked.

A cross-validated search fits one candidate on each fold, one after the
other, through code that builds a network and then trains it
(:func:`~kerastune_kit.training.fit_network`). :func:`fit_together` runs
each of those fits in a thread of its own, one thread at a time, so that the
code around the training (preprocessing, building the network, scikeras'
bookkeeping) runs unchanged; when a fit reaches its training it waits, and
once every fit waits (or has ended), their trainings run as stacks of
identical networks (:func:`kerastune_kit.stacked.train_stacked`). Each fit
then goes on with its own ``History``, as if it had trained alone.

Only one thread runs at any time (a condition variable is passed from one
to the next), so nothing here runs two Keras or NumPy calls at once, and
NumPy's global generator is used in the order a sequential run would use it
around the trainings. Keras keeps some settings per thread (the global dtype
policy, its global seed generator); each fit's thread starts with those of
the thread that called :func:`fit_together`.

A fit that cannot be stacked (:func:`~kerastune_kit.stacked.stack_key` is
None) trains alone in its own thread, as it would outside; so does a stack
of one.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

from .stacked import StackedRun, stack_key, train_stacked

__all__ = ["fit_together", "current_group", "STATS", "keras_state", "adopt_keras_state"]

_LOCAL = threading.local()
#: One stacked training at a time in a process: two at once (their programs nest loops) hung
#: TensorFlow 2.21's single-threaded executor on 2 cores. The other threads' Python work (a
#: search scoring, networks being built) still runs beside a training, which holds no GIL.
_ONE_STACK_AT_A_TIME = threading.Lock()

#: Counts of this process's trainings inside :func:`fit_together`: ``"stacked"``
#: members of stacks of two or more, ``"single"`` stacks of one (``alone=False``),
#: ``"stacks"`` stacked trainings, ``"alone"`` fits that trained alone.
STATS = {"stacked": 0, "alone": 0, "stacks": 0, "single": 0}


class _Waiting:
    def __init__(self, run: StackedRun, key: str):
        self.run, self.key = run, key
        self.done = False
        self.error: BaseException | None = None
        self.alone = False


class _Group:
    """The fits of one :func:`fit_together` call and the trainings they wait for."""

    def __init__(self, size: int, alone: bool = True):
        self.alone = alone  # a stack of one trains alone (else through the stacked program)
        self.turn = threading.Condition()
        self.running = size  # fits neither waiting for a training nor ended
        self.waiting: list[_Waiting] = []

    def train(self, run: StackedRun, key: str):
        """Called by a fit (holding the turn): wait for the stacked training; its History."""
        entry = _Waiting(run, key)
        self.waiting.append(entry)
        self.running -= 1
        self._train_if_all_wait()
        while not entry.done:
            self.turn.wait()
        self.running += 1
        if entry.error is not None:
            raise entry.error
        return None if entry.alone else run

    def ended(self) -> None:
        self.running -= 1
        self._train_if_all_wait()

    def _train_if_all_wait(self) -> None:
        if self.running or not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        stacks: dict[str, list[_Waiting]] = {}
        for entry in waiting:
            stacks.setdefault(entry.key, []).append(entry)
        for members in stacks.values():
            if len(members) == 1 and self.alone:
                members[0].alone = True  # trains in its own thread, as outside
                STATS["alone"] += 1
            else:
                try:
                    with _ONE_STACK_AT_A_TIME:
                        train_stacked([m.run for m in members])
                    STATS["stacked" if len(members) > 1 else "single"] += len(members)
                    STATS["stacks"] += 1
                except Exception as err:  # every member's fit fails with it, as it would alone
                    for m in members:
                        m.error = err
            for m in members:
                m.done = True
        self.turn.notify_all()


def current_group() -> _Group | None:
    """The group of the :func:`fit_together` call this thread's fit runs in, if any."""
    return getattr(_LOCAL, "group", None)


def join_stack(model, x, y, *, seed, defer_optimizer, fit_kwargs) -> StackedRun | None:
    """From :func:`~kerastune_kit.training.fit_network`: this fit trained in a stack (its
    ``history`` and ``starting_loss``), or None when it should train alone (no group,
    cannot be stacked, a stack of one)."""
    group = current_group()
    if group is None:
        return None
    key = stack_key(model, x, y, fit_kwargs)
    if key is None:
        STATS["alone"] += 1
        return None
    run = StackedRun(model, x, y, seed=seed, defer_optimizer=defer_optimizer,
                     fit_kwargs=fit_kwargs)
    return group.train(run, key)


def keras_state() -> dict:
    """Keras' settings of the calling thread (its dtype policy, ...): Keras keeps them per thread."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - another Keras layout
        return {}
    return dict(vars(global_state.GLOBAL_STATE_TRACKER))


def adopt_keras_state(state: dict) -> None:
    """Give this thread the Keras settings of the thread that called :func:`fit_together`."""
    if not state:
        return
    from keras.src.backend.common import global_state

    for name, value in state.items():
        setattr(global_state.GLOBAL_STATE_TRACKER, name, value)


def fit_together(fits: Sequence[Callable[[], Any]], *, alone: bool = True
                 ) -> list[tuple[Any, BaseException | None]]:
    """Run ``fits`` (functions without arguments that each fit an estimator) with their
    trainings stacked; return each one's ``(result, error)``.

    The functions run one at a time, in order up to their training, each in a
    thread of its own. ``alone=False`` trains a stack of one through the
    stacked program too (a refit after a search whose folds were stacked: the
    program is traced already).
    """
    fits = list(fits)
    group = _Group(len(fits), alone)
    results: list[tuple[Any, BaseException | None]] = [(None, None)] * len(fits)

    checked_in = [threading.Event() for _ in fits]
    state = keras_state()

    def run(i: int) -> None:
        with group.turn:
            checked_in[i].set()
            adopt_keras_state(state)
            _LOCAL.group = group
            try:
                results[i] = (fits[i](), None)
            except BaseException as err:  # handed back to the caller, with the others' results
                results[i] = (None, err)
            finally:
                _LOCAL.group = None
                group.ended()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(fits))]
    for thread, event in zip(threads, checked_in):
        thread.start()
        event.wait()  # in order: fit i has the turn before fit i + 1 asks for it
    for thread in threads:
        thread.join()
    return results
