"""The LangChain / LangGraph examples run as documented: scripts exit 0 and do what they say."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer, Target

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("lang*.py"))


@pytest.fixture
def load_example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """Examples are scripts, not a package: load one by path (registered while the test runs,
    as dataclasses need their module in sys.modules)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}


def test_the_examples_are_found() -> None:
    assert {p.name for p in SCRIPTS} >= {
        "langchain_chain.py",
        "langchain_agent_escalation.py",
        "langgraph_handoff.py",
        "langgraph_multi_agent.py",
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_runs_against_the_sandbox(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=_clean_env(), cwd=EXAMPLES
    )
    assert done.returncode == 0, done.stderr
    assert "Target(sandbox" in done.stdout and "customer: " in done.stdout
    assert "osvi-sandbox-key" not in done.stdout + done.stderr


def test_chain_reports_mode_and_escalation(sandbox: SandboxServer, load_example: Callable[[str], ModuleType]) -> None:
    transcript = load_example("langchain_chain").run_demo(
        Target(sandbox.base_url, sandbox.api_token, SUPPORT_AGENT, sandbox)
    )
    assert transcript[1].startswith("agent [ai, state=default]: Hello!")
    assert transcript[-1].endswith("<< escalation requested")
    assert [r.content for r in sandbox.engine.processed] == [
        "Hello!",
        "Where is my order?",
        "Can I talk to a human, please?",
    ]


def test_handoff_end_to_end_never_resends(sandbox: SandboxServer, load_example: Callable[[str], ModuleType]) -> None:
    example = load_example("langgraph_handoff")
    demo = example.run_demo(Target(sandbox.base_url, sandbox.api_token, SUPPORT_AGENT, sandbox))
    assert [i["reason"] for i in demo.interrupts] == [
        "the agent asked for a human",
        "a human operator has taken over",
    ]
    # each customer message exactly once, although the graph was resumed twice and a session closed
    assert [r.content for r in sandbox.engine.processed] == [*example.CUSTOMER_MESSAGES, example.AFTER_THE_CLOSE]
    assert sandbox.engine.requests_by_route["create_session"] == 2  # the start, and the restart after the close
    first, *_, last = demo.sessions
    assert len(set(demo.sessions)) == 2 and demo.sessions.count(first) == len(example.CUSTOMER_MESSAGES)
    assert "agent: Hello Alex! I'm the OSVI sandbox assistant. How can I help you today?" in demo.transcript
    assert "agent: Here is what I know: Alex called yesterday: parcel 12345 is late.." in demo.transcript
    assert "agent: (silent: a human has the conversation)" in demo.transcript
    assert "operator: Your parcel leaves our depot today." in demo.transcript
    assert (
        "agent: You're welcome! Anything else I can do for you? (offer a 10% voucher for the delay)" in demo.transcript
    )
    assert sum(line.startswith("[handoff:") for line in demo.transcript) == 2
    assert last != first


def test_agent_escalation_pauses_twice_and_never_resends(
    sandbox: SandboxServer, load_example: Callable[[str], ModuleType]
) -> None:
    demo = load_example("langchain_agent_escalation").run_demo(
        Target(sandbox.base_url, sandbox.api_token, SUPPORT_AGENT, sandbox)
    )
    reasons = [[e["reason"] for e in i["escalations"]] for i in demo.interrupts]
    assert reasons == [["help_requested"], ["takeover"]]
    assert [r.content for r in sandbox.engine.processed] == [
        "Hi, my parcel 12345 is late.",
        "I want to talk to a human.",
        "Hello?",
        "Thanks, that's all.",
    ]
    assert demo.transcript[-1] == "assistant: You're welcome! Anything else I can do for you?"
    assert sum(line.startswith("operator: ") for line in demo.transcript) == 3


# langgraph-supervisor itself still calls the deprecated create_react_agent.
@pytest.mark.filterwarnings("ignore:create_react_agent has been moved:DeprecationWarning")
@pytest.mark.parametrize("pattern", ["supervisor", "swarm"])
def test_multi_agent_handoff_reaches_the_osvi_agent_once_per_message(
    sandbox: SandboxServer, load_example: Callable[[str], ModuleType], pattern: str
) -> None:
    transcript = load_example("langgraph_multi_agent").run_demo(
        Target(sandbox.base_url, sandbox.api_token, SUPPORT_AGENT, sandbox), pattern
    )
    handed_over = ["Can you check my order?", "The number is 12345.", "What do you know about me?"]
    expected = ["Hello there", *handed_over] if pattern == "supervisor" else handed_over  # the front desk kept one
    assert [r.content for r in sandbox.engine.processed] == expected
    assert len({r.session_id for r in sandbox.engine.processed}) == 1  # one session, started once with context
    assert sandbox.engine.requests_by_route["create_session"] == 1
    assert transcript[-1].endswith("Here is what I know: Handed over by the front desk of the web shop..")


# The notebooks (langgraph_handoff.ipynb among them) run in tests/integration_tests/test_notebooks.py.
