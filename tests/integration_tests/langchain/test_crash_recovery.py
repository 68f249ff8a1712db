"""Never sent twice silently, across crashes and cancellations (issue 16).

A durable support bot (`crash_child.py`: a LangGraph relay graph around `ChatOSVI` on a real
checkpointer and store) is killed with SIGKILL at each point of a send (before it, while the engine holds
it, after it, as the checkpoint is written), on SQLite and on a real PostgreSQL; a new process then
recovers the thread (resuming it, or with the customer's next message). The sandbox counts deliveries:
each customer message reaches the engine exactly once, or the recovery says plainly that it may already
have been delivered.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.store.memory import InMemoryStore

from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer
from osvi_integrations.sandbox.engine import Fault

from . import crash_child

# Each bot process is forked from a server that has imported LangChain, LangGraph and the checkpointers
# once (about 1.5 s of CPU a process otherwise): a process of its own all the same, killed with SIGKILL.
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload([
    "tests.integration_tests.langchain.crash_child",
    "tests.integration_tests.langchain.helpers",
    "langchain.agents",
    "langgraph.checkpoint.sqlite",
    "langgraph.store.sqlite",
])  # fmt: skip


class Child:
    """One bot process and the pipe its JSON line comes back on."""

    def __init__(self, process: Any, reader: Any) -> None:
        self.process, self.reader = process, reader

    def kill(self) -> None:
        self.process.kill()  # SIGKILL


def run_child(db: str, sandbox: SandboxServer, thread: str, action: str, *extra: str, graph: str = "relay") -> Child:
    reader, writer = _FORKS.Pipe(duplex=False)
    argv = [db, sandbox.base_url, sandbox.api_token, thread, action, *extra]
    process = _FORKS.Process(target=crash_child.forked, args=(argv, graph, writer), daemon=True)
    process.start()
    writer.close()
    return Child(process, reader)


def finish(child: Child) -> dict[str, Any] | None:
    """The child's JSON line, or None when it was killed."""
    child.process.join(60)
    assert child.process.exitcode is not None, "the bot process did not finish"
    if child.process.exitcode == -signal.SIGKILL:
        return None
    assert child.process.exitcode == 0, f"the bot process failed ({child.process.exitcode}); see its stderr"
    out = child.reader.recv()
    return dict(json.loads(out.strip().splitlines()[-1]))


def delivered(sandbox: SandboxServer, text: str) -> int:
    return sum(1 for record in sandbox.engine.processed if record.content == text)


def crash(
    db: str,
    sandbox: SandboxServer,
    thread: str,
    text: str,
    kill_at: str,
    durability: str = "sync",
    graph: str = "relay",
) -> None:
    if kill_at == "during_send":
        # The engine records the message, then holds the answer: the process dies while waiting for it.
        sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=20.0, route="inbound"))
        child = run_child(db, sandbox, thread, f"send:{text}", "none", durability, graph=graph)
        deadline = time.monotonic() + 30
        while delivered(sandbox, text) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        child.kill()
    else:
        child = run_child(db, sandbox, thread, f"send:{text}", kill_at, durability, graph=graph)
    assert finish(child) is None, "the process was to be killed"


def check_recovery(result: dict[str, Any] | None, sandbox: SandboxServer, text: str) -> str:
    """Exactly once, or a clear "may have been delivered": never a silent second delivery."""
    assert result is not None
    assert delivered(sandbox, text) == 1, sandbox.engine.processed
    if "error" in result:
        assert result["error"] == "PossiblyDeliveredError" and result["may_have_taken_effect"] is True
        assert "may already have been delivered" in result["message"]
        return "reported"
    return "once"


KILL_POINTS = ["before_send", "during_send", "after_send", "before_checkpoint"]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return str(tmp_path / "bot.sqlite")


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sqlite_crash_then_resume(sandbox: SandboxServer, sqlite_db: str, kill_at: str) -> None:
    thread = f"c-{uuid.uuid4().hex[:8]}"
    crash(sqlite_db, sandbox, thread, "Where is my order?", kill_at)
    outcome = check_recovery(finish(run_child(sqlite_db, sandbox, thread, "resume")), sandbox, "Where is my order?")
    if kill_at == "before_send":
        assert outcome == "once"  # never sent, so sent now: exactly once
    if kill_at in ("after_send", "before_checkpoint"):
        assert outcome == "once"  # delivered and recorded: the record answers, nothing is sent


@pytest.mark.parametrize("kill_at", ["during_send", "after_send"])
def test_sqlite_crash_then_the_next_customer_message(sandbox: SandboxServer, sqlite_db: str, kill_at: str) -> None:
    thread = f"c-{uuid.uuid4().hex[:8]}"
    crash(sqlite_db, sandbox, thread, "First words", kill_at)
    result = finish(run_child(sqlite_db, sandbox, thread, "send:Second words"))
    assert result is not None and "reply" in result, result
    assert delivered(sandbox, "First words") == 1 and delivered(sandbox, "Second words") == 1
    assert not any("First words" in r.content and "Second" in r.content for r in sandbox.engine.processed)
    skipped = result["meta"]["osvi_skipped_turns"]
    assert len(skipped) == 1 and skipped[0]["may_have_taken_effect"] is True


@pytest.mark.parametrize("kill_at", ["during_send", "after_send"])
def test_create_agent_with_the_toolkit_crash_then_resume(sandbox: SandboxServer, sqlite_db: str, kill_at: str) -> None:
    """The tool node of `create_agent` (toolkit + escalation middleware): the tool call's record answers."""
    thread = f"c-{uuid.uuid4().hex[:8]}"
    crash(sqlite_db, sandbox, thread, "Is my parcel lost?", kill_at, graph="agent")
    result = finish(run_child(sqlite_db, sandbox, thread, "resume", graph="agent"))
    assert result is not None and delivered(sandbox, "Is my parcel lost?") == 1, result
    (tool,) = result["tools"]
    if kill_at == "after_send":
        assert tool["status"] == "success"  # the recorded result, nothing sent again
    else:
        assert tool["status"] == "success" or "MAY ALREADY HAVE TAKEN EFFECT" in tool["content"]


def test_durability_exit_with_a_stable_message_id(sandbox: SandboxServer, sqlite_db: str) -> None:
    """With durability "exit" nothing is checkpointed before the run ends: the caller re-runs the turn.
    Given the same message id (e.g. the inbound event's id), the record recognises it."""
    thread = f"c-{uuid.uuid4().hex[:8]}"
    message_id = f"inbound-{uuid.uuid4().hex[:8]}"
    child = run_child(sqlite_db, sandbox, thread, "send:Hello there", "after_send", "exit", message_id)
    assert finish(child) is None
    again = run_child(sqlite_db, sandbox, thread, "send:Hello there", "none", "exit", message_id)
    assert check_recovery(finish(again), sandbox, "Hello there") == "once"


# -- PostgreSQL, from the server binaries on this machine ----------------------------------------


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (`initdb` + `pg_ctl`) on 127.0.0.1. Hand-rolled rather than
    pytest-postgresql's fixture: initdb refuses to run as root, as CI does, and that fixture has no way
    to run the server as another user; here it runs as `postgres` when we are root."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("langgraph.checkpoint.postgres", reason="langgraph-checkpoint-postgres is not installed")
    as_user: list[str] = []
    datadir = tempfile.mkdtemp(prefix="osvi-pg-")
    if os.getuid() == 0:
        try:
            import pwd

            pg = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(datadir, pg.pw_uid, pg.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run([*as_user, initdb, "-D", datadir, "-A", "trust", "-U", "postgres", "--no-sync"], **quiet)  # type: ignore[call-overload]
    options = f"-p {port} -k {datadir} -h 127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", datadir, "-o", options, "-w", "-l", f"{datadir}/log", "start"], **quiet)  # type: ignore[call-overload]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", datadir, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.mark.parametrize("kill_at", ["during_send", "after_send"])
def test_postgres_crash_then_resume(sandbox: SandboxServer, postgres_url: str, kill_at: str) -> None:
    thread = f"c-{uuid.uuid4().hex[:8]}"
    crash(postgres_url, sandbox, thread, "Refund please", kill_at)
    outcome = check_recovery(finish(run_child(postgres_url, sandbox, thread, "resume")), sandbox, "Refund please")
    if kill_at == "after_send":
        assert outcome == "once"


# -- cancellation, in one process -----------------------------------------------------------------


def relay_graph(sandbox: SandboxServer, customer: str) -> Any:
    model = ChatOSVI(
        agent_uuid=SUPPORT_AGENT, customer_id=customer, api_key=sandbox.api_token, base_url=sandbox.base_url
    )

    async def relay(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("relay", relay).add_edge(START, "relay")
    return graph.compile(checkpointer=InMemorySaver(), store=InMemoryStore())


async def test_a_cancelled_turn_is_never_folded_into_the_next(sandbox: SandboxServer, customer_id: str) -> None:
    graph = relay_graph(sandbox, customer_id)
    config: Any = {"configurable": {"thread_id": customer_id}}
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=5.0, route="inbound"))
    turn = asyncio.create_task(graph.ainvoke({"messages": [HumanMessage("please hold this message")]}, config))
    while delivered(sandbox, "please hold this message") == 0:
        await asyncio.sleep(0.02)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    state = await graph.ainvoke({"messages": [HumanMessage("a message after the cancel")]}, config)
    assert [r.content for r in sandbox.engine.processed] == ["please hold this message", "a message after the cancel"]
    skipped = state["messages"][-1].response_metadata["osvi_skipped_turns"]
    assert len(skipped) == 1 and skipped[0]["may_have_taken_effect"] is True


async def test_a_timed_out_turn_run_again_is_reported_not_resent(sandbox: SandboxServer, customer_id: str) -> None:
    graph = relay_graph(sandbox, customer_id)
    config: Any = {"configurable": {"thread_id": customer_id}}
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=5.0, route="inbound"))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await graph.ainvoke({"messages": [HumanMessage("are you there?")]}, config)
    # Running the thread's pending turn again finds the attempt on record, and the conversation changed.
    from osvi_integrations.errors import PossiblyDeliveredError

    with pytest.raises(PossiblyDeliveredError) as info:
        await graph.ainvoke(None, config)
    assert info.value.may_have_taken_effect is True
    assert delivered(sandbox, "are you there?") == 1


async def test_a_cancelled_tool_call_resumed_says_it_may_have_been_delivered(
    sandbox: SandboxServer, customer_id: str
) -> None:
    """The tool node of `create_agent` (toolkit + escalation middleware), cancelled while the send is in
    flight: resuming runs the tool call again, which finds its record and does not send."""
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, ToolMessage

    from osvi_integrations.langchain import OSVIToolkit
    from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware

    from .helpers import ToolCallingFake, send

    tools = OSVIToolkit(agent_uuid=SUPPORT_AGENT, api_key=sandbox.api_token, base_url=sandbox.base_url).get_tools()
    llm = ToolCallingFake(messages=iter([send("hold on", "call-1"), AIMessage("ok")]))
    agent: Any = create_agent(
        llm, tools, middleware=[OSVIEscalationMiddleware()], checkpointer=InMemorySaver(), store=InMemoryStore()
    )
    config: Any = {"configurable": {"thread_id": customer_id, "osvi_customer_id": customer_id}}
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=5.0, route="inbound"))
    turn = asyncio.create_task(agent.ainvoke({"messages": [HumanMessage("hold on")]}, config))
    while delivered(sandbox, "hold on") == 0:
        await asyncio.sleep(0.02)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    resumed = await agent.ainvoke(None, config)
    tool_message = next(m for m in resumed["messages"] if isinstance(m, ToolMessage))
    assert tool_message.status == "error" and "MAY ALREADY HAVE TAKEN EFFECT" in str(tool_message.content)
    assert delivered(sandbox, "hold on") == 1
