"""The benchmark script runs and writes its figures (a smoke run: nothing here is timed or compared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long  # ~15 s: started first

BENCH = Path(__file__).resolve().parents[2] / "bench" / "benchmark.py"


def test_quick_benchmark_measures_every_client_and_writes_json_and_markdown(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(tmp_path)], capture_output=True, text=True, timeout=170
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert report["machine"]["nproc"] >= 1 and report["machine"]["python"]
    measured = {key.split("|")[0] for key, cell in report["matrix"].items() if "failed" not in cell}
    # Always there: the libraries osvi is compared with and osvi itself (the generated client and the
    # earlier version need openapi-python-client and git history; the JSON says when they are absent).
    assert {"aiohttp", "httpx2", "httpx", "osvi", "httpx2-sync", "httpx-sync", "osvi-sync"} <= measured
    for cell in report["matrix"].values():
        if "failed" not in cell:
            assert cell["rps"] > 0 and cell["cpu_ms_per_request"] > 0 and cell["rss_peak_mb"] > 0 < cell["rss_idle_mb"]
    assert set(report["mock_transport_per_send"]) == {"sync", "async"}
    for figures in report["mock_transport_per_send"].values():
        assert figures["raw_us"] > 0 and figures["raw_same_us"] > 0 and figures["osvi_us"] > 0
    # The MCP figures: ours always (fastmcp only where its venv exists: a full run creates it).
    mcp = report["mcp"]
    assert {"embedded (legacy)", "embedded (auto)"} <= set(mcp["tool_call_us"])
    assert all(figures["osvi"] > 0 for figures in mcp["tool_call_us"].values())
    assert set(mcp["startup_ms"]) == {
        "minimal MCPServer (one tool)",
        "osvi --sandbox",
        "osvi (token, loopback base URL)",
    }
    assert "import osvi_integrations" in report["startup_ms"]
    assert any("mock transport" in row["target"] for row in report["targets"])
    scaling, served = report["sandbox"]["scaling"], report["sandbox"]["throughput"]
    assert scaling["rate_first"] > 0 < scaling["rate_after"] and scaling["cpu_us_first"] > 0 < scaling["cpu_us_after"]
    assert served["sandbox"]["rps"] > 0 < served["bare"]["rps"] and served["ratio"] > 0
    assert any(row["target"].startswith("sandbox: requests/s") for row in report["targets"])
    assert "skipped" in report["test_suite"]  # the suite section runs in full runs only
    text = (tmp_path / "benchmark.md").read_text()
    assert "## Targets" in text and "| osvi |" in text and "## MCP: one tools/call" in text
    assert "## Sandbox" in text and "## Test suite" in text
