"""kerastune_kit: tune Keras networks from scikit-learn, honestly and offline.

Public names and submodules are imported lazily, so ``import kerastune_kit``
(and the ``kerastune-kit --version`` command) does not pay for importing
TensorFlow until a Keras-backed name (or a submodule such as
``kerastune_kit.plots``) is first used.
"""

from __future__ import annotations

import importlib
import importlib.util

from ._version import __version__

# public name -> module that defines it
_EXPORTS = {
    "SearchSpace": "space",
    "Int": "space",
    "Float": "space",
    "Categorical": "space",
    "Fixed": "space",
    "Dimension": "space",
    "GridConversionError": "errors",
    "build_mlp": "builders",
    "KerasMLPClassifier": "estimators",
    "KerasMLPRegressor": "regressor",
    "load_penguins": "datasets",
    "load_digits": "datasets",
    "load_mnist": "datasets",
    "load_fashion_mnist": "datasets",
    "load_cifar10": "datasets",
    "make_preprocessor": "datasets",
    "train_val_test_split": "datasets",
    "make_callbacks": "callbacks",
    "CallbackSet": "callbacks",
    "EarlyStopping": "callbacks",
    "DivergenceGuard": "callbacks",
    "TrainingDiverged": "errors",
    "BestCheckpoint": "callbacks",
    "load_checkpoint": "callbacks",
    "StepDecay": "schedules",
    "ExponentialDecay": "schedules",
    "CosineDecay": "schedules",
    "CosineDecayRestarts": "schedules",
    "LinearWarmup": "schedules",
    "OneCycle": "schedules",
    "lr_find": "range_test",
    "LRFindResult": "range_test",
    "ReduceLROnPlateau": "schedules",
    "MLPHyperModel": "hypermodel",
    "TooManyFailures": "errors",
    "tune": "search",
    "sweep": "search",
    "TuneResult": "search",
    "register_strategy": "search",
    "STRATEGIES": "search",
    "Strategy": "strategies",
    "StrategyOutcome": "strategies",
    "SearchSettings": "strategies",
    "SearchJob": "strategies",
    "fit_network": "training",
    "make_baseline": "baseline",
    "compare_with_baseline": "baseline",
    "corrected_resampled_ttest": "baseline",
    "quiet_tensorflow": "quiet",
}

__all__ = ["__version__", *_EXPORTS]


def _is_submodule(name: str) -> bool:
    """A public submodule (``kerastune_kit.datasets``), reachable as an attribute like SciPy's."""
    return not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None


def __getattr__(name: str):
    if name not in _EXPORTS and _is_submodule(name):
        return importlib.import_module(f".{name}", __name__)  # sets the attribute itself
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerastune_kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    import pkgutil

    return sorted({*__all__, *(m.name for m in pkgutil.iter_modules(__path__)
                               if not m.name.startswith("_"))})
