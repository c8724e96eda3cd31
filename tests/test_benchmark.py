"""The benchmark script runs end to end on tiny budgets (its figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_search.py"


@pytest.mark.slow
def test_benchmark_smoke_run_prints_every_path_and_the_ratios(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--repeat", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    searches = ("naive-random", "kit-random", "kit-estimator", "sklearn-mlp", "naive-hyperband",
                "kit-hyperband")
    for path in searches:
        assert path in proc.stdout
    for ratio in ("kit/naive, random", "kit/naive, hyperband", "kit/sklearn-mlp, random",
                  "kit/naive, random (KerasMLPClassifier in RandomizedSearchCV)"):
        assert f"ratio {ratio}" in proc.stdout
    raw = json.loads(out.read_text())
    results = raw["results"]
    assert results["kit-memory"]["fits"] == results["naive-memory"]["fits"] == 3
    for path in searches:
        assert 0.0 <= results[path]["test_accuracy"] <= 1.0
        assert results[path]["seconds"] > 0
    # the scaling table: every cell measured for both paths, rows and candidates as asked
    cells = raw["scaling"]
    assert {(c["kit"]["rows"], c["kit"]["trials"]) for c in cells.values()} == {
        (275, 2), (300, 2), (275, 3)}
    assert all(c["naive"]["seconds"] > 0 and c["kit"]["seconds"] > 0 for c in cells.values())
    assert "kit/naive" in proc.stdout and "kit-memory: 3 sequential fits" in proc.stdout


@pytest.mark.slow
def test_the_process_pool_benchmark_runs_both_sides():
    script = SCRIPT.parent / "bench_jobs.py"
    proc = subprocess.run([sys.executable, str(script), "--rounds", "1"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "round 1 n_jobs=1:" in proc.stdout and "round 1 n_jobs=2:" in proc.stdout
