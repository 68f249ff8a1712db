"""Streamable HTTP: bearer auth, DNS-rebinding protection, stateful and stateless modes, real uvicorn on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from osvi_integrations.errors import ConfigurationError
from osvi_integrations.mcp_server import (
    TOOL_NAME,
    HttpSettings,
    ServerConfig,
    create_http_app,
    create_server,
)
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from .test_stdio import LAUNCHER, server_env

BEARER = "mcp-bearer-for-tests-0123456789"
SESSION_TIMEOUT = 30.0

_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
_JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(app: uvicorn.config.ASGIApplication, port: int) -> Iterator[str]:
    """Serves `app` on 127.0.0.1:`port` in a daemon thread; yields the MCP endpoint URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "MCP HTTP server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(params=[False, True], ids=["stateful", "stateless"])
def stateless(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def mcp_url(sandbox: SandboxServer, stateless: bool) -> Iterator[str]:
    config = ServerConfig(
        api_token=SecretStr(sandbox.api_token), base_url=sandbox.base_url, default_agent_uuid=SUPPORT_AGENT
    )
    port = free_port()
    settings = HttpSettings(host="127.0.0.1", port=port, bearer_token=BEARER, stateless=stateless)
    with running(create_http_app(create_server(config), settings), port) as url:
        yield url


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tool_call_with_bearer(mcp_url: str, sandbox: SandboxServer, customer_id: str, mode: str) -> None:
    headers = {"Authorization": f"Bearer {BEARER}"}
    with anyio.fail_after(SESSION_TIMEOUT):
        async with (
            httpx2.AsyncClient(headers=headers, timeout=SESSION_TIMEOUT) as http,
            Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client,
        ):
            assert [t.name for t in (await client.list_tools()).tools] == [TOOL_NAME]
            first = await client.call_tool(TOOL_NAME, {"content": "hello", "customer_id": customer_id})
            second = await client.call_tool(TOOL_NAME, {"content": "thanks", "customer_id": customer_id})
    assert first.structured_content is not None and second.structured_content is not None
    # No state in the MCP server: OSVI resolved the customer's session on both calls.
    assert first.structured_content["session_id"] == second.structured_content["session_id"]
    assert [r.content for r in sandbox.engine.processed] == ["hello", "thanks"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {BEARER}", "Bearer", f"Bearer {BEARER}x"]
)
def test_requests_without_the_bearer_token_get_401(mcp_url: str, authorization: str | None) -> None:
    headers = dict(_JSON_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert BEARER not in response.text


def test_bearer_token_lets_the_request_through(mcp_url: str) -> None:
    headers = {**_JSON_HEADERS, "Authorization": f"Bearer {BEARER}"}
    response = httpx.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"Host": "evil.example.com"}, 421),
        ({"Host": "127.0.0.1:1"}, 421),  # right address, wrong port
        ({"Origin": "http://evil.example.com"}, 403),
    ],
)
def test_dns_rebinding_protection_rejects_foreign_host_or_origin(
    mcp_url: str, extra: dict[str, str], status: int
) -> None:
    headers = {**_JSON_HEADERS, "Authorization": f"Bearer {BEARER}", **extra}
    response = httpx.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == status


def test_loopback_without_a_bearer_token_is_open_but_host_checked(sandbox: SandboxServer) -> None:
    config = ServerConfig(api_token=SecretStr(sandbox.api_token), base_url=sandbox.base_url)
    port = free_port()
    with running(create_http_app(create_server(config), HttpSettings(port=port)), port) as url:
        ok = httpx.post(url, json=_INITIALIZE, headers=_JSON_HEADERS, timeout=10)
        rebound = httpx.post(url, json=_INITIALIZE, headers={**_JSON_HEADERS, "Host": "attacker.test"}, timeout=10)
    assert ok.status_code == 200 and rebound.status_code == 421


def test_transport_security_is_derived_from_the_bind_address() -> None:
    local = HttpSettings(host="127.0.0.1", port=8123).transport_security()
    assert local.enable_dns_rebinding_protection
    assert set(local.allowed_hosts) == {"127.0.0.1:8123", "localhost:8123", "[::1]:8123"}
    assert "http://localhost:8123" in local.allowed_origins
    exposed = HttpSettings(
        host="10.1.2.3", port=9000, bearer_token="t", extra_allowed_hosts=("mcp.example.com", "proxy:8443")
    ).transport_security()
    assert set(exposed.allowed_hosts) == {"10.1.2.3:9000", "mcp.example.com", "mcp.example.com:9000", "proxy:8443"}
    assert "https://mcp.example.com" in exposed.allowed_origins and "localhost:9000" not in exposed.allowed_hosts
    wildcard = HttpSettings(host="0.0.0.0", port=9000, bearer_token="t", extra_allowed_hosts=("a.example",))
    assert "0.0.0.0:9000" not in wildcard.transport_security().allowed_hosts


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (HttpSettings(host="10.1.2.3"), "OSVI_MCP_BEARER_TOKEN"),
        (HttpSettings(host="::", bearer_token="t"), "OSVI_MCP_ALLOWED_HOSTS"),
    ],
)
def test_exposed_binds_need_explicit_settings(settings: HttpSettings, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings.check()
    HttpSettings(host="localhost").check()  # loopback needs nothing


def test_command_line_http_server_with_sandbox(customer_id: str) -> None:
    """`mcp_server.py --transport http --sandbox` end to end, including shutdown on SIGINT."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--transport", "http", "--port", str(port), "--sandbox"],
        env=server_env(OSVI_MCP_BEARER_TOKEN=BEARER),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(url, json=_INITIALIZE, headers=_JSON_HEADERS, timeout=5)
                break
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline, "server did not come up"
                time.sleep(0.05)
        assert response.status_code == 401

        async def session() -> str:
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {BEARER}"}) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                result = await client.call_tool(TOOL_NAME, {"content": "hello", "customer_id": customer_id})
                assert result.structured_content is not None
                return str(result.structured_content["reply"])

        assert "sandbox assistant" in anyio.run(session)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert BEARER not in stderr and "Traceback" not in stderr
    assert f"http://127.0.0.1:{port}/mcp" in stderr


def test_websocket_upgrades_are_refused_by_the_bearer_gate(sandbox: SandboxServer) -> None:
    config = ServerConfig(api_token=SecretStr(sandbox.api_token), base_url=sandbox.base_url)
    app = create_http_app(create_server(config), HttpSettings(bearer_token=BEARER))
    with pytest.raises(WebSocketDisconnect) as info, TestClient(app).websocket_connect("/mcp"):
        pass
    assert info.value.code == 1008
