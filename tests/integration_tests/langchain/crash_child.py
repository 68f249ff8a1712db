"""One process of a durable support bot, for the crash tests: a LangGraph relay graph (customer turn ->
`ChatOSVI` -> reply) on a real checkpointer and store (SQLite file or PostgreSQL), which may kill itself
with SIGKILL at a chosen point, or recover a thread and print what it got as one JSON line.

    python crash_child.py DB BASE_URL TOKEN THREAD ACTION [KILL_AT] [DURABILITY] [MESSAGE_ID]

ACTION: `send:<text>` (a new customer turn), `resume` (continue the pending run), `send-again:<text>`
(the same turn re-invoked with the message id given). KILL_AT: `none`, `before_send` (the intent is on
record, nothing sent), `after_send` (delivered and recorded, before the node returns), `before_checkpoint`
(the node returned; killed as the checkpoint is written). "During the send" is the parent's to do: it
kills this process while the engine holds the request.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from osvi_integrations.errors import OSVIError
from osvi_integrations.langchain import ChatOSVI

AGENT = "agent_sandbox_support"


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillingStore:
    """The real store, killing the process right after a record with `status` is written."""

    def __init__(self, store: Any, status: str | None) -> None:
        self._store, self._status = store, status

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def put(self, namespace: Any, key: str, value: Any, index: Any = None) -> None:
        self._store.put(namespace, key, value, index=index)
        if self._status is not None and isinstance(value, dict) and value.get("status") == self._status:
            die()


@contextlib.contextmanager
def backends(db: str) -> Iterator[tuple[Any, Any]]:
    if db.startswith("postgresql://"):
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.store.postgres import PostgresStore

        with PostgresSaver.from_conn_string(db) as saver, PostgresStore.from_conn_string(db) as store:
            saver.setup()
            store.setup()
            yield saver, store
    else:
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.store.sqlite import SqliteStore

        # One connection each, as their own `from_conn_string` opens them: they commit independently.
        with SqliteSaver.from_conn_string(db) as saver, SqliteStore.from_conn_string(db) as store:
            saver.setup()
            store.setup()
            yield saver, store


def main(argv: list[str]) -> None:
    db, base_url, token, thread, action = argv[:5]
    kill_at = argv[5] if len(argv) > 5 else "none"
    durability: Any = argv[6] if len(argv) > 6 else "sync"
    message_id = argv[7] if len(argv) > 7 else None
    model = ChatOSVI(agent_uuid=AGENT, customer_id=thread, api_key=token, base_url=base_url, max_retries=0)

    def relay(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    with backends(db) as (saver, store):
        status = {"before_send": "in_flight", "after_send": "delivered"}.get(kill_at)
        if kill_at == "before_checkpoint":
            original = saver.put

            def put(*args: Any, **kwargs: Any) -> Any:
                checkpoint = args[1]
                messages = checkpoint.get("channel_values", {}).get("messages", [])
                if any(m.type == "ai" for m in messages):
                    die()
                return original(*args, **kwargs)

            saver.put = put  # type: ignore[method-assign]
        config: Any = {"configurable": {"thread_id": thread}}
        if os.environ.get("CRASH_GRAPH") == "agent":
            graph = agent_graph(action, saver, KillingStore(store, status), base_url, token)
            config["configurable"]["osvi_customer_id"] = thread
        else:
            graph = (
                StateGraph(MessagesState)
                .add_node("relay", relay)
                .add_edge(START, "relay")
                .compile(checkpointer=saver, store=KillingStore(store, status))
            )
        kind, _, text = action.partition(":")
        payload: Any = None if kind == "resume" else {"messages": [HumanMessage(text, id=message_id)]}
        try:
            state = graph.invoke(payload, config, durability=durability)
        except OSVIError as error:
            out = {"error": type(error).__name__, "may_have_taken_effect": error.may_have_taken_effect}
            print(json.dumps({**out, "message": error.message}), flush=True)
            return
        last = state["messages"][-1]
        tools = [{"status": m.status, "content": m.text} for m in state["messages"] if m.type == "tool"]
        print(json.dumps({"reply": last.text, "meta": last.response_metadata, "tools": tools}, default=str), flush=True)


def agent_graph(action: str, saver: Any, store: Any, base_url: str, token: str) -> Any:
    """`create_agent` with the OSVI toolkit and the escalation middleware; the LLM relays the customer's
    words with `osvi_send_message` (a new turn), or only answers the tool result (a resumed run)."""
    from langchain.agents import create_agent

    from osvi_integrations.langchain import OSVIToolkit
    from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware
    from tests.integration_tests.langchain.helpers import ToolCallingFake, send

    kind, _, text = action.partition(":")
    script = [send(text, "call-1"), AIMessage("ok")] if kind == "send" else [AIMessage("ok")]
    tools = OSVIToolkit(agent_uuid=AGENT, api_key=token, base_url=base_url, max_retries=0).get_tools()
    return create_agent(
        ToolCallingFake(messages=iter(script)),
        tools,
        middleware=[OSVIEscalationMiddleware()],
        checkpointer=saver,
        store=store,
    )


def forked(argv: list[str], graph: str, writer: Any) -> None:
    """`main` in a process forked by the tests' fork server; its JSON line goes back on `writer`."""
    os.environ["CRASH_GRAPH"] = graph
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    writer.send(out.getvalue())


if __name__ == "__main__":
    main(sys.argv[1:])
