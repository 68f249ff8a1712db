"""OAuth 2.1 resource server: what a caller's access token allows, and how a token is checked.

Scopes (`scopes.py`) are derived from the operation table. Tokens are checked through the `mcp` SDK's
`TokenVerifier` protocol with PyJWT (signature against the issuer's JWKS, discovered from its metadata;
`iss`, `aud`, `exp`, `nbf`), or by RFC 7662 introspection for opaque tokens; the SDK's middleware turns a
refused token into `401` with `resource_metadata`.
"""

from __future__ import annotations

import functools
import hmac
import logging
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import jwt
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier

from ..protocol import Operation
from .scopes import OPERATE_SCOPE, READ_SCOPE, SCOPES, SEND_SCOPE, operation_scope
from .settings import OAuthSettings

logger: logging.Logger = logging.getLogger("osvi_integrations.mcp.auth")

#: The client id given to the static bearer token (`OSVI_MCP_BEARER_TOKEN`) when OAuth is on too.
STATIC_CLIENT_ID = "static-bearer-token"
_HTTP_TIMEOUT = 10.0


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx2's trust store) for every call to the authorization server: metadata, JWKS and
    introspection. Building one loads the CA bundle (about 20 ms of CPU), which each introspected token
    would otherwise pay again."""
    return httpx2.create_ssl_context()


def _issuer_client() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(timeout=_HTTP_TIMEOUT, verify=_tls())


#: How long a failed issuer-metadata discovery is remembered before the next token tries again.
_DISCOVERY_RETRY = 10.0


def token_scopes(token: AccessToken) -> frozenset[str]:
    """The token's scopes, under this server's names (`access_token_from_claims` removed any prefix)."""
    return frozenset(token.scopes)


def caller_token(request: object) -> AccessToken | None:
    """The verified access token of an HTTP request (a Starlette request or connection); None for stdio, an
    in-process client, or an HTTP server without OAuth (where every caller may do everything)."""
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, Mapping) else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


class StaticTokenVerifier(TokenVerifier):
    """The static bearer token (`OSVI_MCP_BEARER_TOKEN`), compared in constant time; it may do everything."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if not hmac.compare_digest(token.strip().encode(), self._token):
            return None
        return AccessToken(token="", client_id=STATIC_CLIENT_ID, scopes=list(SCOPES), subject=STATIC_CLIENT_ID)


class IssuerMetadata:
    """The authorization server's metadata (RFC 8414, or OpenID Connect discovery), fetched once and kept.
    Its `issuer` must be the configured one exactly, or nothing from it is used."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._document: dict[str, Any] | None = None
        self._failed_at: float | None = None
        self._lock = anyio.Lock()

    def candidate_urls(self) -> list[str]:
        base = self.issuer.rstrip("/")
        scheme, _, rest = base.partition("://")
        host, slash, path = rest.partition("/")
        rfc8414 = f"{scheme}://{host}/.well-known/oauth-authorization-server{slash}{path}"
        oidc = f"{base}/.well-known/openid-configuration"
        inserted = f"{scheme}://{host}/.well-known/openid-configuration{slash}{path}"
        return list(dict.fromkeys([oidc, rfc8414, inserted]))

    async def get(self) -> dict[str, Any] | None:
        async with self._lock:
            if self._document is not None:
                return self._document
            if self._failed_at is not None and time.monotonic() - self._failed_at < _DISCOVERY_RETRY:
                return None
            async with _issuer_client() as http:
                for url in self.candidate_urls():
                    try:
                        response = await http.get(url, headers={"Accept": "application/json"})
                        document = response.json() if response.status_code == 200 else None
                    except (httpx2.HTTPError, ValueError):
                        logger.warning("authorization server metadata at %s could not be read", url)
                        continue
                    if isinstance(document, dict) and document.get("issuer") == self.issuer:
                        self._document = document
                        return document
                    if isinstance(document, dict):
                        logger.warning("%s names issuer %r, not %r: ignored", url, document.get("issuer"), self.issuer)
            self._failed_at = time.monotonic()
            return None


class JWTTokenVerifier(TokenVerifier):
    """JWT access tokens (RFC 9068 and the identity providers' own formats) checked with PyJWT against the
    issuer's JWKS: `PyJWKClient` keeps the key set for `jwks_cache_seconds` and fetches it again once when a
    token names an unknown `kid` (at most once per `jwks_refresh_cooldown`)."""

    def __init__(self, settings: OAuthSettings, metadata: IssuerMetadata) -> None:
        self._settings = settings
        self._metadata = metadata
        self._jwks: jwt.PyJWKClient | None = None

    async def _jwks_client(self) -> jwt.PyJWKClient | None:
        if self._jwks is None:
            uri = self._settings.jwks_uri
            if uri is None:
                document = await self._metadata.get()
                uri = document.get("jwks_uri") if document else None
            if not isinstance(uri, str):
                logger.error("no JWKS for issuer %s: set the JWKS URI or check the issuer URL", self._settings.issuer)
                return None
            self._jwks = jwt.PyJWKClient(
                uri,
                lifespan=self._settings.jwks_cache_seconds,
                timeout=_HTTP_TIMEOUT,
                ssl_context=_tls(),
                cooldown_duration=self._settings.jwks_refresh_cooldown,
            )
        return self._jwks

    async def verify_token(self, token: str) -> AccessToken | None:
        client = await self._jwks_client()
        if client is None:
            return None
        settings = self._settings
        try:
            key = await anyio.to_thread.run_sync(client.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(settings.algorithms),
                audience=list(settings.audiences),
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as error:
            logger.info("access token refused: %s", _reason(error))
            return None
        return access_token_from_claims(claims, settings)


class IntrospectionTokenVerifier(TokenVerifier):
    """Opaque tokens through the issuer's RFC 7662 introspection endpoint, as this server's own client."""

    def __init__(self, settings: OAuthSettings, metadata: IssuerMetadata) -> None:
        self._settings = settings
        self._metadata = metadata

    async def verify_token(self, token: str) -> AccessToken | None:
        settings = self._settings
        endpoint = settings.introspection_endpoint
        if endpoint is None:
            document = await self._metadata.get()
            endpoint = document.get("introspection_endpoint") if document else None
        if not isinstance(endpoint, str) or settings.introspection_client_id is None:
            logger.info("opaque access token refused: no introspection endpoint or client configured")
            return None
        secret = settings.introspection_client_secret
        auth = (settings.introspection_client_id, secret.get_secret_value() if secret else "")
        try:
            async with _issuer_client() as http:
                response = await http.post(
                    endpoint,
                    data={"token": token, "token_type_hint": "access_token"},
                    auth=auth,
                    headers={"Accept": "application/json"},
                )
            claims = response.json() if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError):
            logger.warning("token introspection at %s failed", endpoint)
            return None
        if not isinstance(claims, dict) or claims.get("active") is not True:
            logger.info("access token refused: introspection says it is not active")
            return None
        now = time.time()
        leeway = settings.leeway_seconds
        if isinstance(claims.get("exp"), int | float) and claims["exp"] + leeway < now:
            logger.info("access token refused: expired")
            return None
        if isinstance(claims.get("nbf"), int | float) and claims["nbf"] - leeway > now:
            logger.info("access token refused: not yet valid")
            return None
        if "iss" in claims and claims["iss"] != settings.issuer:
            logger.info("access token refused: issued by %r", claims["iss"])
            return None
        audiences = _as_list(claims.get("aud"))
        if audiences and not set(audiences) & set(settings.audiences):
            logger.info("access token refused: issued for another audience")
            return None
        return access_token_from_claims(claims, settings)


class OSVITokenVerifier(TokenVerifier):
    """The one verifier the SDK's middleware calls: the static bearer token (if configured), then a JWT
    (three dot-separated parts) against the JWKS, anything else through introspection (if configured)."""

    def __init__(self, settings: OAuthSettings, static_token: str | None = None) -> None:
        metadata = IssuerMetadata(settings.issuer)
        self._static = StaticTokenVerifier(static_token) if static_token else None
        self._jwt = JWTTokenVerifier(settings, metadata)
        self._introspection = IntrospectionTokenVerifier(settings, metadata) if settings.introspection else None

    async def verify_token(self, token: str) -> AccessToken | None:
        token = token.strip()
        if self._static is not None:
            found = await self._static.verify_token(token)
            if found is not None:
                return found
        if token.count(".") == 2:
            return await self._jwt.verify_token(token)
        if self._introspection is not None:
            return await self._introspection.verify_token(token)
        logger.info("access token refused: not a JWT, and token introspection is not configured")
        return None


def access_token_from_claims(claims: Mapping[str, Any], settings: OAuthSettings) -> AccessToken:
    """The SDK's `AccessToken` for verified claims. The token text itself is not kept (it must appear in no
    log or record). Scopes come from `scope` (RFC 9068, Keycloak, Auth0) or `scp` (Microsoft Entra), named
    as this server names them (the identity provider's prefix and names mapped back)."""
    scopes: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        scopes += value.split() if isinstance(value, str) else [s for s in _as_list(value) if isinstance(s, str)]
    scopes = [settings.internal_scope(s) for s in scopes]
    client_id = next((str(claims[k]) for k in ("client_id", "azp", "appid") if claims.get(k)), "unknown")
    audiences = _as_list(claims.get("aud"))
    resource = next((a for a in audiences if a in settings.audiences), None)
    exp = claims.get("exp")
    subject = claims.get("sub")
    return AccessToken(
        token="",
        client_id=client_id,
        scopes=list(dict.fromkeys(scopes)),
        expires_at=int(exp) if isinstance(exp, int | float) else None,
        resource=str(resource) if resource is not None else None,
        subject=str(subject) if subject is not None else None,
        claims={"iss": claims.get("iss", settings.issuer)},
    )


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, Iterable) else [value]


def _reason(error: Exception) -> str:
    """Why PyJWT refused a token, in its words (they name a claim or the key, never the token)."""
    return f"{type(error).__name__}: {error}"


def needed_scopes(operations: Sequence[Operation[Any, Any]]) -> list[str]:
    """The scopes the offered tools need, in `SCOPES` order."""
    needed = {operation_scope(op) for op in operations}
    return [s for s in SCOPES if s in needed]


__all__ = [
    "OPERATE_SCOPE",
    "READ_SCOPE",
    "SCOPES",
    "SEND_SCOPE",
    "IntrospectionTokenVerifier",
    "IssuerMetadata",
    "JWTTokenVerifier",
    "OSVITokenVerifier",
    "StaticTokenVerifier",
    "access_token_from_claims",
    "caller_token",
    "needed_scopes",
    "operation_scope",
    "token_scopes",
]
