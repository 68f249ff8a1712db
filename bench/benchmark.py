"""Benchmark: what the client costs over plain httpx, measured against a baseline in the same run.

The sandbox runs in a separate process on 127.0.0.1, so the figures are client-side costs plus
loopback HTTP. Each pair (baseline, ours) is run alternately for several rounds and the medians are
compared, because this machine is small and noisy: read the ratios, not the absolute numbers.

    ./run bench            # or: python bench/benchmark.py [--rounds 5 --requests 200]

Writes bench/results/benchmark.json and bench/results/benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from osvi_integrations import AsyncOSVIClient, OSVIClient, __version__
from osvi_integrations._config import build_config
from osvi_integrations._protocol import build_send_message, parse_send_message
from osvi_integrations.sandbox import SANDBOX_API_TOKEN, SUPPORT_AGENT

RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = 8


@contextmanager
def sandbox_process() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "osvi_integrations.sandbox.server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"{base_url}/v1/chat/inbound", json={}, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox process did not start") from None
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _body(i: int) -> dict[str, str]:
    return {"agent_uuid": SUPPORT_AGENT, "customer_id": f"+1555{i % 50:07d}", "content": f"Question number {i}"}


def sync_pair(base_url: str, requests: int) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
    raw = httpx.Client(timeout=30)
    ours = OSVIClient(SANDBOX_API_TOKEN, base_url=base_url)
    url = f"{base_url}/v1/chat/inbound"

    def baseline() -> None:
        for i in range(requests):
            response = raw.post(url, json=_body(i), headers={"API-Token": SANDBOX_API_TOKEN})
            response.raise_for_status()
            response.json()["data"]["reply"]

    def candidate() -> None:
        for i in range(requests):
            body = _body(i)
            ours.send_message(body["agent_uuid"], body["customer_id"], body["content"]).reply  # noqa: B018

    def close() -> None:
        raw.close()
        ours.close()

    return baseline, candidate, close


def async_pair(base_url: str, requests: int) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
    url = f"{base_url}/v1/chat/inbound"

    async def run_raw() -> None:
        async with httpx.AsyncClient(timeout=30) as raw:

            async def one(i: int) -> None:
                response = await raw.post(url, json=_body(i), headers={"API-Token": SANDBOX_API_TOKEN})
                response.raise_for_status()
                response.json()["data"]["reply"]

            await _bounded(one, requests)

    async def run_ours() -> None:
        async with AsyncOSVIClient(SANDBOX_API_TOKEN, base_url=base_url) as ours:

            async def one(i: int) -> None:
                body = _body(i)
                await ours.send_message(body["agent_uuid"], body["customer_id"], body["content"])

            await _bounded(one, requests)

    return (lambda: asyncio.run(run_raw())), (lambda: asyncio.run(run_ours())), (lambda: None)


async def _bounded(one: Callable[[int], Any], requests: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(guarded(i) for i in range(requests)))


def protocol_pair(iterations: int) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
    """The sans-I/O layer alone (build + validate + parse) against bare json.dumps/json.loads."""
    config = build_config(api_token=SANDBOX_API_TOKEN, base_url="https://api.osvi.ai")
    reply = json.dumps(
        {
            "success": True,
            "data": {
                "session_id": "4718a326-417b-4dda-90d0-21fd65a11cb8",
                "reply": "Sure, I can help with that. What's your order number?",
                "state": "default",
                "mode": "ai",
                "help_requested": False,
            },
        }
    ).encode()
    headers = {"content-type": "application/json"}

    def baseline() -> None:
        for i in range(iterations):
            json.dumps(_body(i)).encode()
            json.loads(reply)["data"]

    def candidate() -> None:
        for i in range(iterations):
            body = _body(i)
            build_send_message(config, session_id=None, **body)
            parse_send_message(200, headers, reply)

    return baseline, candidate, lambda: None


def measure(pair: tuple[Callable[[], None], Callable[[], None], Callable[[], None]], rounds: int) -> dict[str, Any]:
    baseline, candidate, close = pair
    baseline()  # warm up connections and code paths
    candidate()
    times: dict[str, list[float]] = {"baseline": [], "osvi": []}
    try:
        for round_number in range(rounds):
            order = [("baseline", baseline), ("osvi", candidate)]
            for name, work in order if round_number % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                work()
                times[name].append(time.perf_counter() - start)
    finally:
        close()
    base, ours = statistics.median(times["baseline"]), statistics.median(times["osvi"])
    return {"baseline_s": base, "osvi_s": ours, "ratio": ours / base, "rounds": times}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per round and case")
    parser.add_argument("--iterations", type=int, default=20000, help="sans-I/O iterations per round")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the figures (default: bench/results)")
    args = parser.parse_args(argv)

    cases: dict[str, dict[str, Any]] = {}
    with sandbox_process() as base_url:
        cases["sync send_message vs raw httpx.Client"] = measure(sync_pair(base_url, args.requests), args.rounds)
        cases[f"async send_message x{CONCURRENCY} concurrent vs raw httpx.AsyncClient"] = measure(
            async_pair(base_url, args.requests), args.rounds
        )
    cases["sans-I/O build+parse vs json.dumps+loads"] = measure(protocol_pair(args.iterations), args.rounds)

    report = {
        "version": __version__,
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "iterations_per_round": args.iterations,
        "cases": cases,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Benchmark (osvi-integrations {__version__}, Python {report['python']}, {report['machine']})",
        "",
        f"Medians of {args.rounds} alternating rounds; ratio = osvi / baseline (1.00 = no overhead).",
        "",
        "| case | baseline | osvi | ratio |",
        "|---|---|---|---|",
    ]
    for name, case in cases.items():
        per = args.requests if "send_message" in name else args.iterations
        lines.append(
            f"| {name} | {case['baseline_s'] / per * 1e6:.1f} µs/op | {case['osvi_s'] / per * 1e6:.1f} µs/op "
            f"| {case['ratio']:.2f} |"
        )
    (args.out / "benchmark.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
