"""A tool bound to a customer acts only on that customer's sessions (issue 17): the model passing
another customer's `session_id` gets a clear error naming `session_id`, and nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from osvi_integrations import OSVIClient
from osvi_integrations.langchain import OSVIToolkit
from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer
from tests.conftest import FAST_RETRIES

SESSION_TOOLS = [op for op in OPERATIONS if op.acts_on_a_named_session]
ARGS = {"context": "A's note", "message": "hello from A's side"}


def tools_for(sandbox: SandboxServer, customer: str | None) -> dict[str, Any]:
    toolkit = OSVIToolkit(
        agent_uuid=SUPPORT_AGENT,
        customer_id=customer,
        include_operator_tools=True,
        api_key=sandbox.api_token,
        base_url=sandbox.base_url,
        retry_policy=FAST_RETRIES,
    )
    return {tool.name: tool for tool in toolkit.get_tools()}


def args_for(name: str, session: str) -> dict[str, Any]:
    op = next(op for op in OPERATIONS if f"osvi_{op.name}" == name)
    return {"session_id": session, **{k: v for k, v in ARGS.items() if k in op.params.model_fields}}


@pytest.mark.parametrize("operation", SESSION_TOOLS, ids=lambda op: op.name)
async def test_a_customer_bound_tool_never_touches_another_customers_session(
    sandbox: SandboxServer, operation: Any
) -> None:
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        theirs = client.sessions.create(SUPPORT_AGENT, "customer-B", context=["B's private note"]).id
        mine = client.sessions.create(SUPPORT_AGENT, "customer-A").id
        before = client.sessions.get_active("customer-B", SUPPORT_AGENT)
        tool = tools_for(sandbox, "customer-A")[f"osvi_{operation.name}"]
        for message in (
            tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args_for(tool.name, theirs)}),
            await tool.ainvoke(
                {"type": "tool_call", "id": "2", "name": tool.name, "args": args_for(tool.name, theirs)}
            ),
        ):
            assert isinstance(message, ToolMessage) and message.status == "error"
            assert "session_id" in str(message.content) and "Nothing was sent" in str(message.content)
            assert "B's private note" not in str(message.content)
            assert "customer-A" not in str(message.content)  # the bound customer's id is not repeated either
        after = client.sessions.get_active("customer-B", SUPPORT_AGENT)
        assert after.model_dump() == before.model_dump()  # nothing reached B's session
        # The same tool on the bound customer's own session works.
        own = tool.invoke({"type": "tool_call", "id": "3", "name": tool.name, "args": args_for(tool.name, mine)})
        assert isinstance(own, ToolMessage)
        assert own.status == "success" or "refused" in str(own.content) or "NOT applied" in str(own.content)


def test_an_unbound_operator_toolkit_acts_on_any_session(sandbox: SandboxServer) -> None:
    """The documented rule for operator tools: without a bound customer, they act for an operator on any
    session of the account (give them only to an operator's agent)."""
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        theirs = client.sessions.create(SUPPORT_AGENT, "customer-B").id
    tool = tools_for(sandbox, None)["osvi_takeover_session"]
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": {"session_id": theirs}})
    assert message.status == "success"
