from __future__ import annotations

from ..protocol import LIST_ACTIVE_AGENTS
from ..types import ActiveAgent
from ._base import AsyncResource, SyncResource


class Agents(SyncResource):
    def list_active(self) -> list[ActiveAgent]:
        """The account's active agents, most recently updated first."""
        return self._client.call(LIST_ACTIVE_AGENTS).agents


class AsyncAgents(AsyncResource):
    async def list_active(self) -> list[ActiveAgent]:
        """The account's active agents, most recently updated first."""
        return (await self._client.call(LIST_ACTIVE_AGENTS)).agents
