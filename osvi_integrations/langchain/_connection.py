"""Connection settings shared by `ChatOSVI`, the tools and the toolkit, and the core clients behind them.

Clients are shared, as partner packages share their httpx clients: every object with the same
settings (token, base URL, timeouts, retry policy) uses ONE connection pool, so models built per
call (`configurable_fields`, `batch`) or many tools never open a pool each. An async pool belongs
to one event loop (httpx connections cannot cross loops): it is kept per loop and closed when that
loop shuts down its async generators, which `asyncio.run` and `asyncio.Runner` do on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import difflib
import threading
from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar, Self

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from ..client import AsyncOSVIClient, OSVIClient
from ..config import BASE_URL_ENV, TOKEN_ENV, ClientConfig, build_config
from ..errors import ConfigurationError
from ..retry import RetryPolicy

#: `config["configurable"]` keys read by ChatOSVI and the tools; they win over the objects' fields.
AGENT_UUID_KEY = "osvi_agent_uuid"
CUSTOMER_ID_KEY = "osvi_customer_id"
SESSION_ID_KEY = "osvi_session_id"


# -- shared pools --------------------------------------------------------------------------------


class _LoopPools:
    """The async clients of one event loop, and the generator that closes them when the loop ends."""

    def __init__(self) -> None:
        self.clients: dict[ClientConfig, AsyncOSVIClient] = {}
        self.guard: AsyncGenerator[None, None] | None = None
        self.loop_closed = False


_lock = threading.Lock()
_sync_pools: dict[ClientConfig, OSVIClient] = {}
_async_pools: dict[asyncio.AbstractEventLoop, _LoopPools] = {}


def _new_client(config: ClientConfig, http_client: httpx.Client | None = None) -> OSVIClient:
    return OSVIClient(config=config, http_client=http_client)


def _new_async_client(config: ClientConfig, http_client: httpx.AsyncClient | None = None) -> AsyncOSVIClient:
    return AsyncOSVIClient(config=config, http_client=http_client)


def shared_client(config: ClientConfig) -> OSVIClient:
    """The one sync client (and connection pool) for these settings."""
    with _lock:
        client = _sync_pools.get(config)
        if client is None:
            client = _sync_pools[config] = _new_client(config)
        return client


async def shared_async_client(config: ClientConfig) -> AsyncOSVIClient:
    """The one async client for these settings in the running event loop."""
    loop = asyncio.get_running_loop()
    with _lock:
        abandoned = _drop_closed_loops()
        pools = _async_pools.get(loop)
        new_loop = pools is None
        if pools is None:
            pools = _async_pools[loop] = _LoopPools()
        client = pools.clients.get(config)
        if client is None:
            client = pools.clients[config] = _new_async_client(config)
    for gone in abandoned:
        _finish_guard(gone)
    if new_loop:
        # Started inside the loop, so the loop registers it and `shutdown_asyncgens()` (run by
        # asyncio.run / Runner at exit) closes it, running its `finally`. The loop only keeps a
        # weak reference: `pools.guard` keeps it alive until then.
        pools.guard = _close_with_loop(loop, pools)
        await pools.guard.asend(None)
    return client


async def _close_with_loop(loop: asyncio.AbstractEventLoop, pools: _LoopPools) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _lock:
            if _async_pools.get(loop) is pools:
                del _async_pools[loop]
            clients = list(pools.clients.values())
            pools.clients.clear()
        if not pools.loop_closed:
            for client in clients:
                await client.aclose()


def _drop_closed_loops() -> list[_LoopPools]:
    """Forgets loops closed without `shutdown_asyncgens()` (their pools cannot be closed any more). Under `_lock`."""
    gone = [loop for loop in _async_pools if loop.is_closed()]
    dropped = []
    for loop in gone:
        pools = _async_pools.pop(loop)
        pools.loop_closed = True
        dropped.append(pools)
    return dropped


def _finish_guard(pools: _LoopPools) -> None:
    """Runs a dead loop's guard to its end by hand, so it is not finalised into that closed loop later."""
    guard, pools.guard = pools.guard, None
    if guard is None:
        return
    closing = guard.aclose()
    with contextlib.suppress(StopIteration, RuntimeError):
        closing.send(None)  # the `finally` awaits nothing once loop_closed is set


def close_shared_client(config: ClientConfig) -> None:
    with _lock:
        client = _sync_pools.pop(config, None)
    if client is not None:
        client.close()


async def aclose_shared_async_client(config: ClientConfig) -> None:
    loop = asyncio.get_running_loop()
    with _lock:
        pools = _async_pools.get(loop)
        client = pools.clients.pop(config, None) if pools is not None else None
    if client is not None:
        await client.aclose()


def close_all_shared_clients() -> None:
    """Closes every shared sync pool and forgets loops that are closed. Async pools of live loops
    close with their loop (or with `aclose()` inside it)."""
    with _lock:
        clients = list(_sync_pools.values())
        _sync_pools.clear()
        abandoned = _drop_closed_loops()
    for client in clients:
        client.close()
    for pools in abandoned:
        _finish_guard(pools)


def shared_pool_counts() -> tuple[int, int]:
    """(sync clients, async clients over all loops) currently shared: for tests and diagnostics."""
    with _lock:
        return len(_sync_pools), sum(len(p.clients) for p in _async_pools.values())


# -- settings ------------------------------------------------------------------------------------


def _accepted_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names


#: Per-object runtime state, rebuilt (not copied) by pickling and deep copies.
_RUNTIME_STATE = frozenset({"_own_client", "_own_async_client", "_own_lock", "_resolved"})


class OSVIConnection(BaseModel):
    """Token, endpoint and transport options. All HTTP behaviour (retries, errors) is the core client's."""

    model_config: ClassVar[ConfigDict] = ConfigDict(arbitrary_types_allowed=True)

    #: Arguments LangChain passes to every model that mean nothing here; accepted and ignored.
    _ignored_arguments: ClassVar[frozenset[str]] = frozenset()

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(TOKEN_ENV, default=None),
        validation_alias=AliasChoices("api_key", "api_token"),
    )
    """OSVI API token (also accepted as `api_token`); defaults to the `OSVI_API_TOKEN` environment variable."""

    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API root; defaults to `OSVI_BASE_URL`, then https://api.osvi.ai."""

    timeout: float | None = None
    """Seconds one call may take in all, retries included (the core's default is 60: replies come from an LLM)."""

    max_retries: int | None = None
    """Retries when the request provably had no effect (see `RetryPolicy`); the core's default is 2."""

    retry_policy: RetryPolicy | None = Field(default=None, exclude=True)
    """Full retry policy instead of `max_retries`."""

    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.Client` (proxies, TLS settings...); used as is and never closed by this object."""

    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.AsyncClient`; used as is and never closed by this object."""

    # Clients around an injected httpx client own no connections: one per object, never shared.
    _own_client: OSVIClient | None = PrivateAttr(default=None)
    _own_async_client: AsyncOSVIClient | None = PrivateAttr(default=None)
    _own_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _resolved: tuple[tuple[Any, ...], ClientConfig] | None = PrivateAttr(default=None)

    # -- copies and pickles: settings travel, connections and locks do not -------------------------

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = state.get("__pydantic_private__") or {}
        state["__pydantic_private__"] = {k: v for k, v in private.items() if k not in _RUNTIME_STATE}
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        private = self.__pydantic_private__
        if private is not None:
            private.update(_own_client=None, _own_async_client=None, _own_lock=threading.Lock(), _resolved=None)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A deep copy with the same settings and its own (not yet opened) connections and lock; LangChain
        and LangGraph copy models and tools (`copy.deepcopy`, `with_config`, checkpoints)."""
        clone = type(self).__new__(type(self))
        clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return clone

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_arguments(cls, data: Any) -> Any:
        # A misspelt option (`sesion_id=`) must not be dropped silently: the call would go elsewhere.
        if isinstance(data, Mapping):
            accepted = _accepted_names(cls)
            unknown = [k for k in data if isinstance(k, str) and k not in accepted and k not in cls._ignored_arguments]
            if unknown:
                hints = []
                for name in unknown:
                    close = difflib.get_close_matches(name, sorted(accepted), n=1)
                    hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
                raise ValueError(f"{cls.__name__} does not take {', '.join(hints)}.")
        return data

    def _client_config(self) -> ClientConfig:
        """The resolved settings (argument, then environment, then default): the pool's identity.
        Resolved once per object and kept while its settings fields stay the same (resolving costs about
        twice as much as building a request, and ran on every call before)."""
        given = (self.api_key, self.base_url, self.timeout, self.max_retries, self.retry_policy)
        cached = self._resolved
        if cached is not None and cached[0] == given:
            return cached[1]
        config = build_config(
            api_token=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_policy=self.retry_policy,
        )
        self._resolved = (given, config)
        return config

    def _get_client(self) -> OSVIClient:
        """The sync client: shared by every object with the same settings, built on first use."""
        config = self._client_config()
        if self.http_client is None:
            return shared_client(config)
        with self._own_lock:
            if self._own_client is None:
                self._own_client = _new_client(config, self.http_client)
            return self._own_client

    async def _aget_client(self) -> AsyncOSVIClient:
        """The async client for the running event loop, shared like the sync one."""
        config = self._client_config()
        if self.http_async_client is None:
            return await shared_async_client(config)
        with self._own_lock:
            if self._own_async_client is None:
                self._own_async_client = _new_async_client(config, self.http_async_client)
            return self._own_async_client

    def close(self) -> None:
        """Closes the sync connection pool of these settings (shared: objects with the same settings
        open a new one on their next call). An injected `http_client` is left open."""
        with self._own_lock:
            self._own_client = None
        try:
            config = self._client_config()
        except ConfigurationError:
            return  # settings that cannot be resolved never opened a pool
        close_shared_client(config)

    async def aclose(self) -> None:
        """Closes the pools of these settings this object can reach: the async one of the running
        event loop and the sync one. Pools of other loops close when their loop ends."""
        with self._own_lock:
            self._own_async_client = None
        try:
            config = self._client_config()
        except ConfigurationError:
            return
        await aclose_shared_async_client(config)
        close_shared_client(config)
