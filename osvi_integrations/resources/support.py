"""Operator actions on a session (`POST /v1/chat/session/{id}/support`). Each method is its operation's
name without the resource's noun: `hand_back` runs `hand_back_to_agent` (the API's `end` command),
`send_message` runs `send_operator_message`. A command the engine refuses raises
`SupportCommandRejectedError` (not applied), with its `reason`."""

from __future__ import annotations

from ..protocol import (
    CLOSE_SESSION,
    HAND_BACK_TO_AGENT,
    SEND_OPERATOR_MESSAGE,
    TAKEOVER_SESSION,
    TELL_AGENT,
    WHISPER_TO_AGENT,
)
from ..types import SupportCommandResult
from ._base import AsyncResource, SyncResource


class Support(SyncResource):
    def takeover(self, session_id: str, message: str | None = None) -> SupportCommandResult:
        """A human takes over: the agent stops replying (`mode` 'support'). `message` goes to the customer."""
        return self._client.call(TAKEOVER_SESSION, session_id=session_id, message=message)

    def tell(self, session_id: str, message: str) -> SupportCommandResult:
        """Guidance the agent acts on at once; its `reply` comes back."""
        return self._client.call(TELL_AGENT, session_id=session_id, message=message)

    def whisper(self, session_id: str, message: str) -> SupportCommandResult:
        """Private guidance for the agent's next turn; the customer never sees it."""
        return self._client.call(WHISPER_TO_AGENT, session_id=session_id, message=message)

    def hand_back(self, session_id: str) -> SupportCommandResult:
        """Hands the session back to the agent (`mode` 'ai')."""
        return self._client.call(HAND_BACK_TO_AGENT, session_id=session_id)

    def close(self, session_id: str) -> SupportCommandResult:
        """Closes the session for good."""
        return self._client.call(CLOSE_SESSION, session_id=session_id)

    def send_message(self, session_id: str, message: str) -> SupportCommandResult:
        """The operator's own message to the customer; only while a human has taken over."""
        return self._client.call(SEND_OPERATOR_MESSAGE, session_id=session_id, message=message)


class AsyncSupport(AsyncResource):
    async def takeover(self, session_id: str, message: str | None = None) -> SupportCommandResult:
        """A human takes over: the agent stops replying (`mode` 'support'). `message` goes to the customer."""
        return await self._client.call(TAKEOVER_SESSION, session_id=session_id, message=message)

    async def tell(self, session_id: str, message: str) -> SupportCommandResult:
        """Guidance the agent acts on at once; its `reply` comes back."""
        return await self._client.call(TELL_AGENT, session_id=session_id, message=message)

    async def whisper(self, session_id: str, message: str) -> SupportCommandResult:
        """Private guidance for the agent's next turn; the customer never sees it."""
        return await self._client.call(WHISPER_TO_AGENT, session_id=session_id, message=message)

    async def hand_back(self, session_id: str) -> SupportCommandResult:
        """Hands the session back to the agent (`mode` 'ai')."""
        return await self._client.call(HAND_BACK_TO_AGENT, session_id=session_id)

    async def close(self, session_id: str) -> SupportCommandResult:
        """Closes the session for good."""
        return await self._client.call(CLOSE_SESSION, session_id=session_id)

    async def send_message(self, session_id: str, message: str) -> SupportCommandResult:
        """The operator's own message to the customer; only while a human has taken over."""
        return await self._client.call(SEND_OPERATOR_MESSAGE, session_id=session_id, message=message)
