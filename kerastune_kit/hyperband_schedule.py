"""Hyperband's brackets, as Keras Tuner 1.4 runs them and as Li et al. wrote them.

Keras Tuner's ``HyperbandOracle`` (what ``tune(..., strategy="hyperband")``
runs) does not follow the paper's schedule (Li et al., "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization", JMLR 18, 2018,
Algorithm 1 and Table 1) to the letter:

* it rounds the number of survivors of each round *up*, where the paper
  rounds down: with ``max_epochs=81, factor=3`` the bracket that starts at
  3 epochs runs 34 trials of 3 epochs, then 12 of 9, 4 of 27 and 2 of 81 in
  Keras Tuner, and 34, 11, 3 and 1 in the paper;
* it sizes its brackets from ``ceil(1 + log_factor(max_epochs))`` where the
  paper uses ``floor(log_factor(max_epochs)) + 1``; the two agree when
  ``max_epochs`` is a power of ``factor`` and differ otherwise
  (``max_epochs=10, factor=3``: Keras Tuner's first bracket starts 12 trials
  of 2 epochs, the paper's 9; ``max_epochs=100``: 98 against 81);
* a surviving trial is a new Keras Tuner trial that continues from its
  parent's best weights, so every round after the first adds trials to the
  trials table.

:func:`hyperband_schedule` spells out both schedules, round by round,
without training anything; ``tests/test_hyperband_schedule.py`` checks the
``"keras-tuner"`` rule against the oracle's own arithmetic. Nothing here
imports Keras.
"""

from __future__ import annotations

import math

__all__ = ["hyperband_schedule", "schedule_trials", "schedule_epochs", "RULES"]

#: The schedules :func:`hyperband_schedule` knows.
RULES = ("keras-tuner", "paper")


def _log(value: float, base: int) -> float:
    """``log_base(value)``, exact for powers of ``base`` (floating point says log_3(81) > 4)."""
    power = round(math.log(value, base))
    return float(power) if base ** power == value else math.log(value, base)


def hyperband_schedule(max_epochs: int, factor: int = 3, *,
                       rule: str = "keras-tuner") -> list[list[tuple[int, int]]]:
    """The brackets of one Hyperband iteration: per bracket, ``(trials, epochs)`` of each round.

    Parameters
    ----------
    max_epochs : int
        The most epochs one trial trains (the paper's ``R``), at least 1.
    factor : int, default 3
        The paper's ``eta``: each round keeps about ``1/factor`` of the
        trials and trains them ``factor`` times longer; at least 2.
    rule : {"keras-tuner", "paper"}
        ``"keras-tuner"``: what Keras Tuner 1.4's ``HyperbandOracle`` runs
        (survivors rounded up; brackets from ``ceil(1 + log_factor R)``),
        with the same floating-point arithmetic. ``"paper"``: Li et al.'s
        Algorithm 1 (``s_max = floor(log_eta R)``, ``n = ceil((s_max + 1) /
        (s + 1) * eta**s)``, ``n_i = floor(n * eta**-i)``, ``r_i = R *
        eta**(i - s)``), with epochs rounded up to whole epochs.

    Returns
    -------
    list of list of (int, int)
        Brackets in the order they run (most exploratory first); each a list
        of rounds ``(number of trials, epochs each trains to)``.

    Examples
    --------
    >>> hyperband_schedule(81, 3)[1]
    [(34, 3), (12, 9), (4, 27), (2, 81)]
    >>> hyperband_schedule(81, 3, rule="paper")[1]
    [(34, 3), (11, 9), (3, 27), (1, 81)]
    >>> hyperband_schedule(10, 3)
    [[(12, 2), (4, 4), (2, 10)], [(6, 4), (2, 10)], [(4, 10)]]
    """
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs={max_epochs!r} must be a positive integer.")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise ValueError(f"factor={factor!r} must be an integer of at least 2.")
    if rule == "keras-tuner":
        return _keras_tuner(max_epochs, factor)
    if rule == "paper":
        return _paper(max_epochs, factor)
    raise ValueError(f"rule={rule!r} must be one of {RULES}.")


def _keras_tuner(max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    # keras_tuner/src/tuners/hyperband.py: _get_num_brackets, _get_size, _get_epochs
    epochs, n_brackets = float(max_epochs), 0
    while epochs >= 1:
        epochs /= factor
        n_brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    brackets = []
    for bracket in range(n_brackets - 1, -1, -1):
        rounds = []
        for round_num in range(bracket + 1):
            size = math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_num))
            rounds.append((size, math.ceil(max_epochs / factor ** (bracket - round_num))))
        brackets.append(rounds)
    return brackets


def _paper(max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    s_max = math.floor(_log(max_epochs, factor))
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * factor ** s)
        rounds = []
        for i in range(s + 1):
            trials = math.floor(n * factor ** -i)
            rounds.append((trials, math.ceil(max_epochs * factor ** (i - s))))
        brackets.append(rounds)
    return brackets


def schedule_trials(brackets: list[list[tuple[int, int]]]) -> int:
    """Trials a schedule runs (each round's survivors counted again, as Keras Tuner does)."""
    return sum(trials for rounds in brackets for trials, _ in rounds)


def schedule_epochs(brackets: list[list[tuple[int, int]]]) -> int:
    """Epochs a schedule trains in all, when a survivor continues from its parent's weights."""
    total = 0
    for rounds in brackets:
        before = 0
        for trials, epochs in rounds:
            total += trials * (epochs - before)
            before = epochs
    return total
