"""Moving bytes, with a real deadline per attempt. The only module that does HTTP I/O.

Which library moves the bytes (measured in bench/, written down in docs/performance.md):

- async, own pool: aiohttp. At 128 concurrent sends it spends a fraction of the CPU per request of
  httpx or httpx2, which is what limits a contact centre fanning out many conversations.
- sync, own pool: httpx2, the maintained successor of httpx (also what `mcp` and `langsmith` install).
- an injected `httpx` or `httpx2` client: used as is, through the same httpx-family code.

Every library failure becomes a typed OSVI error here, raised outside the `except` block so no
library exception (whose request holds the API-Token header) is chained to it. The libraries are
imported when they are first needed, not by `import osvi_integrations`: httpx2 when a sync client is
built, aiohttp when an async client first sends, asyncio by async code only (sync programs never load it).
"""

from __future__ import annotations

import logging
import sys
import time
import weakref
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    MalformedResponseError,
    OSVIError,
)
from .protocol import Masker, PreparedRequest, RawResponse

if TYPE_CHECKING:  # annotations only: nothing here is loaded at run time
    import asyncio
    import ssl
    from typing import Protocol

    import aiohttp
    import httpx
    import httpx2

    class SyncTransport(Protocol):
        owns_client: bool

        def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse: ...

        def close(self) -> None: ...

    class AsyncTransport(Protocol):
        owns_client: bool

        async def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse: ...

        async def aclose(self) -> None: ...


#: Seconds an idle pooled connection is kept: short enough to give up a connection before a typical
#: server-side keep-alive timeout closes it under us (reusing a dying connection fails a write
#: ambiguously), the same as httpx's default.
KEEPALIVE_EXPIRY = 5.0


#: The loggers of the HTTP libraries that log response headers at DEBUG level (httpcore's trace logs
#: every header the server sent, a `Location` that echoes the token included).
_LIBRARY_LOGGERS = (
    *(
        f"{library}.{part}"
        for library in ("httpcore2", "httpcore")
        for part in ("connection", "connection_pool", "http11", "http2", "proxy", "socks")
    ),
    "httpx2",
    "httpx",
    "aiohttp.client",
    "aiohttp.internal",
)


class _MaskingFilter(logging.Filter):
    """Masks the tokens of live clients in the HTTP libraries' log records. Filters run only for
    records that are emitted (DEBUG off: no cost)."""

    def __init__(self) -> None:
        super().__init__("osvi_integrations")
        self.maskers: weakref.WeakSet[Masker] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        maskers = list(self.maskers)
        if maskers:
            message = record.getMessage()
            masked = message
            for masker in maskers:
                masked = masker.text(masked)
            if masked != message:
                record.msg, record.args = masked, None
        return True


_masking_filter: _MaskingFilter | None = None


def mask_in_library_logs(masker: Masker) -> None:
    """Masks `masker`'s token in what the HTTP libraries log, for as long as `masker` lives."""
    global _masking_filter
    if _masking_filter is None:
        _masking_filter = _MaskingFilter()
        for name in _LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(_masking_filter)
    _masking_filter.maskers.add(masker)


def sync_transport(
    client: httpx.Client | httpx2.Client | None, *, max_connections: int, origin: str, masker: Masker
) -> SyncTransport:
    """The transport of an `OSVIClient`: its own httpx2 pool, or the caller's client. `masker` masks the
    token in everything the server sends, as it arrives."""
    mask_in_library_logs(masker)
    if client is None:
        import httpx2

        own = httpx2.Client(
            limits=httpx2.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            follow_redirects=False,
            verify=_ssl_context(),
        )
        return SyncHttpxTransport(own, owns_client=True, origin=origin, masker=masker)
    return SyncHttpxTransport(client, owns_client=False, origin=origin, masker=masker)


def async_transport(
    client: httpx.AsyncClient | httpx2.AsyncClient | None, *, max_connections: int, origin: str, masker: Masker
) -> AsyncTransport:
    """The transport of an `AsyncOSVIClient`: its own aiohttp pool, or the caller's client."""
    mask_in_library_logs(masker)
    if client is None:
        return AiohttpTransport(max_connections=max_connections, origin=origin, masker=masker)
    return AsyncHttpxTransport(client, origin=origin, masker=masker)


def _too_late(origin: str) -> ConnectTimeoutError:
    # A zero budget would mean "no timeout" to the libraries: refuse to start instead.
    return ConnectTimeoutError(f"No time was left to connect to {origin}; nothing was sent.")


def _timeouts(remaining: float, connect_timeout: float) -> dict[str, float]:
    # httpx's per-phase timeouts in the form its transports read (no Timeout object to build per call).
    return {"connect": min(connect_timeout, remaining), "read": remaining, "write": remaining, "pool": remaining}


class _ParsedUrls:
    """Request URLs, parsed once: given a `str`, httpx parses it anew on every request (13 us of a 63 us
    send over a mock transport, measured: kept; the request headers, encoded once likewise, saved 0.7 us:
    not kept). A client sends few distinct URLs (one per operation, plus session ids), so a small
    dictionary is enough; it starts afresh when full, which bounds its memory."""

    __slots__ = ("_parse", "_parsed")

    LIMIT = 256

    def __init__(self, module: ModuleType) -> None:
        self._parse: Any = module.URL  # raises the library's InvalidURL, mapped like any other failure
        self._parsed: dict[str, Any] = {}

    def __call__(self, url: str) -> Any:
        parsed = self._parsed.get(url)
        if parsed is None:
            parsed = self._parse(url)
            if len(self._parsed) >= self.LIMIT:
                self._parsed = {}  # a new dict, not clear(): other threads may be reading the old one
            self._parsed[url] = parsed
        return parsed


def _reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _undecodable(exc: BaseException) -> MalformedResponseError:
    return MalformedResponseError(
        f"OSVI's answer could not be decoded ({_reason(exc)}).", status_code=200, may_have_taken_effect=True
    )


def _after_sending(origin: str, exc: BaseException) -> APIConnectionError:
    return APIConnectionError(f"The connection to {origin} failed after the request was sent ({_reason(exc)}).")


def _read_timeout(origin: str, timeout: float) -> APITimeoutError:
    return APITimeoutError(f"{origin} did not answer within {timeout:.3g} s; the request was sent.")


# -- httpx and httpx2 (same API, separate exception classes) ---------------------------------------


class _HttpxFamily:
    """The exception classes of httpx or httpx2 (same names, separate classes)."""

    __slots__ = ("connect_timeouts", "decoding", "failures", "invalid_url", "module", "not_sent", "timeout")

    def __init__(self, module: ModuleType) -> None:
        m: Any = module
        self.module = module
        self.invalid_url: type[Exception] = m.InvalidURL
        self.connect_timeouts: tuple[type[Exception], ...] = (m.ConnectTimeout, m.PoolTimeout)
        # Failures that happen before a byte of the request leaves this machine.
        self.not_sent: tuple[type[Exception], ...] = (
            m.ConnectError,
            m.ConnectTimeout,
            m.PoolTimeout,
            m.UnsupportedProtocol,
            m.ProxyError,
        )
        self.timeout: type[Exception] = m.TimeoutException
        self.decoding: type[Exception] = m.DecodingError
        # RuntimeError: "Cannot send a request, as the client has been closed."
        self.failures: tuple[type[Exception], ...] = (m.HTTPError, m.InvalidURL, m.StreamError, RuntimeError)


@cache
def _family(module: ModuleType) -> _HttpxFamily:
    return _HttpxFamily(module)


def _family_of(client: object) -> _HttpxFamily:
    for name in ("httpx2", "httpx"):
        module = sys.modules.get(name)
        if module is not None and isinstance(client, (module.Client, module.AsyncClient)):
            return _family(module)
    raise ConfigurationError(
        f"http_client: expected an httpx or httpx2 client, got {type(client).__name__}; nothing was sent."
    )


def map_httpx_error(exc: BaseException, origin: str, timeout: float) -> OSVIError:
    """The OSVI error for an httpx or httpx2 failure; says whether the request may have been sent."""
    module = sys.modules.get(type(exc).__module__.partition(".")[0])
    family = _family(module) if module is not None and hasattr(module, "HTTPError") else None
    if family is not None and isinstance(exc, family.invalid_url):
        return ConfigurationError(f"base_url: {module.__name__ if module else 'httpx'} cannot use it ({exc}).")
    if family is None or isinstance(exc, RuntimeError):
        return ClientClosedError("The HTTP client is closed; nothing was sent.")
    if isinstance(exc, family.connect_timeouts):
        phase = "connecting to" if isinstance(exc, family.connect_timeouts[0]) else "waiting for a free connection to"
        return ConnectTimeoutError(f"Timed out {phase} {origin}; nothing was sent.")
    if isinstance(exc, family.not_sent):
        return ConnectError(f"Could not connect to {origin} ({_reason(exc)}); nothing was sent.")
    if isinstance(exc, family.timeout):
        return _read_timeout(origin, timeout)
    if isinstance(exc, family.decoding):
        return _undecodable(exc)
    return _after_sending(origin, exc)


class _HttpxTransport:
    """What the sync and async httpx transports share: the client, its library's errors, parsed URLs and
    the way a prepared request becomes the library's request."""

    def __init__(self, client: Any, *, origin: str, masker: Masker) -> None:
        self._client: Any = client  # httpx or httpx2, sync or async: the same calls, typed per library
        self._masker = masker
        self._family = _family_of(client)
        self._origin = origin
        self._urls = _ParsedUrls(self._family.module)

    def _build(self, request: PreparedRequest, remaining: float, connect_timeout: float) -> Any:
        """The library's request, its per-phase timeouts bounded by what is left of the call."""
        return self._client.build_request(
            request.method,
            self._urls(request.url),
            headers=request.headers,
            content=request.content,
            extensions={"timeout": _timeouts(remaining, connect_timeout)},
        )


class SyncHttpxTransport(_HttpxTransport):
    def __init__(self, client: httpx.Client | httpx2.Client, *, owns_client: bool, origin: str, masker: Masker) -> None:
        super().__init__(client, origin=origin, masker=masker)
        self.owns_client = owns_client

    def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse:
        if remaining <= 0:
            raise _too_late(self._origin)
        deadline = time.monotonic() + remaining
        error: OSVIError
        try:
            http_request = self._build(request, remaining, connect_timeout)
            # Never follow a redirect, whatever the injected client says: the token stays with its origin.
            response = self._client.send(http_request, stream=True, follow_redirects=False)
            try:
                chunks: list[bytes] = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:  # a trickling body must not outlive the deadline
                        raise self._family.module.ReadTimeout("deadline passed while reading the body")
            finally:
                response.close()
            return self._masker.received(response.status_code, response.headers, response.headers.raw, b"".join(chunks))
        except self._family.failures as exc:
            error = map_httpx_error(exc, self._origin, remaining)
        raise error

    def close(self) -> None:
        if self.owns_client:
            self._client.close()


class AsyncHttpxTransport(_HttpxTransport):
    """An injected `httpx.AsyncClient` or `httpx2.AsyncClient`, used as is and never closed."""

    owns_client = False

    def __init__(self, client: httpx.AsyncClient | httpx2.AsyncClient, *, origin: str, masker: Masker) -> None:
        super().__init__(client, origin=origin, masker=masker)

    async def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse:
        if remaining <= 0:
            raise _too_late(self._origin)
        import asyncio  # already loaded by the running loop: a dictionary look-up

        loop = asyncio.get_running_loop()
        error: OSVIError
        try:
            # httpx's own timeouts fire first for connecting; this one bounds a trickling body. (asyncio.timeout
            # costs ~5 us a send, ~6% of an injected httpx2 client's own CPU per send over a mock transport;
            # a shared timer of our own saved 4 us of it, not worth its cancel bookkeeping.)
            async with asyncio.timeout_at(loop.time() + remaining + 0.05):
                http_request = self._build(request, remaining, connect_timeout)
                # The body is read inside send (stream=False), which closes the response on any failure.
                response = await self._client.send(http_request, follow_redirects=False)
            return self._masker.received(response.status_code, response.headers, response.headers.raw, response.content)
        except TimeoutError:
            error = _read_timeout(self._origin, remaining)
        except self._family.failures as exc:
            error = map_httpx_error(exc, self._origin, remaining)
        raise error

    async def aclose(self) -> None:
        """An injected client stays open: it is the caller's."""


# -- aiohttp ----------------------------------------------------------------------------------------


def map_aiohttp_error(exc: BaseException, origin: str, timeout: float) -> OSVIError:
    """The OSVI error for an aiohttp failure, by the same rules as `map_httpx_error`."""
    import aiohttp

    if isinstance(exc, aiohttp.InvalidURL):
        return ConfigurationError(f"base_url: aiohttp cannot use it ({exc}).")
    if isinstance(exc, RuntimeError):  # "Session is closed"
        return ClientClosedError("The HTTP client is closed; nothing was sent.")
    # Raised for a new connection's handshake and for the wait for a free pooled one: nothing was sent.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeoutError(f"Timed out connecting to {origin}; nothing was sent.")
    # Refused, DNS, TLS handshake, proxy: no connection to the server was made.
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientHttpProxyError, aiohttp.ServerFingerprintMismatch)):
        return ConnectError(f"Could not connect to {origin} ({_reason(exc)}); nothing was sent.")
    if isinstance(exc, TimeoutError):  # ServerTimeoutError and the total deadline
        return _read_timeout(origin, timeout)
    if isinstance(exc, aiohttp.ClientPayloadError) and _is_encoding_error(exc):
        return _undecodable(exc)
    return _after_sending(origin, exc)


def _is_encoding_error(exc: BaseException) -> bool:
    """aiohttp reports a body it cannot decompress as a payload error caused by a ContentEncodingError."""
    from aiohttp.http_exceptions import ContentEncodingError

    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        if isinstance(seen, ContentEncodingError) or "content-encoding" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


#: Seconds by which the connect phase ends before the attempt's deadline (see `AiohttpTransport.send`).
_CONNECT_MARGIN = 0.005


async def _acquire_by(gate: asyncio.Semaphore, deadline: float) -> bool:
    """Waits for `gate` until the loop time `deadline`; False if it passed first."""
    import asyncio

    try:
        async with asyncio.timeout_at(deadline):
            await gate.acquire()
    except TimeoutError:
        return False
    return True


class AiohttpTransport:
    """An aiohttp pool of its own. The session is opened on first use, in the running event loop
    (aiohttp binds it to that loop), so a client can be built outside any loop."""

    owns_client = True

    def __init__(self, *, max_connections: int, origin: str, masker: Masker) -> None:
        import asyncio

        self._masker = masker
        # aiohttp itself is imported by the first send (`_session_for`): an MCP server builds its
        # client at start-up, and answers tools/list sooner without loading it (~0.1 s).
        self._aiohttp: Any = None
        self._max_connections = max_connections
        self._origin = origin
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxy: Any = None
        self._proxy_auth: aiohttp.BasicAuth | None = None
        self._gate = asyncio.Semaphore(max_connections)
        self._closed = False

    async def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._loop is not None and not self._loop.is_closed():
            raise ConfigurationError(
                "AsyncOSVIClient is in use in another event loop; use one client per event loop. Nothing was sent."
            )
        old = self._session
        if old is not None:
            # Its loop has closed (a second `asyncio.run`): its connections died with it. Mark it
            # closed so it is not reported as leaked, and start afresh in this loop.
            connector = old.connector
            old.detach()
            if connector is not None:
                await connector.close()
        import aiohttp

        self._aiohttp = lib = aiohttp
        connector = lib.TCPConnector(
            limit=self._max_connections,  # every connection stays pooled: no churn under load
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_EXPIRY,
            ssl=_ssl_context() if self._origin.startswith("https:") else False,
        )
        # The environment's proxy is looked up once here: aiohttp's trust_env would do it (and read
        # ~/.netrc) in a worker thread on every request.
        self._proxy, self._proxy_auth = _env_proxy(self._origin)
        session: aiohttp.ClientSession = lib.ClientSession(
            connector=connector, raise_for_status=False, auto_decompress=True
        )
        import asyncio

        self._gate = asyncio.Semaphore(self._max_connections)
        self._session, self._loop = session, loop
        return session

    async def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse:
        if self._closed:
            raise ClientClosedError("The HTTP client is closed; nothing was sent.")
        if remaining <= 0:
            raise _too_late(self._origin)
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + remaining
        session = self._session if self._loop is loop else None
        if session is None:
            session = await self._session_for(loop)
        # The wait for a free connection happens here, not in aiohttp: its deadline firing there
        # would be indistinguishable from one firing after the request was sent.
        gate = self._gate
        if not gate.locked():
            await gate.acquire()  # free: returns at once
        elif not await _acquire_by(gate, deadline):
            raise ConnectTimeoutError(f"Timed out waiting for a free connection to {self._origin}; nothing was sent.")
        lib = self._aiohttp
        error: OSVIError
        try:
            left = deadline - loop.time()
            # `total` bounds the rest of the attempt as a whole: connecting, waiting for the answer
            # and reading the body (even one trickled byte by byte), without rounding the deadline up.
            # The connect phase ends a little earlier, so that its own error (nothing sent) wins a tie.
            timeout = lib.ClientTimeout(
                total=left,
                connect=max(min(connect_timeout, left) - _CONNECT_MARGIN, _CONNECT_MARGIN),
                ceil_threshold=float("inf"),
            )
            async with session.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.content,
                allow_redirects=False,  # the token stays with its origin
                timeout=timeout,
                proxy=self._proxy,
                proxy_auth=self._proxy_auth,
            ) as response:
                content = await response.read()
            return self._masker.received(response.status, response.headers, response.raw_headers, content)
        except (lib.ClientError, TimeoutError, RuntimeError) as exc:
            error = map_aiohttp_error(exc, self._origin, remaining)
        finally:
            gate.release()
        raise error

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


@cache
def _ssl_context() -> ssl.SSLContext:
    """The trust store of every client of the process, sync and async, read once (the system store, as
    httpx2 sets it up; SSL_CERT_FILE / SSL_CERT_DIR as they are at the first use).

    Reading it costs ~18 ms of CPU (the CA bundle parsed into a new context). httpx2 did that for each
    `OSVIClient` built, also for an http:// origin that never uses it: an application that builds a client
    per request or per tool paid it every time (the test suite built about a thousand: ~20 s of its CPU).
    One `SSLContext` is meant to be shared by connections (Python's `ssl` docs); nothing here changes it
    after it is built."""
    import httpcore2

    return httpcore2.default_ssl_context()


def _env_proxy(origin: str) -> tuple[Any, Any]:
    """(proxy URL, proxy auth) from HTTP(S)_PROXY / NO_PROXY for `origin`, or (None, None)."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(origin))
    except LookupError:
        return None, None
