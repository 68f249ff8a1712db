"""examples/mcp_client.py runs as documented: it starts the server with --sandbox and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .test_stdio import server_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp_client.py"


def test_mcp_client_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=server_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "I can help with your order" in done.stdout
    assert "[Escalation requested" in done.stdout and "the agent escalated" in done.stdout
    assert "unknown agent [tool error]" in done.stdout and "agent_not_found" in done.stdout
