from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol import CREATE_SESSION, GET_ACTIVE_SESSION, INJECT_CONTEXT, LIST_ACTIVE_SESSIONS
from ..types import InjectContextResult, Session
from ._base import AsyncResource, SyncResource


def _listed(context: Sequence[str] | None) -> list[str] | None:
    return list(context) if context is not None and not isinstance(context, str) else context  # type: ignore[return-value]


class Sessions(SyncResource):
    def create(
        self,
        agent_uuid: str | None,
        customer_id: str,
        *,
        input_fields: Mapping[str, Any] | None = None,
        context: Sequence[str] | None = None,
    ) -> Session:
        """Starts a fresh session with context. Closes the customer's active session with this agent first."""
        return self._client.call(
            CREATE_SESSION,
            agent_uuid=agent_uuid,
            customer_id=customer_id,
            input_fields=dict(input_fields) if input_fields is not None else None,
            context=_listed(context),
        )

    def get_active(self, customer_id: str, agent_uuid: str | None = None) -> Session:
        """The customer's active session with the agent; raises `NoActiveSessionError` when there is none."""
        return self._client.call(GET_ACTIVE_SESSION, customer_id=customer_id, agent_uuid=agent_uuid)

    def list_active(self, customer_id: str) -> dict[str, Session]:
        """Every active session of the customer, keyed by agent id (empty when there is none)."""
        return self._client.call(LIST_ACTIVE_SESSIONS, customer_id=customer_id).sessions

    def inject_context(self, session_id: str, context: str) -> InjectContextResult:
        """Appends one context entry to a live session (OSVI keeps the newest five)."""
        return self._client.call(INJECT_CONTEXT, session_id=session_id, context=context)


class AsyncSessions(AsyncResource):
    async def create(
        self,
        agent_uuid: str | None,
        customer_id: str,
        *,
        input_fields: Mapping[str, Any] | None = None,
        context: Sequence[str] | None = None,
    ) -> Session:
        """Starts a fresh session with context. Closes the customer's active session with this agent first."""
        return await self._client.call(
            CREATE_SESSION,
            agent_uuid=agent_uuid,
            customer_id=customer_id,
            input_fields=dict(input_fields) if input_fields is not None else None,
            context=_listed(context),
        )

    async def get_active(self, customer_id: str, agent_uuid: str | None = None) -> Session:
        """The customer's active session with the agent; raises `NoActiveSessionError` when there is none."""
        return await self._client.call(GET_ACTIVE_SESSION, customer_id=customer_id, agent_uuid=agent_uuid)

    async def list_active(self, customer_id: str) -> dict[str, Session]:
        """Every active session of the customer, keyed by agent id (empty when there is none)."""
        return (await self._client.call(LIST_ACTIVE_SESSIONS, customer_id=customer_id)).sessions

    async def inject_context(self, session_id: str, context: str) -> InjectContextResult:
        """Appends one context entry to a live session (OSVI keeps the newest five)."""
        return await self._client.call(INJECT_CONTEXT, session_id=session_id, context=context)
