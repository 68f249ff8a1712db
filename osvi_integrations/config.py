"""Settings for every surface (clients, LangChain, MCP), resolved in one place: arguments first, then
the environment, then defaults. Checked here, so a bad setting fails before anything is sent."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import ConfigurationError
from .retry import RetryPolicy

TOKEN_ENV = "OSVI_API_TOKEN"
BASE_URL_ENV = "OSVI_BASE_URL"
AGENT_ENV = "OSVI_AGENT_UUID"
TIMEOUT_ENV = "OSVI_TIMEOUT"
DEFAULT_BASE_URL = "https://api.osvi.ai"
#: Seconds one call may take in all: every attempt, `Retry-After` wait and backoff. The reply is
#: produced synchronously by an LLM, so waiting is normal; waiting long to connect is not.
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Pool size. Keep-alive equals the maximum: a smaller keep-alive count closes busy connections
#: and opens new ones under load (a fresh TCP+TLS handshake per message).
DEFAULT_MAX_CONNECTIONS = 100
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
_warned_plain_http: set[str] = set()

_logger = logging.getLogger("osvi_integrations")


class ClientOptions(TypedDict, total=False):
    """The settings a client takes as keyword arguments (besides `api_token`), each resolved by
    `build_config`: argument, then `OSVI_*` environment variable, then default."""

    #: API root; `OSVI_BASE_URL`, then https://api.osvi.ai.
    base_url: str | None
    #: Seconds one call may take in all (every attempt, wait and retry); `OSVI_TIMEOUT`, then 60.
    timeout: float | None
    #: Seconds to wait for a connection (within `timeout`); default 5.
    connect_timeout: float | None
    #: Retries of requests that provably had no effect; default 2. Or a whole `retry_policy`.
    max_retries: int | None
    retry_policy: RetryPolicy | None
    #: Pool size; default 100.
    max_connections: int | None
    #: The agent used when a call names none; `OSVI_AGENT_UUID`.
    default_agent_uuid: str | None


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs. The token is a `SecretStr`: it never shows in a repr."""

    api_token: SecretStr = field(repr=False)
    base_url: str
    timeout: float
    connect_timeout: float
    retry: RetryPolicy
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    default_agent_uuid: str | None = None

    @property
    def origin(self) -> str:
        """scheme://host[:port] of `base_url`: the only place the token is ever sent."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def resolve_api_token(api_token: str | SecretStr | None, env: Mapping[str, str] | None = None) -> SecretStr:
    env = os.environ if env is None else env
    raw = api_token.get_secret_value() if isinstance(api_token, SecretStr) else api_token
    if raw is None:
        raw = env.get(TOKEN_ENV)
    if raw is None or not raw.strip():
        raise ConfigurationError(
            f"No OSVI API token: set the {TOKEN_ENV} environment variable to your token "
            "(OSVI dashboard: Settings -> API), or pass api_token=... in code."
        )
    raw = raw.strip()
    # Checked here so a bad token never reaches the HTTP layer, whose header errors would echo it.
    if not raw.isascii() or not raw.isprintable() or any(c.isspace() for c in raw):
        raise ConfigurationError("api_token: contains whitespace or non-printable characters.")
    return SecretStr(raw)


def resolve_base_url(base_url: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    expected = f"expected an http(s) URL such as {DEFAULT_BASE_URL!r}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric or out-of-range port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigurationError(f"base_url: {expected}, got {url!r} ({exc}).") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(f"base_url: {expected}, got {url!r}.")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigurationError(f"base_url: must not have a query or a fragment, got {url!r}.")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("base_url: must not contain credentials; the token goes in api_token.")
    if port == 0:
        raise ConfigurationError(f"base_url: port 0 is not a port one can connect to, got {url!r}.")
    if parts.scheme == "http" and host not in _LOOPBACK_HOSTS and url not in _warned_plain_http:
        _warned_plain_http.add(url)
        _logger.warning("base_url %s is plain http: the API token will cross the network unencrypted.", url)
    return url


def _seconds(name: str, value: float | str | None, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise ConfigurationError(f"{name}: expected a positive number of seconds, got {value!r}.")
    return seconds


def resolve_default_agent(agent_uuid: str | None, env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    value = (agent_uuid if agent_uuid is not None else env.get(AGENT_ENV) or "").strip()
    return value or None


def build_config(
    *,
    api_token: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    max_retries: int | None = None,
    retry_policy: RetryPolicy | None = None,
    max_connections: int | None = None,
    default_agent_uuid: str | None = None,
    env: Mapping[str, str] | None = None,
    default_timeout: float = DEFAULT_TIMEOUT,
) -> ClientConfig:
    """The one place settings are resolved: argument, then `OSVI_*` environment variable, then default
    (a surface may choose its own `default_timeout`: the MCP server stays under its clients' 60 s)."""
    env = os.environ if env is None else env
    if retry_policy is not None and max_retries is not None:
        raise ConfigurationError("max_retries: pass either max_retries or retry_policy, not both.")
    retry = retry_policy or RetryPolicy(max_retries=2 if max_retries is None else max_retries)
    total = _seconds(
        TIMEOUT_ENV if timeout is None else "timeout",
        timeout if timeout is not None else env.get(TIMEOUT_ENV),
        default_timeout,
    )
    connect = _seconds("connect_timeout", connect_timeout, DEFAULT_CONNECT_TIMEOUT)
    pool = DEFAULT_MAX_CONNECTIONS if max_connections is None else max_connections
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ConfigurationError(f"max_connections: expected a whole number >= 1, got {pool!r}.")
    return ClientConfig(
        api_token=resolve_api_token(api_token, env),
        base_url=resolve_base_url(base_url, env),
        timeout=total,
        connect_timeout=min(connect, total),
        retry=retry,
        max_connections=pool,
        default_agent_uuid=resolve_default_agent(default_agent_uuid, env),
    )
