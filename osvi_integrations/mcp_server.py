"""MCP server: lets an AI application (Claude Desktop, an IDE, another agent) hand a customer's
message to an OSVI chat agent and read back the reply, mode and escalation flag.

A thin adapter over `AsyncOSVIClient`: HTTP, retries and response parsing live in the core.
The server keeps no per-conversation state (OSVI resolves sessions), so HTTP replicas can run
stateless behind a load balancer.

Run `osvi-mcp --help` (or `python mcp_server.py --help` from a checkout). Needs the `mcp` extra.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import urlsplit

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ._config import AGENT_ENV, BASE_URL_ENV, TOKEN_ENV, resolve_api_token, resolve_base_url
from ._version import __version__
from .client import AsyncOSVIClient
from .errors import ConfigurationError, OSVIError
from .protocol import describe_error as describe_for_agent
from .retry import RetryPolicy
from .types import SendMessageResult

TIMEOUT_ENV = "OSVI_TIMEOUT"
BEARER_ENV = "OSVI_MCP_BEARER_TOKEN"
ALLOWED_HOSTS_ENV = "OSVI_MCP_ALLOWED_HOSTS"
TOOL_NAME = "send_customer_message"
DEFAULT_PORT = 8000
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

logger = logging.getLogger("osvi_integrations.mcp")

INSTRUCTIONS = f"""\
This server connects you to an OSVI AI chat agent that answers a business's customers.
Call `{TOOL_NAME}` with the customer's message and a stable `customer_id` (for example their phone
number); relay the returned `reply` to the customer. Pass back the `session_id` from the previous
result to stay in the same conversation (without it OSVI continues the customer's active session).

Check every result:
- `mode` == "support": a human operator has taken over this conversation. `reply` is null and you
  must stop replying to this customer automatically; the operator answers them.
- `help_requested` == true: the agent has asked for a human. Tell the customer a person will join
  and alert the people who handle escalations.
A tool error says whether the message may already have reached the agent: if it may have, do not
resend it automatically (that could show the customer's words twice).
"""

TOOL_DESCRIPTION = """\
Send one customer message to an OSVI AI chat agent and get the agent's reply.

Returns the reply plus `session_id`, `state`, `mode` and `help_requested`. `mode` "support" means a
human operator has taken over: reply is null and you must stop auto-replying to this customer.
`help_requested` true means the agent escalated and asks for a human operator.
Not idempotent: every call delivers a new message to the conversation.
"""


@dataclass(frozen=True)
class ServerConfig:
    """What the server needs to reach OSVI. Build it with `from_env()` or directly (tests, embedding)."""

    api_token: SecretStr = field(repr=False)
    base_url: str | None = None
    default_agent_uuid: str | None = None
    #: Seconds to wait for the agent's reply; None keeps the client's default.
    timeout: float | None = None
    retry_policy: RetryPolicy | None = None

    @classmethod
    def from_env(cls, *, api_token: str | None = None, base_url: str | None = None) -> ServerConfig:
        """Reads and checks OSVI_* variables now, so a bad setup fails before serving. Raises `ConfigurationError`."""
        token = resolve_api_token(api_token)
        resolved_url = resolve_base_url(base_url)
        agent = (os.environ.get(AGENT_ENV) or "").strip() or None
        return cls(api_token=token, base_url=resolved_url, default_agent_uuid=agent, timeout=_timeout_from_env())


@dataclass(frozen=True)
class AppState:
    """Lifespan state shared by every request: one HTTP connection pool per process."""

    client: AsyncOSVIClient
    default_agent_uuid: str | None


def create_server(config: ServerConfig) -> MCPServer[AppState]:
    """The MCP server with the `send_customer_message` tool. Its OSVI client lives for the server's lifespan."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncOSVIClient(
            config.api_token,
            base_url=config.base_url,
            timeout=config.timeout,
            retry_policy=config.retry_policy,
        ) as client:
            yield AppState(client=client, default_agent_uuid=config.default_agent_uuid)

    server: MCPServer[AppState] = MCPServer(
        "osvi",
        title="OSVI customer conversations",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
    )
    server.add_tool(
        send_customer_message,
        name=TOOL_NAME,
        title="Send a customer message to an OSVI agent",
        description=TOOL_DESCRIPTION,
        annotations=ToolAnnotations(
            title="Send a customer message to an OSVI agent",
            read_only_hint=False,
            destructive_hint=False,
            # A resend is a second message in the conversation.
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    return server


async def send_customer_message(
    content: Annotated[str, Field(description="The customer's message, verbatim.")],
    customer_id: Annotated[
        str,
        Field(
            description=(
                "Stable identifier of the customer (e.g. phone number or your CRM id). "
                "OSVI keeps one conversation per agent and customer."
            )
        ),
    ],
    ctx: Context[AppState, Any],
    session_id: Annotated[
        str | None,
        Field(
            description=(
                "session_id from a previous result, to continue that exact conversation. "
                "Omit it to continue the customer's active session or start a new one."
            )
        ),
    ] = None,
    agent_uuid: Annotated[
        str | None,
        Field(description="UUID of the OSVI agent to talk to. Optional when the server has a default agent."),
    ] = None,
) -> Annotated[CallToolResult, SendMessageResult]:
    # The Annotated return keeps SendMessageResult as the advertised outputSchema (and validates
    # structuredContent against it) while we choose the text block ourselves.
    state = ctx.request_context.lifespan_context
    agent = agent_uuid if agent_uuid is not None else state.default_agent_uuid
    if agent is None:
        return _tool_error(
            "agent_uuid: required, because this server has no default agent "
            f"(set {AGENT_ENV} in its environment to configure one). Nothing was sent."
        )
    try:
        result = await state.client.send_message(agent, customer_id, content, session_id=session_id)
    except OSVIError as error:
        logger.info("%s failed: %r", TOOL_NAME, error)
        return _tool_error(describe_for_agent(error))
    return CallToolResult(
        content=[TextContent(type="text", text=result.summary())],
        structured_content=result.model_dump(mode="json"),
    )


def _tool_error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


# -- streamable HTTP ---------------------------------------------------------------------------------


class BearerTokenMiddleware:
    """Rejects HTTP requests without `Authorization: Bearer <token>` (401), comparing in constant time."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # server start/stop events carry no credentials
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # MCP has no websocket endpoint: refuse rather than pass unchecked
            await send({"type": "websocket.close", "code": 1008})
            return
        scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self._token):
            response = JSONResponse(
                {"error": "unauthorized", "error_description": "Missing or invalid bearer token."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="osvi-mcp"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class HttpSettings:
    """Where and how the streamable HTTP transport listens, and who may call it."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: Required for a non-loopback bind; enforced whenever set.
    bearer_token: str | None = field(default=None, repr=False)
    #: Extra Host header values clients use (a proxy's name, the machine's DNS name...).
    extra_allowed_hosts: tuple[str, ...] = ()
    #: Stateless mode with plain JSON responses: any replica can answer any request.
    stateless: bool = False

    @classmethod
    def from_env(cls, *, host: str, port: int, stateless: bool) -> HttpSettings:
        token = (os.environ.get(BEARER_ENV) or "").strip() or None
        extra = tuple(h.strip() for h in (os.environ.get(ALLOWED_HOSTS_ENV) or "").split(",") if h.strip())
        settings = cls(host=host, port=port, bearer_token=token, extra_allowed_hosts=extra, stateless=stateless)
        settings.check()
        return settings

    @property
    def is_loopback(self) -> bool:
        return _is_loopback(self.host)

    def check(self) -> None:
        if not self.is_loopback and self.bearer_token is None:
            raise ConfigurationError(
                f"--host {self.host} is reachable from other machines: set {BEARER_ENV} to the bearer token "
                "clients must send (or bind to 127.0.0.1)."
            )
        if _is_wildcard(self.host) and not self.extra_allowed_hosts:
            raise ConfigurationError(
                f"--host {self.host} listens on every interface: set {ALLOWED_HOSTS_ENV} to the host name(s) "
                "clients connect with (DNS-rebinding protection rejects any other Host header)."
            )

    def transport_security(self) -> TransportSecuritySettings:
        """DNS-rebinding protection stays on: only the bind address (and configured names) are valid Hosts."""
        port = "*" if self.port == 0 else str(self.port)
        names: list[str] = list(_LOOPBACK_NAMES) if self.is_loopback else []
        if not _is_wildcard(self.host):
            names.append(f"[{self.host}]" if ":" in self.host else self.host)
        hosts = [f"{name}:{port}" for name in names]
        origins = [f"http://{name}:{port}" for name in names]
        for extra in self.extra_allowed_hosts:
            # A bare name also matches without a port: a TLS proxy in front omits the default one.
            variants = [extra] if _has_port(extra) else [extra, f"{extra}:{port}"]
            hosts += variants
            origins += [f"{scheme}://{v}" for v in variants for scheme in ("http", "https")]
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
        )


def create_http_app(server: MCPServer[AppState], settings: HttpSettings) -> ASGIApp:
    """The streamable HTTP ASGI app (endpoint `/mcp`), behind the bearer check when a token is configured."""
    app: ASGIApp = server.streamable_http_app(
        json_response=settings.stateless,
        stateless_http=settings.stateless,
        transport_security=settings.transport_security(),
        host=settings.host,
    )
    if settings.bearer_token is not None:
        app = BearerTokenMiddleware(app, settings.bearer_token)
    return app


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _has_port(host: str) -> bool:
    try:
        return urlsplit(f"//{host}").port is not None
    except ValueError:
        return False


# -- command line ------------------------------------------------------------------------------------


def _timeout_from_env() -> float | None:
    raw = (os.environ.get(TIMEOUT_ENV) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigurationError(f"{TIMEOUT_ENV}: expected a positive number of seconds, got {raw!r}.")
    return value


@contextmanager
def _target(use_sandbox: bool) -> Iterator[ServerConfig]:
    """The OSVI account from the environment, or an embedded sandbox for `--sandbox`."""
    if not use_sandbox:
        yield ServerConfig.from_env()
        return
    from .sandbox import SUPPORT_AGENT, SandboxServer

    with SandboxServer() as sandbox:
        config = ServerConfig.from_env(api_token=sandbox.api_token, base_url=sandbox.base_url)
        if config.default_agent_uuid is None:
            config = replace(config, default_agent_uuid=SUPPORT_AGENT)
        print(
            f"osvi-mcp: using the embedded OSVI sandbox at {sandbox.base_url} "
            f"(default agent {config.default_agent_uuid}); no real account is contacted.",
            file=sys.stderr,
        )
        yield config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osvi-mcp",
        description="MCP server exposing the OSVI chat agent as the tool `send_customer_message`.",
        epilog=(
            f"Environment: {TOKEN_ENV} (required unless --sandbox), {BASE_URL_ENV}, {AGENT_ENV} (default agent), "
            f"{TIMEOUT_ENV} (seconds to wait for a reply); for --transport http also {BEARER_ENV} and "
            f"{ALLOWED_HOSTS_ENV} (comma-separated)."
        ),
    )
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP: stateless mode with JSON responses (no MCP session affinity; for replicas)",
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="talk to an embedded local OSVI sandbox instead of a real account"
    )
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Everything but protocol JSON goes to stderr: in stdio mode stdout is the transport.
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack:
        try:
            http = (
                HttpSettings.from_env(host=args.host, port=args.port, stateless=args.stateless)
                if args.transport == "http"
                else None
            )
            config = stack.enter_context(_target(args.sandbox))
        except ConfigurationError as error:
            print(f"osvi-mcp: configuration error: {error.message}", file=sys.stderr)
            raise SystemExit(2) from None
        server = create_server(config)
        try:
            if http is None:
                server.run("stdio")
            else:
                print(f"osvi-mcp: serving MCP on http://{http.host}:{http.port}/mcp", file=sys.stderr)
                uvicorn.Server(
                    uvicorn.Config(create_http_app(server, http), host=http.host, port=http.port, log_level="info")
                ).run()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
