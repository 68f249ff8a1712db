"""An LLM agent built with `create_agent` relays a customer's messages to an OSVI agent through the
OSVI tools; `OSVIEscalationMiddleware` pauses it for a person when the OSVI agent asks for a human or
a human has taken over, and resumes without sending anything twice.

The person acts with the operator tools (`OSVIToolkit(include_operator_tools=True)`), the same tools
an operator-side agent would get. `RelayLLM` stands in for a real tool-calling model (e.g.
`ChatOpenAI`) so the example runs without an LLM key; swap it for yours.

Runs against the local sandbox (no account needed); with OSVI_API_TOKEN and OSVI_AGENT_UUID set it
talks to your own agent.

    python examples/langchain_agent_escalation.py
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import SecretStr

from osvi_integrations.langchain import OSVIToolkit
from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware
from osvi_integrations.sandbox import Target, open_target

SYSTEM_PROMPT = (
    "You pass the customer's messages, verbatim, to the customer-service agent with osvi_send_message "
    "and answer the customer with its reply. When a human operator has taken over, say nothing of your own."
)


class RelayLLM(BaseChatModel):
    """A stand-in for a tool-calling LLM: it relays each new customer message with `osvi_send_message`,
    then repeats the OSVI agent's answer."""

    @property
    def _llm_type(self) -> str:
        return "relay-stand-in"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, HumanMessage):
            relay = ToolCall(name="osvi_send_message", args={"content": last.text}, id=f"call_{len(messages)}")
            answer = AIMessage("", tool_calls=[relay])
        else:
            answer = AIMessage(_reply(last))
        return ChatResult(generations=[ChatGeneration(message=answer)])


def _reply(message: BaseMessage) -> str:
    """What this stand-in says after a tool result: the agent's reply, the first line of the tool's text
    (the lines after it are the session's fields, which a real LLM reads and need not repeat)."""
    return message.text.splitlines()[0] if message.text else ""


def build_agent(target: Target) -> Any:
    toolkit = OSVIToolkit(agent_uuid=target.agent_uuid, api_key=SecretStr(target.api_token), base_url=target.base_url)
    return create_agent(
        RelayLLM(),
        toolkit.get_tools(),
        system_prompt=SYSTEM_PROMPT,
        middleware=[OSVIEscalationMiddleware()],
        checkpointer=InMemorySaver(),  # interrupts are saved here
        store=InMemoryStore(),  # the tools' send records (persistent ones in production: docs/langchain.md)
    )


def operator_tools(target: Target) -> dict[str, BaseTool]:
    toolkit = OSVIToolkit(
        agent_uuid=target.agent_uuid,
        api_key=SecretStr(target.api_token),
        base_url=target.base_url,
        include_operator_tools=True,
    )
    return {tool.name: tool for tool in toolkit.get_tools()}


def operator_console(tools: dict[str, BaseTool], request: dict[str, Any]) -> tuple[str, list[str]]:
    """A human operator's side, scripted: what they do and how the agent goes on ("continue" or "end")."""
    done: list[str] = []
    for escalation in request["escalations"]:
        session = escalation["session_id"]
        if escalation["reason"] == "help_requested":
            done.append(tools["osvi_takeover_session"].invoke({"session_id": session, "message": "Hi, Ana here."}))
            return "continue", done  # the LLM passes the agent's "a colleague will join" on
        done.append(tools["osvi_send_operator_message"].invoke({"session_id": session, "message": "It ships today."}))
        done.append(tools["osvi_hand_back_to_agent"].invoke({"session_id": session}))
    return "end", done  # the human answered: no LLM turn this time


@dataclass
class AgentDemo:
    transcript: list[str] = field(default_factory=list)
    interrupts: list[dict[str, Any]] = field(default_factory=list)


def run_demo(target: Target) -> AgentDemo:
    customer_id = f"example-{uuid.uuid4().hex[:8]}"
    agent, tools = build_agent(target), operator_tools(target)
    config: RunnableConfig = {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}
    demo = AgentDemo()
    for text in ("Hi, my parcel 12345 is late.", "I want to talk to a human.", "Hello?", "Thanks, that's all."):
        demo.transcript.append(f"customer: {text}")
        result = agent.invoke({"messages": [HumanMessage(text)]}, config)
        while "__interrupt__" in result:
            request: dict[str, Any] = result["__interrupt__"][0].value
            demo.interrupts.append(request)
            decision, done = operator_console(tools, request)
            demo.transcript += [f"operator: {line}" for line in done]
            result = agent.invoke(Command(resume=decision), config)
        last = result["messages"][-1]
        if not isinstance(last, ToolMessage):  # a run ended by the operator has no answer of the LLM's
            demo.transcript.append(f"assistant: {last.text}")
    return demo


def main() -> None:
    with open_target() as target:
        print(f"Talking to {target!r}")
        demo = run_demo(target)
        for line in demo.transcript:
            print(line)
        print(f"({len(demo.interrupts)} pause(s) for a person)")


if __name__ == "__main__":
    main()
