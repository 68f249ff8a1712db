"""Client settings: where they come from (arguments, then environment) and how they are checked."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from .errors import ConfigurationError
from .retry import RetryPolicy

TOKEN_ENV = "OSVI_API_TOKEN"
BASE_URL_ENV = "OSVI_BASE_URL"
# Not read by the clients (each call names its agent); the demo, examples and MCP server use it.
AGENT_ENV = "OSVI_AGENT_UUID"
DEFAULT_BASE_URL = "https://api.osvi.ai"
# The reply is produced synchronously by an LLM: waiting a long time for it is normal,
# waiting long for a TCP connection is not.
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 5.0
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

logger = logging.getLogger("osvi_integrations")


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs to build requests. The token is a `SecretStr`: it never shows in a repr."""

    api_token: SecretStr = field(repr=False)
    base_url: str
    timeout: httpx.Timeout | None  # None: use the injected http client's own timeout
    retry: RetryPolicy


def resolve_api_token(api_token: str | SecretStr | None) -> SecretStr:
    raw = api_token.get_secret_value() if isinstance(api_token, SecretStr) else api_token
    if raw is None:
        raw = os.environ.get(TOKEN_ENV)
    if raw is None or not raw.strip():
        raise ConfigurationError(f"No OSVI API token: pass api_token=... or set the {TOKEN_ENV} environment variable.")
    raw = raw.strip()
    # Checked here so a bad token never reaches httpx, whose header errors would echo it.
    if not raw.isascii() or not raw.isprintable() or any(c.isspace() for c in raw):
        raise ConfigurationError("api_token: contains whitespace or non-printable characters.")
    return SecretStr(raw)


def resolve_base_url(base_url: str | None) -> str:
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url: expected an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r}.")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        logger.warning("base_url %s is plain http: the API token will cross the network unencrypted.", url)
    return url


def resolve_timeout(
    timeout: float | httpx.Timeout | None, connect_timeout: float | None, *, injected_client: bool
) -> httpx.Timeout | None:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None and connect_timeout is None and injected_client:
        return None
    read = DEFAULT_READ_TIMEOUT if timeout is None else float(timeout)
    connect = DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else float(connect_timeout)
    for name, value in (("timeout", read), ("connect_timeout", connect)):
        if value <= 0:
            raise ConfigurationError(f"{name}: must be a positive number of seconds, got {value}.")
    return httpx.Timeout(read, connect=min(connect, read))


def build_config(
    *,
    api_token: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = None,
    connect_timeout: float | None = None,
    max_retries: int | None = None,
    retry_policy: RetryPolicy | None = None,
    injected_client: bool = False,
) -> ClientConfig:
    if retry_policy is not None and max_retries is not None:
        raise ConfigurationError("max_retries: pass either max_retries or retry_policy, not both.")
    retry = retry_policy or RetryPolicy(max_retries=2 if max_retries is None else max_retries)
    return ClientConfig(
        api_token=resolve_api_token(api_token),
        base_url=resolve_base_url(base_url),
        timeout=resolve_timeout(timeout, connect_timeout, injected_client=injected_client),
        retry=retry,
    )
