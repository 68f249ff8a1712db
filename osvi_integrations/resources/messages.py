from __future__ import annotations

from ..protocol import SEND_MESSAGE
from ..types import SendMessageResult
from ._base import AsyncResource, SyncResource


class Messages(SyncResource):
    def send(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag.

        Without `session_id` OSVI continues the customer's active session with the agent (or opens one).
        `agent_uuid=None` uses the client's default agent."""
        return self._client.call(
            SEND_MESSAGE, agent_uuid=agent_uuid, customer_id=customer_id, content=content, session_id=session_id
        )


class AsyncMessages(AsyncResource):
    async def send(
        self, agent_uuid: str | None, customer_id: str, content: str, session_id: str | None = None
    ) -> SendMessageResult:
        """Sends one customer message and returns the agent's reply, mode and escalation flag."""
        return await self._client.call(
            SEND_MESSAGE, agent_uuid=agent_uuid, customer_id=customer_id, content=content, session_id=session_id
        )
