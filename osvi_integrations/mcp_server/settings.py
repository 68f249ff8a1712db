"""What the MCP server is configured with: the OSVI connection (resolved by the core's `build_config`,
the one place `OSVI_*` settings are read), the operator opt-in, and where the HTTP transport listens."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from .._config import ClientConfig, build_config
from ..errors import ConfigurationError
from ..retry import RetryPolicy

OPERATOR_TOOLS_ENV = "OSVI_MCP_OPERATOR_TOOLS"
BEARER_ENV = "OSVI_MCP_BEARER_TOKEN"
ALLOWED_HOSTS_ENV = "OSVI_MCP_ALLOWED_HOSTS"
#: The server's budget for one OSVI call when `OSVI_TIMEOUT` is not set. Below the 60 s after which
#: the TypeScript MCP SDK (Claude Desktop, Cursor, VS Code, the Inspector) abandons a request by
#: default, so the model reads OSVI's answer, or this server's clear timeout, instead of a bare abort.
DEFAULT_TIMEOUT = 50.0
#: Seconds between progress notifications while OSVI is answering (only when the client asked for them).
DEFAULT_PROGRESS_INTERVAL = 5.0
DEFAULT_PORT = 8000
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

    @classmethod
    def from_env(
        cls, *, host: str, port: int, stateless: bool, json_response: bool = False, env: Mapping[str, str] | None = None
    ) -> HttpSettings:
        env = os.environ if env is None else env
        token = (env.get(BEARER_ENV) or "").strip() or None
        extra = tuple(h.strip() for h in (env.get(ALLOWED_HOSTS_ENV) or "").split(",") if h.strip())
        settings = cls(
            host=host,
            port=port,
            bearer_token=token,
            extra_allowed_hosts=extra,
            stateless=stateless,
            json_response=json_response,
        )
        settings.check()
        return settings

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        if not self.is_loopback and self.bearer_token is None:
            raise ConfigurationError(
                f"--host {self.host} is reachable from other machines: set {BEARER_ENV} to the bearer token "
                "clients must send (or bind to 127.0.0.1)."
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
