"""The MCP tool in-process, against a real sandbox on loopback, over both protocol eras the SDK speaks:
the initialize handshake ("legacy", streams + JSON-RPC) and 2026-07-28 (per-request, no handshake)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent
from pydantic import SecretStr

from osvi_integrations import AsyncOSVIClient, SendMessageResult, mcp_server
from osvi_integrations.mcp_server import INSTRUCTIONS, TOOL_NAME, ServerConfig, create_server
from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    SUPPORT_AGENT,
    Fault,
    SandboxServer,
)

from ..conftest import FAST_RETRIES

# "auto" negotiates the newest (2026-07-28, per-request) protocol through server/discover.
MODES = ["legacy", "auto"]
CALL_TIMEOUT = 20.0

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(sandbox: SandboxServer, mode: str) -> Connect:
    """Opens an in-process MCP client session on a server built from `ServerConfig` overrides."""

    @asynccontextmanager
    async def open_session(**overrides: Any) -> AsyncIterator[Client]:
        settings: dict[str, Any] = {
            "api_token": SecretStr(sandbox.api_token),
            "base_url": sandbox.base_url,
            "default_agent_uuid": SUPPORT_AGENT,
            "retry_policy": FAST_RETRIES,
        }
        settings.update(overrides)
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(create_server(ServerConfig(**settings)), mode=mode) as client:
                yield client

    return open_session


def text_of(result: CallToolResult) -> str:
    assert result.content, "a tool result always carries a text block"
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def assert_no_secret(result: CallToolResult, *secrets: str) -> None:
    dumped = result.model_dump_json()
    for secret in secrets:
        assert secret not in dumped


async def call(client: Client, **arguments: Any) -> CallToolResult:
    return await client.call_tool(TOOL_NAME, arguments)


async def test_tool_is_listed_with_schemas_and_annotations(connect: Connect, mode: str) -> None:
    async with connect() as client:
        assert client.instructions == INSTRUCTIONS
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        assert "human operator has taken over" in INSTRUCTIONS and "stop replying" in INSTRUCTIONS
        tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == [TOOL_NAME]
    tool = tools[0]
    assert tool.title and tool.description and "support" in tool.description
    props = tool.input_schema["properties"]
    assert set(props) == {"content", "customer_id", "session_id", "agent_uuid"}
    assert set(tool.input_schema["required"]) == {"content", "customer_id"}
    assert all(props[name].get("description") for name in props)
    assert tool.output_schema is not None
    assert tool.output_schema["properties"].keys() == SendMessageResult.model_json_schema()["properties"].keys()
    assert tool.output_schema["properties"]["mode"]["enum"] == ["ai", "support"]
    annotations = tool.annotations
    assert annotations is not None and annotations.title
    assert (
        annotations.read_only_hint,
        annotations.destructive_hint,
        annotations.idempotent_hint,
        annotations.open_world_hint,
    ) == (False, False, False, True)


async def test_reply_is_structured_and_readable(connect: Connect, sandbox: SandboxServer, customer_id: str) -> None:
    async with connect() as client:
        output_schema = (await client.list_tools()).tools[0].output_schema
        first = await call(client, content="Hello", customer_id=customer_id)
        # Continue the same thread explicitly, on another agent given per call.
        orders = await call(client, content="hi", customer_id=customer_id, agent_uuid=ORDERS_AGENT)
        pinned = await call(
            client,
            content="It's order 20417",
            customer_id=customer_id,
            agent_uuid=ORDERS_AGENT,
            session_id=orders.structured_content["session_id"] if orders.structured_content else None,
        )
    assert not first.is_error and first.structured_content is not None
    jsonschema.validate(first.structured_content, output_schema)
    result = SendMessageResult.model_validate(first.structured_content)
    assert result.reply and "sandbox assistant" in result.reply
    assert (result.mode, result.help_requested) == ("ai", False)
    assert text_of(first) == result.summary() == result.reply
    assert pinned.structured_content is not None and orders.structured_content is not None
    assert pinned.structured_content["session_id"] == orders.structured_content["session_id"]
    assert pinned.structured_content["state"] == "order_status" and "#20417" in text_of(pinned)
    assert [(r.agent_uuid, r.content) for r in sandbox.engine.processed] == [
        (SUPPORT_AGENT, "Hello"),
        (ORDERS_AGENT, "hi"),
        (ORDERS_AGENT, "It's order 20417"),
    ]
    assert_no_secret(first, sandbox.api_token)


async def test_escalation_then_takeover(connect: Connect, sandbox: SandboxServer, customer_id: str) -> None:
    async with connect() as client:
        escalated = await call(client, content="Can I talk to a human please?", customer_id=customer_id)
        assert escalated.structured_content is not None
        assert escalated.structured_content["help_requested"] is True
        assert escalated.structured_content["mode"] == "ai" and escalated.structured_content["reply"]
        assert "[Escalation requested: the agent has asked for a human operator.]" in text_of(escalated)

        taken = sandbox.engine.support(
            sandbox.api_token, escalated.structured_content["session_id"], {"command": "takeover", "operator": "ana"}
        )
        assert taken.status == 200
        during = await call(client, content="Hello? Anyone there?", customer_id=customer_id)
    assert not during.is_error and during.structured_content is not None
    assert during.structured_content["reply"] is None and during.structured_content["mode"] == "support"
    assert "A human operator has taken over this conversation" in text_of(during)
    assert "will not reply automatically" in text_of(during)


async def test_missing_agent_without_default_is_a_tool_error(connect: Connect, sandbox: SandboxServer) -> None:
    async with connect(default_agent_uuid=None) as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and result.structured_content is None
    assert text_of(result).startswith("agent_uuid: required") and "OSVI_AGENT_UUID" in text_of(result)
    assert sandbox.engine.request_count == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"content": "   ", "customer_id": "+1555"}, "content"),
        ({"content": "hi", "customer_id": ""}, "customer_id"),
        ({"content": "hi", "customer_id": "+1555", "agent_uuid": " "}, "agent_uuid"),
    ],
)
async def test_blank_arguments_are_rejected_before_sending(
    connect: Connect, sandbox: SandboxServer, arguments: dict[str, str], field: str
) -> None:
    async with connect() as client:
        result = await client.call_tool(TOOL_NAME, arguments)
    assert result.is_error
    assert text_of(result).startswith(f"Invalid argument {field}:") and "Nothing was sent" in text_of(result)
    assert sandbox.engine.request_count == 0


async def test_argument_of_the_wrong_type_is_a_tool_error(connect: Connect, sandbox: SandboxServer) -> None:
    async with connect() as client:
        result = await client.call_tool(TOOL_NAME, {"content": "hi"})  # customer_id missing
    assert result.is_error and "customer_id" in text_of(result)
    assert sandbox.engine.request_count == 0


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("agent_does_not_exist", "HTTP 404 agent_not_found"),
        (OTHER_ACCOUNT_AGENT, "HTTP 404 agent_not_found"),
        (ARCHIVED_AGENT, "HTTP 422 agent_archived: The agent is archived."),
        (INACTIVE_AGENT, "HTTP 422 agent_inactive: The agent is not active."),
    ],
)
async def test_agent_errors(connect: Connect, sandbox: SandboxServer, agent: str, expected: str) -> None:
    async with connect() as client:
        result = await call(client, content="hi", customer_id="+1555", agent_uuid=agent)
    assert result.is_error and expected in text_of(result)
    assert "was not delivered" in text_of(result)
    assert sandbox.engine.request_count == 1


async def test_bad_token_is_reported_without_echoing_it(connect: Connect, sandbox: SandboxServer) -> None:
    secret = "osvi-wrong-SECRET-123"
    async with connect(api_token=SecretStr(secret)) as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and "HTTP 401" in text_of(result) and "OSVI_API_TOKEN" in text_of(result)
    assert_no_secret(result, secret, sandbox.api_token)


async def test_engine_failure_warns_of_possible_delivery_without_upstream_dump(
    connect: Connect, sandbox: SandboxServer
) -> None:
    async with connect() as client:
        result = await call(client, content="hi", customer_id="+1555", agent_uuid=FAULTY_AGENT)
    text = text_of(result)
    assert result.is_error and "HTTP 502" in text and "MAY HAVE BEEN DELIVERED" in text
    assert "sandbox_agent_always_fails" not in result.model_dump_json() and "upstream" not in text
    assert sandbox.engine.request_count == 1  # a possibly delivered message is never resent


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 200, "body": {"unexpected": True}}, "OSVI's answer could not be read"),
    ],
)
async def test_uncertain_outcomes_are_reported_not_resent(
    connect: Connect, sandbox: SandboxServer, fault: dict[str, Any], expected: str
) -> None:
    sandbox.engine.inject_fault(Fault(**fault))
    async with connect() as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and expected in text_of(result) and "MAY HAVE BEEN DELIVERED" in text_of(result)
    assert sandbox.engine.request_count == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_transparently(connect: Connect, sandbox: SandboxServer, status: int) -> None:
    sandbox.engine.inject_fault(Fault(status=status, headers={"Retry-After": "0"}, times=2))
    async with connect() as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert not result.is_error and result.structured_content is not None
    assert sandbox.engine.request_count == 3 and len(sandbox.engine.processed) == 1


@pytest.mark.parametrize(("status", "expected"), [(429, "rate limiting"), (503, "temporarily unavailable")])
async def test_persistent_throttling_is_a_safe_to_retry_error(
    connect: Connect, sandbox: SandboxServer, status: int, expected: str
) -> None:
    sandbox.engine.inject_fault(Fault(status=status, headers={"Retry-After": "0"}, times=10))
    async with connect() as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and expected in text_of(result) and "was not delivered" in text_of(result)
    assert sandbox.engine.request_count == 1 + FAST_RETRIES.max_retries and not sandbox.engine.processed


async def test_reply_timeout_warns_of_possible_delivery(connect: Connect, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=2.0))
    async with connect(timeout=0.3) as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and "Timed out" in text_of(result) and "MAY HAVE BEEN DELIVERED" in text_of(result)
    assert sandbox.engine.request_count == 1


async def test_connection_refused(connect: Connect) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with connect(base_url=f"http://127.0.0.1:{port}") as client:
        result = await call(client, content="hi", customer_id="+1555")
    assert result.is_error and "Could not reach OSVI" in text_of(result)
    assert "was not delivered" in text_of(result)


async def test_one_osvi_client_per_server_lifespan(
    sandbox: SandboxServer, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan opens one OSVI client for all calls and closes it at shutdown."""
    opened: list[AsyncOSVIClient] = []

    class RecordingClient(AsyncOSVIClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(mcp_server, "AsyncOSVIClient", RecordingClient)
    config = ServerConfig(
        api_token=SecretStr(sandbox.api_token), base_url=sandbox.base_url, default_agent_uuid=SUPPORT_AGENT
    )
    with anyio.fail_after(CALL_TIMEOUT):
        async with Client(create_server(config), mode=mode) as client:
            for text in ("one", "two", "three"):
                assert not (await call(client, content=text, customer_id="+1555")).is_error
            assert len(opened) == 1 and not opened[0]._http.is_closed
    assert len(opened) == 1 and opened[0]._http.is_closed
    assert [r.content for r in sandbox.engine.processed] == ["one", "two", "three"]
