"""OSVIEscalationMiddleware in a real `create_agent` graph with a checkpointer, a scripted tool-calling
fake LLM and the sandbox: it pauses on escalation and takeover, a person acts through the public
client, the graph resumes, and every customer message reaches the engine exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, AgentState
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt

from osvi_integrations import OSVIClient
from osvi_integrations.langchain import OSVIToolkit
from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware, find_escalations
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from .helpers import ToolCallingFake, send


@pytest.fixture
def operator(sandbox: SandboxServer) -> Iterator[OSVIClient]:
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        yield client


def build_agent(sandbox: SandboxServer, script: list[AIMessage], middleware: AgentMiddleware[Any, Any, Any]) -> Any:
    tools = OSVIToolkit(agent_uuid=SUPPORT_AGENT, api_key=sandbox.api_token, base_url=sandbox.base_url).get_tools()
    llm = ToolCallingFake(messages=iter(script))
    return create_agent(llm, tools, middleware=[middleware], checkpointer=InMemorySaver())


def config_for(customer_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}


def test_escalation_and_takeover_pause_and_resume_without_resending(
    sandbox: SandboxServer, customer_id: str, operator: OSVIClient
) -> None:
    script = [
        send("Where is my order 12345?", "call-1"),
        AIMessage("The agent asks for your order number."),
        send("I want to talk to a human", "call-2"),
        AIMessage("A colleague is joining."),  # after the first resume ("continue")
        send("Thanks for jumping in", "call-3"),  # a human has taken over: the gate pauses, resumed with "end"
        send("Thanks, that's all.", "call-4"),
        AIMessage("Glad to help!"),
    ]
    agent = build_agent(sandbox, script, OSVIEscalationMiddleware())
    config = config_for(customer_id)

    first = agent.invoke({"messages": [HumanMessage("Where is my order 12345?")]}, config)
    assert "__interrupt__" not in first and first["messages"][-1].content == "The agent asks for your order number."

    escalated = agent.invoke({"messages": [HumanMessage("I want to talk to a human")]}, config)
    (request,) = [i.value for i in escalated["__interrupt__"]]
    (escalation,) = request["escalations"]
    assert (request["type"], escalation["reason"], escalation["tool"]) == (
        "osvi_escalation",
        "help_requested",
        "osvi_send_message",
    )
    session_id = escalation["session_id"]
    assert session_id == sandbox.engine.processed[-1].session_id
    operator.support.takeover(session_id, message="Hi, Ana from support here.")
    resumed = agent.invoke(Command(resume="continue"), config)
    assert "__interrupt__" not in resumed and resumed["messages"][-1].content == "A colleague is joining."

    taken = agent.invoke({"messages": [HumanMessage("Thanks for jumping in")]}, config)
    (request,) = [i.value for i in taken["__interrupt__"]]
    assert [(e["reason"], e["mode"]) for e in request["escalations"]] == [("takeover", "support")]
    operator.support.send_message(session_id, "Your parcel leaves our depot today.")
    operator.support.whisper(session_id, "offer a 10% voucher")
    operator.support.hand_back(session_id)
    ended = agent.invoke(Command(resume={"action": "end"}), config)
    assert isinstance(ended["messages"][-1], ToolMessage)  # the run ended without an LLM turn

    last = agent.invoke({"messages": [HumanMessage("Thanks, that's all.")]}, config)
    assert last["messages"][-1].content == "Glad to help!"
    tool_reply = last["messages"][-2]
    assert tool_reply.content.splitlines()[0] == "You're welcome! Anything else I can do for you? (offer a 10% voucher)"
    assert [r.content for r in sandbox.engine.processed] == [
        "Where is my order 12345?",
        "I want to talk to a human",
        "Thanks for jumping in",
        "Thanks, that's all.",
    ]  # each exactly once, although the graph was resumed twice


def test_the_checkpoint_keeps_the_artifact_as_a_dict_and_the_gate_still_reads_it(
    sandbox: SandboxServer, customer_id: str
) -> None:
    agent = build_agent(
        sandbox, [send("I want to talk to a human", "call-1"), AIMessage("ok")], OSVIEscalationMiddleware()
    )
    config = config_for(customer_id)
    agent.invoke({"messages": [HumanMessage("I want to talk to a human")]}, config)
    saved = agent.get_state(config).values["messages"][-1]
    assert isinstance(saved, ToolMessage) and isinstance(saved.artifact, dict)  # what resuming works from
    assert [e["reason"] for e in find_escalations([saved])] == ["help_requested"]
    assert agent.invoke(Command(resume="continue"), config)["messages"][-1].content == "ok"
    assert len(sandbox.engine.processed) == 1


async def test_async_agent(sandbox: SandboxServer, customer_id: str) -> None:
    agent = build_agent(
        sandbox, [send("Can I talk to a real person?", "call-1"), AIMessage("ok")], OSVIEscalationMiddleware()
    )
    config = config_for(customer_id)
    paused = await agent.ainvoke({"messages": [HumanMessage("Can I talk to a real person?")]}, config)
    assert paused["__interrupt__"][0].value["escalations"][0]["reason"] == "help_requested"
    done = await agent.ainvoke(Command(resume="continue"), config)
    assert done["messages"][-1].content == "ok"
    assert [r.content for r in sandbox.engine.processed] == ["Can I talk to a real person?"]


def test_a_bad_resume_value_asks_again_and_the_thread_goes_on(sandbox: SandboxServer, customer_id: str) -> None:
    agent = build_agent(sandbox, [send("I want a human", "call-1")], OSVIEscalationMiddleware())
    config = config_for(customer_id)
    agent.invoke({"messages": [HumanMessage("I want a human")]}, config)
    for bad in ("later", "approve", {"action": "maybe"}):
        again = agent.invoke(Command(resume=bad), config)
        request = again["__interrupt__"][0].value
        assert "'continue' or 'end'" in request["problem"] and repr(bad)[:20] in request["problem"]
        assert request["escalations"][0]["reason"] == "help_requested"
    ended = agent.invoke(Command(resume={"action": "end"}), config)
    assert "__interrupt__" not in ended and isinstance(ended["messages"][-1], ToolMessage)
    assert [r.content for r in sandbox.engine.processed] == ["I want a human"]  # never sent again


class InterruptInsideTheToolCall(AgentMiddleware[AgentState[Any], Any, Any]):
    """The tempting but wrong place: pause right after the tool returned, inside the tool node."""

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        result = handler(request)
        if isinstance(result, ToolMessage) and find_escalations([result]):
            interrupt("a person is needed")
        return result


def test_inside_the_tool_call_the_send_record_keeps_a_resume_from_sending_again(
    sandbox: SandboxServer, customer_id: str
) -> None:
    agent = build_agent(
        sandbox, [send("I want to talk to a human", "call-1"), AIMessage("ok")], InterruptInsideTheToolCall()
    )
    config = config_for(customer_id)
    agent.invoke({"messages": [HumanMessage("I want to talk to a human")]}, config)
    resumed = agent.invoke(Command(resume="continue"), config)
    # Resuming re-ran the tool node from its start; the tool call's record (delivered) answered it.
    assert [r.content for r in sandbox.engine.processed] == ["I want to talk to a human"]
    tool_message = next(m for m in resumed["messages"] if isinstance(m, ToolMessage))
    assert tool_message.status == "success" and "Escalation requested" in str(tool_message.content)
