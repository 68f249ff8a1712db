"""`GET /v1/active_agents`."""

from __future__ import annotations

from pydantic import Field

from ._base import RequestModel, ResultModel


class ListActiveAgentsParams(RequestModel):
    """No arguments."""


class ActiveAgent(ResultModel):
    agent_id: str = Field(description="Pass it as `agent_uuid` to the other calls.")
    name: str = Field(description="Display name set in the dashboard.")
    status: str = Field(default="active", description="Always 'active'.")


class ActiveAgents(ResultModel):
    """The account's active agents, most recently updated first (the API's bare array)."""

    agents: list[ActiveAgent]

    def summary(self) -> str:
        if not self.agents:
            return "No active agents on this account."
        return "Active agents (pass agent_id as agent_uuid):\n" + "\n".join(
            f"- {a.agent_id}: {a.name}" for a in self.agents
        )
