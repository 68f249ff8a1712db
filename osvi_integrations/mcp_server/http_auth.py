"""The streamable HTTP app: bearer-token gate and Host/Origin checks (DNS-rebinding protection)."""

from __future__ import annotations

import hmac
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import HttpSettings

#: Answers 200 to a plain GET without credentials or Host checks: for load balancers' health checks.
HEALTH_PATH = "/healthz"


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


def transport_security(settings: HttpSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection stays on: only the bind address (and configured names) are valid Hosts."""
    hosts, origins = settings.allowed_hosts()
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class HealthCheck:
    """`GET /healthz` answers `{"status": "ok"}`; everything else goes to the app. Says only that the process
    serves HTTP: no OSVI call is made (a failing OSVI must not take every replica out of the pool)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            await JSONResponse({"status": "ok"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_http_app(server: MCPServer[Any], settings: HttpSettings) -> ASGIApp:
    """The streamable HTTP ASGI app (endpoint `/mcp`), behind the bearer check when a token is configured,
    with an unauthenticated `GET /healthz` for load balancers."""
    app: ASGIApp = server.streamable_http_app(
        json_response=settings.json_response,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    if settings.bearer_token is not None:
        app = BearerTokenMiddleware(app, settings.bearer_token)
    return HealthCheck(app)
