"""Sync and async clients for the OSVI Chat v1 API. They only move bytes: see `_protocol` and `retry`."""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from ._config import ClientConfig, build_config
from ._protocol import PreparedRequest, build_send_message, error_from_transport, parse_send_message
from .conversation import AsyncConversation, Conversation
from .errors import OSVIError
from .models import SendMessageResult
from .retry import RetryPolicy

logger = logging.getLogger("osvi_integrations")

_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class _BaseClient:
    _config: ClientConfig
    _owns_http_client: bool

    def __init__(
        self,
        *,
        api_token: str | SecretStr | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        connect_timeout: float | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        injected_client: bool,
    ) -> None:
        self._config = build_config(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            injected_client=injected_client,
        )
        self._owns_http_client = not injected_client

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._config.retry

    def _timeout_arg(self) -> Any:
        return httpx.USE_CLIENT_DEFAULT if self._config.timeout is None else self._config.timeout

    def _prepare(self, agent_uuid: str, customer_id: str, content: str, session_id: str | None) -> PreparedRequest:
        return build_send_message(
            self._config, agent_uuid=agent_uuid, customer_id=customer_id, content=content, session_id=session_id
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r}, api_token='**********')"


class OSVIClient(_BaseClient):
    """Synchronous client. Thread-safe; use as a context manager or call `close()`.

    A `http_client` you pass in is used as is and never closed by this client.
    """

    def __init__(
        self,
        api_token: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            injected_client=http_client is not None,
        )
        self._http = http_client or httpx.Client(limits=_DEFAULT_LIMITS, follow_redirects=False)

    def send_message(
        self, agent_uuid: str, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        request = self._prepare(agent_uuid, customer_id, content, session_id)
        attempts = self._config.retry.attempts()
        while True:
            try:
                response = self._exchange(request)
                return parse_send_message(response.status_code, response.headers, response.content)
            except OSVIError as error:
                time.sleep(attempts.after_failure(error))

    def conversation(self, agent_uuid: str, customer_id: str, session_id: str | None = None) -> Conversation:
        """A helper that keeps one customer's thread (session id, last mode/state) across messages."""
        return Conversation(self, agent_uuid, customer_id, session_id)

    def _exchange(self, request: PreparedRequest) -> httpx.Response:
        logger.debug("POST %s", request.url)
        try:
            return self._http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=self._timeout_arg(),
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc

    def close(self) -> None:
        if self._owns_http_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOSVIClient(_BaseClient):
    """Asynchronous client. Use as an async context manager or call `aclose()`.

    A `http_client` you pass in is used as is and never closed by this client.
    """

    def __init__(
        self,
        api_token: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            injected_client=http_client is not None,
        )
        self._http = http_client or httpx.AsyncClient(limits=_DEFAULT_LIMITS, follow_redirects=False)

    async def send_message(
        self, agent_uuid: str, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        request = self._prepare(agent_uuid, customer_id, content, session_id)
        attempts = self._config.retry.attempts()
        while True:
            try:
                response = await self._exchange(request)
                return parse_send_message(response.status_code, response.headers, response.content)
            except OSVIError as error:
                await asyncio.sleep(attempts.after_failure(error))

    def conversation(self, agent_uuid: str, customer_id: str, session_id: str | None = None) -> AsyncConversation:
        """A helper that keeps one customer's thread (session id, last mode/state) across messages."""
        return AsyncConversation(self, agent_uuid, customer_id, session_id)

    async def _exchange(self, request: PreparedRequest) -> httpx.Response:
        logger.debug("POST %s", request.url)
        try:
            return await self._http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=self._timeout_arg(),
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc

    async def aclose(self) -> None:
        if self._owns_http_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
