"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) against
`osvi-mcp --transport http --sandbox`. It needs Node.js 22 (`fs.globSync`): where the installed node is older,
the `node@22` package from npm runs it. Installed once into a cache folder (`OSVI_CONFORMANCE_CACHE`, default
~/.cache/osvi-mcp-conformance); skipped, saying why, without npm or a reachable registry.

The suite's active scenarios run once, in one Node process; a test per scenario that applies to this server
reads that scenario's checks. The others drive test fixtures of the suite's reference server
(`test_simple_text`, `test://watched-resource`...), which a real server does not have: they fail, unread."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import server_env
from .node_tools import cache_folder, node_major, npm_installed
from .test_http import free_port
from .test_stdio import LAUNCHER

CONFORMANCE = "@modelcontextprotocol/conformance@0.1.16"
APPLICABLE = (
    "server-initialize",
    "ping",
    "logging-set-level",
    "completion-complete",
    "tools-list",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
)


@pytest.fixture(scope="module")
def conformance() -> list[str]:
    """The command that runs the suite (a node >= 22 and the suite's entry point)."""
    entry = Path("node_modules/@modelcontextprotocol/conformance/dist/index.js")
    local_node = Path("node_modules/.bin/node")
    system_node = shutil.which("node")
    needs_node22 = system_node is None or node_major(system_node) < 22
    cache = npm_installed(
        "the MCP conformance suite",
        cache_folder("osvi-mcp-conformance", "OSVI_CONFORMANCE_CACHE"),
        [CONFORMANCE, *(["node@22"] if needs_node22 else [])],
        [entry, *([local_node] if needs_node22 else [])],
    )
    node = str(cache / local_node) if needs_node22 else str(system_node)
    if node_major(node) < 22:
        pytest.skip(f"the MCP conformance suite needs Node.js 22; {node} is older")
    return [node, str(cache / entry)]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--transport", "http", "--port", str(port), "--sandbox", "--operator-tools"],
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the server says where it serves once it is about to
            if "serving MCP" in line:
                break
        else:
            pytest.fail("osvi-mcp did not start")
        # Keep reading its log, so a full pipe never blocks the server.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield f"http://localhost:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def suite_results(conformance: list[str], server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The suite's active scenarios, run once (one Node process, ~1 s of CPU, instead of one per scenario):
    each scenario's checks, from the `checks.json` the suite saves per scenario."""
    out = tmp_path_factory.mktemp("conformance")
    done = subprocess.run(
        [*conformance, "server", "--url", server_url, "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results: dict[str, Any] = {"output": done.stdout + done.stderr}
    for checks in out.glob("server-*/checks.json"):
        # Folders are named server-<scenario>-<timestamp>.
        scenario = re.sub(r"^server-|-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name)
        results[scenario] = json.loads(checks.read_text(encoding="utf-8"))
    return results


@pytest.mark.parametrize("scenario", APPLICABLE)
def test_conformance_scenario_passes(suite_results: dict[str, Any], scenario: str) -> None:
    checks = suite_results.get(scenario)
    assert isinstance(checks, list), f"{scenario} did not run:\n{suite_results['output']}"
    passed = sum(check["status"] == "SUCCESS" for check in checks)
    failed = sum(check["status"] == "FAILURE" for check in checks)
    assert failed == 0 and passed == len(checks) > 0, json.dumps(checks, indent=1)[-4000:]
