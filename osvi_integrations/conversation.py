"""One customer's thread with one agent, so callers need not thread `session_id` by hand.

Messages of one conversation are sent one at a time, first come first served (threads and tasks
alike). The thread survives a closed session: when OSVI answers that the pinned session is closed
or unknown, which proves the message was not delivered, it is sent once more without `session_id`,
so OSVI continues the customer in their active session or a new one, and the conversation follows.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from .errors import NoActiveSessionError, SessionClosedError, SessionNotFoundError
from .types import HandoffFlags, InjectContextResult, SendMessageResult, Session

if TYPE_CHECKING:
    import asyncio

    from .client import AsyncOSVIClient, OSVIClient

#: Errors that prove a message pinned to a session was not delivered because of that session.
SESSION_GONE = (SessionClosedError, SessionNotFoundError)


class _FifoTurns:
    """Threads take turns in the order they asked (a plain lock promises no order)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._condition:
            ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
            self._condition.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._condition:
                self._serving += 1
                self._condition.notify_all()


class _AsyncFifoTurns:
    """Tasks take turns in the order they asked; a cancelled waiter gives its turn to the next."""

    def __init__(self) -> None:
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._busy = False

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._busy or self._waiters:
            import asyncio  # here, not at import: sync-only programs never load asyncio

            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # we were handed the turn as we were cancelled: pass it on
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the turn passes straight to the next waiter
                return
        self._busy = False


class _ConversationState(HandoffFlags):
    def __init__(self, agent_uuid: str, customer_id: str, session_id: str | None) -> None:
        self.agent_uuid: str = agent_uuid
        self.customer_id: str = customer_id
        self.session_id: str | None = session_id
        self.mode: str | None = None
        self.state: str | None = None
        self.help_requested: bool = False
        self.last_result: SendMessageResult | None = None

    def _record(self, result: SendMessageResult) -> SendMessageResult:
        # The engine may move the customer to another session: follow it.
        self.session_id = result.session_id
        self.mode, self.state, self.help_requested = result.mode, result.state, result.help_requested
        self.last_result = result
        return result

    def _record_session(self, session: Session | None) -> Session | None:
        if session is None:
            self.session_id = None
            return None
        self.session_id = session.id
        self.mode, self.help_requested = session.mode, session.help_requested
        self.state = session.current_state or self.state
        return session

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(agent_uuid={self.agent_uuid!r}, customer_id={self.customer_id!r}, "
            f"session_id={self.session_id!r}, mode={self.mode!r}, help_requested={self.help_requested})"
        )


class Conversation(_ConversationState):
    """Sends one customer's messages in order; see the module docstring for the session rule."""

    def __init__(self, client: OSVIClient, agent_uuid: str, customer_id: str, session_id: str | None = None) -> None:
        super().__init__(agent_uuid, customer_id, session_id)
        self._client = client
        self._turns = _FifoTurns()

    def start(self, *, input_fields: Mapping[str, Any] | None = None, context: Sequence[str] | None = None) -> Session:
        """Starts a fresh session with what the agent should know first (closes the active one)."""
        with self._turns.turn():
            session = self._client.sessions.create(
                self.agent_uuid, self.customer_id, input_fields=input_fields, context=context
            )
            self._record_session(session)
            return session

    def send(self, content: str) -> SendMessageResult:
        with self._turns.turn():
            try:
                result = self._client.send_message(self.agent_uuid, self.customer_id, content, self.session_id)
            except SESSION_GONE:
                if self.session_id is None:
                    raise
                self.session_id: str | None = None  # annotated: pyright --verifytypes
                result = self._client.send_message(self.agent_uuid, self.customer_id, content)
            return self._record(result)

    def inject_context(self, context: str) -> InjectContextResult:
        """Adds a context entry to the conversation's session (looked up first if none is known yet)."""
        with self._turns.turn():
            if self.session_id is None:
                self._record_session(self._client.sessions.get_active(self.customer_id, self.agent_uuid))
            assert self.session_id is not None
            return self._client.sessions.inject_context(self.session_id, context)

    def refresh(self) -> Session | None:
        """Reads the customer's active session (mode, escalation, operator); None when there is none."""
        with self._turns.turn():
            try:
                session = self._client.sessions.get_active(self.customer_id, self.agent_uuid)
            except NoActiveSessionError:
                session = None
            return self._record_session(session)


class AsyncConversation(_ConversationState):
    """Async twin of `Conversation`: concurrent calls run one at a time, in call order."""

    def __init__(
        self, client: AsyncOSVIClient, agent_uuid: str, customer_id: str, session_id: str | None = None
    ) -> None:
        super().__init__(agent_uuid, customer_id, session_id)
        self._client = client
        self._turns = _AsyncFifoTurns()

    async def start(
        self, *, input_fields: Mapping[str, Any] | None = None, context: Sequence[str] | None = None
    ) -> Session:
        """Starts a fresh session with what the agent should know first (closes the active one)."""
        async with self._turns.turn():
            session = await self._client.sessions.create(
                self.agent_uuid, self.customer_id, input_fields=input_fields, context=context
            )
            self._record_session(session)
            return session

    async def send(self, content: str) -> SendMessageResult:
        async with self._turns.turn():
            try:
                result = await self._client.send_message(self.agent_uuid, self.customer_id, content, self.session_id)
            except SESSION_GONE:
                if self.session_id is None:
                    raise
                self.session_id: str | None = None  # annotated: pyright --verifytypes
                result = await self._client.send_message(self.agent_uuid, self.customer_id, content)
            return self._record(result)

    async def inject_context(self, context: str) -> InjectContextResult:
        """Adds a context entry to the conversation's session (looked up first if none is known yet)."""
        async with self._turns.turn():
            if self.session_id is None:
                self._record_session(await self._client.sessions.get_active(self.customer_id, self.agent_uuid))
            assert self.session_id is not None
            return await self._client.sessions.inject_context(self.session_id, context)

    async def refresh(self) -> Session | None:
        """Reads the customer's active session (mode, escalation, operator); None when there is none."""
        async with self._turns.turn():
            try:
                session = await self._client.sessions.get_active(self.customer_id, self.agent_uuid)
            except NoActiveSessionError:
                session = None
            return self._record_session(session)
