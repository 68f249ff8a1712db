"""The sandbox under load, as users point their own load tests at it (`python -m osvi_integrations.sandbox.server`,
its CLI, with its defaults: access log off). Called by benchmark.py; also runs alone: `python bench/sandbox_bench.py`.

- Scaling: messages from new customers (each one opens a session) over the first 2,000 sessions, and
  over 2,000 more once 6,000 exist: rate and server CPU per message; and the server's resident memory
  per session kept. The windows are as long as the interval between two full garbage collections
  (each ~20 ms at 6,000 sessions): a 300-message window reads 25% slower when it happens to hold one.
- Throughput: the sandbox's `POST /v1/chat/inbound` against a bare Starlette app on uvicorn (uvicorn's
  defaults) serving the same route: the body read and decoded, a reply of the same shape encoded. Both
  under the same load (aiohttp, 16 concurrent sends on kept-alive connections), rounds alternating.

Each server is a process of its own; its CPU comes from /proc/<pid>/task/*/schedstat.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from common import cpu_ns, rss_kb

TOKEN = "osvi-sandbox-key"
AGENT = "agent_sandbox_support"
CONCURRENCY = 16

BARE_APP = """
import json, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def inbound(request):
    body = json.loads(await request.body())
    return JSONResponse({"success": True, "data": {
        "session_id": "4718a326-417b-4dda-90d0-21fd65a11cb8", "reply": "Thanks, " + body["content"],
        "state": "default", "mode": "ai", "help_requested": False}})

app = Starlette(routes=[Route("/v1/chat/inbound", inbound, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[-1]} did not start") from None
                time.sleep(0.02)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _send(port: int, customers: list[str], session: Any = None) -> float:
    """Sends one message per entry of `customers` (16 at a time); the seconds it took. Without a
    `session`, on connections of its own."""
    import aiohttp

    if session is None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as own:
            return await _send(port, customers, own)
    url = f"http://127.0.0.1:{port}/v1/chat/inbound"
    headers = {"API-Token": TOKEN, "Content-Type": "application/json"}
    queue = iter(customers)

    async def worker() -> None:
        for customer in queue:
            body = json.dumps({"agent_uuid": AGENT, "customer_id": customer, "content": "Where is my order?"})
            async with session.post(url, data=body, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {(await response.text())[:200]}")
                await response.read()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


def scaling(first: int = 2000, fill: int = 6000, repeats: int = 3) -> dict[str, Any]:
    """New-customer messages over the first `first` sessions and over `first` more once `fill` exist: rate
    and server CPU per message (each phase takes a fraction of a second: medians of fresh servers)."""
    runs = [_scaling_once(first, fill) for _ in range(repeats)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]} | {"repeats": repeats}


def _scaling_once(first: int, fill: int) -> dict[str, Any]:
    port = _free_port()
    command = [sys.executable, "-m", "osvi_integrations.sandbox.server", "--port", str(port)]
    with _server(command, port) as process:

        async def phases() -> dict[str, float]:
            import aiohttp

            pid = process.pid
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
                await _send(port, [f"+1554{n:07d}" for n in range(100)], session)  # warm up, connections open
                rss_start, cpu = rss_kb(pid), cpu_ns(pid)
                early = await _send(port, [f"+1555{n:07d}" for n in range(first)], session)
                early_cpu = cpu_ns(pid) - cpu
                await _send(port, [f"+1556{n:07d}" for n in range(fill - first - 100)], session)
                rss_full, cpu = rss_kb(pid), cpu_ns(pid)
                late = await _send(port, [f"+1557{n:07d}" for n in range(first)], session)
                late_cpu = cpu_ns(pid) - cpu
            return {
                "rate_first": first / early,
                "rate_after": first / late,
                "cpu_us_first": early_cpu / first / 1000,
                "cpu_us_after": late_cpu / first / 1000,
                "rss_kb_per_session": (rss_full - rss_start) / (fill - 100),
            }

        figures = asyncio.run(phases())
    # The ratio is of the server's CPU per message (what the engine's bookkeeping costs): the rate of a
    # phase this short also moves with the load generator sharing the 2 cores.
    ratio = figures["cpu_us_first"] / figures["cpu_us_after"]
    return {"first_sessions": first, "filled_to": fill, **figures, "ratio": ratio}


def throughput(requests: int = 4000, rounds: int = 7) -> dict[str, Any]:
    """Requests/s and server CPU per request: the sandbox CLI against bare Starlette on uvicorn."""
    customers = [f"+1555{n % 64:07d}" for n in range(requests)]  # 64 conversations, each with many turns
    samples: dict[str, list[tuple[float, float]]] = {"sandbox": [], "bare": []}
    for round_number in range(rounds):
        sides = list(samples) if round_number % 2 == 0 else list(samples)[::-1]
        for side in sides:
            port = _free_port()
            if side == "sandbox":
                command = [sys.executable, "-m", "osvi_integrations.sandbox.server", "--port", str(port)]
            else:
                command = [sys.executable, "-c", BARE_APP, str(port)]
            with _server(command, port) as process:
                asyncio.run(_send(port, customers[:300]))  # warm up
                before = cpu_ns(process.pid)
                seconds = asyncio.run(_send(port, customers))
                cpu_ms = (cpu_ns(process.pid) - before) / requests / 1e6
            samples[side].append((requests / seconds, cpu_ms))
    report: dict[str, Any] = {"requests": requests, "rounds": rounds, "concurrency": CONCURRENCY}
    for side, values in samples.items():
        report[side] = {
            "rps": statistics.median(rps for rps, _ in values),
            "server_cpu_ms_per_request": statistics.median(cpu for _, cpu in values),
        }
    report["ratio"] = report["sandbox"]["rps"] / report["bare"]["rps"]
    return report


def run(quick: bool) -> dict[str, Any]:
    return {
        "scaling": scaling(first=30, fill=150, repeats=1) if quick else scaling(),
        "throughput": throughput(requests=100, rounds=1) if quick else throughput(),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
