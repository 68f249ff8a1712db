"""The MCP server's figures, for bench/benchmark.py (which runs them inside its loopback server's lifetime).

- One `tools/call` of send_message, CPU per call:
  embedded: `create_server()` against fastmcp's `FastMCP.from_openapi(spec, client=httpx2.AsyncClient())`
  built from spec/send_message.openapi.yaml, each driven by the SDK's in-process client (`mcp.Client`,
  both protocol eras: the framed initialize handshake, "legacy", and direct dispatch, "auto"), the whole
  process's CPU (client and server alike);
  as the CLI: `python mcp_server.py` against the same fastmcp server run over stdio, driven over its pipes
  by this script, the server process's own CPU (every thread, from /proc/<pid>/task/*/schedstat).
  Both sides send to the same loopback server, which answers at once.
- Start-up: process spawn -> initialize -> tools/list answered, over stdio, for `python mcp_server.py
  --sandbox`, `python mcp_server.py` with a token and a loopback base URL, and a minimal MCPServer script
  with one trivial tool (bench/mcp_minimal_server.py).

fastmcp (4.x, which needs fastmcp-slim) goes into its own virtualenv, .venv-bench-fastmcp, with the
packages it shares with this project pinned to this environment's versions (mcp, mcp-types, pydantic,
httpx2...), so that both sides run the same SDK. Its side runs in that venv's Python, as a subprocess.
Each measurement is a fresh process; sides alternate; the figures are medians.

    python bench/mcp_bench.py call-worker SIDE BASE_URL MODE CALLS ROUNDS   # one embedded measurement
    python bench/mcp_bench.py fastmcp-serve BASE_URL                        # fastmcp's server over stdio
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from common import cpu_ns

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "spec" / "send_message.openapi.yaml"
LAUNCHER = ROOT / "mcp_server.py"
MINIMAL_SERVER = HERE / "mcp_minimal_server.py"
FASTMCP_VENV = ROOT / ".venv-bench-fastmcp"
#: Installed in fastmcp's venv at this environment's versions (those present here), so both sides share them.
SHARED = ("mcp", "mcp-types", "pydantic", "pydantic-core", "anyio", "httpx2", "httpcore2", "starlette", "pyyaml")
TOKEN = "bench-token"
AGENT = "agent_IsZ3Q6Sf_60Eh26XQMGbz-R_og"
ARGUMENTS = {"agent_uuid": AGENT, "customer_id": "+15551112222", "content": "Where is my order?"}
HANDSHAKE = "2025-11-25"
EMBEDDED_MODES = ("legacy", "auto")


# -- fastmcp's virtualenv ------------------------------------------------------------------------------


def fastmcp_python(create: bool) -> tuple[str | None, str]:
    """(python of fastmcp's venv, note). Creates or refreshes the venv when `create` (a full run)."""
    python = FASTMCP_VENV / "bin" / "python"
    pins = []
    for name in SHARED:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    wanted = " ".join(["fastmcp>=4", *pins])
    stamp = FASTMCP_VENV / ".installed"
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        if not create:
            return None, f"fastmcp not measured: no {FASTMCP_VENV.name} (a full `./run bench` creates it)"
        try:
            if not python.exists():
                subprocess.run([sys.executable, "-m", "venv", str(FASTMCP_VENV)], check=True, timeout=300)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            done = subprocess.run([*pip, *wanted.split()], capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"fastmcp not measured: its venv could not be made ({exc})"
        if done.returncode != 0:
            return None, f"fastmcp not measured: pip failed ({done.stderr.strip()[-300:]})"
        stamp.write_text(wanted)
    probe = subprocess.run(
        [str(python), "-c", "import fastmcp, mcp.server; print(fastmcp.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0:
        return None, f"fastmcp not measured: it does not import ({probe.stderr.strip()[-300:]})"
    return str(python), f"fastmcp {probe.stdout.strip()} in {FASTMCP_VENV.name}, with {', '.join(pins)}"


# -- embedded: one process drives its own server in-process ----------------------------------------------


def _embedded_server(side: str, base_url: str) -> tuple[Any, str | None]:
    """(server to hand to mcp.Client, tool name or None to take the only one listed)."""
    if side == "osvi":
        from osvi_integrations.mcp_server import ServerSettings, create_server

        settings = ServerSettings.build(api_token=TOKEN, base_url=base_url, default_agent_uuid=AGENT, env={})
        return create_server(settings), "send_message"
    import httpx2
    import yaml

    fastmcp: Any = importlib.import_module("fastmcp")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    client = httpx2.AsyncClient(base_url=base_url, headers={"API-Token": TOKEN})
    server = fastmcp.FastMCP.from_openapi(spec, client=client, name="osvi-openapi")
    return server._mcp_server, None  # its SDK-level server, for the SDK's in-process client


def call_worker(side: str, base_url: str, mode: str, calls: int, rounds: int) -> dict[str, Any]:
    """CPU per tools/call (this process: client and server) over `rounds` rounds of `calls` calls."""
    import anyio
    from mcp import Client

    server, name = _embedded_server(side, base_url)
    report: dict[str, Any] = {}

    async def run() -> None:
        async with Client(server, mode=mode) as client:
            tool = name or (await client.list_tools()).tools[0].name
            for _ in range(20):  # warm-up: pools, caches, first-use imports
                result = await client.call_tool(tool, ARGUMENTS)
                if result.is_error:
                    raise RuntimeError(f"{side}: the tool call failed: {result.content}")
            samples = []
            for _ in range(rounds):
                cpu = time.process_time()
                for _ in range(calls):
                    await client.call_tool(tool, ARGUMENTS)
                samples.append((time.process_time() - cpu) / calls * 1e6)
            report["us"] = samples

    anyio.run(run)
    return report


def embedded(side: str, python: str, base_url: str, mode: str, calls: int, rounds: int) -> list[float]:
    args = [python, __file__, "call-worker", side, base_url, mode, str(calls), str(rounds)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_clean_env())
    if done.returncode != 0:
        raise RuntimeError(f"{side} ({mode}): {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    samples: list[float] = json.loads(done.stdout.strip().splitlines()[-1])["us"]
    return samples


# -- over stdio: the server as its own process -------------------------------------------------------------


def fastmcp_serve(base_url: str) -> None:
    """fastmcp's server from the spec, over stdio (run in fastmcp's venv)."""
    import httpx2
    import yaml

    fastmcp: Any = importlib.import_module("fastmcp")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    client = httpx2.AsyncClient(base_url=base_url, headers={"API-Token": TOKEN})
    fastmcp.FastMCP.from_openapi(spec, client=client, name="osvi-openapi").run("stdio", show_banner=False)


class StdioSession:
    """A server process spoken to in JSON-RPC lines over its pipes (no client library in the way)."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self._next_id = 0

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)
        stdout: IO[bytes] | None = self.process.stdout
        assert stdout is not None
        while True:  # notifications (logging, progress) are skipped
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"the server closed its output during {method}")
            answer: dict[str, Any] = json.loads(line)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    def notify(self, method: str) -> None:
        self._write({"jsonrpc": "2.0", "method": method})

    def _write(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def open(self) -> list[dict[str, Any]]:
        """initialize, initialized, tools/list: the tools."""
        self.request(
            "initialize",
            {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        )
        self.notify("notifications/initialized")
        tools: list[dict[str, Any]] = self.request("tools/list")["tools"]
        return tools

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def stdio_calls(command: list[str], env: dict[str, str], calls: int) -> float:
    """The server process's CPU per tools/call, in µs."""
    session = StdioSession(command, env)
    try:
        tools = session.open()
        name = "send_message" if any(t["name"] == "send_message" for t in tools) else tools[0]["name"]
        for _ in range(20):
            if session.request("tools/call", {"name": name, "arguments": ARGUMENTS}).get("isError"):
                raise RuntimeError(f"{command[-1]}: the tool call failed")
        before = cpu_ns(session.process.pid)
        for _ in range(calls):
            session.request("tools/call", {"name": name, "arguments": ARGUMENTS})
        return (cpu_ns(session.process.pid) - before) / calls / 1000
    finally:
        session.close()


def spawn_to_tools_list(command: list[str], env: dict[str, str]) -> float:
    """Milliseconds from spawning the server to its tools/list answer."""
    started = time.perf_counter()
    session = StdioSession(command, env)
    try:
        session.open()
        return (time.perf_counter() - started) * 1000
    finally:
        session.close()


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OSVI_", "FASTMCP_"))}
    env.update(extra)
    return env


# -- the whole section --------------------------------------------------------------------------------------


def _alternating(rounds: int, sides: list[str], measure: Callable[[str], Any]) -> dict[str, list[Any]]:
    samples: dict[str, list[Any]] = {side: [] for side in sides}
    for round_number in range(rounds):
        for side in sides if round_number % 2 == 0 else sides[::-1]:
            samples[side].append(measure(side))
    return samples


def run(base_url: str, quick: bool) -> dict[str, Any]:
    """Every MCP figure against the loopback server at `base_url` (answering at once)."""
    fastmcp, note = fastmcp_python(create=not quick)
    print(f"mcp: {note}", file=sys.stderr)
    pythons = {"osvi": sys.executable} | ({"fastmcp": fastmcp} if fastmcp else {})
    sides = list(pythons)
    processes, calls, rounds = (1, 20, 1) if quick else (3, 150, 3)
    report: dict[str, Any] = {"fastmcp": note, "tool_call_us": {}, "startup_ms": {}}

    for mode in EMBEDDED_MODES:

        def measure(side: str, mode: str = mode) -> list[float]:
            return embedded(side, pythons[side], base_url, mode, calls, rounds)

        per_side = _alternating(processes, sides, measure)
        report["tool_call_us"][f"embedded ({mode})"] = {
            side: statistics.median(x for run in runs for x in run) for side, runs in per_side.items()
        }

    commands = {
        "osvi": ([sys.executable, str(LAUNCHER)], _clean_env(OSVI_API_TOKEN=TOKEN, OSVI_BASE_URL=base_url)),
    }
    if fastmcp:
        commands["fastmcp"] = ([fastmcp, __file__, "fastmcp-serve", base_url], _clean_env())
    stdio = _alternating(processes, sides, lambda side: stdio_calls(*commands[side], calls=40 if quick else 400))
    report["tool_call_us"]["stdio (the CLI; server process only)"] = {
        side: statistics.median(values) for side, values in stdio.items()
    }
    for figures in report["tool_call_us"].values():
        if "fastmcp" in figures:
            figures["ratio"] = figures["osvi"] / figures["fastmcp"]

    starts = {
        "minimal MCPServer (one tool)": ([sys.executable, str(MINIMAL_SERVER)], _clean_env()),
        "osvi --sandbox": ([sys.executable, str(LAUNCHER), "--sandbox"], _clean_env()),
        "osvi (token, loopback base URL)": (
            [sys.executable, str(LAUNCHER)],
            _clean_env(OSVI_API_TOKEN="dummy-token", OSVI_BASE_URL=base_url),
        ),
    }
    spawns = _alternating(1 if quick else 15, list(starts), lambda name: spawn_to_tools_list(*starts[name]))
    report["startup_ms"] = {name: statistics.median(values) for name, values in spawns.items()}
    return report


def main(argv: list[str]) -> None:
    if argv and argv[0] == "call-worker":
        side, base_url, mode, calls, rounds = argv[1:6]
        print(json.dumps(call_worker(side, base_url, mode, int(calls), int(rounds))))
    elif argv and argv[0] == "fastmcp-serve":
        fastmcp_serve(argv[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
