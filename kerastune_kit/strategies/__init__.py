"""Search strategies for :func:`~kerastune_kit.tune`: a small base class and one class a strategy.

* :mod:`~kerastune_kit.strategies.base`: :class:`Strategy` (what a strategy
  declares, and its one hook, ``run``), :class:`SearchSettings`,
  :class:`SearchJob`, :class:`StrategyOutcome`.
* :mod:`~kerastune_kit.strategies.sklearn`: grid, random, halving and
  coarse-to-fine, on stratified CV folds.
* :mod:`~kerastune_kit.strategies.keras_tuner`: Hyperband, Bayesian
  optimisation and Keras Tuner's random search, on a validation split.
* :mod:`~kerastune_kit.strategies.optuna_search`: Optuna (TPE, CMA-ES, GP,
  random, NSGA-II; pruning; an SQLite study), on stratified CV folds.

The registry that names them is :data:`kerastune_kit.search.STRATEGIES`;
a new strategy is one class and one :func:`~kerastune_kit.search.register_strategy`.
Importing this package imports neither scikit-learn nor Keras.
"""

from __future__ import annotations

from .base import SearchJob, SearchSettings, Strategy, StrategyOutcome
from .keras_tuner import (
    BayesianStrategy, HyperbandStrategy, KerasTunerRandomStrategy, KerasTunerStrategy,
)
from .optuna_search import OptunaStrategy
from .sklearn import (
    CoarseToFineStrategy, GridStrategy, HalvingStrategy, RandomStrategy, SklearnStrategy,
)

__all__ = [
    "Strategy", "StrategyOutcome", "SearchSettings", "SearchJob",
    "SklearnStrategy", "GridStrategy", "RandomStrategy", "HalvingStrategy", "CoarseToFineStrategy",
    "KerasTunerStrategy", "HyperbandStrategy", "BayesianStrategy", "KerasTunerRandomStrategy",
    "OptunaStrategy",
]
