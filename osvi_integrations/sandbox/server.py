"""Runs the sandbox on loopback: in a background thread (tests, demo, examples) or as a CLI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import AGENT_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV
from .app import create_app
from .engine import SANDBOX_API_TOKEN, SUPPORT_AGENT, Engine

CLI_MAX_PROCESSED = 10_000  # a long-running CLI sandbox keeps only this many InboundRecords


class _JsonErrorsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering bytes that are not HTTP/1.1 in the API's JSON error
    shape rather than uvicorn's plain text (the app never sees such requests)."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"success": False, "error": f"invalid HTTP request: {msg}"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


class PromptServer(uvicorn.Server):
    """uvicorn's server without its 0.1 s polls, so an embedded sandbox starts and stops in
    milliseconds: `request_exit()` wakes the main loop at once, and shutdown waits for open
    connections in 2 ms steps, cancelling requests still running after `grace` seconds."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready: threading.Event = threading.Event()
        self.grace: float = 0.1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await super().startup(sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        assert self._wake is not None
        counter = 0
        while not await self.on_tick(counter):
            counter += 10  # on_tick refreshes the Date header when counter % 10 == 0: once a second
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    def request_exit(self) -> None:
        """Thread-safe."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after their response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        await asyncio.sleep(0)  # closed transports report connection_lost on the next loop turn
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in list(state.tasks):
            task.cancel()
        for connection in list(state.connections):
            connection.transport.close()
        for server in self.servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)
        await self.lifespan.shutdown()


class SandboxServer:
    """An OSVI-compatible server on 127.0.0.1 (a free port unless one is given), in a daemon thread.

    `reset()` swaps in a fresh engine on the same port, so one server can serve many tests."""

    def __init__(
        self, engine: Engine | None = None, *, host: str = "127.0.0.1", port: int = 0, access_log: bool = False
    ) -> None:
        self.engine: Engine = engine or Engine()
        self.api_token = SANDBOX_API_TOKEN
        self._app = create_app(self.engine)
        self._host = host
        self._port = port
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            log_level="info" if access_log else "warning",
            access_log=access_log,
            lifespan="off",
            loop="asyncio",
            http=_JsonErrorsH11Protocol,
            ws="none",  # the API has no websocket endpoint: no websocket library to load at start
        )
        self._server = PromptServer(config)
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._bound_port is None:
            raise RuntimeError("The OSVI sandbox is not started.")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("A SandboxServer starts once; create another one.")
        # Bound here, in the caller's thread: the port is known at once and a bind error raises here.
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only
        try:  # on sockets whose proto says TCP; without it every keep-alive reply waits ~40 ms for an ACK
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._bound_port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="osvi-sandbox", daemon=True)
        self._thread.start()
        self._server.ready.wait(timeout)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"The OSVI sandbox did not start on {self._host}.")
        return self

    def _serve(self) -> None:
        assert self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._server.ready.set()  # wakes start() also when startup failed

    def stop(self, grace: float = 0.1) -> None:
        """Stops accepting, lets requests in flight finish for up to `grace` seconds, then cancels them."""
        self._server.grace = grace
        self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    def reset(self, engine: Engine | None = None) -> Engine:
        """Serves a fresh engine (same agents) from now on and returns it; requests already
        running finish on the old one. Faults, sessions and counters start from zero."""
        self.engine = engine or Engine(tuple(self.engine.agents.values()))
        self._app.state.engine = self.engine
        return self.engine

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Target:
    """Where examples send messages: the embedded sandbox, or a real account from the environment."""

    base_url: str
    api_token: str
    agent_uuid: str
    sandbox: SandboxServer | None

    def __repr__(self) -> str:
        kind = "sandbox" if self.sandbox else "OSVI account"
        return f"Target({kind}, base_url={self.base_url!r}, agent_uuid={self.agent_uuid!r}, api_token='**********')"


@contextmanager
def open_target(agent_uuid: str = SUPPORT_AGENT) -> Iterator[Target]:
    """The embedded sandbox by default; a real account when `OSVI_API_TOKEN` is set
    (then `OSVI_AGENT_UUID` names the agent and `OSVI_BASE_URL` may point elsewhere)."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        agent = os.environ.get(AGENT_ENV)
        if not agent:
            raise SystemExit(f"{TOKEN_ENV} is set: also set {AGENT_ENV} to the agent to talk to.")
        yield Target(os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL), token, agent, None)
        return
    with SandboxServer() as sandbox:
        yield Target(sandbox.base_url, sandbox.api_token, agent_uuid, sandbox)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="osvi-sandbox", description="Run the local OSVI-compatible sandbox.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument("--access-log", action="store_true", help="log one line per request (default: off)")
    args = parser.parse_args(argv)
    # An application configures logging (the package only adds a NullHandler): the sandbox's own errors show.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    engine = Engine(max_processed=CLI_MAX_PROCESSED)
    print(
        f"OSVI sandbox on http://{args.host}:{args.port}\n"
        f"  OSVI_BASE_URL=http://{args.host}:{args.port} OSVI_API_TOKEN={SANDBOX_API_TOKEN}\n"
        f"  agents: {', '.join(engine.agents)}",
        file=sys.stderr,
    )
    uvicorn.run(
        create_app(engine),
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=args.access_log,
        http=_JsonErrorsH11Protocol,
    )


if __name__ == "__main__":
    main()
