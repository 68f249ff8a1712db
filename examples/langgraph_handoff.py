"""Human handoff with LangGraph: pause the graph when the OSVI agent needs a person, resume when they're done.

Two nodes, on purpose:

* `send_to_osvi` sends the customer's message (once) and stores the result in the state;
* `human_handoff` calls `interrupt(...)` when the agent asked for a human or one has taken over.

On `Command(resume=...)` LangGraph re-runs the interrupted node from its start. Were the
send and the interrupt in one node, resuming would send the customer's message again; split,
the send is already checkpointed and only `human_handoff` runs again.

Runs against the local sandbox (no account needed), where this script also plays the
operator; with OSVI_API_TOKEN and OSVI_AGENT_UUID set it talks to your own agent.

    python examples/langgraph_handoff.py
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt
from pydantic import SecretStr

from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import Target, open_target


class HandoffState(TypedDict, total=False):
    customer_message: str  # this turn's input
    session_id: str  # kept across turns by the checkpointer
    reply: str
    mode: str  # "ai" or "support" (a human operator has taken over)
    help_requested: bool
    transcript: Annotated[list[str], operator.add]


def build_graph(
    model: ChatOSVI, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[HandoffState, None, HandoffState, HandoffState]:
    """One thread per customer: `config["configurable"]` holds `thread_id` and `customer_id`."""

    def send_to_osvi(state: HandoffState, config: RunnableConfig) -> HandoffState:
        # Never interrupt here: a resumed node starts over, and this one sends a message.
        message = state["customer_message"]
        reply = model.invoke(
            [HumanMessage(message)],
            customer_id=config["configurable"]["customer_id"],
            session_id=state.get("session_id"),
        )
        meta = reply.response_metadata
        answer = reply.text if meta["mode"] == "ai" else "(silent: a human operator has the conversation)"
        return {
            "session_id": meta["session_id"],
            "reply": reply.text,
            "mode": meta["mode"],
            "help_requested": meta["help_requested"],
            "transcript": [f"customer: {message}", f"agent: {answer}"],
        }

    def needs_human(state: HandoffState) -> str:
        return "human_handoff" if state["help_requested"] or state["mode"] == "support" else END

    def human_handoff(state: HandoffState) -> HandoffState:
        # Everything before interrupt() runs again on resume: keep it free of side effects.
        reason = "a human operator has taken over" if state["mode"] == "support" else "the agent asked for a human"
        resolution = interrupt({"session_id": state["session_id"], "reason": reason, "reply": state["reply"]})
        return {"transcript": [f"[handoff: {reason}; operator: {resolution}]"]}

    builder = StateGraph(HandoffState)
    builder.add_node("send_to_osvi", send_to_osvi)
    builder.add_node("human_handoff", human_handoff)
    builder.add_edge(START, "send_to_osvi")
    builder.add_conditional_edges("send_to_osvi", needs_human, ["human_handoff", END])
    builder.add_edge("human_handoff", END)
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


@dataclass
class HandoffDemo:
    transcript: list[str]
    interrupts: list[dict[str, Any]] = field(default_factory=list)


def _operator(target: Target, request: dict[str, Any]) -> str:
    """Plays the human operator. On the sandbox it uses the engine's support commands, which
    stand in for OSVI's operator console; with a real account it only acknowledges."""
    sandbox = target.sandbox
    if sandbox is None:
        return "acknowledged"
    session_id = request["session_id"]
    if request["reason"] == "the agent asked for a human":
        sandbox.engine.support(target.api_token, session_id, {"command": "takeover", "operator": "ana@example.com"})
        return "ana@example.com took over the conversation"
    sandbox.engine.support(target.api_token, session_id, {"message": "Your parcel leaves our depot today."})
    sandbox.engine.support(target.api_token, session_id, {"command": "end"})
    return "ana@example.com answered and handed the conversation back to the agent"


def run_demo(target: Target) -> HandoffDemo:
    customer_id = f"example-{uuid.uuid4().hex[:8]}"
    model = ChatOSVI(agent_uuid=target.agent_uuid, api_key=SecretStr(target.api_token), base_url=target.base_url)
    graph = build_graph(model)
    config: RunnableConfig = {"configurable": {"thread_id": customer_id, "customer_id": customer_id}}
    demo = HandoffDemo(transcript=[])
    try:
        for message in (
            "Hi, where is my order 12345?",
            "This is taking too long, I want to talk to a human.",
            "Thanks for jumping in.",
            "Thanks, that's all.",
        ):
            result = graph.invoke({"customer_message": message}, config)
            while "__interrupt__" in result:  # paused in human_handoff: a person decides, then resume
                request: dict[str, Any] = result["__interrupt__"][0].value
                demo.interrupts.append(request)
                result = graph.invoke(Command(resume=_operator(target, request)), config)
    finally:
        model.close()
    demo.transcript = list(graph.get_state(config).values["transcript"])
    return demo


def main() -> None:
    with open_target() as target:
        print(f"Talking to {target!r}")
        demo = run_demo(target)
        for line in demo.transcript:
            print(line)
        print(f"({len(demo.interrupts)} handoff(s))")
        if target.sandbox is not None:  # the sandbox records what reached the agent: nothing twice
            print(f"(messages the agent received: {len(target.sandbox.engine.processed)})")


if __name__ == "__main__":
    main()
