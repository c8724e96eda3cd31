"""Execute the example notebooks from their sources and publish them with their outputs.

Each notebook's source is a jupytext percent-format script, ``notebooks/NN_name.py``
(``# %% [markdown]`` and ``# %%`` cells): plain Python that a reviewer, a linter and an
editor read as such. The published ``notebooks/NN_name.ipynb`` is generated from it by

    python notebooks/build_notebooks.py                # execute every source at the full budget
    python notebooks/build_notebooks.py --only 01      # just the sources whose name starts with 01
    python notebooks/build_notebooks.py --check        # exit 1 if a notebook is older than its source
    python notebooks/build_notebooks.py --budget small # a quick look (--check refuses it)

Every ``notebooks/[0-9][0-9]_*.py`` is a source; a new one is picked up with no change here.
Each runs in a fresh kernel of this interpreter, in a temporary working directory (what
it writes -- Keras Tuner projects, ``runs/``, checkpoints, temporary search folders -- is
removed afterwards), with ``KERASTUNE_BUDGET`` set. The ``.ipynb`` is written only if
every cell ran; its metadata (``metadata["kerastune_kit"]``) records the sha256 of the
source it was executed from, the budget and the execution time, so ``--check`` and
``tests/test_notebooks.py`` can tell a notebook whose source changed since (or one
executed at the small budget, which is not to be committed).

Code cells whose metadata names a ``readme_figure`` (``# %% readme_figure="name"``) have
their first PNG output copied to ``docs/figures/name.png`` for the README.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = ROOT / "docs" / "figures"
BUDGETS = ("small", "full")
KERNEL_NAME = "kerastune-kit-notebooks"
CELL_TIMEOUT = 3600  # seconds for any one cell at the full budget on a slow machine
METADATA_KEY = "kerastune_kit"

# stderr lines that TensorFlow, absl and XLA print however quiet the Python side is
NOISE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s"        # absl's C++ log format
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|.*oneDNN custom operations are on"
    r"|.*This TensorFlow binary is optimized"
    r"|.*To enable the following instructions"
    r"|.*cuda_(?:drivers|executor|blas|dnn|fft)\.cc"
    r"|.*Unable to register cu(?:DNN|FFT|BLAS) factory"
    r"|.*computation placer already registered"
    r"|.*TF-TRT Warning)")


def sources(only: str | None = None) -> list[Path]:
    """The notebook sources, ``notebooks/[0-9][0-9]_*.py``, sorted.

    Parameters
    ----------
    only : str, optional
        Keep only the sources whose file name starts with this prefix (``"01"``).

    Returns
    -------
    list of pathlib.Path
    """
    found = sorted(HERE.glob("[0-9][0-9]_*.py"))
    return [p for p in found if only is None or p.name.startswith(only)]


def source_sha256(source: Path) -> str:
    """The sha256 of a source file's bytes, as hexadecimal digits."""
    return hashlib.sha256(source.read_bytes()).hexdigest()


def published(source: Path) -> Path:
    """The published notebook of a source: the same stem, ``.ipynb``."""
    return source.with_suffix(".ipynb")


def published_metadata(notebook: Path) -> dict:
    """``metadata["kerastune_kit"]`` of a published notebook; empty if it has none or is missing."""
    if not notebook.exists():
        return {}
    return json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {}).get(
        METADATA_KEY, {})


def stale(paths: list[Path]) -> list[Path]:
    """The sources whose published notebook is missing, from other bytes or not at the full budget.

    Parameters
    ----------
    paths : list of pathlib.Path
        Notebook sources.

    Returns
    -------
    list of pathlib.Path
        Those whose notebook's recorded ``source_sha256`` differs from the source's, or
        whose recorded budget is not ``"full"``.
    """
    out_of_date = []
    for path in paths:
        meta = published_metadata(published(path))
        if meta.get("source_sha256") != source_sha256(path) or meta.get("budget") != "full":
            out_of_date.append(path)
    return out_of_date


def _kernel_spec_manager(folder: Path):
    """A kernel spec for ``sys.executable`` written to ``folder``, and a manager that sees only it.

    Another installed kernel called ``python3`` (a different environment) can then never
    be picked up.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kerastune_kit notebooks", "language": "python"}), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(folder)], ensure_native_kernel=False)


def kernel_env(workdir: Path, budget: str) -> dict:
    """The kernel's environment: ``KERASTUNE_BUDGET``, ``TMPDIR`` in ``workdir``, this checkout first.

    Parameters
    ----------
    workdir : pathlib.Path
        The kernel's working directory. Temporary folders the kernel leaves (it is stopped
        at once, before ``tune``'s clean-up at exit) land there too.
    budget : {"small", "full"}
        Value of ``KERASTUNE_BUDGET``.

    Returns
    -------
    dict
    """
    env = dict(os.environ)
    env["KERASTUNE_BUDGET"] = budget
    env["TMPDIR"] = str(workdir)
    # as a reader runs them: the kernel's inline plots, the notebooks' own quieting
    for name in ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


def _tidy(nb) -> None:
    """Drop TensorFlow's log lines from stderr outputs, and outputs left empty by that."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = [line for line in output["text"].splitlines(keepends=True)
                         if not NOISE.match(line)]
                output["text"] = "".join(lines)
                if not output["text"].strip():
                    continue
            kept.append(output)
        cell["outputs"] = kept


def execute(source: Path, budget: str = "full", workdir: Path | None = None):
    """Run a notebook source in a fresh kernel and return the executed notebook.

    Parameters
    ----------
    source : pathlib.Path
        A jupytext percent-format script.
    budget : {"full", "small"}, default "full"
        ``KERASTUNE_BUDGET`` for the kernel.
    workdir : pathlib.Path, optional
        The kernel's working directory (and ``TMPDIR``). By default a temporary directory,
        removed afterwards.

    Returns
    -------
    nbformat.NotebookNode
        With outputs, fixed cell ids (``cell-01``, ...) and ``metadata["kerastune_kit"]``:
        ``source``, ``source_sha256``, ``budget``, ``execution_seconds``.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raised.
    """
    import jupytext
    import nbclient
    from jupyter_client.manager import KernelManager

    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r}: use one of {BUDGETS}")
    digest = source_sha256(source)
    nb = jupytext.read(source, fmt="py:percent")
    for i, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{i:02d}"
    with tempfile.TemporaryDirectory(prefix="notebook-") as scratch:
        scratch = Path(scratch)
        run_dir = Path(workdir) if workdir is not None else scratch / "work"
        run_dir.mkdir(parents=True, exist_ok=True)
        km = KernelManager(kernel_name=KERNEL_NAME,
                           kernel_spec_manager=_kernel_spec_manager(scratch / "kernels"))
        client = nbclient.NotebookClient(
            nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False,
            record_timing=False,  # no per-cell timestamps: a rerun's diff shows only outputs
            resources={"metadata": {"path": str(run_dir)}})  # the kernel's working directory
        started = time.perf_counter()
        try:
            client.execute(env=kernel_env(run_dir, budget))
        finally:
            if km.has_kernel:  # nbclient leaves a kernel manager it was given running
                km.shutdown_kernel(now=True)
        seconds = time.perf_counter() - started
    _tidy(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata.pop("jupytext", None)
    nb.metadata[METADATA_KEY] = {
        "source": source.name, "source_sha256": digest, "budget": budget,
        "execution_seconds": round(seconds, 1)}
    return nb


def write_figures(nb, folder: Path = FIGURES) -> list[Path]:
    """Copy the first PNG of each cell with a ``readme_figure`` name to ``folder/<name>.png``.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.
    folder : pathlib.Path, default docs/figures

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    written = []
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("readme_figure")
        if cell.cell_type != "code" or not name:
            continue
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", [])
                if "image/png" in o.get("data", {})]
        if not pngs:
            raise RuntimeError(f"cell {cell.get('id')} names readme_figure={name!r} "
                               "but drew no figure")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        path.write_bytes(base64.b64decode(pngs[0]))
        written.append(path)
    return written


def main(argv=None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="PREFIX",
                        help="only the sources whose file name starts with PREFIX (e.g. 01)")
    parser.add_argument("--check", action="store_true",
                        help="execute nothing; exit 1 listing the notebooks whose recorded "
                             "source hash differs from their source (or budget is not full)")
    parser.add_argument("--budget", choices=BUDGETS, default="full",
                        help="KERASTUNE_BUDGET for the kernels (default full; publish only full)")
    args = parser.parse_args(argv)
    paths = sources(args.only)
    if not paths:
        print(f"no notebook source matches notebooks/{args.only or ''}*.py", file=sys.stderr)
        return 2
    if args.check:
        out_of_date = stale(paths)
        for path in out_of_date:
            print(f"{published(path).relative_to(ROOT)} was not executed at the full budget "
                  f"from the current {path.name}", file=sys.stderr)
        if out_of_date:
            print("run: python notebooks/build_notebooks.py --only NN", file=sys.stderr)
        return 1 if out_of_date else 0

    import nbclient
    import nbformat

    failed = []
    for path in paths:
        print(f"executing {path.name} (budget {args.budget}) ...", flush=True)
        try:
            nb = execute(path, args.budget)
        except nbclient.exceptions.CellExecutionError as err:
            print(f"{path.name} failed; its notebook is left as it was:\n{err}", file=sys.stderr)
            failed.append(path.name)
            continue
        target = published(path)
        nbformat.validate(nb)
        target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        meta = nb.metadata[METADATA_KEY]
        print(f"wrote {target.relative_to(ROOT)} ({meta['execution_seconds']:.0f} s, "
              f"{target.stat().st_size / 1e6:.2f} MB)", flush=True)
        if args.budget == "full":  # the README shows real results only
            for figure in write_figures(nb):
                print(f"wrote {figure.relative_to(ROOT)}", flush=True)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
