"""Every MCP tool's input schema, as a client lists it, goes through OpenAI strict mode, Gemini and
Anthropic unchanged; and a strict model's arguments (every argument given, null for the ones it leaves
out, `input_fields` as name/value entries) work end to end, from another SDK's MCP client (openai-agents)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest

from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from ...schema_conversions import assert_every_provider_takes, function_tool
from .conftest import Connect

LAUNCHER = Path(__file__).resolve().parents[3] / "mcp_server.py"


@pytest.mark.parametrize("default_agent", [SUPPORT_AGENT, None], ids=["default-agent", "no-default-agent"])
async def test_every_provider_takes_every_tool_unchanged(connect: Connect, default_agent: str | None) -> None:
    async with connect(operator_tools=True, default_agent_uuid=default_agent) as client:
        tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == [op.name for op in OPERATIONS]
    for tool in tools:
        assert_every_provider_takes(
            function_tool(tool.name, tool.description or "", tool.input_schema), tool.input_schema
        )


async def test_a_strict_client_uses_every_tool_strictly_and_its_arguments_work(
    sandbox: SandboxServer, customer_id: str
) -> None:
    """openai-agents converts each listed tool with `convert_schemas_to_strict=True` (falling back to a
    non-strict tool when it cannot); every one stays strict, with the schema as listed. Then calls shaped
    as a strict model makes them reach the sandbox as the API expects them."""
    from agents.mcp import MCPServerStdio, MCPUtil  # openai-agents: loaded here, not by every worker collecting

    server = MCPServerStdio(
        params={
            "command": sys.executable,
            "args": [str(LAUNCHER)],
            "env": {
                "OSVI_API_TOKEN": sandbox.api_token,
                "OSVI_BASE_URL": sandbox.base_url,
                "OSVI_AGENT_UUID": SUPPORT_AGENT,
                "OSVI_MCP_OPERATOR_TOOLS": "1",
            },
        },
        client_session_timeout_seconds=30,
    )
    with anyio.fail_after(90):
        async with server:
            listed = await server.list_tools()
            converted = [MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True) for tool in listed]
            assert [t.name for t in converted] == [op.name for op in OPERATIONS]
            for tool, function in zip(listed, converted, strict=True):
                assert function.strict_json_schema is True, tool.name
                assert function.params_json_schema == tool.input_schema
            schemas = {t.name: t.params_json_schema for t in converted}

            start: dict[str, Any] = {
                "agent_uuid": None,  # null: the server's default agent
                "customer_id": customer_id,
                "input_fields": [{"name": "first_name", "value": "Alex"}, {"name": "orders", "value": "[48213]"}],
                "context": ["Called yesterday about parcel 48213."],
            }
            send: dict[str, Any] = {
                "agent_uuid": None,
                "customer_id": customer_id,
                "content": "What do you know about me?",
                "session_id": None,
            }
            for name, arguments in (("create_session", start), ("send_message", send)):
                jsonschema.validate(arguments, schemas[name])  # what strict decoding can produce
            started = await server.call_tool("create_session", start)
            replied = await server.call_tool("send_message", send)
    assert not started.is_error and not replied.is_error, (started, replied)
    assert started.structured_content is not None and replied.structured_content is not None
    session, reply = started.structured_content, replied.structured_content
    assert session["metadata"]["input_fields"] == {"first_name": "Alex", "orders": [48213]}
    assert reply["session_id"] == session["id"]
    assert "parcel 48213" in (reply["reply"] or "")
    # The API received an object, as it documents.
    (stored,) = [s for s in sandbox.engine.sessions.values() if s.customer_id == customer_id]
    assert stored.input_fields == {"first_name": "Alex", "orders": [48213]}
    assert json.loads(json.dumps(stored.input_fields)) == stored.input_fields
