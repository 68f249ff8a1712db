"""A minimal HTTP/1.1 keep-alive server on 127.0.0.1 for the benchmark: every POST gets the same
send-message answer after a fixed delay. Written on asyncio.Protocol so that the server costs as
little CPU as possible (it shares this 2-core machine with the client being measured) and so that
it can count the TCP connections it accepted.

    python bench/loopback_server.py --delays 0 0.05

prints one line `PORTS <port> <port>...` (one port per delay), then serves until killed.
`GET /__stats` answers {"connections": N, "requests": N}, counting neither itself nor its
connection, so a client can read the counters before and after a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys

BODY = json.dumps(
    {
        "success": True,
        "data": {
            "session_id": "4718a326-417b-4dda-90d0-21fd65a11cb8",
            "reply": "Sure, I can help with that. What's your order number?",
            "state": "default",
            "mode": "ai",
            "help_requested": False,
        },
    },
    separators=(",", ":"),
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Counters:
    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0


class Handler(asyncio.Protocol):
    def __init__(self, counters: Counters, delay: float) -> None:
        self._counters = counters
        self._delay = delay
        self._buffer = b""
        self._counted = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._answer(head.split(b" ", 2)[1])

    def _answer(self, target: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if target == b"/__stats":
            stats = json.dumps({"connections": self._counters.connections, "requests": self._counters.requests})
            transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(stats)).encode()
                + b"\r\n\r\n"
                + stats.encode()
            )
            return
        if not self._counted:
            self._counted = True
            self._counters.connections += 1
        self._counters.requests += 1
        if self._delay:
            asyncio.get_running_loop().call_later(self._delay, self._write, RESPONSE)
        else:
            transport.write(RESPONSE)

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(delays: list[float]) -> None:
    loop = asyncio.get_running_loop()
    counters = Counters()
    servers = []
    for delay in delays:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        servers.append(
            await loop.create_server(lambda d=delay: Handler(counters, d), sock=sock, backlog=4096)  # type: ignore[misc]
        )
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print("PORTS", *ports, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 0.05])
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.delays))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
