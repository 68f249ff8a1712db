"""SandboxServer's lifecycle (start, reset, stop) and the `osvi-sandbox` command line."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn

from osvi_integrations.sandbox import SUPPORT_AGENT, Engine, Fault, SandboxServer
from osvi_integrations.sandbox import server as server_module

from ... import loopback

MESSAGE = {"agent_uuid": SUPPORT_AGENT, "customer_id": "+15550004321", "content": "Hello"}


def _post(server: SandboxServer, path: str, body: Any) -> httpx.Response:
    return loopback.post(server.base_url + path, json=body, headers={"API-Token": server.api_token}, timeout=10)


def test_reset_serves_a_fresh_engine_on_the_same_port(fresh_sandbox: SandboxServer) -> None:
    url, old = fresh_sandbox.base_url, fresh_sandbox.engine
    session_id = _post(fresh_sandbox, "/v1/chat/inbound", MESSAGE).json()["data"]["session_id"]
    old.inject_fault(Fault(status=503))
    new = fresh_sandbox.reset()
    assert new is fresh_sandbox.engine and new is not old and fresh_sandbox.base_url == url
    assert new.sessions == {} and new.processed == [] and new.request_count == 0
    assert (
        _post(fresh_sandbox, "/v1/chat/inbound", MESSAGE).status_code == 200
    )  # the old fault went with the old engine
    reply = _post(fresh_sandbox, "/v1/chat/inbound", {**MESSAGE, "session_id": session_id}).json()
    assert reply["data"]["session_id"] == session_id  # ids are deterministic, so the new engine re-issued it
    assert len(old.processed) == 1 and len(new.processed) == 2
    mine = Engine()
    assert fresh_sandbox.reset(mine) is mine and fresh_sandbox.engine is mine


def test_the_sandbox_fixture_is_one_server_with_a_fresh_engine(sandbox: SandboxServer) -> None:
    assert sandbox.engine.sessions == {} and sandbox.engine.request_count == 0


def test_stop_cuts_requests_still_running_and_frees_the_port(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=30))
    outcome: list[object] = []

    def slow_request() -> None:
        try:
            outcome.append(_post(fresh_sandbox, "/v1/chat/inbound", MESSAGE).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=slow_request)
    caller.start()
    while fresh_sandbox.engine.request_count == 0:
        time.sleep(0.005)
    fresh_sandbox.stop(grace=0.01)
    caller.join(timeout=5)
    assert not caller.is_alive() and isinstance(outcome[0], httpx.HTTPError)  # cut, not waited for
    with pytest.raises(httpx.ConnectError):
        loopback.get(fresh_sandbox.base_url + "/v1/active_agents", timeout=2)


def test_start_errors_surface_in_the_caller() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            SandboxServer(port=port).start()
    server = SandboxServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url
    with server, pytest.raises(RuntimeError, match="starts once"):
        server.start()


def test_cli_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    server_module.main(["--port", "0"])
    server_module.main(["--port", "0", "--access-log"])
    assert [call["access_log"] for call in calls] == [False, True]
    assert calls[0]["port"] == 0 and calls[0]["host"] == "127.0.0.1"


@pytest.mark.parametrize("access_log", [False, True])
def test_cli_logs_requests_only_when_asked(access_log: bool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, "-m", "osvi_integrations.sandbox.server", "--port", str(port)]
    process = subprocess.Popen(
        args + (["--access-log"] if access_log else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = loopback.get(f"http://127.0.0.1:{port}/v1/active_agents", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "the sandbox CLI did not start"
                time.sleep(0.05)
        assert response.status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "OSVI sandbox on" in output
    assert ("GET /v1/active_agents" in output) is access_log
