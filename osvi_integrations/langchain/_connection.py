"""Connection settings shared by `ChatOSVI` and the tools, and the core clients built from them."""

from __future__ import annotations

import asyncio
import threading
import weakref

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from .._config import BASE_URL_ENV, TOKEN_ENV
from ..client import AsyncOSVIClient, OSVIClient
from ..retry import RetryPolicy


class OSVIConnection(BaseModel):
    """Token, endpoint and transport options. All HTTP behaviour (retries, errors) is the core client's."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(TOKEN_ENV, default=None),
        validation_alias=AliasChoices("api_key", "api_token"),
    )
    """OSVI API token (also accepted as `api_token`); defaults to the `OSVI_API_TOKEN` environment variable."""

    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API root; defaults to `OSVI_BASE_URL`, then https://api.osvi.ai."""

    timeout: float | None = None
    """Seconds to wait for the agent's reply (the core's default is generous: replies come from an LLM)."""

    max_retries: int | None = None
    """Retries when the message provably did not arrive (see `RetryPolicy`); the core's default is 2."""

    retry_policy: RetryPolicy | None = Field(default=None, exclude=True)
    """Full retry policy instead of `max_retries`."""

    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.Client` (proxies, TLS settings...); used as is and never closed by this object."""

    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.AsyncClient`; used as is and never closed by this object."""

    _sync_client: OSVIClient | None = PrivateAttr(default=None)
    # An httpx.AsyncClient's pooled connections belong to the event loop that opened them,
    # so an owned async client is kept per loop (a model may outlive one `asyncio.run`).
    _async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOSVIClient] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _get_client(self) -> OSVIClient:
        """The cached sync client, built on first use (so constructing a model never opens sockets)."""
        with self._client_lock:
            if self._sync_client is None:
                self._sync_client = OSVIClient(
                    self.api_key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    retry_policy=self.retry_policy,
                    http_client=self.http_client,
                )
            return self._sync_client

    def _get_async_client(self) -> AsyncOSVIClient:
        """The cached async client for the running event loop."""
        loop = asyncio.get_running_loop()
        with self._client_lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = AsyncOSVIClient(
                    self.api_key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    retry_policy=self.retry_policy,
                    http_client=self.http_async_client,
                )
                self._async_clients[loop] = client
            return client

    def close(self) -> None:
        """Closes the sync connection pool this object opened (an injected `http_client` is left open)."""
        with self._client_lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Closes the async connection pool opened in the running event loop (an injected client is left open)."""
        with self._client_lock:
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
