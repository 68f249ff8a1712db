"""`osvi-mcp`: the MCP server over stdio (default) or streamable HTTP. The only place that configures logging.

The configuration is checked before the server's modules (the MCP SDK, uvicorn) load: a mistake is
reported in one line at once, about 0.1 s after start instead of 0.7 s."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from ..config import AGENT_ENV, BASE_URL_ENV, TIMEOUT_ENV, TOKEN_ENV
from ..errors import ConfigurationError
from .settings import (
    ALLOWED_HOSTS_ENV,
    BEARER_ENV,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    OAUTH_ISSUER_ENV,
    OPERATOR_TOOLS_ENV,
    RESOURCE_URL_ENV,
    HttpSettings,
    OAuthSettings,
    ServerSettings,
)

PROG = "osvi-mcp"
#: What to tell a person who started the server without a token (not how to call a Python function).
MISSING_TOKEN = (
    f"no OSVI API token. Set {TOKEN_ENV} to your token (OSVI dashboard: Settings -> API): in Claude Desktop, "
    f"in this server's \"env\" block of claude_desktop_config.json (or the extension's settings); in a shell, "
    f"export {TOKEN_ENV}=... before starting {PROG}. To try it without an account, add --sandbox."
)
# The core names settings by their Python argument; from the command line they all come from the environment.
_ENV_NAMES = {"api_token": TOKEN_ENV, "base_url": BASE_URL_ENV, "timeout": TIMEOUT_ENV}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="MCP server for OSVI AI chat agents: one tool per OSVI Chat v1 operation.",
        epilog=(
            f"Environment: {TOKEN_ENV} (required unless --sandbox), {AGENT_ENV} (default agent), {BASE_URL_ENV}, "
            f"{TIMEOUT_ENV} (seconds one OSVI call may take; default {DEFAULT_TIMEOUT:g}), {OPERATOR_TOOLS_ENV}=1 "
            f"(same as --operator-tools); for --transport http also {BEARER_ENV}, {ALLOWED_HOSTS_ENV} "
            f"(comma-separated), and for OAuth {OAUTH_ISSUER_ENV}, {RESOURCE_URL_ENV} and the other "
            "OSVI_MCP_OAUTH_* settings (docs/mcp-oauth.md)."
        ),
    )
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP: no MCP session state, so any replica behind a load balancer can answer any request",
    )
    parser.add_argument(
        "--json-response",
        action="store_true",
        help="HTTP: plain JSON responses instead of an event stream per request (no progress notifications)",
    )
    parser.add_argument(
        "--operator-tools",
        action="store_true",
        default=None,
        help=f"also offer the operator tools (takeover, close...); or set {OPERATOR_TOOLS_ENV}=1",
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="talk to an embedded local OSVI sandbox instead of a real account"
    )
    parser.add_argument(
        "--oauth-issuer",
        metavar="URL",
        help=f"HTTP: accept OAuth access tokens from this authorization server (or set {OAUTH_ISSUER_ENV})",
    )
    parser.add_argument(
        "--resource-url",
        metavar="URL",
        help=f"HTTP with OAuth: this server's canonical URL, e.g. https://mcp.example.com/mcp (or {RESOURCE_URL_ENV})",
    )
    parser.add_argument(
        "--audit-log",
        metavar="PATH",
        help="where the audit records of write calls go, one JSON line each (default: stderr)",
    )
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def _audit_logging(path: str | None) -> None:
    """Audit records are always written (level INFO on their own logger, whatever --log-level says): to
    stderr with the other logs, or as bare JSON lines to `path`."""
    from .audit import AUDIT_LOGGER

    audit = logging.getLogger(AUDIT_LOGGER)
    audit.setLevel(logging.INFO)
    if path is not None and path != "-":
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit.addHandler(handler)
        audit.propagate = False


@contextmanager
def _settings(args: argparse.Namespace, env: Mapping[str, str]) -> Iterator[ServerSettings]:
    """The OSVI account from the environment, or an embedded sandbox for `--sandbox`."""
    if not args.sandbox:
        if not (env.get(TOKEN_ENV) or "").strip():
            raise ConfigurationError(MISSING_TOKEN)
        yield ServerSettings.build(operator_tools=args.operator_tools, env=env)
        return
    from ..sandbox import SUPPORT_AGENT, SandboxServer

    with SandboxServer() as sandbox:
        settings = ServerSettings.build(
            api_token=sandbox.api_token,
            base_url=sandbox.base_url,
            default_agent_uuid=(env.get(AGENT_ENV) or "").strip() or SUPPORT_AGENT,
            operator_tools=args.operator_tools,
            env=env,
        )
        print(
            f"{PROG}: using the embedded OSVI sandbox at {sandbox.base_url} (default agent "
            f"{settings.default_agent_uuid}); no real account is contacted.",
            file=sys.stderr,
        )
        yield settings


def _for_a_person(error: ConfigurationError) -> str:
    """The core's message, naming the environment variable a person sets rather than a Python argument."""
    name, colon, rest = error.message.partition(":")
    return f"{_ENV_NAMES[name]}:{rest}" if colon and name in _ENV_NAMES else error.message


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Everything but protocol JSON goes to stderr: in stdio mode stdout is the transport.
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack:
        try:
            http = (
                HttpSettings.from_env(
                    host=args.host,
                    port=args.port,
                    stateless=args.stateless,
                    json_response=args.json_response,
                    oauth=OAuthSettings.build(issuer=args.oauth_issuer, resource_url=args.resource_url),
                )
                if args.transport == "http"
                else None
            )
            settings = stack.enter_context(_settings(args, os.environ))
        except ConfigurationError as error:
            print(f"{PROG}: configuration error: {_for_a_person(error)}", file=sys.stderr)
            raise SystemExit(2) from None
        from .server import create_server

        _audit_logging(args.audit_log)
        server = create_server(settings)
        try:
            if http is None:
                server.run("stdio")
            else:
                print(f"{PROG}: serving MCP on http://{http.host}:{http.port}/mcp", file=sys.stderr)
                if http.oauth is not None:
                    print(
                        f"{PROG}: OAuth resource server {http.oauth.resource_url}, accepting tokens from "
                        f"{http.oauth.issuer}",
                        file=sys.stderr,
                    )
                import uvicorn

                from .http_auth import create_http_app

                config = uvicorn.Config(
                    create_http_app(server, http),
                    host=http.host,
                    port=http.port,
                    log_config=None,  # keep the logging set up above (uvicorn's own sends access logs to stdout)
                    log_level=args.log_level.lower(),
                )
                uvicorn.Server(config).run()
        except KeyboardInterrupt:
            pass
