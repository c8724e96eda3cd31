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
    for path in ("naive-random", "kit-random", "naive-hyperband", "kit-hyperband"):
        assert path in proc.stdout
    assert "ratio kit/naive, random" in proc.stdout
    assert "ratio kit/naive, hyperband" in proc.stdout
    results = json.loads(out.read_text())["results"]
    assert results["kit-memory"]["fits"] == results["naive-memory"]["fits"] == 3
    for path in ("naive-random", "kit-random", "naive-hyperband", "kit-hyperband"):
        assert 0.0 <= results[path]["test_accuracy"] <= 1.0
        assert results[path]["seconds"] > 0
