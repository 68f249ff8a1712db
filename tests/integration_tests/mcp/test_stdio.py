"""The server as Claude Desktop runs it: `python mcp_server.py` as a subprocess speaking MCP over stdio."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import FAULTY_AGENT, SUPPORT_AGENT, Fault, SandboxServer

from .conftest import checked, server_env, text_of

LAUNCHER = Path(__file__).resolve().parents[3] / "mcp_server.py"
SESSION_TIMEOUT = 60.0
# The server as `osvi-mcp` runs it, with progress notifications every 0.1 s instead of every 5 s.
PROGRESS_EVERY_TENTH_SECOND = (
    "from osvi_integrations.mcp_server import ServerSettings, create_server; "
    "create_server(ServerSettings.build(progress_interval=0.1)).run('stdio')"
)


@pytest.fixture
def errlog() -> Iterator[IO[str]]:
    with tempfile.TemporaryFile("w+", encoding="utf-8") as f:
        yield f


def read_all(f: IO[str]) -> str:
    f.flush()
    f.seek(0)
    return f.read()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stdio_session_against_a_configured_account(
    sandbox: SandboxServer, customer_id: str, errlog: IO[str], mode: str
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(LAUNCHER), "--log-level", "DEBUG"],
        env={
            "OSVI_API_TOKEN": sandbox.api_token,
            "OSVI_BASE_URL": sandbox.base_url,
            "OSVI_AGENT_UUID": SUPPORT_AGENT,
            "OSVI_MCP_OPERATOR_TOOLS": "1",
        },
    )
    with anyio.fail_after(SESSION_TIMEOUT):
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert list(tools) == [op.name for op in OPERATIONS]  # OSVI_MCP_OPERATOR_TOOLS=1 opted in
            first = await client.call_tool("send_message", {"content": "I want a human", "customer_id": customer_id})
            session_id = checked(first, tools["send_message"])["session_id"]
            taken = await client.call_tool("takeover_session", {"session_id": session_id})
            checked(taken, tools["takeover_session"])
            during = await client.call_tool(
                "send_message", {"content": "hello?", "customer_id": customer_id, "session_id": session_id}
            )
            failed = await client.call_tool(
                "send_message", {"content": "hi", "customer_id": customer_id, "agent_uuid": FAULTY_AGENT}
            )
    data = checked(during, tools["send_message"])
    assert {k: data[k] for k in ("session_id", "reply", "mode", "help_requested", "human_has_taken_over")} == {
        "session_id": session_id,
        "reply": None,
        "mode": "support",
        "help_requested": True,
        "human_has_taken_over": True,
    }
    assert "A human operator has taken over" in text_of(during) and "A human operator has taken over" in data["summary"]
    assert failed.is_error and "MAY ALREADY HAVE TAKEN EFFECT" in text_of(failed)
    stderr = read_all(errlog)
    assert sandbox.api_token not in stderr and "Traceback" not in stderr
    assert [r.content for r in sandbox.engine.processed] == ["I want a human", "hello?"]


async def test_progress_reaches_a_stdio_client(sandbox: SandboxServer, customer_id: str, errlog: IO[str]) -> None:
    """Over the real transport: a reply slower than the progress interval brings notifications/progress."""
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=1.5))
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", PROGRESS_EVERY_TENTH_SECOND],
        env={"OSVI_API_TOKEN": sandbox.api_token, "OSVI_BASE_URL": sandbox.base_url, "OSVI_AGENT_UUID": SUPPORT_AGENT},
    )
    received: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append(progress)

    with anyio.fail_after(SESSION_TIMEOUT):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            result = await client.call_tool(
                "send_message", {"content": "hi", "customer_id": customer_id}, progress_callback=on_progress
            )
    assert not result.is_error and len(received) >= 5 and received == sorted(received)


async def test_wrong_token_never_reaches_output_or_logs(sandbox: SandboxServer, errlog: IO[str]) -> None:
    secret = "osvi-wrong-SECRET-123"
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(LAUNCHER), "--log-level", "DEBUG"],
        env={"OSVI_API_TOKEN": secret, "OSVI_BASE_URL": sandbox.base_url, "OSVI_AGENT_UUID": SUPPORT_AGENT},
    )
    with anyio.fail_after(SESSION_TIMEOUT):
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            result = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
    assert result.is_error and "HTTP 401" in result.model_dump_json()
    assert secret not in result.model_dump_json()
    stderr = read_all(errlog)
    assert "osvi_integrations" in stderr  # debug logging was on, and went to stderr
    assert secret not in stderr


class RawSession:
    """Hand-written JSON-RPC over the subprocess's pipes: sees every byte the server writes to stdout."""

    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.stdout = BufferedByteReceiveStream(process.stdout)
        self.lines: list[bytes] = []
        self._next_id = 0

    async def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> Any:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._next_id += 1
            message["id"] = self._next_id
        await self.stdin.send(json.dumps(message).encode() + b"\n")
        if notify:
            return None
        while True:  # skip server notifications (log messages) until our response arrives
            line = await self.stdout.receive_until(b"\n", 1 << 20)
            self.lines.append(line)
            payload = json.loads(line)
            if payload.get("id") == self._next_id:
                return payload


async def test_stdout_carries_nothing_but_json_rpc() -> None:
    command = [sys.executable, str(LAUNCHER), "--sandbox", "--log-level", "DEBUG"]
    with anyio.fail_after(SESSION_TIMEOUT):
        async with await anyio.open_process(command, env=server_env()) as process:
            rpc = RawSession(process)
            init = await rpc.send(
                "initialize",
                {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "raw-test", "version": "0"},
                },
            )
            assert init["result"]["serverInfo"]["name"] == "osvi"
            await rpc.send("notifications/initialized", notify=True)
            listed = await rpc.send("tools/list")
            ok = await rpc.send(
                "tools/call", {"name": "send_message", "arguments": {"content": "hi", "customer_id": "+1"}}
            )
            bad = await rpc.send("tools/call", {"name": "send_message", "arguments": {"customer_id": "+1"}})
            assert process.stdin is not None
            await process.stdin.aclose()  # EOF: the server shuts down
            assert await process.wait() == 0
            rest = b""
            try:
                while True:
                    rest += await rpc.stdout.receive()
            except anyio.EndOfStream:
                pass
            assert process.stderr is not None
            stderr = b"".join([chunk async for chunk in process.stderr]).decode()
    assert [t["name"] for t in listed["result"]["tools"]] == [op.name for op in OPERATIONS if not op.operator]
    assert ok["result"]["structuredContent"]["mode"] == "ai" and not ok["result"].get("isError")
    assert bad["result"]["isError"] is True
    assert bad["result"]["content"][0]["text"] == "Invalid argument content: is required. Nothing was sent."
    for line in rpc.lines:
        assert json.loads(line)["jsonrpc"] == "2.0"
    for line in rest.splitlines():  # anything written after the last response must be JSON-RPC too
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert "embedded OSVI sandbox" in stderr  # human-readable output went to stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, "Set OSVI_API_TOKEN to your token"),
        ([], {"OSVI_API_TOKEN": "has space"}, "OSVI_API_TOKEN: contains whitespace"),
        ([], {"OSVI_API_TOKEN": "tok", "OSVI_BASE_URL": "ftp://example.com"}, "OSVI_BASE_URL: expected an http(s) URL"),
        ([], {"OSVI_API_TOKEN": "tok", "OSVI_TIMEOUT": "soon"}, "OSVI_TIMEOUT: expected a positive number"),
        ([], {"OSVI_API_TOKEN": "tok", "OSVI_MCP_OPERATOR_TOOLS": "maybe"}, "OSVI_MCP_OPERATOR_TOOLS: expected"),
        (["--transport", "http", "--host", "10.0.0.1", "--sandbox"], {}, "OSVI_MCP_BEARER_TOKEN"),
        (
            ["--transport", "http", "--host", "0.0.0.0", "--sandbox"],
            {"OSVI_MCP_BEARER_TOKEN": "b"},
            "OSVI_MCP_ALLOWED_HOSTS",
        ),
    ],
)
def test_bad_configuration_fails_fast_with_one_clear_line(args: list[str], env: dict[str, str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, str(LAUNCHER), *args],
        env=server_env(**env),
        stdin=subprocess.DEVNULL,  # a server that started serving would exit 0 on EOF, not 2
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osvi-mcp: configuration error:") and expected in lines[0]
    assert "has space" not in done.stderr


def test_a_missing_token_tells_a_person_where_to_set_it() -> None:
    done = subprocess.run(
        [sys.executable, str(LAUNCHER)],
        env=server_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    message = done.stderr.strip()
    assert "claude_desktop_config.json" in message and "export OSVI_API_TOKEN=" in message and "--sandbox" in message
    assert "api_token=" not in message  # no Python argument for a person who configured a desktop app
