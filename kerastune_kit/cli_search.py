"""Compatibility module: the search subcommands moved into :mod:`kerastune_kit.cli`.

``tune``, ``sweep`` and ``report`` now live in :mod:`kerastune_kit.cli.tune`,
:mod:`kerastune_kit.cli.sweep` and :mod:`kerastune_kit.cli.report`;
:func:`parse_dimension` and :func:`parse_assignments` in
``kerastune_kit.cli._space_args`` and :data:`DATASETS` in
``kerastune_kit.cli._data``. This module re-exports those three names for
code that imported them from here.
"""

from __future__ import annotations

from .cli._data import DATASETS
from .cli._space_args import parse_assignments, parse_dimension

__all__ = ["parse_dimension", "parse_assignments", "DATASETS"]
