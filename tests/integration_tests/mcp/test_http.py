"""Streamable HTTP: bearer auth, DNS-rebinding protection, stateful and stateless modes, progress over
the event stream, and two stateless replicas behind a (simulated) load balancer. Real uvicorn on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from osvi_integrations.errors import ConfigurationError
from osvi_integrations.mcp_server import HttpSettings, create_http_app, create_server, transport_security
from osvi_integrations.sandbox import SUPPORT_AGENT, Fault, SandboxServer
from osvi_integrations.sandbox.server import PromptServer

from ... import loopback
from .conftest import checked, server_env, settings_for, text_of
from .test_stdio import LAUNCHER

BEARER = "mcp-bearer-for-tests-0123456789"
SESSION_TIMEOUT = 30.0
PUBLIC_NAME = "mcp.example.test"  # the load balancer's name, as clients address it

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
    server = PromptServer(config)  # the sandbox's uvicorn server: stops in milliseconds, not after 0.1 s polls
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "MCP HTTP server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.request_exit()
        thread.join(timeout=10)


@asynccontextmanager
async def http_client(url: str, *, mode: str = "legacy", **httpx_options: Any) -> AsyncIterator[Client]:
    with anyio.fail_after(SESSION_TIMEOUT):
        async with (
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {BEARER}"},
                timeout=SESSION_TIMEOUT,
                verify=loopback.TLS,
                **httpx_options,
            ) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            yield client


@pytest.fixture(params=[False, True], ids=["stateful", "stateless"])
def stateless(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def mcp_url(sandbox: SandboxServer, stateless: bool) -> Iterator[str]:
    port = free_port()
    settings = HttpSettings(host="127.0.0.1", port=port, bearer_token=BEARER, stateless=stateless)
    server = create_server(settings_for(sandbox, operator_tools=True, progress_interval=0.1))
    with running(create_http_app(server, settings), port) as url:
        yield url


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tool_calls_with_bearer(mcp_url: str, sandbox: SandboxServer, customer_id: str, mode: str) -> None:
    async with http_client(mcp_url, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        first = checked(
            await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id}),
            tools["send_message"],
        )
        second = checked(
            await client.call_tool("send_message", {"content": "thanks", "customer_id": customer_id}),
            tools["send_message"],
        )
        closed = await client.call_tool("close_session", {"session_id": first["session_id"]})
    # No state in the MCP server: OSVI resolved the customer's session on both calls.
    assert first["session_id"] == second["session_id"] and not closed.is_error
    assert [r.content for r in sandbox.engine.processed] == ["hello", "thanks"]


async def test_progress_over_the_event_stream(mcp_url: str, sandbox: SandboxServer, customer_id: str) -> None:
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=0.8))
    received: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append(progress)

    async with http_client(mcp_url) as client:
        result = await client.call_tool(
            "send_message", {"content": "hello", "customer_id": customer_id}, progress_callback=on_progress
        )
    assert not result.is_error and "sandbox assistant" in text_of(result)
    assert len(received) >= 4 and received == sorted(received)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {BEARER}", "Bearer", f"Bearer {BEARER}x"]
)
def test_requests_without_the_bearer_token_get_401(mcp_url: str, authorization: str | None) -> None:
    headers = dict(_JSON_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    response = loopback.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert BEARER not in response.text


def test_the_health_check_needs_no_credentials(mcp_url: str) -> None:
    health = mcp_url.removesuffix("/mcp") + "/healthz"
    response = loopback.get(health, headers={"Host": "10.0.0.7:8000"}, timeout=10)  # as a balancer probes a replica
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert loopback.post(health, timeout=10).status_code == 401  # only GET/HEAD skips the bearer check


def test_bearer_token_lets_the_request_through(mcp_url: str) -> None:
    headers = {**_JSON_HEADERS, "Authorization": f"Bearer {BEARER}"}
    response = loopback.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
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
    response = loopback.post(mcp_url, json=_INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == status


def test_loopback_without_a_bearer_token_is_open_but_host_checked(sandbox: SandboxServer) -> None:
    port = free_port()
    with running(create_http_app(create_server(settings_for(sandbox)), HttpSettings(port=port)), port) as url:
        ok = loopback.post(url, json=_INITIALIZE, headers=_JSON_HEADERS, timeout=10)
        rebound = loopback.post(url, json=_INITIALIZE, headers={**_JSON_HEADERS, "Host": "attacker.test"}, timeout=10)
    assert ok.status_code == 200 and rebound.status_code == 421


async def test_plain_json_responses(sandbox: SandboxServer, customer_id: str) -> None:
    port = free_port()
    settings = HttpSettings(port=port, bearer_token=BEARER, stateless=True, json_response=True)
    with running(create_http_app(create_server(settings_for(sandbox)), settings), port) as url:
        raw = loopback.post(url, json=_INITIALIZE, headers={**_JSON_HEADERS, "Authorization": f"Bearer {BEARER}"})
        async with http_client(url) as client:
            result = await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
    assert raw.headers["content-type"].startswith("application/json")
    assert not result.is_error


def test_transport_security_is_derived_from_the_bind_address() -> None:
    local = transport_security(HttpSettings(host="127.0.0.1", port=8123))
    assert local.enable_dns_rebinding_protection
    assert set(local.allowed_hosts) == {"127.0.0.1:8123", "localhost:8123", "[::1]:8123"}
    assert "http://localhost:8123" in local.allowed_origins
    exposed = transport_security(
        HttpSettings(
            host="10.1.2.3", port=9000, bearer_token="t", extra_allowed_hosts=("mcp.example.com", "proxy:8443")
        )
    )
    assert set(exposed.allowed_hosts) == {"10.1.2.3:9000", "mcp.example.com", "mcp.example.com:9000", "proxy:8443"}
    assert "https://mcp.example.com" in exposed.allowed_origins and "localhost:9000" not in exposed.allowed_hosts
    wildcard = HttpSettings(host="0.0.0.0", port=9000, bearer_token="t", extra_allowed_hosts=("a.example",))
    assert "0.0.0.0:9000" not in transport_security(wildcard).allowed_hosts


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


def test_websocket_upgrades_are_refused_by_the_bearer_gate(sandbox: SandboxServer) -> None:
    app = create_http_app(create_server(settings_for(sandbox)), HttpSettings(bearer_token=BEARER))
    with pytest.raises(WebSocketDisconnect) as info, TestClient(app).websocket_connect("/mcp"):
        pass
    assert info.value.code == 1008


# -- the command line, and replicas ----------------------------------------------------------------------


@contextmanager
def cli_server(*args: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`mcp_server.py --transport http` in a subprocess; yields its URL once it answers. Stopped with SIGINT."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--transport", "http", "--port", str(port), *args],
        env=server_env(OSVI_MCP_BEARER_TOKEN=BEARER, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                loopback.post(url, json=_INITIALIZE, headers=_JSON_HEADERS, timeout=5)
                break
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline, "server did not come up"
                time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


def test_command_line_http_server_with_sandbox(customer_id: str) -> None:
    """`mcp_server.py --transport http --sandbox` end to end, including shutdown on SIGINT."""
    with cli_server("--sandbox") as (url, process):
        assert loopback.post(url, json=_INITIALIZE, headers=_JSON_HEADERS, timeout=5).status_code == 401

        async def session() -> str:
            async with http_client(url) as client:
                result = await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
                assert result.structured_content is not None
                return str(result.structured_content["reply"])

        assert "sandbox assistant" in anyio.run(session)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert BEARER not in stderr and "Traceback" not in stderr
    assert f"serving MCP on {url}" in stderr


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer in the client: each request goes to the next replica, keeping the public Host header."""

    def __init__(self, replicas: list[str]) -> None:
        self._replicas = [httpx2.URL(url) for url in replicas]
        self._inner = httpx2.AsyncHTTPTransport()
        self.served: list[int] = []  # replica index of each request

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = len(self.served) % len(self._replicas)
        self.served.append(index)
        replica = self._replicas[index]
        request.url = request.url.copy_with(host=replica.host, port=replica.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(scope="module")
def stateless_replicas(shared_sandbox: SandboxServer) -> Iterator[list[str]]:
    """Two `--stateless` server processes on the run's sandbox, shared by the protocol eras below (each test
    still gets a fresh engine through `sandbox`: same server, same URL). Replicas keep no state to share."""
    env = {
        "OSVI_API_TOKEN": shared_sandbox.api_token,
        "OSVI_BASE_URL": shared_sandbox.base_url,
        "OSVI_AGENT_UUID": SUPPORT_AGENT,
        "OSVI_MCP_ALLOWED_HOSTS": PUBLIC_NAME,
    }
    with cli_server("--stateless", **env) as (first, _), cli_server("--stateless", **env) as (second, _):
        yield [first, second]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_stateless_replicas_behind_a_load_balancer(
    stateless_replicas: list[str], sandbox: SandboxServer, customer_id: str, mode: str
) -> None:
    """Two `--stateless` server processes; one client's requests alternate between them, as a load balancer
    without session affinity would send them. The conversation carries on because no replica holds state."""
    balancer = RoundRobin(stateless_replicas)

    async def conversation() -> list[dict[str, Any]]:
        async with http_client(f"http://{PUBLIC_NAME}/mcp", mode=mode, transport=balancer) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            results = []
            for text in ("hello", "Where is my order?", "It's 20417", "thanks"):
                result = await client.call_tool("send_message", {"content": text, "customer_id": customer_id})
                results.append(checked(result, tools["send_message"]))
            return results

    results = anyio.run(conversation)
    assert len({r["session_id"] for r in results}) == 1
    assert [r.content for r in sandbox.engine.processed] == ["hello", "Where is my order?", "It's 20417", "thanks"]
    # Both replicas served requests, including tool calls, alternately.
    assert set(balancer.served) == {0, 1} and balancer.served == [i % 2 for i in range(len(balancer.served))]
    assert len(balancer.served) >= 5
