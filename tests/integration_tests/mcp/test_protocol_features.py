"""Completions, logging, icons, and the protocol versions one endpoint serves: 2026-07-28 (stateless:
`server/discover`, per-request `_meta`, cacheable `tools/list`) beside 2025-11-25 and older clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp_types import LoggingMessageNotificationParams, PromptReference, ResourceTemplateReference

from osvi_integrations.mcp_server import (
    ESCALATION_PROMPT,
    HAND_OVER_PROMPT,
    SESSION_URI,
    HttpSettings,
    create_http_app,
    create_server,
)
from osvi_integrations.sandbox import SUPPORT_AGENT, Fault, SandboxServer

from ... import loopback
from .conftest import Connect, settings_for
from .test_http import BEARER, free_port, http_client, running

_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "ref",
    [
        PromptReference(name=HAND_OVER_PROMPT),
        PromptReference(name=ESCALATION_PROMPT),
        ResourceTemplateReference(uri=SESSION_URI),
    ],
    ids=["hand_over_prompt", "escalation_prompt", "session_template"],
)
async def test_agent_ids_complete_from_the_active_agents(connect: Connect, ref: Any) -> None:
    async with connect() as client:
        assert client.server_capabilities.completions is not None
        everything = (await client.complete(ref, {"name": "agent_uuid", "value": ""})).completion
        assert SUPPORT_AGENT in everything.values and everything.total == len(everything.values)
        narrowed = (await client.complete(ref, {"name": "agent_uuid", "value": SUPPORT_AGENT[:3]})).completion
        assert SUPPORT_AGENT in narrowed.values
        assert all(v.lower().startswith(SUPPORT_AGENT[:3].lower()) for v in narrowed.values)
        none = (await client.complete(ref, {"name": "agent_uuid", "value": "no-such-agent-prefix"})).completion
        assert none.values == []


@pytest.mark.parametrize(
    ("ref", "argument"),
    [
        (PromptReference(name="no_such_prompt"), "agent_uuid"),
        (ResourceTemplateReference(uri="osvi://nothing/{agent_uuid}"), "agent_uuid"),
        (PromptReference(name=HAND_OVER_PROMPT), "customer_id"),
    ],
    ids=["unknown_prompt", "unknown_template", "argument_without_values"],
)
async def test_an_unknown_reference_completes_to_an_empty_list(connect: Connect, ref: Any, argument: str) -> None:
    async with connect() as client:
        result = await client.complete(ref, {"name": argument, "value": ""})
    assert result.completion.values == []


async def test_icons_for_the_server_and_every_tool(connect: Connect) -> None:
    async with connect(operator_tools=True) as client:
        assert client.server_info is not None and client.server_info.icons
        icon = client.server_info.icons[0]
        assert icon.src.startswith("data:image/svg+xml;base64,") and icon.mime_type == "image/svg+xml"
        tools = (await client.list_tools()).tools
    assert tools and all(t.icons == [icon] for t in tools)


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_logging_set_level_and_a_failed_call_logs_a_warning(sandbox: SandboxServer, customer_id: str) -> None:
    """2025-11-25 and older: `logging/setLevel` chooses what the session receives."""
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    server = create_server(settings_for(sandbox))
    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        await client.set_logging_level("error")
        sandbox.engine.inject_fault(Fault(status=503, times=10))
        failed = await client.call_tool("send_message", {"content": "zebra crossing", "customer_id": customer_id})
        assert failed.is_error and received == [], "a warning is below the level the client set"
        await client.set_logging_level("info")
        failed = await client.call_tool("send_message", {"content": "zebra crossing", "customer_id": customer_id})
    assert failed.is_error
    assert [(m.level, m.data["tool"]) for m in received] == [("warning", "send_message")]
    assert "zebra" not in str(received[0].data), "the message text is not logged"


# -- protocol versions on one endpoint -------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["stateful", "stateless"])
def endpoint(sandbox: SandboxServer, request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    settings = HttpSettings(host="127.0.0.1", port=port, bearer_token=BEARER, stateless=bool(request.param))
    with running(create_http_app(create_server(settings_for(sandbox)), settings), port) as url:
        yield url


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_the_sdk_client_negotiates_each_era_on_the_same_endpoint(
    endpoint: str, customer_id: str, mode: str, version: str
) -> None:
    async with http_client(endpoint, mode=mode) as client:
        assert client.protocol_version == version
        listed = await client.list_tools()
        result = await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
    assert not result.is_error and listed.tools
    if version == "2026-07-28":  # cacheable, but private to this caller and immediately stale (scopes)
        assert listed.ttl_ms == 0 and listed.cache_scope == "private"


def test_server_discover_answers_2026_07_28(endpoint: str) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "server/discover",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    }
    headers = {
        **_HEADERS,
        "Authorization": f"Bearer {BEARER}",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "server/discover",
    }
    response = loopback.post(endpoint, json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    result = _json_rpc_result(response)
    assert result["supportedVersions"] == ["2026-07-28"]  # the handshake versions are reached by initialize
    info = result["_meta"]["io.modelcontextprotocol/serverInfo"]
    assert info["name"] == "osvi" and info["icons"]
    assert {"tools", "completions"} <= set(result["capabilities"])


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_an_older_client_initializes_at_its_own_version(endpoint: str, version: str) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}},
    }
    response = loopback.post(endpoint, json=body, headers={**_HEADERS, "Authorization": f"Bearer {BEARER}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert _json_rpc_result(response)["protocolVersion"] == version


def _json_rpc_result(response: httpx.Response) -> dict[str, Any]:
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        message = json.loads(next(d for d in data if d))
    else:
        message = response.json()
    assert "result" in message, message
    result: dict[str, Any] = message["result"]
    return result
