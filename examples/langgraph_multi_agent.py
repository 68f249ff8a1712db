"""Hand a customer's conversation to an OSVI agent from a multi-agent graph: a supervisor
(langgraph-supervisor) or a swarm (langgraph-swarm).

The OSVI agent is `create_agent(ChatOSVI(...), tools=[], name="osvi_support")`. A handoff tool
(`transfer_to_osvi_support`) leaves the customer's words followed by the handing agent's tool call
and a "Successfully transferred" ToolMessage; ChatOSVI sends those words, not the handoff. The
customer comes from the run's config (`osvi_customer_id`); the first message starts the customer's
session with context, later ones continue it from the OSVI agent's own replies in the history.

`Router` and `FrontDesk` stand in for real tool-calling models (e.g. `ChatOpenAI`) so the example
runs without an LLM key; swap them for yours.

    pip install langgraph-supervisor langgraph-swarm
    python examples/langgraph_multi_agent.py
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph_supervisor import create_supervisor
from langgraph_swarm import create_handoff_tool, create_swarm
from pydantic import SecretStr

from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import Target, open_target

OSVI_AGENT = "osvi_support"


class _ScriptedModel(BaseChatModel):
    """Base of the stand-ins below: takes tools like a tool-calling LLM, answers by a fixed rule."""

    @property
    def _llm_type(self) -> str:
        return "scripted-stand-in"

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
        return ChatResult(generations=[ChatGeneration(message=self.answer(messages))])

    def answer(self, messages: list[BaseMessage]) -> AIMessage:
        raise NotImplementedError


def _transfer(messages: list[BaseMessage]) -> AIMessage:
    return AIMessage("", tool_calls=[ToolCall(name=f"transfer_to_{OSVI_AGENT}", args={}, id=f"route_{len(messages)}")])


class Router(_ScriptedModel):
    """Supervisor stand-in: routes every customer message to the OSVI agent, then reports its reply."""

    def answer(self, messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], HumanMessage):
            return _transfer(messages)
        osvi = next(m for m in reversed(messages) if m.response_metadata.get("model_provider") == "osvi")
        return AIMessage(osvi.text)


class FrontDesk(_ScriptedModel):
    """Swarm stand-in: greets, and hands anything about an order to the OSVI agent."""

    def answer(self, messages: list[BaseMessage]) -> AIMessage:
        if "order" in messages[-1].text.lower():
            return _transfer(messages)
        return AIMessage("Welcome to the front desk! What can I do for you?")


def osvi_agent(target: Target) -> Any:
    model = ChatOSVI(
        agent_uuid=target.agent_uuid,
        api_key=SecretStr(target.api_token),
        base_url=target.base_url,
        context=["Handed over by the front desk of the web shop."],
    )
    return create_agent(model, tools=[], name=OSVI_AGENT)


def build(target: Target, pattern: Literal["supervisor", "swarm"]) -> Any:
    if pattern == "supervisor":
        workflow = create_supervisor([osvi_agent(target)], model=Router())
    else:
        front = create_agent(FrontDesk(), tools=[create_handoff_tool(agent_name=OSVI_AGENT)], name="front_desk")
        workflow = create_swarm([front, osvi_agent(target)], default_active_agent="front_desk")
    return workflow.compile(checkpointer=InMemorySaver(), store=InMemoryStore())  # store: ChatOSVI's send records


def run_demo(target: Target, pattern: Literal["supervisor", "swarm"]) -> list[str]:
    customer_id = f"example-{uuid.uuid4().hex[:8]}"
    graph = build(target, pattern)
    config: RunnableConfig = {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}
    transcript: list[str] = []
    for text in ("Hello there", "Can you check my order?", "The number is 12345.", "What do you know about me?"):
        result = graph.invoke({"messages": [HumanMessage(text)]}, config)
        answer = next(m for m in reversed(result["messages"]) if isinstance(m, AIMessage) and not m.tool_calls)
        transcript += [f"customer: {text}", f"{answer.name or 'assistant'}: {answer.text}"]
    return transcript


def main() -> None:
    with open_target() as target:
        print(f"Talking to {target!r}")
        for pattern in ("supervisor", "swarm"):
            print(f"\n-- {pattern} --")
            for line in run_demo(target, pattern):
                print(line)


if __name__ == "__main__":
    main()
