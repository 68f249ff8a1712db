"""The MCP examples run as documented: each starts the server with --sandbox over stdio and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import server_env

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run_example(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], env=server_env(), capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_mcp_client_example_runs() -> None:
    out = run_example("mcp_client.py")
    assert "tools: send_message, create_session," in out and "takeover_session" not in out
    assert "I can help with your order" in out
    assert "[Escalation requested" in out and "the agent escalated" in out
    assert "unknown agent [tool error]" in out and "agent_not_found" in out
    assert "Invalid argument customer_id: is required. Nothing was sent." in out


def test_mcp_operator_example_uses_the_operator_tools() -> None:
    out = run_example("mcp_operator.py")
    for tool in (
        "takeover_session",
        "send_operator_message",
        "whisper_to_agent",
        "hand_back_to_agent",
        "close_session",
        "tell_agent [tool error]",
    ):
        assert f"--- {tool}" in out
    assert "=> escalation" in out and "A human operator has taken over" in out
    assert "tell_not_allowed_during_takeover" in out and "NOT applied" in out
    assert "The session is closed for good." in out
