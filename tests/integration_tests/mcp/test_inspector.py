"""A TypeScript-SDK client (the MCP Inspector's CLI, the SDK Claude Desktop, Cursor and VS Code use) driving
`mcp_server.py --sandbox` over stdio. Skipped where Node.js is not installed (node_tools.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from osvi_integrations.mcp_server import AGENTS_URI, ESCALATION_PROMPT
from osvi_integrations.protocol import OPERATIONS

from .conftest import server_env
from .node_tools import cache_folder, npm_installed
from .test_stdio import LAUNCHER

INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"
_CLI = Path("node_modules/@modelcontextprotocol/inspector/cli/build/cli.js")


@pytest.fixture(scope="module")
def inspector_cli() -> list[str]:
    """`node <the inspector's CLI>`, installed once into ~/.cache/osvi-mcp-inspector (OSVI_INSPECTOR_CACHE)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the MCP Inspector cannot run")
    cache = npm_installed(
        "the MCP Inspector", cache_folder("osvi-mcp-inspector", "OSVI_INSPECTOR_CACHE"), [INSPECTOR], [_CLI]
    )
    return [node, str(cache / _CLI)]


def inspector(cli: list[str], *args: str, operator_tools: bool = False) -> dict[str, Any]:
    server = [sys.executable, str(LAUNCHER), "--sandbox", *(["--operator-tools"] if operator_tools else [])]
    done = subprocess.run(
        [*cli, "--cli", *server, *args],
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def test_the_inspector_lists_the_tools_with_their_schemas(inspector_cli: list[str]) -> None:
    tools = inspector(inspector_cli, "--method", "tools/list", operator_tools=True)["tools"]
    assert [t["name"] for t in tools] == [op.name for op in OPERATIONS]
    for tool in tools:
        assert tool["inputSchema"]["type"] == "object" and tool["outputSchema"]["type"] == "object"
        assert "readOnlyHint" in tool["annotations"]


def test_the_inspector_calls_a_tool(inspector_cli: list[str]) -> None:
    result = inspector(
        inspector_cli, "--method", "tools/call", "--tool-name", "send_message",
        "--tool-arg", "content=Where is my order?", "--tool-arg", "customer_id=+15551112222",
    )  # fmt: skip
    assert result["isError"] is False
    assert result["structuredContent"]["mode"] == "ai" and result["structuredContent"]["needs_human"] is False
    assert "I can help with your order" in result["content"][0]["text"]


def test_the_inspector_sees_the_argument_wording(inspector_cli: list[str]) -> None:
    result = inspector(inspector_cli, "--method", "tools/call", "--tool-name", "get_active_session")
    assert result["isError"] is True
    assert result["content"][0]["text"] == "Invalid argument customer_id: is required. Nothing was sent."


def test_the_inspector_reads_a_resource_and_a_prompt(inspector_cli: list[str]) -> None:
    resource = inspector(inspector_cli, "--method", "resources/read", "--uri", AGENTS_URI)
    assert json.loads(resource["contents"][0]["text"])["agents"]
    prompt = inspector(
        inspector_cli,
        "--method",
        "prompts/get",
        "--prompt-name",
        ESCALATION_PROMPT,
        "--prompt-args",
        "customer_id=+15551112222",
    )
    assert "get_active_session" in prompt["messages"][0]["content"]["text"]
