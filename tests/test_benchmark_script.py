"""The benchmark script runs and writes its figures (a smoke run: nothing here is timed or compared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "benchmark.py"


def test_benchmark_writes_ratios_against_a_same_run_baseline(tmp_path: Path) -> None:
    args = ["--rounds", "1", "--requests", "5", "--iterations", "10", "--out", str(tmp_path)]
    done = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert len(report["cases"]) == 3
    for case in report["cases"].values():
        assert case["baseline_s"] > 0 and case["ratio"] == case["osvi_s"] / case["baseline_s"]
    assert "| ratio |" in (tmp_path / "benchmark.md").read_text()
