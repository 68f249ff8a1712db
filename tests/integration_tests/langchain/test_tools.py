"""OSVISendMessageTool: what the LLM sees, where agent and customer come from, errors."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel, SecretStr

from osvi_integrations import SendMessageResult
from osvi_integrations.langchain import OSVISendMessageTool
from osvi_integrations.sandbox import ARCHIVED_AGENT, FAULTY_AGENT, SUPPORT_AGENT, SandboxServer
from tests.conftest import FAST_RETRIES


def make_tool(sandbox: SandboxServer, **kwargs: Any) -> OSVISendMessageTool:
    params: dict[str, Any] = {
        "api_key": sandbox.api_token,
        "base_url": sandbox.base_url,
        "retry_policy": FAST_RETRIES,
        **kwargs,
    }
    return OSVISendMessageTool(**params)


def call(content: str, **args: Any) -> ToolCall:
    return ToolCall(name="send_message_to_osvi_agent", args={"content": content, **args}, id="call-1", type="tool_call")


def test_llm_sees_only_the_message_and_an_optional_session() -> None:
    tool = OSVISendMessageTool(agent_uuid=SUPPORT_AGENT, customer_id="c", api_key=SecretStr("tok-123456789012"))
    schema = tool.tool_call_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    assert set(schema.model_json_schema()["properties"]) == {"content", "session_id"}
    assert schema.model_json_schema()["required"] == ["content"]


def test_content_and_artifact(sandbox: SandboxServer, customer_id: str) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT, customer_id=customer_id)
    message = tool.invoke(call("Hello"))
    assert isinstance(message, ToolMessage) and message.status == "success"
    assert isinstance(message.artifact, SendMessageResult)
    assert message.content == message.artifact.summary() == message.artifact.reply
    assert sandbox.engine.processed[-1].customer_id == customer_id


def test_escalation_and_takeover_are_stated_plainly(sandbox: SandboxServer, customer_id: str) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT, customer_id=customer_id)
    escalated = tool.invoke(call("I want to talk to a human"))
    assert "[Escalation requested" in escalated.content
    session_id = escalated.artifact.session_id
    sandbox.engine.support(sandbox.api_token, session_id, {"command": "takeover", "operator": "ana@example.com"})
    taken = tool.invoke(call("Hello?", session_id=session_id))
    assert "[A human operator has taken over" in taken.content
    assert taken.artifact.reply is None and taken.artifact.mode == "support"


def test_customer_and_agent_from_run_config(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox)  # one tool for every customer: the application says who, per run
    for customer in ("alice", "bob"):
        config: Any = {"configurable": {"osvi_customer_id": customer, "osvi_agent_uuid": SUPPORT_AGENT}}
        tool.invoke(call(f"Hello from {customer}"), config=config)
    assert [(r.customer_id, r.content) for r in sandbox.engine.processed] == [
        ("alice", "Hello from alice"),
        ("bob", "Hello from bob"),
    ]


def test_run_config_wins_over_tool_fields(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT, customer_id="default-customer")
    tool.invoke(call("Hello"), config={"configurable": {"osvi_customer_id": "per-run-customer"}})
    tool.invoke(call("Hello"))
    assert [r.customer_id for r in sandbox.engine.processed] == ["per-run-customer", "default-customer"]


def test_tool_in_a_langgraph_tool_node(sandbox: SandboxServer) -> None:
    """In a graph, the LLM's tool call carries only the message; the customer comes from the run config."""
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([make_tool(sandbox, agent_uuid=SUPPORT_AGENT)]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    ai = AIMessage("", tool_calls=[call("Where is my order?")])
    out = builder.compile().invoke({"messages": [ai]}, config={"configurable": {"osvi_customer_id": "+15550123"}})
    message = out["messages"][-1]
    assert isinstance(message, ToolMessage) and "order number" in str(message.content)
    assert sandbox.engine.processed[-1].customer_id == "+15550123"


def test_missing_customer_is_a_programming_error(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT)
    with pytest.raises(ValueError, match="osvi_customer_id"):
        tool.invoke(call("Hello"))
    assert sandbox.engine.processed == []


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (ARCHIVED_AGENT, "HTTP 422 agent_archived: The agent is archived. The message was not delivered"),
        (FAULTY_AGENT, "HTTP 502: Python engine returned 500 for POST /v1/chat/inbound. The message MAY HAVE BEEN"),
    ],
)
async def test_errors_become_readable_tool_messages(sandbox: SandboxServer, agent: str, expected: str) -> None:
    tool = make_tool(sandbox, agent_uuid=agent, customer_id="c")
    for message in (tool.invoke(call("Hello")), await tool.ainvoke(call("Hello"))):
        assert isinstance(message, ToolMessage) and message.status == "error"
        assert str(message.content).startswith("OSVI returned an error: ")
        assert expected in str(message.content)
        assert sandbox.api_token not in str(message.content)
        assert "sandbox_agent_always_fails" not in str(message.content)  # no raw upstream body


def test_bad_token_error_does_not_echo_it(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT, customer_id="c", api_key="wrong-token-1234")
    message = tool.invoke(call("Hello"))
    assert message.status == "error" and "HTTP 401" in str(message.content)
    assert "wrong-token-1234" not in str(message.content) + repr(tool)


async def test_async_invoke(sandbox: SandboxServer, customer_id: str) -> None:
    tool = make_tool(sandbox, agent_uuid=SUPPORT_AGENT, customer_id=customer_id)
    message = await tool.ainvoke(call("Hello"))
    assert isinstance(message.artifact, SendMessageResult) and message.content == message.artifact.reply
    text = await tool.ainvoke({"content": "Thanks"})  # plain args: content only
    assert text == "You're welcome! Anything else I can do for you?"
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "Thanks"]
    await tool.aclose()
