"""The LangChain / LangGraph examples run as documented: scripts exit 0, the notebook executes cleanly."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer, Target

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
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
    assert {p.name for p in SCRIPTS} >= {"langchain_chain.py", "langgraph_handoff.py"}


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


def test_handoff_interrupts_and_never_resends(
    sandbox: SandboxServer, load_example: Callable[[str], ModuleType]
) -> None:
    demo = load_example("langgraph_handoff").run_demo(
        Target(sandbox.base_url, sandbox.api_token, SUPPORT_AGENT, sandbox)
    )
    assert [i["reason"] for i in demo.interrupts] == [
        "the agent asked for a human",
        "a human operator has taken over",
    ]
    sent = [r.content for r in sandbox.engine.processed]
    assert sent == [
        "Hi, where is my order 12345?",
        "This is taking too long, I want to talk to a human.",
        "Thanks for jumping in.",
        "Thanks, that's all.",
    ]  # each exactly once, although the graph was resumed twice
    assert sum(line.startswith("[handoff:") for line in demo.transcript) == 2
    assert demo.transcript[-1] == "agent: You're welcome! Anything else I can do for you?"


def test_notebook_executes(tmp_path: Path) -> None:
    notebook = nbformat.read(EXAMPLES / "langgraph_handoff.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), "store it without outputs"
    # ipc: no kernel ports opened on the network
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = NotebookClient(notebook, km=kernel, timeout=120, resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute(env=_clean_env())
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "The agent received 4 messages, each once." in printed
