"""Sync and async clients for the OSVI Chat v1 API. They only move bytes and wait: requests, results
and errors are the sans-I/O `protocol`'s, retry timing is `retry.CallBudget`'s."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

from pydantic import BaseModel, SecretStr

from ._transport import async_transport, sync_transport
from .config import AGENT_ENV, ClientConfig, ClientOptions, build_config
from .conversation import AsyncConversation, Conversation
from .errors import ClientClosedError, ConfigurationError, InvalidRequestError, OSVIError
from .protocol import (
    LIST_ACTIVE_SESSIONS,
    SEND_MESSAGE,
    Masker,
    Operation,
    PreparedRequest,
    base_headers,
    check_session_owner,
    with_json_content_type,
)
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
    def __init__(self, api_token: str | SecretStr | None, config: ClientConfig | None, options: ClientOptions) -> None:
        if config is not None:
            # Settings a surface already resolved with `build_config` (the pool-sharing LangChain objects,
            # the MCP server): used as they are, not resolved from the environment again.
            if api_token is not None or any(value is not None for value in options.values()):
                raise ConfigurationError("config: pass either config or individual settings, not both.")
            self._config = config
        else:
            self._config = build_config(api_token=api_token, **options)
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

    def _prepare(
        self, operation: Operation[ParamsT, Any], arguments: Mapping[str, Any], params: ParamsT | None = None
    ) -> PreparedRequest:
        """The request for keyword `arguments` (checked here) or for `params` (checked by the caller)."""
        if self._closed:
            raise ClientClosedError(f"{type(self).__name__} is closed; nothing was sent.")
        if params is None:
            if operation.takes_agent and arguments.get("agent_uuid") is None:
                arguments = {**arguments, "agent_uuid": self._agent(None)}
            params = operation.validate(arguments)
        elif arguments or type(params) is not operation.params:
            raise TypeError(
                f"{operation.name}: pass either keyword arguments or one {operation.params.__name__} "
                "(params), not both."
            )
        return operation.build(self._config.base_url, self._headers, params, json_headers=self._json_headers)

    @staticmethod
    def _for_customer(
        operation: Operation[Any, Any],
        customer_id: str,
        agent_uuid: str | None,
        arguments: Mapping[str, Any],
        params: BaseModel | None,
    ) -> tuple[dict[str, Any], object]:
        """(`arguments` with the bound customer and agent, the session named): another customer or agent
        named in `arguments` or `params` is refused."""
        bound = dict(arguments)
        for name, value in (("customer_id", customer_id), ("agent_uuid", agent_uuid)):
            given = arguments.get(name) if params is None else getattr(params, name, None)
            if value is not None and given is not None and given != value:
                raise InvalidRequestError(name, "is bound to another value for this call; nothing was sent.")
            if value is not None and params is None and name in operation.params.model_fields:
                bound[name] = value
        return bound, bound.get("session_id") if params is None else getattr(params, "session_id", None)

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
        http_client: httpx.Client | httpx2.Client | None = None,
        config: ClientConfig | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        """`api_token` (default `OSVI_API_TOKEN`) and the `ClientOptions` (`base_url`, `timeout`,
        `connect_timeout`, `max_retries` or `retry_policy`, `max_connections`, `default_agent_uuid`), or
        `config` resolved by `build_config`. A `http_client` is used as is and never closed here."""
        super().__init__(api_token, config, options)
        self._transport = sync_transport(
            http_client,
            max_connections=self._config.max_connections,
            origin=self._config.origin,
            masker=Masker(self._config.api_token),
        )
        self._close_lock = threading.Lock()
        self.messages: Messages = Messages(self)
        self.sessions: Sessions = Sessions(self)
        self.support: Support = Support(self)
        self.agents: Agents = Agents(self)

    def call(
        self, operation: Operation[ParamsT, ResultT], params: ParamsT | None = None, /, **arguments: Any
    ) -> ResultT:
        """Runs one operation with keyword arguments, checked against its params model (`operation.params`),
        or with `params`, an instance of that model the caller already checked (`operation.validate`),
        which is sent as it is."""
        return self._run(operation, self._prepare(operation, arguments, params))

    def _run(self, operation: Operation[Any, ResultT], request: PreparedRequest) -> ResultT:
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

    def call_for_customer(
        self,
        operation: Operation[ParamsT, ResultT],
        params: ParamsT | None = None,
        /,
        *,
        customer_id: str,
        agent_uuid: str | None = None,
        **arguments: Any,
    ) -> ResultT:
        """`call` on behalf of one customer (and agent, when given): an operation that takes a
        `customer_id` / `agent_uuid` gets these (`params` must already hold them), and an operation on a
        named session (`inject_context`, the support commands) runs only if that session is an active
        session of this customer (with this agent); otherwise `InvalidRequestError` names `session_id` and
        nothing is sent. It costs one read (`list_active_sessions`) first. What customer-bound tools use."""
        arguments, session_id = self._for_customer(operation, customer_id, agent_uuid, arguments, params)
        request = self._prepare(operation, arguments, params)  # a bad argument is refused before the look-up
        if operation.acts_on_a_named_session:
            sessions = self.call(LIST_ACTIVE_SESSIONS, customer_id=customer_id).sessions
            check_session_owner(sessions, session_id, customer_id, agent_uuid)
        return self._run(operation, request)

    def send_message(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        return self.call(
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
        http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
        config: ClientConfig | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        """`api_token` (default `OSVI_API_TOKEN`) and the `ClientOptions` (`base_url`, `timeout`,
        `connect_timeout`, `max_retries` or `retry_policy`, `max_connections`, `default_agent_uuid`), or
        `config` resolved by `build_config`. A `http_client` is used as is and never closed here."""
        super().__init__(api_token, config, options)
        self._transport = async_transport(
            http_client,
            max_connections=self._config.max_connections,
            origin=self._config.origin,
            masker=Masker(self._config.api_token),
        )
        self.messages: AsyncMessages = AsyncMessages(self)
        self.sessions: AsyncSessions = AsyncSessions(self)
        self.support: AsyncSupport = AsyncSupport(self)
        self.agents: AsyncAgents = AsyncAgents(self)

    async def call(
        self, operation: Operation[ParamsT, ResultT], params: ParamsT | None = None, /, **arguments: Any
    ) -> ResultT:
        """Runs one operation with keyword arguments or checked `params`; see `OSVIClient.call`."""
        return await self._run(operation, self._prepare(operation, arguments, params))

    async def _run(self, operation: Operation[Any, ResultT], request: PreparedRequest) -> ResultT:
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

    async def call_for_customer(
        self,
        operation: Operation[ParamsT, ResultT],
        params: ParamsT | None = None,
        /,
        *,
        customer_id: str,
        agent_uuid: str | None = None,
        **arguments: Any,
    ) -> ResultT:
        """`call` on behalf of one customer (and agent); see `OSVIClient.call_for_customer`."""
        arguments, session_id = self._for_customer(operation, customer_id, agent_uuid, arguments, params)
        request = self._prepare(operation, arguments, params)
        if operation.acts_on_a_named_session:
            sessions = (await self.call(LIST_ACTIVE_SESSIONS, customer_id=customer_id)).sessions
            check_session_owner(sessions, session_id, customer_id, agent_uuid)
        return await self._run(operation, request)

    async def send_message(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        return await self.call(
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
