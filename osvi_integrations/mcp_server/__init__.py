"""MCP server: lets an AI application (Claude Desktop, Claude Code, an IDE, another agent) hand a customer
conversation to an OSVI AI chat agent, with one tool per OSVI Chat v1 operation.

A thin adapter over `AsyncOSVIClient`: every tool is generated from `protocol.OPERATIONS` (HTTP, retries,
validation and error wording live in the core). The server keeps no per-conversation state (OSVI
resolves sessions), so HTTP replicas can run stateless behind a load balancer.

Run `osvi-mcp --help` (or `python mcp_server.py --help` from a checkout). Needs the `mcp` extra.
Embed it with `create_server(ServerSettings.build(...))`.
"""

from . import _requires  # noqa: F401  # first: names a missing extra in one line, before anything imports it
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

__all__ = [
    "AGENTS_URI",
    "AUDIT_LOGGER",
    "OAUTH_ISSUER_ENV",
    "OPERATE_SCOPE",
    "READ_SCOPE",
    "RESOURCE_URL_ENV",
    "SCOPES",
    "SEND_SCOPE",
    "OAuthResourceServer",
    "OAuthSettings",
    "OSVITokenVerifier",
    "RefuseQueryTokens",
    "ScopeGate",
    "operation_scope",
    "ALLOWED_HOSTS_ENV",
    "BEARER_ENV",
    "DEFAULT_PORT",
    "DEFAULT_PROGRESS_INTERVAL",
    "DEFAULT_TIMEOUT",
    "ESCALATION_PROMPT",
    "HEALTH_PATH",
    "HAND_OVER_PROMPT",
    "OPERATOR_TOOLS_ENV",
    "SERVER_NAME",
    "SESSIONS_URI",
    "SESSION_URI",
    "AppState",
    "BearerTokenMiddleware",
    "HealthCheck",
    "HttpSettings",
    "OperationTool",
    "ServerSettings",
    "create_http_app",
    "create_server",
    "instructions",
    "main",
    "output_model",
    "transport_security",
]
