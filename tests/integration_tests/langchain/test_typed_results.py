"""Typed tool results after a checkpoint (issue 16, finding 4): the checkpoint keeps a dict, and
`tool_result()` gives the typed result back, on the strict and the default serializer."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from osvi_integrations import SendMessageResult
from osvi_integrations.langchain import OSVIToolkit, tool_result
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from .helpers import ToolCallingFake, send


def saved_tool_message(sandbox: SandboxServer, customer_id: str, serde: JsonPlusSerializer) -> ToolMessage:
    tools = OSVIToolkit(agent_uuid=SUPPORT_AGENT, api_key=sandbox.api_token, base_url=sandbox.base_url).get_tools()
    llm = ToolCallingFake(messages=iter([send("Hello", "call-1"), AIMessage("ok")]))
    agent: Any = create_agent(llm, tools, checkpointer=InMemorySaver(serde=serde))
    config: Any = {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}
    agent.invoke({"messages": [HumanMessage("Hello")]}, config)
    saved = next(m for m in agent.get_state(config).values["messages"] if isinstance(m, ToolMessage))
    assert isinstance(saved, ToolMessage)
    return saved


def strict() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=None)  # what LANGGRAPH_STRICT_MSGPACK=true gives


@pytest.mark.parametrize("serde", [strict, JsonPlusSerializer], ids=["strict", "default"])
def test_tool_result_reads_any_checkpoint(sandbox: SandboxServer, customer_id: str, serde: Any) -> None:
    saved = saved_tool_message(sandbox, customer_id, serde())
    result = tool_result(saved)
    assert isinstance(result, SendMessageResult) and result.mode == "ai" and result.session_id
