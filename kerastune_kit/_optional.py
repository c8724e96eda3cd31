"""Optional dependencies, imported when a feature needs them, with an install hint when missing;
and the environment switches that turn an optional behaviour off."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["require", "switched_on"]


def switched_on(variable: str) -> bool:
    """False when the environment variable ``variable`` is ``0``, ``false`` or ``no``; else True.

    Examples
    --------
    >>> switched_on("KERASTUNE_NOT_SET_ANYWHERE")
    True
    """
    return os.environ.get(variable, "1").strip().lower() not in ("0", "false", "no")

#: pip distribution and kit extra of each optional module
_INSTALL = {
    "optuna": ("optuna", "optuna"),
    "optuna_integration": ("optuna-integration", "optuna"),
    "cmaes": ("cmaes", "optuna"),
    "torch": ("torch", None),
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``ImportError`` saying what needs it and how to install it.

    Examples
    --------
    >>> require("json", "reading records").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        dist, extra = _INSTALL.get(module.split(".")[0], (module.split(".")[0], None))
        how = (f'pip install "kerastune_kit[{extra}]" (or pip install {dist})' if extra
               else f"pip install {dist}")
        raise ImportError(f"{purpose} needs the {dist!r} package, which is not installed "
                          f"({err}). Install it with: {how}.") from None
