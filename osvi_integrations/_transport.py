"""Moving bytes over httpx, with a real deadline per attempt. Every httpx failure becomes a typed
OSVI error here, raised outside the `except` block so no httpx exception (whose request holds the
token) is chained to it."""

from __future__ import annotations

import asyncio
import time

import httpx

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
from .protocol import PreparedRequest, RawResponse

# Failures that happen before a byte of the request leaves this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def default_limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _timeouts(remaining: float, connect_timeout: float) -> httpx.Timeout:
    return httpx.Timeout(remaining, connect=min(connect_timeout, remaining), pool=remaining)


def map_httpx_error(exc: BaseException, origin: str, timeout: float) -> OSVIError:
    """The OSVI error for an httpx failure; says whether the request may have been sent."""
    if isinstance(exc, httpx.InvalidURL):
        return ConfigurationError(f"base_url: httpx cannot use it ({exc}).")
    if isinstance(exc, RuntimeError):  # httpx: "Cannot send a request, as the client has been closed."
        return ClientClosedError("The HTTP client is closed; nothing was sent.")
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for a free connection to"
        return ConnectTimeoutError(f"Timed out {phase} {origin}; nothing was sent.")
    if isinstance(exc, _NOT_SENT):
        return ConnectError(f"Could not connect to {origin} ({_reason(exc)}); nothing was sent.")
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{origin} did not answer within {timeout:.3g} s; the request was sent.")
    if isinstance(exc, httpx.DecodingError):
        return MalformedResponseError(
            f"OSVI's answer could not be decoded ({_reason(exc)}).", status_code=200, may_have_taken_effect=True
        )
    return APIConnectionError(f"The connection to {origin} failed after the request was sent ({_reason(exc)}).")


def _reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


_HTTP_FAILURES = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, RuntimeError)


class SyncHttpxTransport:
    def __init__(self, client: httpx.Client | None, *, max_connections: int, origin: str) -> None:
        self.owns_client = client is None
        self._client = client or httpx.Client(limits=default_limits(max_connections), follow_redirects=False)
        self._origin = origin

    def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse:
        deadline = time.monotonic() + remaining
        error: OSVIError
        try:
            http_request = self._client.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=_timeouts(remaining, connect_timeout),
            )
            # Never follow a redirect, whatever the injected client says: the token stays with its origin.
            response = self._client.send(http_request, stream=True, follow_redirects=False)
            try:
                chunks: list[bytes] = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:  # a trickling body must not outlive the deadline
                        raise httpx.ReadTimeout("deadline passed while reading the body")
            finally:
                response.close()
            return RawResponse(response.status_code, response.headers, b"".join(chunks))
        except _HTTP_FAILURES as exc:
            error = map_httpx_error(exc, self._origin, remaining)
        raise error

    def close(self) -> None:
        if self.owns_client:
            self._client.close()


class AsyncHttpxTransport:
    def __init__(self, client: httpx.AsyncClient | None, *, max_connections: int, origin: str) -> None:
        self.owns_client = client is None
        self._client = client or httpx.AsyncClient(limits=default_limits(max_connections), follow_redirects=False)
        self._origin = origin

    async def send(self, request: PreparedRequest, *, remaining: float, connect_timeout: float) -> RawResponse:
        error: OSVIError
        try:
            http_request = self._client.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=_timeouts(remaining, connect_timeout),
            )
            # httpx's own timeouts fire first for connecting; this one bounds a trickling body.
            async with asyncio.timeout(remaining + 0.05):
                response = await self._client.send(http_request, stream=True, follow_redirects=False)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
            return RawResponse(response.status_code, response.headers, content)
        except TimeoutError:
            error = APITimeoutError(f"{self._origin} did not answer within {remaining:.3g} s; the request was sent.")
        except _HTTP_FAILURES as exc:
            error = map_httpx_error(exc, self._origin, remaining)
        raise error

    async def aclose(self) -> None:
        if self.owns_client:
            await self._client.aclose()
