"""Resources (the read-only operations) and the two prompts, in-process against the sandbox."""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent, TextResourceContents

from osvi_integrations.mcp_server import AGENTS_URI, ESCALATION_PROMPT, HAND_OVER_PROMPT, SESSION_URI, SESSIONS_URI
from osvi_integrations.protocol import (
    CLOSE_SESSION,
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    LIST_ACTIVE_AGENTS,
    LIST_ACTIVE_SESSIONS,
    SEND_MESSAGE,
    TAKEOVER_SESSION,
)
from osvi_integrations.sandbox import ORDERS_AGENT, SUPPORT_AGENT, SandboxServer

from .conftest import Connect


def contents_json(contents: list[object]) -> dict[str, object]:
    assert len(contents) == 1
    block = contents[0]
    assert isinstance(block, TextResourceContents) and block.mime_type == "application/json"
    data: dict[str, object] = json.loads(block.text)
    return data


async def test_resources_are_the_read_only_operations(connect: Connect) -> None:
    async with connect() as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    assert [(r.uri, r.name, r.title, r.description) for r in resources] == [
        (AGENTS_URI, LIST_ACTIVE_AGENTS.name, LIST_ACTIVE_AGENTS.title, LIST_ACTIVE_AGENTS.description)
    ]
    assert [(t.uri_template, t.name, t.description) for t in templates] == [
        (SESSIONS_URI, LIST_ACTIVE_SESSIONS.name, LIST_ACTIVE_SESSIONS.description),
        (SESSION_URI, GET_ACTIVE_SESSION.name, GET_ACTIVE_SESSION.description),
    ]


async def test_reading_the_agents_and_a_customers_sessions(connect: Connect, customer_id: str) -> None:
    async with connect() as client:
        agents = contents_json((await client.read_resource(AGENTS_URI)).contents)
        await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
        await client.call_tool(
            "send_message", {"content": "hi", "customer_id": customer_id, "agent_uuid": ORDERS_AGENT}
        )
        one = contents_json(
            (await client.read_resource(SESSION_URI.format(customer_id=customer_id, agent_uuid=SUPPORT_AGENT))).contents
        )
        every = contents_json((await client.read_resource(SESSIONS_URI.format(customer_id=customer_id))).contents)
    assert isinstance(agents["agents"], list) and agents["agents"][0]["agent_id"] == SUPPORT_AGENT
    assert isinstance(agents["summary"], str) and SUPPORT_AGENT in agents["summary"]
    assert one["customer_id"] == customer_id and one["mode"] == "ai" and one["needs_human"] is False
    assert isinstance(every["sessions"], dict) and set(every["sessions"]) == {SUPPORT_AGENT, ORDERS_AGENT}


async def test_reading_a_session_that_does_not_exist(connect: Connect) -> None:
    async with connect() as client:
        with pytest.raises(MCPError) as info:
            await client.read_resource(SESSION_URI.format(customer_id="+1555000", agent_uuid=SUPPORT_AGENT))
    assert str(info.value).startswith("The customer has no active session with this agent.")
    assert "safe to try again" in str(info.value)


async def test_prompts_are_listed_with_their_arguments(connect: Connect) -> None:
    async with connect() as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    async with connect(default_agent_uuid=None) as client:
        without_default = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {HAND_OVER_PROMPT, ESCALATION_PROMPT}
    hand_over = {a.name: a for a in prompts[HAND_OVER_PROMPT].arguments or []}
    assert {name for name, a in hand_over.items() if a.required} == {"customer_id", "context"}
    assert all(a.description for a in hand_over.values())
    assert "agent_IsZ3Q6Sf" in (hand_over["agent_uuid"].description or "")  # the core type's description
    escalation = {a.name: a for a in without_default[ESCALATION_PROMPT].arguments or []}
    assert escalation["agent_uuid"].required is True  # no default agent to fall back on


async def test_the_hand_over_prompt_names_the_tools(connect: Connect) -> None:
    async with connect() as client:
        prompt = await client.get_prompt(
            HAND_OVER_PROMPT,
            {"customer_id": "+15551112222", "context": 'Said "refund" twice on the phone.', "first_message": "Hi!"},
        )
    assert len(prompt.messages) == 1 and prompt.messages[0].role == "user"
    content = prompt.messages[0].content
    assert isinstance(content, TextContent)
    text = content.text
    assert f"`{CREATE_SESSION.name}`" in text and f"`{SEND_MESSAGE.name}`" in text
    assert '["Said \\"refund\\" twice on the phone."]' in text  # quoted as JSON, as the tool takes it
    assert '"Hi!"' in text and SUPPORT_AGENT in text and ESCALATION_PROMPT in text


@pytest.mark.parametrize("operator_tools", [False, True])
async def test_the_escalation_prompt_follows_the_operator_opt_in(connect: Connect, operator_tools: bool) -> None:
    async with connect(operator_tools=operator_tools) as client:
        prompt = await client.get_prompt(ESCALATION_PROMPT, {"customer_id": "+1555", "agent_uuid": ORDERS_AGENT})
    content = prompt.messages[0].content
    assert isinstance(content, TextContent)
    assert f"`{GET_ACTIVE_SESSION.name}`" in content.text and f'"{ORDERS_AGENT}"' in content.text
    for op in (TAKEOVER_SESSION, CLOSE_SESSION):
        assert (f"`{op.name}`" in content.text) is operator_tools
    assert ("offers no operator tools" in content.text) is not operator_tools


async def test_resources_use_the_lifespan_client_under_concurrent_sessions(
    connect: Connect, sandbox: SandboxServer
) -> None:
    """Two client sessions (two lifespans) read the static resource at once; each uses its own client."""
    import anyio

    results: list[dict[str, object]] = []

    async def read() -> None:
        async with connect() as client:
            for _ in range(3):
                results.append(contents_json((await client.read_resource(AGENTS_URI)).contents))

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        group.start_soon(read)
    assert len(results) == 6 and all(r["agents"] for r in results)
    assert sandbox.engine.requests_by_route["active_agents"] == 6
