"""The example notebooks: in sync with their generator, and executing without errors.

Each notebook runs in a fresh Jupyter kernel of *this* interpreter (a kernel spec
written to a temporary folder, so no other installed "python3" kernel can be picked
up), with ``KERASTUNE_BUDGET=small`` and a temporary working directory, so whatever a
notebook writes (Keras Tuner projects, checkpoints) lands there. Any cell error fails
the test. Needs ``nbformat``, ``nbclient`` and ``ipykernel`` (the ``docs`` extra);
without them these tests are skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (after the skips)
from jupyter_client.manager import KernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "kerastune-kit-notebooks"
CELL_TIMEOUT = 600  # seconds for any one cell


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_penguins_end_to_end.ipynb",
        "02_random_search_coarse_to_fine.ipynb",
        "03_sweeps_and_grid_debugging.ipynb",
        "04_regularisation_initialisation_schedules.ipynb",
        "05_babysitting_one_model.ipynb",
    ]


def test_notebooks_match_generator():
    """The committed notebooks are exactly what build_notebooks.py writes (no outputs)."""
    result = subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / "build_notebooks.py"), "--check"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} {cell.id} has outputs; regenerate it with build_notebooks.py")


@pytest.fixture(scope="module")
def kernel_spec_manager(tmp_path_factory):
    """A kernel spec for sys.executable, in a folder of its own."""
    prefix = tmp_path_factory.mktemp("kernel")
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix),
         "--name", KERNEL_NAME, "--display-name", "kerastune_kit tests"],
        check=True, capture_output=True, timeout=120)
    kernels = prefix / "share" / "jupyter" / "kernels"
    manager = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    spec = manager.get_kernel_spec(KERNEL_NAME)
    assert Path(spec.argv[0]) == Path(sys.executable), spec.argv
    return manager


def _kernel_env(workdir: Path) -> dict:
    env = dict(os.environ)
    env["KERASTUNE_BUDGET"] = "small"
    # the kernel is stopped at once at the end, before tune's temporary folders are removed
    # at exit: let them land in the test's own folder
    env["TMPDIR"] = str(workdir)
    # as a user would run them: the kernel's inline plots, the notebooks' own TensorFlow logging
    for name in ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    # the checkout under test comes first, installed or not
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, kernel_spec_manager, record_property):
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager)
    client = nbclient.NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}})  # the kernel's working directory
    started = time.perf_counter()
    try:
        client.execute(env=_kernel_env(tmp_path))
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name} failed:\n{err}", pytrace=False)
    finally:
        if km.has_kernel:  # nbclient leaves a kernel manager it was given running
            km.shutdown_kernel(now=True)
    seconds = time.perf_counter() - started
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s")
    executed = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in executed), "some code cells did not run"
