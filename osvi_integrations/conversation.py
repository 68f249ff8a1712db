"""One customer's thread with one agent, so callers need not thread `session_id` by hand."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from .models import Mode, SendMessageResult

if TYPE_CHECKING:
    from .client import AsyncOSVIClient, OSVIClient


class _ConversationState:
    def __init__(self, agent_uuid: str, customer_id: str, session_id: str | None) -> None:
        self.agent_uuid = agent_uuid
        self.customer_id = customer_id
        self.session_id = session_id
        self.last_result: SendMessageResult | None = None

    def _record(self, result: SendMessageResult) -> SendMessageResult:
        # The engine may move the customer to a new session (e.g. after one was closed): follow it.
        self.session_id = result.session_id
        self.last_result = result
        return result

    @property
    def mode(self) -> Mode | None:
        return self.last_result.mode if self.last_result else None

    @property
    def state(self) -> str | None:
        return self.last_result.state if self.last_result else None

    @property
    def help_requested(self) -> bool:
        return bool(self.last_result and self.last_result.help_requested)

    @property
    def human_has_taken_over(self) -> bool:
        return bool(self.last_result and self.last_result.human_has_taken_over)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(agent_uuid={self.agent_uuid!r}, customer_id={self.customer_id!r}, "
            f"session_id={self.session_id!r}, mode={self.mode!r}, help_requested={self.help_requested})"
        )


class Conversation(_ConversationState):
    """Sends one customer's messages in order (one at a time, even from several threads).

    The first message lets the engine resolve the session; later ones are pinned to it.
    """

    def __init__(self, client: OSVIClient, agent_uuid: str, customer_id: str, session_id: str | None = None) -> None:
        super().__init__(agent_uuid, customer_id, session_id)
        self._client = client
        self._lock = threading.Lock()

    def send(self, content: str) -> SendMessageResult:
        with self._lock:
            return self._record(
                self._client.send_message(self.agent_uuid, self.customer_id, content, session_id=self.session_id)
            )


class AsyncConversation(_ConversationState):
    """Async twin of `Conversation`: concurrent `send` calls are queued and sent in call order."""

    def __init__(
        self, client: AsyncOSVIClient, agent_uuid: str, customer_id: str, session_id: str | None = None
    ) -> None:
        super().__init__(agent_uuid, customer_id, session_id)
        self._client = client
        self._lock = asyncio.Lock()  # FIFO: waiters acquire in the order they arrived

    async def send(self, content: str) -> SendMessageResult:
        async with self._lock:
            return self._record(
                await self._client.send_message(self.agent_uuid, self.customer_id, content, session_id=self.session_id)
            )
