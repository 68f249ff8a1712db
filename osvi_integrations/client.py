"""Sync and async clients for the OSVI Chat v1 API. They only move bytes and wait: requests, results
and errors are the sans-I/O `protocol`'s, retry timing is `retry.CallBudget`'s."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pydantic import BaseModel, SecretStr

from ._config import AGENT_ENV, ClientConfig, build_config
from ._transport import async_transport, sync_transport
from .conversation import AsyncConversation, Conversation
from .errors import ClientClosedError, ConfigurationError, InvalidRequestError, OSVIError
from .protocol import SEND_MESSAGE, Operation, PreparedRequest, base_headers
from .protocol.operation import with_json_content_type
from .resources import (
    Agents,
    AsyncAgents,
    AsyncMessages,
    AsyncSessions,
    AsyncSupport,
    Messages,
    Sessions,
    Support,
)
from .retry import CallBudget, RetryPolicy
from .types import SendMessageResult

if TYPE_CHECKING:  # the HTTP libraries load when a client is built, not on import
    import httpx
    import httpx2

ResultT = TypeVar("ResultT", bound=BaseModel)
ParamsT = TypeVar("ParamsT", bound=BaseModel)


class _ClientBase:
    def __init__(
        self,
        *,
        api_token: str | SecretStr | None,
        base_url: str | None,
        timeout: float | None,
        connect_timeout: float | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        max_connections: int | None,
        default_agent_uuid: str | None,
        config: ClientConfig | None,
    ) -> None:
        if config is not None:
            # Settings a surface already resolved with `build_config` (the pool-sharing LangChain objects,
            # the MCP server): used as they are, not resolved from the environment again.
            given = (api_token, base_url, timeout, connect_timeout, max_retries, retry_policy, max_connections)
            if any(value is not None for value in given) or default_agent_uuid is not None:
                raise ConfigurationError("config: pass either config or individual settings, not both.")
            self._config = config
        else:
            self._config = build_config(
                api_token=api_token,
                base_url=base_url,
                timeout=timeout,
                connect_timeout=connect_timeout,
                max_retries=max_retries,
                retry_policy=retry_policy,
                max_connections=max_connections,
                default_agent_uuid=default_agent_uuid,
            )
        self._headers = base_headers(self._config.api_token.get_secret_value())
        self._json_headers = with_json_content_type(self._headers)  # built once, not per request
        self._closed = False

    @property
    def config(self) -> ClientConfig:
        return self._config

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._config.retry

    @property
    def default_agent_uuid(self) -> str | None:
        return self._config.default_agent_uuid

    def _prepare(self, operation: Operation[ParamsT, Any], arguments: Mapping[str, Any]) -> PreparedRequest:
        if self._closed:
            raise ClientClosedError(f"{type(self).__name__} is closed; nothing was sent.")
        if operation.takes_agent and arguments.get("agent_uuid") is None:
            arguments = {**arguments, "agent_uuid": self._agent(None)}
        params = operation.validate(arguments)
        return operation.build(self._config, self._headers, params, json_headers=self._json_headers)

    def _agent(self, agent_uuid: str | None) -> str:
        """`agent_uuid`, or the configured default agent."""
        agent = agent_uuid if agent_uuid is not None else self._config.default_agent_uuid
        if agent is None:
            raise InvalidRequestError("agent_uuid", f"is required (no default agent is configured: set {AGENT_ENV}).")
        return agent

    def _budget(self, operation: Operation[Any, Any], started: float) -> CallBudget:
        """The call's retry budget, needed only once an attempt has failed (the first attempt has it all)."""
        return CallBudget(self._config.retry, self._config.timeout, read_only=operation.read_only, started=started)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r}, api_token='**********')"


class OSVIClient(_ClientBase):
    """Synchronous client for the whole Chat v1 API. Thread-safe; use as a context manager or call `close()`.

    `client.messages`, `client.sessions`, `client.support` and `client.agents` hold the operations;
    `client.send_message(...)` is the shortcut for the common one. A `http_client` you pass in is used
    as is (redirects are never followed) and never closed by this client.
    """

    def __init__(
        self,
        api_token: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        max_connections: int | None = None,
        default_agent_uuid: str | None = None,
        http_client: httpx.Client | httpx2.Client | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        super().__init__(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            max_connections=max_connections,
            default_agent_uuid=default_agent_uuid,
            config=config,
        )
        self._transport = sync_transport(
            http_client, max_connections=self._config.max_connections, origin=self._config.origin
        )
        self._close_lock = threading.Lock()
        self.messages: Messages = Messages(self)
        self.sessions: Sessions = Sessions(self)
        self.support: Support = Support(self)
        self.agents: Agents = Agents(self)

    def invoke(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT:
        """Runs one operation with keyword arguments (checked against its params model)."""
        request = self._prepare(operation, arguments)
        config = self._config
        started, remaining = time.monotonic(), config.timeout
        budget: CallBudget | None = None
        while True:
            try:
                if self._closed:
                    raise ClientClosedError("OSVIClient was closed while retrying; the last attempt failed.")
                raw = self._transport.send(request, remaining=remaining, connect_timeout=config.connect_timeout)
                return operation.parse(raw, secret=config.api_token)
            except OSVIError as error:
                if budget is None:
                    budget = self._budget(operation, started)
                delay = budget.after_failure(error)
            time.sleep(delay)
            remaining = budget.remaining()

    def send_message(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        return self.invoke(
            SEND_MESSAGE, agent_uuid=agent_uuid, customer_id=customer_id, content=content, session_id=session_id
        )

    def conversation(self, agent_uuid: str | None, customer_id: str, session_id: str | None = None) -> Conversation:
        """One customer's thread with one agent: keeps the session, sends in call order."""
        return Conversation(self, self._agent(agent_uuid), customer_id, session_id)

    def close(self) -> None:
        """Closes the connection pool this client opened (an injected `http_client` stays open)."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOSVIClient(_ClientBase):
    """Asynchronous client for the whole Chat v1 API. Use as an async context manager or call `aclose()`.

    Same resources and rules as `OSVIClient`. A `http_client` you pass in is used as is (redirects are
    never followed) and never closed by this client.
    """

    def __init__(
        self,
        api_token: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        max_connections: int | None = None,
        default_agent_uuid: str | None = None,
        http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        super().__init__(
            api_token=api_token,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            max_connections=max_connections,
            default_agent_uuid=default_agent_uuid,
            config=config,
        )
        self._transport = async_transport(
            http_client, max_connections=self._config.max_connections, origin=self._config.origin
        )
        self.messages: AsyncMessages = AsyncMessages(self)
        self.sessions: AsyncSessions = AsyncSessions(self)
        self.support: AsyncSupport = AsyncSupport(self)
        self.agents: AsyncAgents = AsyncAgents(self)

    async def invoke(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT:
        """Runs one operation with keyword arguments (checked against its params model)."""
        request = self._prepare(operation, arguments)
        config = self._config
        started, remaining = time.monotonic(), config.timeout
        budget: CallBudget | None = None
        while True:
            try:
                if self._closed:
                    raise ClientClosedError("AsyncOSVIClient was closed while retrying; the last attempt failed.")
                raw = await self._transport.send(request, remaining=remaining, connect_timeout=config.connect_timeout)
                return operation.parse(raw, secret=config.api_token)
            except OSVIError as error:
                if budget is None:
                    budget = self._budget(operation, started)
                delay = budget.after_failure(error)
            import asyncio  # here, not at import: sync-only programs never load asyncio

            await asyncio.sleep(delay)
            remaining = budget.remaining()

    async def send_message(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        return await self.invoke(
            SEND_MESSAGE, agent_uuid=agent_uuid, customer_id=customer_id, content=content, session_id=session_id
        )

    def conversation(
        self, agent_uuid: str | None, customer_id: str, session_id: str | None = None
    ) -> AsyncConversation:
        """One customer's thread with one agent: keeps the session, sends in call order."""
        return AsyncConversation(self, self._agent(agent_uuid), customer_id, session_id)

    async def aclose(self) -> None:
        """Closes the connection pool this client opened (an injected `http_client` stays open)."""
        if not self._closed:
            self._closed = True
            await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
