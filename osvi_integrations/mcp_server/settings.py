"""What the MCP server is configured with: the OSVI connection (resolved by the core's `build_config`,
the one place `OSVI_*` settings are read), the operator opt-in, and where the HTTP transport listens."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from ..config import ClientConfig, build_config
from ..errors import ConfigurationError
from ..retry import RetryPolicy

OPERATOR_TOOLS_ENV = "OSVI_MCP_OPERATOR_TOOLS"
BEARER_ENV = "OSVI_MCP_BEARER_TOKEN"
ALLOWED_HOSTS_ENV = "OSVI_MCP_ALLOWED_HOSTS"
#: OAuth 2.1 (docs/mcp-oauth.md): the authorization server whose tokens are accepted, and this server's URL.
OAUTH_ISSUER_ENV = "OSVI_MCP_OAUTH_ISSUER"
RESOURCE_URL_ENV = "OSVI_MCP_RESOURCE_URL"
OAUTH_AUDIENCE_ENV = "OSVI_MCP_OAUTH_AUDIENCE"
OAUTH_JWKS_URI_ENV = "OSVI_MCP_OAUTH_JWKS_URI"
OAUTH_SCOPE_PREFIX_ENV = "OSVI_MCP_OAUTH_SCOPE_PREFIX"
OAUTH_SCOPE_NAMES_ENV = "OSVI_MCP_OAUTH_SCOPE_NAMES"
INTROSPECTION_URL_ENV = "OSVI_MCP_OAUTH_INTROSPECTION_URL"
INTROSPECTION_CLIENT_ID_ENV = "OSVI_MCP_OAUTH_INTROSPECTION_CLIENT_ID"
INTROSPECTION_CLIENT_SECRET_ENV = "OSVI_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET"
#: The server's budget for one OSVI call when `OSVI_TIMEOUT` is not set. Below the 60 s after which
#: the TypeScript MCP SDK (Claude Desktop, Cursor, VS Code, the Inspector) abandons a request by
#: default, so the model reads OSVI's answer, or this server's clear timeout, instead of a bare abort.
DEFAULT_TIMEOUT = 50.0
#: Seconds between progress notifications while OSVI is answering (only when the client asked for them).
DEFAULT_PROGRESS_INTERVAL = 5.0
DEFAULT_PORT = 8000
#: Only asymmetric signatures: `none` and HMAC (which a public key could "sign") are never accepted.
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class ServerSettings:
    """Everything `create_server` needs. Build it with `ServerSettings.build(...)`."""

    #: The OSVI connection: token, base URL, call budget, retries, default agent (the core's config).
    osvi: ClientConfig
    #: Offer the operator tools (support commands: takeover, close...). Off unless asked for.
    operator_tools: bool = False
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL

    @property
    def default_agent_uuid(self) -> str | None:
        return self.osvi.default_agent_uuid

    @classmethod
    def build(
        cls,
        *,
        api_token: str | SecretStr | None = None,
        base_url: str | None = None,
        default_agent_uuid: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        operator_tools: bool | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        env: Mapping[str, str] | None = None,
    ) -> ServerSettings:
        """Argument, then environment (`OSVI_*`, `OSVI_MCP_OPERATOR_TOOLS`), then default; checked now, so a
        bad setup fails before serving. Raises `ConfigurationError`."""
        env = os.environ if env is None else env
        config = build_config(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_agent_uuid=default_agent_uuid,
            env=env,
            default_timeout=DEFAULT_TIMEOUT,  # an OSVI_TIMEOUT that is set still wins
        )
        if operator_tools is None:
            operator_tools = env_flag(env, OPERATOR_TOOLS_ENV)
        if not progress_interval > 0:
            raise ConfigurationError(
                f"progress_interval: expected a positive number of seconds, got {progress_interval!r}."
            )
        return cls(osvi=config, operator_tools=operator_tools, progress_interval=progress_interval)


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no environment variable. Claude Desktop passes a boolean extension setting as "true"/"false"."""
    raw = (env.get(name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{name}: expected 1/true/yes/on or 0/false/no/off, got {raw!r}.")


@dataclass(frozen=True)
class OAuthSettings:
    """The streamable HTTP server as an OAuth 2.1 resource server. Build it with `OAuthSettings.build(...)`."""

    #: The authorization server's issuer, exactly as its tokens' `iss` claim reads.
    issuer: str
    #: This server's canonical URL, the MCP endpoint clients connect to (e.g. https://mcp.example.com/mcp).
    resource_url: str
    #: Accepted `aud` values: the resource URL unless the identity provider uses another (an Entra app id).
    audiences: tuple[str, ...] = ()
    #: The JWKS URI; by default the one in the issuer's metadata.
    jwks_uri: str | None = None
    #: What the identity provider puts before this server's scope names (`api://<app id>/` on Entra).
    scope_prefix: str = ""
    #: The identity provider's names for `osvi:read`, `osvi:send`, `osvi:operate` where it cannot use those.
    scope_names: Mapping[str, str] = field(default_factory=dict)
    #: RFC 7662 introspection for opaque tokens: endpoint (default: the issuer metadata's) and this server's
    #: own client credentials at the authorization server. Off without a client id.
    introspection_endpoint: str | None = None
    introspection_client_id: str | None = None
    introspection_client_secret: SecretStr | None = field(default=None, repr=False)
    #: Accepted signature algorithms: asymmetric only (never `none`, never HMAC with a public key as secret).
    algorithms: tuple[str, ...] = JWT_ALGORITHMS
    #: Clock skew tolerated for `exp` and `nbf`.
    leeway_seconds: float = 30.0
    jwks_cache_seconds: float = 300.0
    #: After fetching the key set, an unknown `kid` fetches it again only once this much time has passed.
    jwks_refresh_cooldown: float = 30.0

    @property
    def introspection(self) -> bool:
        return self.introspection_client_id is not None

    def external_scope(self, scope: str) -> str:
        """`osvi:read` as clients ask the identity provider for it (prefix and name)."""
        return self.scope_prefix + self.scope_names.get(scope, scope)

    def internal_scope(self, granted: str) -> str:
        """A scope from a token, as this server names it (unknown scopes are kept as they are)."""
        name = granted.removeprefix(self.scope_prefix) if self.scope_prefix else granted
        return next((ours for ours, theirs in self.scope_names.items() if theirs == name), name)

    @classmethod
    def build(
        cls,
        *,
        issuer: str | None = None,
        resource_url: str | None = None,
        audiences: Sequence[str] | None = None,
        jwks_uri: str | None = None,
        scope_prefix: str | None = None,
        scope_names: Mapping[str, str] | None = None,
        introspection_endpoint: str | None = None,
        introspection_client_id: str | None = None,
        introspection_client_secret: str | SecretStr | None = None,
        leeway_seconds: float = 30.0,
        jwks_cache_seconds: float = 300.0,
        jwks_refresh_cooldown: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> OAuthSettings | None:
        """Argument, then environment (`OSVI_MCP_OAUTH_*`, `OSVI_MCP_RESOURCE_URL`); None when no issuer is
        set (OAuth off). Raises `ConfigurationError` for an incomplete or unsafe setup."""
        env = os.environ if env is None else env

        def pick(value: str | None, name: str) -> str | None:
            return (value if value is not None else (env.get(name) or "")).strip() or None

        issuer = pick(issuer, OAUTH_ISSUER_ENV)
        if issuer is None:
            return None
        resource_url = pick(resource_url, RESOURCE_URL_ENV)
        if resource_url is None:
            raise ConfigurationError(
                f"{RESOURCE_URL_ENV}: OAuth needs this server's canonical URL, the MCP endpoint clients use "
                "(e.g. https://mcp.example.com/mcp): tokens must be issued for it."
            )
        for name, url in ((OAUTH_ISSUER_ENV, issuer), (RESOURCE_URL_ENV, resource_url)):
            _check_url(name, url)
        if audiences is None:
            raw = env.get(OAUTH_AUDIENCE_ENV) or ""
            audiences = [a.strip() for a in raw.split(",") if a.strip()]
        if scope_names is None:
            scope_names = _scope_names(env.get(OAUTH_SCOPE_NAMES_ENV) or "")
        secret = introspection_client_secret
        if secret is None and env.get(INTROSPECTION_CLIENT_SECRET_ENV):
            secret = env[INTROSPECTION_CLIENT_SECRET_ENV]
        return cls(
            issuer=issuer,
            resource_url=resource_url,
            audiences=tuple(audiences) or (resource_url,),
            jwks_uri=pick(jwks_uri, OAUTH_JWKS_URI_ENV),
            scope_prefix=pick(scope_prefix, OAUTH_SCOPE_PREFIX_ENV) or "",
            scope_names=dict(scope_names),
            introspection_endpoint=pick(introspection_endpoint, INTROSPECTION_URL_ENV),
            introspection_client_id=pick(introspection_client_id, INTROSPECTION_CLIENT_ID_ENV),
            introspection_client_secret=SecretStr(secret) if isinstance(secret, str) else secret,
            leeway_seconds=leeway_seconds,
            jwks_cache_seconds=jwks_cache_seconds,
            jwks_refresh_cooldown=jwks_refresh_cooldown,
        )

    @property
    def resource_host(self) -> str:
        """The Host header clients send to the resource URL (added to the allowed hosts)."""
        return urlsplit(self.resource_url).netloc


def _scope_names(raw: str) -> dict[str, str]:
    """`osvi:read=Osvi.Read,osvi:send=Osvi.Send` as a mapping; only this server's scopes may be renamed."""
    from .scopes import SCOPES

    names: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        ours, equals, theirs = pair.partition("=")
        if not equals or ours.strip() not in SCOPES or not theirs.strip():
            raise ConfigurationError(
                f"{OAUTH_SCOPE_NAMES_ENV}: expected {SCOPES[0]}=<name>,... for {', '.join(SCOPES)}; got {pair!r}."
            )
        names[ours.strip()] = theirs.strip()
    return names


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{name}: expected an https:// URL, got {url!r}.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(f"{name}: {url!r} must use https (plain http only on a loopback address).")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name}: {url!r} must have no query or fragment.")


@dataclass(frozen=True)
class HttpSettings:
    """Where and how the streamable HTTP transport listens, and who may call it."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: Required for a non-loopback bind; enforced whenever set.
    bearer_token: str | None = field(default=None, repr=False)
    #: Extra Host header values clients use (a load balancer's name, the machine's DNS name...).
    extra_allowed_hosts: tuple[str, ...] = ()
    #: No MCP session state: any replica can answer any request (behind a load balancer).
    stateless: bool = False
    #: Plain JSON responses instead of a stream per request; progress notifications are then not delivered.
    json_response: bool = False
    #: OAuth 2.1 resource server (tokens from an identity provider, scopes per caller); None: off.
    oauth: OAuthSettings | None = None

    @classmethod
    def from_env(
        cls,
        *,
        host: str,
        port: int,
        stateless: bool,
        json_response: bool = False,
        oauth: OAuthSettings | None = None,
        env: Mapping[str, str] | None = None,
    ) -> HttpSettings:
        """`oauth`: the OAuth settings (default: `OAuthSettings.build(env=env)`, from the environment)."""
        env = os.environ if env is None else env
        token = (env.get(BEARER_ENV) or "").strip() or None
        extra = tuple(h.strip() for h in (env.get(ALLOWED_HOSTS_ENV) or "").split(",") if h.strip())
        if oauth is None:
            oauth = OAuthSettings.build(env=env)
        if oauth is not None and oauth.resource_host not in extra:
            extra += (oauth.resource_host,)
        settings = cls(
            host=host,
            port=port,
            bearer_token=token,
            extra_allowed_hosts=extra,
            stateless=stateless,
            json_response=json_response,
            oauth=oauth,
        )
        settings.check()
        return settings

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        if not self.is_loopback and self.bearer_token is None and self.oauth is None:
            raise ConfigurationError(
                f"--host {self.host} is reachable from other machines: set {OAUTH_ISSUER_ENV} and "
                f"{RESOURCE_URL_ENV} (OAuth), or {BEARER_ENV} to the bearer token clients must send (or bind to "
                "127.0.0.1)."
            )
        if is_wildcard(self.host) and not self.extra_allowed_hosts:
            raise ConfigurationError(
                f"--host {self.host} listens on every interface: set {ALLOWED_HOSTS_ENV} to the host name(s) "
                "clients connect with (DNS-rebinding protection rejects any other Host header)."
            )

    def allowed_hosts(self) -> tuple[list[str], list[str]]:
        """(Host header values, Origin values) accepted: the bind address and port, and the configured names."""
        port = "*" if self.port == 0 else str(self.port)
        names: list[str] = list(_LOOPBACK_NAMES) if self.is_loopback else []
        if not is_wildcard(self.host):
            names.append(f"[{self.host}]" if ":" in self.host else self.host)
        hosts = [f"{name}:{port}" for name in names]
        origins = [f"http://{name}:{port}" for name in names]
        for extra in self.extra_allowed_hosts:
            # A bare name also matches without a port: a TLS proxy in front omits the default one.
            variants = [extra] if has_port(extra) else [extra, f"{extra}:{port}"]
            hosts += variants
            origins += [f"{scheme}://{v}" for v in variants for scheme in ("http", "https")]
        return hosts, origins


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def has_port(host: str) -> bool:
    try:
        return urlsplit(f"//{host}").port is not None
    except ValueError:
        return False
