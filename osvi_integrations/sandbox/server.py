"""Runs the sandbox on loopback: in a background thread (tests, demo, examples) or as a CLI."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import uvicorn

from .._config import AGENT_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV
from .app import create_app
from .engine import SANDBOX_API_TOKEN, SUPPORT_AGENT, Engine


class SandboxServer:
    """An OSVI-compatible server on 127.0.0.1 (a free port unless one is given), in a daemon thread."""

    def __init__(self, engine: Engine | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine or Engine()
        self.api_token = SANDBOX_API_TOKEN
        config = uvicorn.Config(
            create_app(self.engine),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._host = host

    @property
    def base_url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}"

    def start(self, timeout: float = 10.0) -> Self:
        self._thread = threading.Thread(target=self._server.run, name="osvi-sandbox", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            deadline.wait(0.01)
        if not self._server.started:
            raise RuntimeError(f"The OSVI sandbox did not start on {self._host}.")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

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
    args = parser.parse_args(argv)
    engine = Engine()
    print(
        f"OSVI sandbox on http://{args.host}:{args.port}\n"
        f"  OSVI_BASE_URL=http://{args.host}:{args.port} OSVI_API_TOKEN={SANDBOX_API_TOKEN}\n"
        f"  agents: {', '.join(engine.agents)}",
        file=sys.stderr,
    )
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
