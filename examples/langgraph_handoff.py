"""Human handoff with LangGraph, end to end: the graph relays a customer's messages to an OSVI agent,
pauses when a person is needed, and a human operator takes over through the public client API.

* The first message starts the customer's session with what the agent should know (`input_fields`,
  `context`): ChatOSVI calls `create_session` because the thread has no session yet.
* `relay` sends the customer's newest message with ChatOSVI, which takes the customer from
  `config["configurable"]["osvi_customer_id"]` and the session from the history.
* `human` calls `interrupt(...)` when the agent asked for a human or one has taken over. The
  operator acts with `OSVIClient.support` (take over, message, whisper, hand back, close) and the
  graph resumes with `Command(resume=...)`.

Why two nodes: LangGraph resumes by running the interrupted node again from its start. Were the
send and the interrupt in one node, every resume would send the customer's message again. Split, the
send is checkpointed and only `human` runs again.

At the end the operator closes the session; the customer's next message continues the same thread
in a new session (ChatOSVI resends it once, without the closed session, which OSVI proved never got it).

Runs against the local sandbox (no account needed); with OSVI_API_TOKEN and OSVI_AGENT_UUID set it
talks to your own agent, and the operator's actions are real.

    python examples/langgraph_handoff.py
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, interrupt
from pydantic import SecretStr

from osvi_integrations import OSVIClient
from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import Target, open_target


class HandoffState(MessagesState, total=False):
    #: What the agent should know when the customer's session starts (used on the first message only).
    input_fields: dict[str, Any]
    context: list[str]
    #: What operators did, for the transcript.
    handoffs: Annotated[list[str], operator.add]


def build_graph(
    model: ChatOSVI, checkpointer: BaseCheckpointSaver[Any] | None = None, store: BaseStore | None = None
) -> CompiledStateGraph[HandoffState, None, HandoffState, HandoffState]:
    """One thread per customer: `config["configurable"]` holds `thread_id` and `osvi_customer_id`.

    The store keeps ChatOSVI's send records, so a crash or a cancel mid-send is never resent silently:
    in production, a persistent pair (`SqliteSaver` + `SqliteStore`, `PostgresSaver` + `PostgresStore`)."""

    def relay(state: HandoffState) -> dict[str, Any]:
        # Never interrupt here: a resumed node starts over, and this one sends a message.
        reply = model.invoke(state["messages"], input_fields=state.get("input_fields"), context=state.get("context"))
        return {"messages": [reply]}

    def needs_human(state: HandoffState) -> str:
        meta = state["messages"][-1].response_metadata
        return "human" if meta["help_requested"] or meta["mode"] == "support" else END

    def human(state: HandoffState) -> dict[str, Any]:
        # Everything before interrupt() runs again on resume: keep it free of side effects.
        meta = state["messages"][-1].response_metadata
        reason = "a human operator has taken over" if meta["mode"] == "support" else "the agent asked for a human"
        done: dict[str, Any] = interrupt({"session_id": meta["session_id"], "reason": reason})
        said = [AIMessage(text, name="operator") for text in done["said"]]  # the operator's words, for the record
        return {"messages": said, "handoffs": [f"[handoff: {reason}; operator: {done['summary']}]"]}

    builder = StateGraph(HandoffState)
    builder.add_node("relay", relay)
    builder.add_node("human", human)
    builder.add_edge(START, "relay")
    builder.add_conditional_edges("relay", needs_human, ["human", END])
    builder.add_edge("human", END)
    return builder.compile(checkpointer=checkpointer or InMemorySaver(), store=store or InMemoryStore())


def operator_console(client: OSVIClient, request: dict[str, Any]) -> dict[str, Any]:
    """A human operator's side, scripted: every action goes through the public support API."""
    session_id = request["session_id"]
    if request["reason"] == "the agent asked for a human":
        greeting = "Hi Alex, this is Ana from support. Let me check your parcel."
        client.support.takeover(session_id, message=greeting)
        return {"said": [greeting], "summary": "Ana took over"}
    update = "Your parcel leaves our depot today."
    client.support.send_message(session_id, update)
    client.support.whisper(session_id, "offer a 10% voucher for the delay")
    client.support.hand_back(session_id)
    return {"said": [update], "summary": "Ana answered, whispered a voucher offer and handed back"}


@dataclass
class HandoffDemo:
    transcript: list[str] = field(default_factory=list)
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)


CUSTOMER_MESSAGES = (
    "Hi, where is my order 12345?",
    "What do you know about my case?",
    "This is taking too long, I want to talk to a human.",
    "Thanks for jumping in.",
    "Great, thanks!",
)
AFTER_THE_CLOSE = "One more thing: can I change the delivery address?"


def run_demo(target: Target) -> HandoffDemo:
    customer_id = f"example-{uuid.uuid4().hex[:8]}"
    model = ChatOSVI(agent_uuid=target.agent_uuid, api_key=SecretStr(target.api_token), base_url=target.base_url)
    graph = build_graph(model)
    config: RunnableConfig = {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}
    input_fields = {"first_name": "Alex"}
    context = ["Alex called yesterday: parcel 12345 is late."]
    demo = HandoffDemo()
    with OSVIClient(target.api_token, base_url=target.base_url) as operator_client:
        try:
            for message in (*CUSTOMER_MESSAGES, AFTER_THE_CLOSE):
                if message == AFTER_THE_CLOSE:  # the matter is settled: the operator closes the session
                    operator_client.support.close(demo.sessions[-1])
                turn: HandoffState = {
                    "messages": [HumanMessage(message)],
                    "input_fields": input_fields,
                    "context": context,
                }
                result = graph.invoke(turn, config)
                demo.sessions.append(result["messages"][-1].response_metadata["session_id"])
                while "__interrupt__" in result:  # paused in `human`: a person acts, then the graph resumes
                    request: dict[str, Any] = result["__interrupt__"][0].value
                    demo.interrupts.append(request)
                    result = graph.invoke(Command(resume=operator_console(operator_client, request)), config)
        finally:
            model.close()
    state = graph.get_state(config).values
    for message in state["messages"]:
        if isinstance(message, HumanMessage):
            demo.transcript.append(f"customer: {message.text}")
        elif message.name == "operator":
            demo.transcript.append(f"operator: {message.text}")
        else:
            silent = message.response_metadata["mode"] == "support"
            demo.transcript.append(f"agent: {'(silent: a human has the conversation)' if silent else message.text}")
    demo.transcript.extend(state.get("handoffs", []))
    return demo


def main() -> None:
    with open_target() as target:
        print(f"Talking to {target!r}")
        demo = run_demo(target)
        for line in demo.transcript:
            print(line)
        print(f"({len(demo.interrupts)} handoff(s); sessions: {len(set(demo.sessions))})")


if __name__ == "__main__":
    main()
