"""The server as Claude Desktop runs it: `python mcp_server.py` as a subprocess speaking MCP over stdio."""

from __future__ import annotations

import json
import os
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
from mcp_types import TextContent

from osvi_integrations.mcp_server import TOOL_NAME
from osvi_integrations.sandbox import FAULTY_AGENT, SUPPORT_AGENT, SandboxServer

LAUNCHER = Path(__file__).resolve().parents[2] / "mcp_server.py"
SESSION_TIMEOUT = 60.0


def server_env(**osvi: str) -> dict[str, str]:
    """The parent's environment minus any OSVI_* setting, plus `osvi`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    env.update(osvi)
    return env


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
        env={"OSVI_API_TOKEN": sandbox.api_token, "OSVI_BASE_URL": sandbox.base_url, "OSVI_AGENT_UUID": SUPPORT_AGENT},
    )
    with anyio.fail_after(SESSION_TIMEOUT):
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
            tools = (await client.list_tools()).tools
            assert [t.name for t in tools] == [TOOL_NAME] and tools[0].output_schema is not None
            first = await client.call_tool(TOOL_NAME, {"content": "I want a human", "customer_id": customer_id})
            assert first.structured_content is not None and first.structured_content["help_requested"] is True
            session_id = first.structured_content["session_id"]
            assert sandbox.engine.support(sandbox.api_token, session_id, {"command": "takeover"}).status == 200
            during = await client.call_tool(
                TOOL_NAME, {"content": "hello?", "customer_id": customer_id, "session_id": session_id}
            )
            failed = await client.call_tool(
                TOOL_NAME, {"content": "hi", "customer_id": customer_id, "agent_uuid": FAULTY_AGENT}
            )
    assert during.structured_content == {
        "session_id": session_id,
        "reply": None,
        "state": "default",
        "mode": "support",
        "help_requested": True,
    }
    assert isinstance(during.content[0], TextContent)
    assert "A human operator has taken over" in during.content[0].text
    assert failed.is_error and isinstance(failed.content[0], TextContent)
    assert "MAY HAVE BEEN DELIVERED" in failed.content[0].text
    stderr = read_all(errlog)
    assert sandbox.api_token not in stderr and "Traceback" not in stderr
    assert [r.content for r in sandbox.engine.processed] == ["I want a human", "hello?"]


async def test_wrong_token_never_reaches_output_or_logs(sandbox: SandboxServer, errlog: IO[str]) -> None:
    secret = "osvi-wrong-SECRET-123"
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(LAUNCHER), "--log-level", "DEBUG"],
        env={"OSVI_API_TOKEN": secret, "OSVI_BASE_URL": sandbox.base_url, "OSVI_AGENT_UUID": SUPPORT_AGENT},
    )
    with anyio.fail_after(SESSION_TIMEOUT):
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            result = await client.call_tool(TOOL_NAME, {"content": "hi", "customer_id": "+1555"})
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
            ok = await rpc.send("tools/call", {"name": TOOL_NAME, "arguments": {"content": "hi", "customer_id": "+1"}})
            bad = await rpc.send("tools/call", {"name": TOOL_NAME, "arguments": {"content": " ", "customer_id": "+1"}})
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
    assert [t["name"] for t in listed["result"]["tools"]] == [TOOL_NAME]
    assert ok["result"]["structuredContent"]["mode"] == "ai" and not ok["result"].get("isError")
    assert bad["result"]["isError"] is True
    for line in rpc.lines:
        assert json.loads(line)["jsonrpc"] == "2.0"
    for line in rest.splitlines():  # anything written after the last response must be JSON-RPC too
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert "embedded OSVI sandbox" in stderr  # human-readable output went to stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, "OSVI_API_TOKEN"),
        ([], {"OSVI_API_TOKEN": "has space"}, "api_token"),
        ([], {"OSVI_API_TOKEN": "tok", "OSVI_BASE_URL": "ftp://example.com"}, "base_url"),
        ([], {"OSVI_API_TOKEN": "tok", "OSVI_TIMEOUT": "soon"}, "OSVI_TIMEOUT"),
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
