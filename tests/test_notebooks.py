"""The example notebooks: published from their current sources, with figures, and still running.

Each notebook's source is ``notebooks/NN_name.py`` (jupytext percent format); the
published ``notebooks/NN_name.ipynb`` is executed from it by ``notebooks/build_notebooks.py``
at the full budget and records the source's sha256 in its metadata. These tests check
that every source has a published notebook executed from its current bytes (so editing a
source without re-executing it fails here), that the published notebooks carry outputs
and figures, and that every source still runs at ``KERASTUNE_BUDGET=small`` in a fresh
kernel of this interpreter, in a temporary working directory that is also the kernel's
``TMPDIR``. Needs jupytext, nbformat, nbclient and ipykernel (the ``docs`` and ``test``
extras); without them these tests are skipped.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("jupytext")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def _load_runner(path: Path):
    spec = importlib.util.spec_from_file_location(f"build_notebooks_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner(NOTEBOOK_DIR / "build_notebooks.py")
SOURCES = runner.sources()
MAX_NOTEBOOK_BYTES = 2_000_000


def test_sources_found():
    """The five notebooks at least; another NN_*.py is picked up by the same glob."""
    names = {p.stem for p in SOURCES}
    assert names >= {
        "01_penguins_end_to_end",
        "02_random_search_coarse_to_fine",
        "03_sweeps_and_grid_debugging",
        "04_regularisation_initialisation_schedules",
        "05_babysitting_one_model",
    }, names
    assert [p.name for p in runner.sources("05")] == ["05_babysitting_one_model.py"]


def test_no_notebook_without_source():
    """Every published notebook comes from a source (none left over from a removed one)."""
    orphans = [p.name for p in NOTEBOOK_DIR.glob("*.ipynb") if not p.with_suffix(".py").exists()]
    assert orphans == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_published_from_current_source(source):
    """The notebook was executed, at the full budget, from the source as it is now."""
    meta = runner.published_metadata(runner.published(source))
    assert meta, f"{source.stem}.ipynb is missing or has no metadata; run " \
                 f"python notebooks/build_notebooks.py --only {source.name[:2]}"
    assert meta["source_sha256"] == runner.source_sha256(source), (
        f"{source.name} changed since its notebook was executed; run "
        f"python notebooks/build_notebooks.py --only {source.name[:2]}")
    assert meta["budget"] == "full"
    assert meta["source"] == source.name
    assert meta["execution_seconds"] > 0


def test_check_detects_an_edited_source(tmp_path):
    """On a copy: ``--check`` passes while the recorded hash matches, fails once the source is edited."""
    copy = tmp_path / "notebooks"
    copy.mkdir()
    shutil.copy(NOTEBOOK_DIR / "build_notebooks.py", copy)
    source = copy / SOURCES[0].name
    shutil.copy(SOURCES[0], source)
    copied = _load_runner(copy / "build_notebooks.py")
    assert copied.sources() == [source]
    assert copied.main(["--check"]) == 1  # no published notebook yet

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nb.metadata["kerastune_kit"] = {"source": source.name, "budget": "full",
                                    "source_sha256": copied.source_sha256(source),
                                    "execution_seconds": 1.0}
    nbformat.write(nb, copied.published(source))
    assert copied.main(["--check"]) == 0

    nb.metadata["kerastune_kit"]["budget"] = "small"  # a quick run is not publishable
    nbformat.write(nb, copied.published(source))
    assert copied.main(["--check"]) == 1
    nb.metadata["kerastune_kit"]["budget"] = "full"
    nbformat.write(nb, copied.published(source))

    source.write_text(source.read_text(encoding="utf-8") + "\n# %%\nprint('edited')\n",
                      encoding="utf-8")
    assert copied.stale(copied.sources()) == [source]
    assert copied.main(["--check"]) == 1


def test_check_passes_on_the_repository():
    assert runner.main(["--check"]) == 0


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_published_notebook_has_outputs_and_figures(source):
    path = runner.published(source)
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "some code cells were not run"
    outputs = [o for c in code for o in c.outputs]
    assert outputs, "no outputs"
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES
    # TensorFlow's start-up lines were kept out
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "oneDNN custom operations" not in text and "absl::InitializeLog" not in text


def test_noise_filter():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "I0000 00:00:1764912345.123456   12345 cpu_feature_guard.cc:210] This TensorFlow "
            "binary is optimized to use available CPU instructions\n"
            "WARNING: All log messages before absl::InitializeLog() is called are written "
            "to STDERR\n")),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: keep me\n"),
        nbformat.v4.new_output("stream", name="stdout", text="budget: full\n"),
    ]
    runner._tidy(nb)
    assert [o["text"] for o in nb.cells[0].outputs] == ["UserWarning: keep me\n",
                                                        "budget: full\n"]


def test_readme_figures_exist():
    """The figures the README shows were extracted from the published notebooks."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = []
    for source in SOURCES:
        nb = nbformat.read(runner.published(source), as_version=4)
        named += [c.metadata["readme_figure"] for c in nb.cells if "readme_figure" in c.metadata]
    assert named
    for name in named:
        assert (ROOT / "docs" / "figures" / f"{name}.png").is_file()
    assert any(f"docs/figures/{name}.png" in readme for name in named)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_source_executes_at_small_budget(source, tmp_path, record_property):
    """Any cell error fails; what the notebook writes, temporary folders included, stays in tmp_path."""
    started = time.perf_counter()
    try:
        nb = runner.execute(source, budget="small", workdir=tmp_path)
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{source.name} failed:\n{err}", pytrace=False)
    seconds = time.perf_counter() - started
    record_property("seconds", round(seconds, 1))
    print(f"{source.name}: {seconds:.1f} s")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "some code cells did not run"
    assert nb.metadata["kerastune_kit"]["source_sha256"] == runner.source_sha256(source)
