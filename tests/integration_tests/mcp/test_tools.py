"""The generated tools, in-process against the sandbox: the listing follows the operation table, every
tool works end to end, both content forms are complete on their own, and errors read as the core words them."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, Tool
from pydantic import SecretStr

from osvi_integrations import AsyncOSVIClient
from osvi_integrations.errors import InvalidRequestError, OSVIError
from osvi_integrations.mcp_server import OPERATOR_TOOLS_ENV, ServerSettings, server
from osvi_integrations.mcp_server import tools as tools_module
from osvi_integrations.protocol import (
    GET_ACTIVE_SESSION,
    OPERATIONS,
    SEND_MESSAGE,
    Effect,
    Operation,
    RawResponse,
    describe_error,
)
from osvi_integrations.protocol.tool_schema import portable_schema
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
from osvi_integrations.types._base import AGENT_ID_EXAMPLE

from ...conftest import FAST_RETRIES
from ...unit_tests.test_fast_paths import BODIES, SESSION
from .conftest import Connect, checked, text_of

PUBLIC = [op for op in OPERATIONS if not op.operator]
NOT_SENT = "Nothing was sent or changed, so trying again cannot duplicate anything."


async def tools_by_name(client: Client) -> dict[str, Tool]:
    return {tool.name: tool for tool in (await client.list_tools()).tools}


# -- the listing -----------------------------------------------------------------------------------------


async def test_tools_are_the_public_operations_unless_operator_tools_are_enabled(connect: Connect) -> None:
    async with connect() as client:
        default = [tool.name for tool in (await client.list_tools()).tools]
    async with connect(operator_tools=True) as client:
        opted_in = [tool.name for tool in (await client.list_tools()).tools]
    assert default == [op.name for op in PUBLIC]
    assert opted_in == [op.name for op in OPERATIONS]
    assert any(op.operator for op in OPERATIONS) and len(opted_in) > len(default)


@pytest.mark.parametrize(
    ("env", "expected"), [({}, False), ({OPERATOR_TOOLS_ENV: "1"}, True), ({OPERATOR_TOOLS_ENV: "false"}, False)]
)
def test_operator_opt_in_from_the_environment(env: dict[str, str], expected: bool) -> None:
    assert ServerSettings.build(api_token="token-for-tests", env=env).operator_tools is expected


async def test_every_tool_is_its_operation(connect: Connect) -> None:
    """Name, title, description, input schema and annotations all come from the operation; nothing is restated."""
    async with connect(operator_tools=True) as client:
        tools = await tools_by_name(client)
    for op in OPERATIONS:
        tool = tools[op.name]
        assert (tool.title, tool.description) == (op.title, op.description)
        params = portable_schema(op.params.model_json_schema())
        schema = tool.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert list(schema["properties"]) == list(op.params.model_fields) == schema["required"]
        for name, prop in schema["properties"].items():
            if name != "agent_uuid":  # described further when a default agent is configured
                assert prop == params["properties"][name]
        annotations = tool.annotations
        assert annotations is not None and annotations.title == op.title and annotations.open_world_hint is True
        assert annotations.read_only_hint is (op.effect is Effect.READ)
        assert annotations.idempotent_hint is (op.effect is Effect.READ)
        assert annotations.destructive_hint is (op.effect is Effect.DESTRUCTIVE)
        assert tool.output_schema is not None
        outputs = tool.output_schema["properties"]
        assert set(op.result.model_fields) | {"summary"} <= set(outputs)
        assert outputs["summary"]["type"] == "string" and outputs["summary"]["description"]
    assert {name for name, tool in tools.items() if tool.annotations and tool.annotations.destructive_hint} == {
        "create_session",
        "close_session",
    }


async def test_session_results_carry_the_plain_flags(connect: Connect) -> None:
    async with connect() as client:
        tools = await tools_by_name(client)
    for name in ("send_message", "create_session", "get_active_session"):
        schema = tools[name].output_schema
        assert schema is not None
        for flag in ("human_has_taken_over", "needs_human"):
            assert schema["properties"][flag]["type"] == "boolean" and flag in schema["required"]


async def test_agent_uuid_is_optional_only_with_a_default_agent(connect: Connect) -> None:
    async with connect() as client:
        with_default = (await tools_by_name(client))["send_message"].input_schema
    async with connect(default_agent_uuid=None) as client:
        without = (await tools_by_name(client))["send_message"].input_schema
    # Listed as required either way (OpenAI strict mode wants every property there); null only with a default.
    assert "agent_uuid" in with_default["required"] and "agent_uuid" in without["required"]
    string, null = with_default["properties"]["agent_uuid"]["anyOf"]
    assert string["type"] == "string" and null == {"type": "null"} and SUPPORT_AGENT in string["description"]
    assert without["properties"]["agent_uuid"]["type"] == "string"
    # The agent id is described with its 'agent_…' example (from the core types), not as a UUID.
    for prop in (string, without["properties"]["agent_uuid"]):
        assert AGENT_ID_EXAMPLE in prop["description"]


async def test_capabilities_are_not_empty(connect: Connect) -> None:
    async with connect() as client:
        capabilities = client.server_capabilities
        assert client.instructions and SEND_MESSAGE.name in client.instructions and SUPPORT_AGENT in client.instructions
    assert capabilities.tools is not None and capabilities.resources is not None and capabilities.prompts is not None


# -- every tool, end to end ------------------------------------------------------------------------------


async def test_every_tool_against_the_sandbox(connect: Connect, sandbox: SandboxServer, customer_id: str) -> None:
    """One customer's journey through all twelve tools; every result validates against its outputSchema."""
    used: set[str] = set()

    async with connect(operator_tools=True) as client:
        tools = await tools_by_name(client)

        async def ok(name: str, **arguments: Any) -> tuple[dict[str, Any], str]:
            used.add(name)
            result = await client.call_tool(name, arguments)
            return checked(result, tools[name]), text_of(result)

        async def refused(name: str, **arguments: Any) -> str:
            used.add(name)
            result = await client.call_tool(name, arguments)
            assert result.is_error and result.structured_content is None
            return text_of(result)

        agents, text = await ok("list_active_agents")
        assert SUPPORT_AGENT in [a["agent_id"] for a in agents["agents"]] and SUPPORT_AGENT in text

        session, text = await ok(
            "create_session",
            customer_id=customer_id,
            input_fields={"first_name": "Alex"},
            context=["Called yesterday about order 20417."],
        )
        session_id = session["id"]
        assert session["metadata"]["context"] == ["Called yesterday about order 20417."]
        assert session_id in text and "order 20417" in text

        injected, text = await ok("inject_context", session_id=session_id, context="Prefers email.")
        assert injected["context"][-1] == "Prefers email." and "Prefers email." in text

        escalated, text = await ok("send_message", customer_id=customer_id, content="Can I talk to a human?")
        assert escalated["session_id"] == session_id
        assert (escalated["help_requested"], escalated["needs_human"], escalated["human_has_taken_over"]) == (
            True,
            True,
            False,
        )
        assert "[Escalation requested" in text and "[Escalation requested" in escalated["summary"]

        active, text = await ok("get_active_session", customer_id=customer_id)
        assert active["id"] == session_id and active["help_requested"] is True
        listed, _ = await ok("list_active_sessions", customer_id=customer_id)
        assert list(listed["sessions"]) == [SUPPORT_AGENT]

        taken, text = await ok("takeover_session", session_id=session_id, message="Hi, Ana here.")
        assert taken["command"] == "takeover" and taken["active_human"] and "taken over" in text
        during, text = await ok("send_message", customer_id=customer_id, content="Hello?", session_id=session_id)
        assert during["reply"] is None and during["mode"] == "support" and during["human_has_taken_over"] is True
        assert "A human operator has taken over" in text and "A human operator has taken over" in during["summary"]

        rejected = await refused("tell_agent", session_id=session_id, message="Offer a refund.")
        assert "tell_not_allowed_during_takeover" in rejected and "NOT applied" in rejected

        await ok("send_operator_message", session_id=session_id, message="I have refunded the order.")
        await ok("whisper_to_agent", session_id=session_id, message="The refund is done.")
        handed, _ = await ok("hand_back_to_agent", session_id=session_id)
        assert handed["command"] == "end"
        again, _ = await ok("get_active_session", customer_id=customer_id)
        assert (again["mode"], again["human_has_taken_over"]) == ("ai", False)
        told, text = await ok("tell_agent", session_id=session_id, message="Ask if there is anything else.")
        assert told["reply"] and told["reply"] in text

        closed, _ = await ok("close_session", session_id=session_id)
        assert closed["command"] == "close"
        gone = await refused("get_active_session", customer_id=customer_id)
        assert gone.startswith("The customer has no active session with this agent.") and "safe to try again" in gone

    assert used == {op.name for op in OPERATIONS}


async def test_text_and_structured_content_each_carry_everything(connect: Connect, customer_id: str) -> None:
    """Text-only clients (langchain-mcp-adapters, opencode, Open WebUI) and structured-only ones (Claude Code)."""
    async with connect() as client:
        tool = (await tools_by_name(client))["send_message"]
        result = await client.call_tool("send_message", {"content": "Hello", "customer_id": customer_id})
    data = checked(result, tool)
    text = text_of(result)
    reply, details = text.split("\n")
    assert reply == data["reply"] == data["summary"]
    assert details == (
        f"session_id: {data['session_id']}; state: default; mode: ai; help_requested: false; "
        "human_has_taken_over: false; needs_human: false"
    )


async def test_a_pinned_session_on_another_agent(connect: Connect, sandbox: SandboxServer, customer_id: str) -> None:
    async with connect() as client:
        first = await client.call_tool(
            "send_message", {"content": "hi", "customer_id": customer_id, "agent_uuid": ORDERS_AGENT}
        )
        assert first.structured_content is not None
        pinned = await client.call_tool(
            "send_message",
            {
                "content": "It's order 20417",
                "customer_id": customer_id,
                "agent_uuid": ORDERS_AGENT,
                "session_id": first.structured_content["session_id"],
            },
        )
    assert pinned.structured_content is not None
    assert pinned.structured_content["state"] == "order_status" and "#20417" in text_of(pinned)
    assert [(r.agent_uuid, r.content) for r in sandbox.engine.processed] == [
        (ORDERS_AGENT, "hi"),
        (ORDERS_AGENT, "It's order 20417"),
    ]


async def test_objects_and_lists_sent_as_json_text_are_decoded(connect: Connect, customer_id: str) -> None:
    """Claude Desktop sometimes sends an object or a list argument as a JSON string."""
    async with connect() as client:
        result = await client.call_tool(
            "create_session",
            {"customer_id": customer_id, "input_fields": '{"first_name": "Alex"}', "context": '["Called before."]'},
        )
    assert result.structured_content is not None, text_of(result)
    assert result.structured_content["metadata"] == {
        "input_fields": {"first_name": "Alex"},
        "state_fields": {},
        "context": ["Called before."],
    }


# -- bad arguments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("send_message", {"content": "hi"}, "Invalid argument customer_id: is required. Nothing was sent."),
        (
            "send_message",
            {"content": "hi", "customer_id": 15551112222},
            "Invalid argument customer_id: must be a string, got a number. Nothing was sent.",
        ),
        (
            "send_message",
            {"content": "hi", "customer_id": "+1555", "sessionId": "x"},
            "Invalid argument sessionId: is not an argument of this call. Nothing was sent.",
        ),
        (
            "send_message",
            {"content": "   ", "customer_id": "+1555"},
            "Invalid argument content: must not be empty or blank. Nothing was sent.",
        ),
        (
            "create_session",
            {"customer_id": "+1555", "context": "a plain note"},
            "Invalid argument context: must be a list, got a string. Nothing was sent.",
        ),
        ("get_active_session", {}, "Invalid argument customer_id: is required. Nothing was sent."),
        ("list_active_agents", {"agent_uuid": SUPPORT_AGENT}, "Invalid argument agent_uuid: is not an argument"),
        ("inject_context", {"session_id": "s"}, "Invalid argument context: is required. Nothing was sent."),
        ("takeover_session", {"session_id": 7}, "Invalid argument session_id: must be a string, got a number."),
        ("tell_agent", {"session_id": "s", "message": ""}, "Invalid argument message: must not be empty"),
    ],
)
async def test_bad_arguments_come_back_in_the_documented_wording(
    connect: Connect, sandbox: SandboxServer, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with connect(operator_tools=True) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error and result.structured_content is None
    assert text.startswith(message) and text.endswith("Nothing was sent.")
    assert "pydantic" not in text and "http" not in text and "validation error" not in text.lower()
    assert sum(sandbox.engine.requests_by_route.values()) == 0


async def test_no_agent_and_no_default_agent(connect: Connect, sandbox: SandboxServer) -> None:
    async with connect(default_agent_uuid=None) as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert result.is_error
    assert text_of(result) == describe_error(
        InvalidRequestError("agent_uuid", "is required (no default agent is configured: set OSVI_AGENT_UUID)."),
        SEND_MESSAGE,
    )
    assert sandbox.engine.request_count == 0


async def test_an_operator_tool_without_the_opt_in_is_unknown(connect: Connect, sandbox: SandboxServer) -> None:
    async with connect() as client:
        result = await client.call_tool("close_session", {"session_id": "s"})
    assert result.is_error and "close_session" in text_of(result)
    assert sum(sandbox.engine.requests_by_route.values()) == 0


# -- errors from OSVI ------------------------------------------------------------------------------------


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
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555", "agent_uuid": agent})
    text = text_of(result)
    assert result.is_error and text.startswith(f"OSVI returned an error: {expected}") and text.endswith(NOT_SENT)
    assert sandbox.engine.request_count == 1


async def test_bad_token_is_reported_without_echoing_it(connect: Connect, sandbox: SandboxServer) -> None:
    secret = "osvi-wrong-SECRET-123"
    async with connect(api_token=secret) as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert result.is_error and "HTTP 401" in text_of(result) and "OSVI_API_TOKEN" in text_of(result)
    dumped = result.model_dump_json()
    assert secret not in dumped and sandbox.api_token not in dumped


async def test_engine_failure_may_have_taken_effect(connect: Connect, sandbox: SandboxServer) -> None:
    async with connect() as client:
        result = await client.call_tool(
            "send_message", {"content": "hi", "customer_id": "+1555", "agent_uuid": FAULTY_AGENT}
        )
    text = text_of(result)
    assert result.is_error and "HTTP 502" in text and "MAY ALREADY HAVE TAKEN EFFECT" in text
    assert f"`{GET_ACTIVE_SESSION.name}`" in text
    assert "sandbox_agent_always_fails" not in result.model_dump_json() and "upstream" not in text
    assert sandbox.engine.request_count == 1  # a message that may have been delivered is never resent


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 200, "body": {"unexpected": True}}, "OSVI answered, but OSVI's answer could not be read"),
    ],
)
async def test_uncertain_outcomes_are_reported_not_resent(
    connect: Connect, sandbox: SandboxServer, fault: dict[str, Any], expected: str
) -> None:
    sandbox.engine.inject_fault(Fault(**fault))
    async with connect() as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert result.is_error and expected in text_of(result) and "MAY ALREADY HAVE TAKEN EFFECT" in text_of(result)
    assert sandbox.engine.request_count == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_transparently(connect: Connect, sandbox: SandboxServer, status: int) -> None:
    sandbox.engine.inject_fault(Fault(status=status, headers={"Retry-After": "0"}, times=2))
    async with connect() as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert not result.is_error
    assert sandbox.engine.request_count == 3 and len(sandbox.engine.processed) == 1


@pytest.mark.parametrize(("status", "expected"), [(429, "rate limiting"), (503, "temporarily unavailable")])
async def test_persistent_throttling_is_safe_to_retry(
    connect: Connect, sandbox: SandboxServer, status: int, expected: str
) -> None:
    sandbox.engine.inject_fault(Fault(status=status, headers={"Retry-After": "0"}, times=10))
    async with connect() as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert result.is_error and expected in text_of(result) and text_of(result).endswith(NOT_SENT)
    assert sandbox.engine.request_count == 1 + FAST_RETRIES.max_retries and not sandbox.engine.processed


async def test_a_timed_out_write_points_to_the_read_only_check(connect: Connect, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=2.0))
    async with connect(timeout=0.3) as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    text = text_of(result)
    assert result.is_error and f"{sandbox.base_url} did not answer within 0.3 s" in text
    assert "MAY ALREADY HAVE TAKEN EFFECT" in text and f"check the session with `{GET_ACTIVE_SESSION.name}`" in text
    assert sandbox.engine.request_count == 1


async def test_a_timed_out_read_is_safe_to_repeat(connect: Connect, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(
        Fault(status=None, after_processing=True, delay=2.0, route="get_active_session", times=10)
    )
    async with connect(timeout=0.3) as client:
        result = await client.call_tool("get_active_session", {"customer_id": "+1555"})
    assert result.is_error and text_of(result).endswith("This call only reads, so it is safe to try again.")


async def test_connection_refused_names_the_url(connect: Connect) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with connect(base_url=f"http://127.0.0.1:{port}") as client:
        result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    text = text_of(result)
    assert result.is_error and text.startswith(f"Could not connect to http://127.0.0.1:{port} (")
    assert text.endswith(NOT_SENT)


async def test_an_unexpected_failure_is_a_tool_error_without_internals(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, customer_id: str
) -> None:
    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("internal detail that must stay in the log")

    monkeypatch.setattr(tools_module, "structured_content", broken)
    async with connect() as client:
        result: CallToolResult = await client.call_tool("send_message", {"content": "hi", "customer_id": customer_id})
    text = text_of(result)
    assert result.is_error and "internal error" in text and "internal detail" not in text
    assert "MAY ALREADY HAVE TAKEN EFFECT" in text  # the message was sent before the failure


async def test_one_osvi_client_per_server_lifespan(
    connect: Connect, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan opens one OSVI client for all calls and closes it at shutdown."""
    opened: list[AsyncOSVIClient] = []

    class RecordingClient(AsyncOSVIClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(server, "AsyncOSVIClient", RecordingClient)
    async with connect() as client:
        for text in ("one", "two", "three"):
            assert not (await client.call_tool("send_message", {"content": text, "customer_id": "+1555"})).is_error
        assert len(opened) == 1 and not opened[0]._closed
    assert len(opened) == 1 and opened[0]._closed
    assert [r.content for r in sandbox.engine.processed] == ["one", "two", "three"]


@pytest.mark.parametrize("operation", list(OPERATIONS), ids=lambda op: op.name)
def test_structured_content_is_the_output_models_own_reading(operation: Operation[Any, Any]) -> None:
    """Built in one pass, the structured content is what validating it against the output model and
    dumping it gives (the advertised schema's order, values unchanged), for every answer the result
    model accepts, fields OSVI may add later included."""
    model = tools_module.output_model(operation.result)
    read = 0
    extras = [
        b'{"success": true, "data": {"session_id": "s", "summary": "theirs", "needs_human": "x", "z": [1]}}',
        b'[{"agent_id": "agent_x", "name": "Support", "later": {"a": 1}}]',
        json.dumps({"success": True, "data": {"agent_x": {**SESSION, "later": 1}}}).encode(),
    ]
    for body in [*BODIES, *extras]:
        try:
            result = operation.parse(RawResponse(200, {}, body), secret=SecretStr("tok"))
        except OSVIError:
            continue
        content = tools_module.structured_content(model, result)
        assert list(model.model_validate(content).model_dump(mode="json").items()) == list(content.items())
        read += 1
    assert read
