"""A loopback HTTP/1.1 server that answers like OSVI's send-message endpoint and counts connections
(opened in all, open now) and delivered messages, so pooling and retry tests can assert exact numbers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

#: Decides one answer: (status, body) from the request body. `deliver` records the message as delivered.
Responder = Callable[[dict[str, Any], Callable[[], None]], tuple[int, dict[str, Any]]]


def reply_ok(body: dict[str, Any], deliver: Callable[[], None]) -> tuple[int, dict[str, Any]]:
    deliver()
    data = {"session_id": "s-1", "reply": f"heard: {body.get('content')}", "state": "default", "mode": "ai"}
    return 200, {"success": True, "data": {**data, "help_requested": False}}


class CountingServer:
    def __init__(self, responder: Responder = reply_ok) -> None:
        self.responder = responder
        self.opened = 0
        self.open = 0
        self.delivered: list[str] = []
        self._lock = threading.Lock()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests
            timeout = 10

            def setup(self) -> None:
                super().setup()
                with counter._lock:
                    counter.opened += 1
                    counter.open += 1

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with counter._lock:
                        counter.open -= 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")

                def deliver() -> None:
                    with counter._lock:
                        counter.delivered.append(str(body.get("content")))

                status, answer = counter.responder(body, deliver)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait_until_closed(self, timeout: float = 5.0) -> int:
        """Waits for clients to close their connections; returns how many are still open."""
        deadline = time.monotonic() + timeout
        while self.open and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
