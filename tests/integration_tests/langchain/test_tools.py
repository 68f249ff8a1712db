"""The generated tools against the sandbox: a whole operator flow, escalation wording, run config,
LangGraph's ToolNode, and errors worded by the core."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from osvi_integrations import OSVIClient, OSVIError, SendMessageResult, Session, SupportCommandResult
from osvi_integrations.langchain import OSVISendMessageTool, OSVIToolkit
from osvi_integrations.protocol import SEND_MESSAGE, describe_error
from osvi_integrations.sandbox import ARCHIVED_AGENT, FAULTY_AGENT, SUPPORT_AGENT, SandboxServer
from tests.conftest import FAST_RETRIES

from .helpers import make_tool


def call(name: str, **args: Any) -> ToolCall:
    return ToolCall(name=name, args=args, id="call-1", type="tool_call")


def toolkit_tools(sandbox: SandboxServer, customer_id: str) -> dict[str, Any]:
    toolkit = OSVIToolkit(
        agent_uuid=SUPPORT_AGENT,
        customer_id=customer_id,
        api_key=sandbox.api_token,
        base_url=sandbox.base_url,
        retry_policy=FAST_RETRIES,
        include_operator_tools=True,
    )
    return {tool.name: tool for tool in toolkit.get_tools()}


def test_a_whole_conversation_through_the_toolkit(sandbox: SandboxServer, customer_id: str) -> None:
    tools = toolkit_tools(sandbox, customer_id)

    def run(name: str, **args: Any) -> ToolMessage:
        message = tools[name].invoke(call(name, **args))
        assert isinstance(message, ToolMessage)
        return message

    started = run("osvi_create_session", input_fields={"first_name": "Alex"}, context=["Late parcel."])
    assert isinstance(started.artifact, Session) and started.artifact.metadata.context == ["Late parcel."]
    session = started.artifact.id
    hello = run("osvi_send_message", content="Hello", session_id=session)
    assert first_line(hello) == "Hello Alex! I'm the OSVI sandbox assistant. How can I help you today?"
    assert f"session_id: {session}; state: default; mode: ai; help_requested: false" in str(hello.content)
    run("osvi_inject_context", session_id=session, context="Earlier call: wants a refund.")
    escalated = run("osvi_send_message", content="I want to talk to a human")
    assert "[Escalation requested" in str(escalated.content)
    assert run("osvi_get_active_session").artifact.help_requested is True

    taken = run("osvi_takeover_session", session_id=session, message="Hi, Ana here.")
    assert isinstance(taken.artifact, SupportCommandResult) and "taken over" in str(taken.content)
    refused = run("osvi_tell_agent", session_id=session, message="Offer a voucher.")
    assert refused.status == "error" and "tell_not_allowed_during_takeover" in str(refused.content)
    assert "NOT applied" in str(refused.content)
    run("osvi_send_operator_message", session_id=session, message="Your parcel leaves today.")
    silent = run("osvi_send_message", content="Thanks Ana!")
    assert silent.artifact.reply is None and "[A human operator has taken over" in str(silent.content)
    run("osvi_whisper_to_agent", session_id=session, message="offer a 10% voucher")
    run("osvi_hand_back_to_agent", session_id=session)
    back = run("osvi_send_message", content="Thanks, that's all.")
    assert first_line(back) == "You're welcome! Anything else I can do for you? (offer a 10% voucher)"
    run("osvi_close_session", session_id=session)
    closed = run("osvi_send_message", content="One more thing", session_id=session)
    assert closed.status == "error" and "send without session_id" in str(closed.content)
    assert run("osvi_list_active_sessions").content == "The customer has no active session with any agent."
    assert "agent_sandbox_support" in str(run("osvi_list_active_agents").content)
    sent = [r.content for r in sandbox.engine.processed]
    assert sent == ["Hello", "I want to talk to a human", "Thanks Ana!", "Thanks, that's all."]


def test_customer_and_agent_from_run_config(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox, "send_message")  # one tool for every customer: the application says who, per run
    for customer in ("alice", "bob"):
        config: Any = {"configurable": {"osvi_customer_id": customer, "osvi_agent_uuid": SUPPORT_AGENT}}
        tool.invoke(call(tool.name, content=f"Hello from {customer}"), config=config)
    assert [(r.customer_id, r.content) for r in sandbox.engine.processed] == [
        ("alice", "Hello from alice"),
        ("bob", "Hello from bob"),
    ]


def test_tool_in_a_langgraph_tool_node(sandbox: SandboxServer) -> None:
    """In a graph, the LLM's tool call carries only the message; the customer comes from the run config."""
    tool = OSVISendMessageTool(agent_uuid=SUPPORT_AGENT, api_key=sandbox.api_token, base_url=sandbox.base_url)
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    ai = AIMessage("", tool_calls=[call(tool.name, content="Where is my order?")])
    out = builder.compile().invoke({"messages": [ai]}, config={"configurable": {"osvi_customer_id": "+15550123"}})
    message = out["messages"][-1]
    assert isinstance(message, ToolMessage) and "order number" in str(message.content)
    assert isinstance(message.artifact, SendMessageResult)
    assert sandbox.engine.processed[-1].customer_id == "+15550123"


@pytest.mark.parametrize("agent", [ARCHIVED_AGENT, FAULTY_AGENT])
async def test_errors_read_as_the_core_words_them(sandbox: SandboxServer, agent: str) -> None:
    tool = make_tool(sandbox, SEND_MESSAGE, agent_uuid=agent, customer_id="c")
    with (
        OSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=FAST_RETRIES) as client,
        pytest.raises(OSVIError) as info,
    ):
        client.send_message(agent, "c", "Hello")
    expected = describe_error(info.value, SEND_MESSAGE)
    for message in (
        tool.invoke(call(tool.name, content="Hello")),
        await tool.ainvoke(call(tool.name, content="Hello")),
    ):
        assert isinstance(message, ToolMessage) and message.status == "error"
        assert message.content == expected
        assert sandbox.api_token not in str(message.content)
        assert "sandbox_agent_always_fails" not in str(message.content)  # no raw upstream body


def test_bad_token_error_does_not_echo_it(sandbox: SandboxServer) -> None:
    tool = make_tool(sandbox, SEND_MESSAGE, agent_uuid=SUPPORT_AGENT, customer_id="c", api_key="wrong-token-1234")
    message = tool.invoke(call(tool.name, content="Hello"))
    assert message.status == "error" and "HTTP 401" in str(message.content)
    assert "wrong-token-1234" not in str(message.content) + repr(tool)


async def test_async_invoke(sandbox: SandboxServer, customer_id: str) -> None:
    tool = make_tool(sandbox, SEND_MESSAGE, agent_uuid=SUPPORT_AGENT, customer_id=customer_id)
    message = await tool.ainvoke(call(tool.name, content="Hello"))
    assert isinstance(message.artifact, SendMessageResult) and first_line(message) == message.artifact.reply
    assert f"session_id: {message.artifact.session_id}; state: default; mode: ai" in str(message.content)
    text = await tool.ainvoke({"content": "Thanks"})  # plain args: content only
    assert text.splitlines()[0] == "You're welcome! Anything else I can do for you?"
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "Thanks"]
    await tool.aclose()


def first_line(message: ToolMessage) -> str:
    """The summary's first line (the reply); the fields line follows."""
    return str(message.content).splitlines()[0]
