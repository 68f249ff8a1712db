"""Fake OSVI servers that misbehave on purpose and count what they received (loopback only)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


#: A handler gets the request and the connection and writes whatever it likes to it.
Handler = Callable[[Received, socket.socket], None]


def respond(
    conn: socket.socket,
    status: int,
    body: bytes | dict[str, object] | list[object],
    headers: dict[str, str] | None = None,
) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)


OK_DATA = {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False}


def ok(received: Received, conn: socket.socket) -> None:
    respond(conn, 200, {"success": True, "data": OK_DATA})


@dataclass
class FakeServer:
    """A threaded HTTP/1.1 server on 127.0.0.1; `handler` decides each answer. Bounded: it serves at most
    `max_requests` requests and stops with the test."""

    handler: Handler = ok
    max_requests: int = 200
    received: list[Received] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self._url

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        wake(self._sock)
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buffer = b""
        try:
            while not self._stop.is_set() and len(self.received) < self.max_requests:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                received = Received(method, path, headers, body)
                with self._lock:
                    self.received.append(received)
                self.handler(received, conn)
        except OSError:
            pass
        finally:
            conn.close()


def trickle(status_line_delay: float = 0.0, byte_every: float = 0.2, size: int = 200) -> Handler:
    """Sends headers, then the body one byte at a time: each read resets a per-read timeout."""

    def handler(received: Received, conn: socket.socket) -> None:
        time.sleep(status_line_delay)
        body = json.dumps({"success": True, "data": {**OK_DATA, "reply": "x" * size}}).encode()
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        for i in range(len(body)):
            conn.sendall(body[i : i + 1])
            time.sleep(byte_every)

    return handler


class Gate:
    """Holds requests at the server until released (to line callers up in a known order)."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def __call__(self, received: Received, conn: socket.socket) -> None:
        self.open.wait(10)
        ok(received, conn)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.open.set()


def wake(sock: socket.socket) -> None:
    """Wakes a thread blocked in `accept` or `recv` on `sock` at once (it sees an error or the end of the
    stream), instead of at its next poll: a test does not wait for a stopped server's poll interval."""
    with contextlib.suppress(OSError):  # not connected, or already closed
        sock.shutdown(socket.SHUT_RDWR)
