"""The package's shape: no import cycles, dependencies that run one way, small modules,
no private names crossing modules, and public names where users import them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import kerastune_kit

PACKAGE = Path(kerastune_kit.__file__).parent
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not MODULES[module].name == "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, bool]]:
    """(imported module, imported name or None, at module level) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # "from . import journal": the submodule itself
                    found.append((sub, None, id(node) in top))
                else:
                    found.append((target, alias.name, id(node) in top))
    return found


def _graph(module_level_only: bool) -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        edges = set()
        for target, _, at_top in _imports(module):
            if target in MODULES and target != module and (at_top or not module_level_only):
                edges.add(target)
        graph[module] = edges
    # a package's __init__ re-exports names lazily (kerastune_kit.__getattr__): no edges
    graph["kerastune_kit"] = set()
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path + [node, nxt]
            if state.get(nxt) is None:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


@pytest.mark.parametrize("module_level_only", [True, False], ids=["module level", "any import"])
def test_no_import_cycle_in_the_package(module_level_only):
    cycle = _cycle(_graph(module_level_only))
    assert cycle is None, " -> ".join(cycle)


# lower layers never import higher ones (the shape in shared/style.md)
LAYERS = [
    {"errors", "_validation", "_constraints", "locking", "_lean_trace", "_version", "journal", "_inputs",
     "_targets", "quiet", "comparison", "_optional", "pareto",
     "space", "dimensions",
     "_dimension_base", "choices", "datasets", "trials", "hyperband_schedule", "_scoring",
     "_fitted_memo", "_lean_update"},
    {"builders", "_template", "_dense_forward", "fastfit", "stacked", "fold_batches", "schedules", "callbacks",
     "baseline"},
    {"training", "_mlp_base", "estimators", "regressor", "kt_folds", "hypermodel"},
    {"strategies", "search", "sweeps"},
    {"results", "plots", "_plot_helpers", "plots_training", "report", "range_test"},
    {"cli", "cli_search", "__main__"},
]


def _layer(module: str) -> int:
    short = module.split(".")[1] if "." in module else module
    for i, names in enumerate(LAYERS):
        if short in names:
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_package.py: add it")


def test_dependencies_run_one_way():
    wrong = []
    for module in MODULES:
        if module == "kerastune_kit":
            continue
        for target, _, _ in _imports(module):
            if target in MODULES and target != "kerastune_kit" and \
                    _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by idea"


def test_no_private_name_is_imported_from_another_module():
    crossing = [f"{module}: from {target} import {name}"
                for module in MODULES for target, name, _ in _imports(module)
                if name is not None and name.startswith("_") and name != "__version__"
                and target.startswith("kerastune_kit")]
    assert crossing == []


@pytest.mark.parametrize("path, names", [
    ("kerastune_kit", ["TooManyFailures", "TrainingDiverged", "GridConversionError", "tune",
                       "register_strategy", "Strategy", "fit_network"]),
    ("kerastune_kit.callbacks", ["TrainingDiverged"]),
    ("kerastune_kit.hypermodel", ["TooManyFailures", "MLPHyperModel", "Hyperband"]),
    ("kerastune_kit.space", ["GridConversionError"]),
    ("kerastune_kit.dimensions", ["GridConversionError"]),
    ("kerastune_kit.search", ["tune", "sweep", "TuneResult", "STRATEGIES", "TRIAL_COLUMNS",
                              "TRIAL_TAIL"]),
    ("kerastune_kit.cli_search", ["parse_dimension", "parse_assignments", "DATASETS"]),
])
def test_public_names_keep_their_import_paths(path, names):
    module = importlib.import_module(path)
    for name in names:
        assert getattr(module, name) is not None
    from kerastune_kit import errors

    for name in ("TooManyFailures", "TrainingDiverged", "GridConversionError"):
        if hasattr(module, name):
            assert getattr(module, name) is getattr(errors, name)  # one class, many paths


def test_the_layout_the_project_names_is_there():
    for name in ("search.py", "builders.py", "callbacks.py", "datasets.py"):
        assert (PACKAGE / name).exists()
    assert (PACKAGE / "strategies" / "__init__.py").exists()
    assert (PACKAGE / "cli" / "__init__.py").exists()


def test_the_light_modules_import_no_keras():
    # the registry is read by `kerastune-kit --help`; spaces and results by notebooks and
    # reports: none of them may pay for TensorFlow
    import subprocess
    import sys

    code = ("import sys; import kerastune_kit.search, kerastune_kit.errors, kerastune_kit.space, "
            "kerastune_kit.trials, kerastune_kit.strategies, kerastune_kit.results; "
            "print(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'tensorflow', 'keras', 'keras_tuner', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
