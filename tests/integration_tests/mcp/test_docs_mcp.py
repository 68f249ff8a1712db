"""docs/mcp.md matches the code: its tool table, settings, command lines, JSON, examples and the HTTP
client code. (tests/integration_tests/test_docs.py runs its Python blocks against the sandbox.)"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from osvi_integrations.config import AGENT_ENV, BASE_URL_ENV, TIMEOUT_ENV, TOKEN_ENV
from osvi_integrations.mcp_server import (
    AGENTS_URI,
    ALLOWED_HOSTS_ENV,
    BEARER_ENV,
    ESCALATION_PROMPT,
    HAND_OVER_PROMPT,
    OAUTH_ISSUER_ENV,
    OPERATOR_TOOLS_ENV,
    RESOURCE_URL_ENV,
    SESSION_URI,
    SESSIONS_URI,
    HttpSettings,
    create_http_app,
    create_server,
)
from osvi_integrations.mcp_server.cli import _parser
from osvi_integrations.mcp_server.tools import output_model, output_schema, text_block
from osvi_integrations.protocol import OPERATIONS, SEND_MESSAGE, Effect
from osvi_integrations.sandbox import SandboxServer

from .conftest import Connect, settings_for, text_of
from .test_http import free_port, running

DOC = (Path(__file__).resolve().parents[3] / "docs" / "mcp.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC, re.S | re.M)


def test_the_tool_table_is_the_operation_table() -> None:
    table = DOC[DOC.index("| tool ") : DOC.index("Annotations:")]
    rows = re.findall(r"^\| `(\w+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$", table, re.M)
    assert [name for name, _, _ in rows] == [op.name for op in OPERATIONS]
    for (_, title, hints), op in zip(rows, OPERATIONS, strict=True):
        assert title == op.title
        assert ("operator" in hints) is op.operator
        assert ("read-only" in hints) is (op.effect is Effect.READ)
        assert ("destructive" in hints) is (op.effect is Effect.DESTRUCTIVE)


def test_every_environment_variable_named_is_one_the_code_reads() -> None:
    known = {TOKEN_ENV, BASE_URL_ENV, AGENT_ENV, TIMEOUT_ENV, OPERATOR_TOOLS_ENV, BEARER_ENV, ALLOWED_HOSTS_ENV}
    known |= {OAUTH_ISSUER_ENV, RESOURCE_URL_ENV}
    assert set(re.findall(r"\bOSVI_[A-Z_]+\b", DOC)) == known


def test_every_json_block_parses() -> None:
    parsed = [json.loads(block) for block in blocks("json")]
    assert len(parsed) == 3
    desktop = parsed[1]["mcpServers"]["osvi"]
    assert set(desktop["env"]) == {TOKEN_ENV, AGENT_ENV}


def test_the_structured_example_matches_the_output_schema_and_the_text_example() -> None:
    example = json.loads(blocks("json")[0])
    jsonschema.validate(example, output_schema(output_model(SEND_MESSAGE.result)))
    assert text_block(example) + "\n" in blocks("text")[1]


def command_lines() -> list[list[str]]:
    """The arguments of every osvi-mcp / mcp_server.py invocation in a bash block."""
    found = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line.split("#")[0])
            for launcher in ("osvi-mcp", "mcp_server.py"):
                ends = [i for i, word in enumerate(words) if word.endswith(launcher)]
                if ends:
                    found.append(words[ends[0] + 1 :])
    return found


def test_every_command_line_parses() -> None:
    lines = command_lines()
    assert len(lines) >= 4
    for arguments in lines:
        _parser().parse_args(arguments)  # exits on an unknown flag
    synopsis = blocks("text")[2]
    for flag in re.findall(r"--[a-z-]+", synopsis):
        assert flag in _parser()._option_string_actions


def test_resource_and_prompt_names() -> None:
    for name in (AGENTS_URI, SESSIONS_URI, SESSION_URI, HAND_OVER_PROMPT, ESCALATION_PROMPT):
        assert f"`{name}`" in DOC


@pytest.mark.parametrize("line", [line for line in blocks("text")[0].splitlines() if line])
async def test_the_argument_examples_are_what_the_server_says(connect: Connect, line: str) -> None:
    calls: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "customer_id: is required": ({}, {"content": "hi"}),
        "customer_id: must be a string": ({}, {"content": "hi", "customer_id": 15551112222}),
        "sessionId: is not an argument": ({}, {"content": "hi", "customer_id": "+1", "sessionId": "x"}),
        "agent_uuid: is required": ({"default_agent_uuid": None}, {"content": "hi", "customer_id": "+1"}),
    }
    (settings, arguments) = next(call for key, call in calls.items() if key in line)
    async with connect(**settings) as client:
        result = await client.call_tool("send_message", arguments)
    assert result.is_error and text_of(result) == line


async def test_the_http_client_code_works(sandbox: SandboxServer) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(blocks("python")[1], "docs/mcp.md HTTP block", "exec"), namespace)
    port = free_port()
    settings = HttpSettings(port=port, bearer_token="docs-bearer")
    with running(create_http_app(create_server(settings_for(sandbox)), settings), port) as url:
        text = await namespace["call_remote"](url, "docs-bearer")
    assert "sandbox assistant" in text
