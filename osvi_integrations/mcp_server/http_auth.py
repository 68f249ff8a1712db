"""The streamable HTTP app: OAuth 2.1 resource server or static bearer-token gate, scope checks per call,
and Host/Origin checks (DNS-rebinding protection)."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..protocol import OPERATIONS, offered_operations
from .oauth import OSVITokenVerifier, caller_token, needed_scopes, token_scopes
from .scopes import OPERATE_SCOPE, READ_SCOPE, operation_scope
from .server import settings_of
from .settings import HttpSettings, OAuthSettings

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


def create_http_app(server: MCPServer[Any], settings: HttpSettings, *, operator_tools: bool | None = None) -> ASGIApp:
    """The streamable HTTP ASGI app (endpoint `/mcp`) with an unauthenticated `GET /healthz` for load
    balancers. With OAuth settings: an OAuth 2.1 resource server (`OAuthResourceServer`); else behind the
    static bearer check when a token is configured. `operator_tools`: whether the server offers them, so
    the protected-resource metadata names `osvi:operate` (default: as `create_server` was told)."""
    if operator_tools is None:
        built_with = settings_of(server)
        operator_tools = built_with.operator_tools if built_with is not None else True
    app: ASGIApp = server.streamable_http_app(
        json_response=settings.json_response,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    if settings.oauth is not None:
        app = OAuthResourceServer(
            app, settings.oauth, static_token=settings.bearer_token, operator_tools=operator_tools
        )
    elif settings.bearer_token is not None:
        app = BearerTokenMiddleware(app, settings.bearer_token)
    return HealthCheck(RefuseQueryTokens(app))


class RefuseQueryTokens:
    """An access token in the query string (`?access_token=`) is refused, never read or passed on: URLs end
    up in proxy and server logs (OAuth 2.1 section 5.1.2, MCP authorization)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"access_token" in scope.get("query_string", b""):
            names = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)}
            if "access_token" in names:
                description = "Access tokens are accepted only in the Authorization header, never in the URL."
                response = JSONResponse(
                    {"error": "invalid_request", "error_description": description},
                    status_code=400,
                    headers={"WWW-Authenticate": f'Bearer error="invalid_request", error_description="{description}"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class OAuthResourceServer:
    """The MCP endpoint as an OAuth 2.1 resource server, from the `mcp` SDK's own parts: its
    `BearerAuthBackend` (our `OSVITokenVerifier`), `RequireAuthMiddleware` (401 with
    `WWW-Authenticate: Bearer ... resource_metadata=...`) and RFC 9728 metadata route; then `ScopeGate`.
    The wrapped app keeps its lifespan (the SDK's session manager)."""

    def __init__(
        self, app: ASGIApp, settings: OAuthSettings, *, static_token: str | None = None, operator_tools: bool = True
    ) -> None:
        self.app = app
        # The SDK's AuthSettings keeps the URLs as written (an issuer without a path gets no "/" added: RFC 8414
        # compares issuers exactly). The audience is checked by our verifier, against `settings.audiences`.
        auth = AuthSettings.model_validate(
            {
                "issuer_url": settings.issuer,
                "resource_server_url": settings.resource_url,
                "validate_token_resource": False,
            }
        )
        resource = auth.resource_server_url
        assert resource is not None
        self.metadata_url: str = str(build_resource_metadata_url(resource))
        offered = offered_operations(operator_tools=operator_tools)
        routes = create_protected_resource_routes(
            resource_url=resource,
            authorization_servers=[auth.issuer_url],
            scopes_supported=[settings.external_scope(s) for s in needed_scopes(offered)],
            resource_name="OSVI customer conversations (MCP)",
        )
        self.metadata_paths: frozenset[str] = frozenset(getattr(route, "path", "") for route in routes)
        self.metadata_app: Starlette = Starlette(routes=routes)
        # What a client asks for when it first authorizes (the 401's `scope`, MCP's scope selection): reading
        # and sending; operator commands only through a step-up of their own, when one is called.
        default = [settings.external_scope(s) for s in needed_scopes(offered) if s != OPERATE_SCOPE]
        self.initial_scope: bytes = " ".join(default).encode()
        gate = ScopeGate(app, settings=settings, metadata_url=self.metadata_url)
        required = RequireAuthMiddleware(gate, required_scopes=[], resource_metadata_url=AnyHttpUrl(self.metadata_url))
        self.protected: ASGIApp = AuthenticationMiddleware(
            AuthContextMiddleware(required), backend=BearerAuthBackend(OSVITokenVerifier(settings, static_token))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in self.metadata_paths:
            await self.metadata_app(scope, receive, send)
        elif scope["type"] == "http":
            await self.protected(scope, receive, self._with_initial_scope(send))
        else:  # MCP has no websocket endpoint: refuse rather than pass unchecked
            await send({"type": "websocket.close", "code": 1008})

    def _with_initial_scope(self, send: Send) -> Send:
        """Adds `scope="..."` to the SDK's 401 challenge."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = {
                    **message,
                    "headers": [
                        (name, value + b', scope="' + self.initial_scope + b'"')
                        if name.lower() == b"www-authenticate"
                        else (name, value)
                        for name, value in message["headers"]
                    ],
                }
            await send(message)

        return sending


class ScopeGate:
    """Step-up authorization (MCP authorization, "insufficient scope"): a `tools/call` or `resources/read`
    the caller's token does not allow is answered `403` with `WWW-Authenticate: Bearer
    error="insufficient_scope", scope="<needed>"` before it reaches the MCP session, so the client can ask
    for that scope. `tools/list` is filtered in the MCP server itself (`server.scope_filter`)."""

    def __init__(self, app: ASGIApp, *, settings: OAuthSettings, metadata_url: str) -> None:
        self.app = app
        self.settings = settings
        self.metadata_url: str = metadata_url
        self.tool_scopes: dict[str, str] = {op.name: operation_scope(op) for op in OPERATIONS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = caller_token(_ScopeHolder(scope))
        if scope["type"] != "http" or scope["method"] != "POST" or token is None:
            await self.app(scope, receive, send)
            return
        read = await _read_body(receive, DEFAULT_MAX_REQUEST_BODY_SIZE)
        if read is None:  # the client went away
            return
        body, more = read
        if not more:
            granted = token_scopes(token)
            missing = sorted({s for s in self._needed(body) if s not in granted})
            if missing:
                await self._refuse(missing, scope, receive, send)
                return
        await self.app(scope, _replay(body, more, receive), send)

    def _needed(self, body: bytes) -> set[str]:
        try:
            payload = json.loads(body)
        except ValueError:
            return set()  # the MCP transport answers a parse error
        needed: set[str] = set()
        for message in payload if isinstance(payload, list) else [payload]:
            if not isinstance(message, dict) or not isinstance(message.get("params"), dict):
                continue
            method, params = message.get("method"), message["params"]
            if method == "tools/call" and params.get("name") in self.tool_scopes:
                needed.add(self.tool_scopes[params["name"]])
            elif method == "resources/read":
                needed.add(READ_SCOPE)
        return needed

    async def _refuse(self, missing: list[str], scope: Scope, receive: Receive, send: Send) -> None:
        needed = " ".join(self.settings.external_scope(s) for s in missing)
        description = f"This call needs the scope {needed}, which the access token was not granted."
        challenge = (
            f'Bearer error="insufficient_scope", scope="{needed}", resource_metadata="{self.metadata_url}", '
            f'error_description="{description}"'
        )
        response = JSONResponse(
            {"error": "insufficient_scope", "error_description": description, "scope": needed},
            status_code=403,
            headers={"WWW-Authenticate": challenge},
        )
        await response(scope, receive, send)


class _ScopeHolder:
    """Lets `caller_token` read an ASGI scope as it reads a Starlette request."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool] | None:
    """The request body up to `limit` bytes and whether there is more (a longer body is left to the
    transport, which refuses it); None if the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > limit:
            return b"".join(chunks), True


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that hands the app the already-read body first (and the rest, if any, after it)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay
