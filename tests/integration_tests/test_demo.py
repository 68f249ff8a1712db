"""The README's main job: the end-to-end demo runs against the embedded sandbox and tells the whole story."""

from __future__ import annotations

import inspect
import io
import os
import subprocess
import sys

from osvi_integrations import demo
from osvi_integrations.demo import run


def test_demo_walks_every_path_in_process() -> None:
    out = io.StringIO()
    run(out=out, customer_id="+15550009999")
    text = out.getvalue()
    assert "embedded sandbox" in text
    assert "help_requested=true" in text  # escalation
    assert "(no reply: a human operator has the conversation)" in text and "mode=support" in text  # takeover
    assert "session" in text and "started with context" in text  # context handed over
    assert "operator ! takeover (" in text and "operator ! end (hand back)" in text  # public operator API
    assert "active session read back: mode=ai" in text  # handback
    assert "tell refused while a human has the session (tell_not_allowed_during_takeover)" in text
    assert "(offer a 10% voucher)" in text  # the whisper shaped the next reply
    assert "continued in new session" in text  # the thread survives a closed session
    for state in ("collect_order_number", "order_status", "wrap_up"):  # the multi-state agent
        assert f"state={state}" in text
    assert ".engine" not in inspect.getsource(demo), "the operator plays through the public client API"
    for error in ("AgentArchivedError", "EngineError", "InvalidRequestError: content"):
        assert error in text


def test_demo_console_entry_point_runs_without_an_account() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    done = subprocess.run(
        [sys.executable, "-m", "osvi_integrations.demo"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Done." in done.stdout and "Traceback" not in done.stderr


def test_demo_with_a_real_account_needs_the_agent_too() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    env["OSVI_API_TOKEN"] = "0123456789abcdef"
    done = subprocess.run(
        [sys.executable, "-m", "osvi_integrations.demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "OSVI_AGENT_UUID" in done.stderr and "0123456789abcdef" not in done.stderr + done.stdout
