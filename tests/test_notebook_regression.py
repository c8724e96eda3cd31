"""notebooks/06_diabetes_regression.py (jupytext percent format) runs at the small budget.

It runs in a fresh interpreter in a temporary working directory, as a reader
would run it; the files it writes stay under that directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_diabetes_regression.py"


def test_the_notebook_is_in_percent_format_with_the_budget_switch_first():
    text = NOTEBOOK.read_text(encoding="utf-8")
    cells = text.split("\n# %%")
    assert cells[1].startswith(" [markdown]")
    first_code = next(c for c in cells[1:] if not c.startswith(" [markdown]"))
    assert 'os.environ.get("KERASTUNE_BUDGET", "full")' in first_code
    assert "quiet_tensorflow()" in first_code


@pytest.mark.slow
def test_the_notebook_runs_at_the_small_budget(tmp_path):
    root = str(NOTEBOOK.parents[1])
    env = {**os.environ, "KERASTUNE_BUDGET": "small", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(NOTEBOOK)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "budget: small" in out and "RidgeCV, 3-fold CV: R^2" in out
    assert "task: regression - score: r2" in out
    assert "(r2; corrected resampled t-test" in out
    assert "(neg_mean_absolute_error; corrected resampled t-test" in out
    assert "scoring='neg_mean_absolut_error' is not a scikit-learn scorer name" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # its files stay here
