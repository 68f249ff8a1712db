"""MCP server: lets an AI application (Claude Desktop, Claude Code, an IDE, another agent) hand a customer
conversation to an OSVI AI chat agent, with one tool per OSVI Chat v1 operation.

A thin adapter over `AsyncOSVIClient`: every tool is generated from `protocol.OPERATIONS` (HTTP, retries,
validation and error wording live in the core). The server keeps no per-conversation state (OSVI
resolves sessions), so HTTP replicas can run stateless behind a load balancer.

Run `osvi-mcp --help` (or `python mcp_server.py --help` from a checkout). Needs the `mcp` extra.
Embed it with `create_server(ServerSettings.build(...))`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _requires  # noqa: F401  # first: names a missing extra in one line, before anything imports it

# The names below load with the module that defines them, on first use: `osvi-mcp` checks its configuration
# before the MCP SDK loads (about 0.6 s), so a configuration error reaches the person at once. The
# `TYPE_CHECKING` imports give type checkers the same names; tests/unit_tests/test_entry_points.py keeps the
# two lists equal.
if TYPE_CHECKING:
    from .audit import AUDIT_LOGGER
    from .cli import main
    from .http_auth import (
        HEALTH_PATH,
        BearerTokenMiddleware,
        HealthCheck,
        OAuthResourceServer,
        RefuseQueryTokens,
        ScopeGate,
        create_http_app,
        transport_security,
    )
    from .oauth import OSVITokenVerifier
    from .scopes import OPERATE_SCOPE, READ_SCOPE, SCOPES, SEND_SCOPE, operation_scope
    from .server import (
        AGENTS_URI,
        ESCALATION_PROMPT,
        HAND_OVER_PROMPT,
        SERVER_NAME,
        SESSION_URI,
        SESSIONS_URI,
        create_server,
        instructions,
    )
    from .settings import (
        ALLOWED_HOSTS_ENV,
        BEARER_ENV,
        DEFAULT_PORT,
        DEFAULT_PROGRESS_INTERVAL,
        DEFAULT_TIMEOUT,
        OAUTH_ISSUER_ENV,
        OPERATOR_TOOLS_ENV,
        RESOURCE_URL_ENV,
        HttpSettings,
        OAuthSettings,
        ServerSettings,
    )
    from .tools import AppState, OperationTool, output_model

_EXPORTS: dict[str, str] = {
    "AUDIT_LOGGER": "audit",
    "main": "cli",
    "BearerTokenMiddleware": "http_auth",
    "HEALTH_PATH": "http_auth",
    "HealthCheck": "http_auth",
    "OAuthResourceServer": "http_auth",
    "RefuseQueryTokens": "http_auth",
    "ScopeGate": "http_auth",
    "create_http_app": "http_auth",
    "transport_security": "http_auth",
    "OSVITokenVerifier": "oauth",
    "OPERATE_SCOPE": "scopes",
    "READ_SCOPE": "scopes",
    "SCOPES": "scopes",
    "SEND_SCOPE": "scopes",
    "operation_scope": "scopes",
    "AGENTS_URI": "server",
    "ESCALATION_PROMPT": "server",
    "HAND_OVER_PROMPT": "server",
    "SERVER_NAME": "server",
    "SESSIONS_URI": "server",
    "SESSION_URI": "server",
    "create_server": "server",
    "instructions": "server",
    "ALLOWED_HOSTS_ENV": "settings",
    "BEARER_ENV": "settings",
    "DEFAULT_PORT": "settings",
    "DEFAULT_PROGRESS_INTERVAL": "settings",
    "DEFAULT_TIMEOUT": "settings",
    "HttpSettings": "settings",
    "OAUTH_ISSUER_ENV": "settings",
    "OAuthSettings": "settings",
    "OPERATOR_TOOLS_ENV": "settings",
    "RESOURCE_URL_ENV": "settings",
    "ServerSettings": "settings",
    "AppState": "tools",
    "OperationTool": "tools",
    "output_model": "tools",
}

__all__ = [
    "AGENTS_URI",
    "ALLOWED_HOSTS_ENV",
    "AUDIT_LOGGER",
    "AppState",
    "BEARER_ENV",
    "BearerTokenMiddleware",
    "DEFAULT_PORT",
    "DEFAULT_PROGRESS_INTERVAL",
    "DEFAULT_TIMEOUT",
    "ESCALATION_PROMPT",
    "HAND_OVER_PROMPT",
    "HEALTH_PATH",
    "HealthCheck",
    "HttpSettings",
    "OAUTH_ISSUER_ENV",
    "OAuthResourceServer",
    "OAuthSettings",
    "OPERATE_SCOPE",
    "OPERATOR_TOOLS_ENV",
    "OSVITokenVerifier",
    "OperationTool",
    "READ_SCOPE",
    "RESOURCE_URL_ENV",
    "RefuseQueryTokens",
    "SCOPES",
    "SEND_SCOPE",
    "SERVER_NAME",
    "SESSIONS_URI",
    "SESSION_URI",
    "ScopeGate",
    "ServerSettings",
    "create_http_app",
    "create_server",
    "instructions",
    "main",
    "operation_scope",
    "output_model",
    "transport_security",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
