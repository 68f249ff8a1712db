"""Sessions: create one with context, find the active one, add context to it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import (
    AgentId,
    CustomerId,
    HandoffFlags,
    RequestModel,
    ResultModel,
    SessionId,
    SessionMode,
    SessionStatus,
    Text,
)

#: Only the newest five non-empty context entries are kept by OSVI.
MAX_CONTEXT_ENTRIES = 5


class CreateSessionParams(RequestModel):
    agent_uuid: AgentId
    customer_id: CustomerId
    input_fields: dict[str, Any] | None = Field(
        default=None,
        description="Facts about the customer the agent can read, e.g. {'first_name': 'Alex', 'plan': 'gold'}.",
        examples=[{"first_name": "Alex"}],
    )
    context: list[str] | None = Field(
        default=None,
        description=(
            "What the agent should know before the first message (e.g. a recap of an earlier call). "
            f"OSVI keeps only the newest {MAX_CONTEXT_ENTRIES} non-empty entries."
        ),
        examples=[["Customer called yesterday about a late delivery."]],
    )


class GetActiveSessionParams(RequestModel):
    customer_id: CustomerId
    agent_uuid: AgentId


class ListActiveSessionsParams(RequestModel):
    customer_id: CustomerId


class InjectContextParams(RequestModel):
    session_id: SessionId
    context: Text = Field(
        min_length=1,
        description=(
            "One context entry to append, e.g. 'Earlier voice call: customer wants a refund.' "
            f"OSVI keeps only the newest {MAX_CONTEXT_ENTRIES} entries."
        ),
    )


class SessionMetadata(ResultModel):
    input_fields: dict[str, Any] = Field(default_factory=dict, description="Customer facts given at creation.")
    state_fields: dict[str, Any] = Field(default_factory=dict, description="Values held by the agent's states.")
    context: list[str] = Field(default_factory=list, description="Context entries (newest last; at most five).")


class Session(HandoffFlags, ResultModel):
    """One chat session record (`POST /v1/chat/session`, `GET /v1/chat/session/active`)."""

    id: str = Field(description="Session UUID; the support and inject-context calls take it.")
    chat_agent_id: int | None = Field(default=None, description="OSVI's internal numeric id of the agent.")
    account_id: int | None = Field(default=None, description="OSVI's internal numeric id of the account.")
    customer_id: str = Field(description="The customer's identifier.")
    mode: SessionMode | str = Field(description="'ai', or 'support' once a human operator has taken over.")
    help_requested: bool = Field(description="True when the customer or the agent has asked for a human.")
    status: SessionStatus | str = Field(description="'active', 'dormant' (quiet for a while) or 'closed'.")
    current_state: str | None = Field(default=None, description="Current state of a multi-state agent, else null.")
    metadata: SessionMetadata = Field(default_factory=SessionMetadata, description="Input fields and context.")
    active_human: str | None = Field(default=None, description="The operator handling the session, or null.")
    created_at: str | None = Field(default=None, description="ISO 8601 creation time.")
    updated_at: str | None = Field(default=None, description="ISO 8601 time of the last change.")

    @property
    def session_id(self) -> str:
        """Same as `id`, under the name the other results use."""
        return self.id

    def summary(self) -> str:
        lines = [
            f"Session {self.id} with customer {self.customer_id}: status {self.status}, mode {self.mode}, "
            f"help_requested {str(self.help_requested).lower()}, state {self.current_state or 'default'}."
        ]
        if self.human_has_taken_over:
            who = f" ({self.active_human})" if self.active_human else ""
            lines.append(f"[A human operator{who} has taken over; the agent will not reply automatically.]")
        if self.help_requested:
            lines.append("[Escalation requested: a human operator is being asked for.]")
        if self.metadata.context:
            lines.append("Context: " + " | ".join(self.metadata.context))
        if self.metadata.input_fields:
            lines.append("Input fields: " + ", ".join(f"{k}={v}" for k, v in self.metadata.input_fields.items()))
        return "\n".join(lines)


class ActiveSessions(ResultModel):
    """A customer's active sessions, keyed by agent id (`GET /v1/chat/session/active` without `agent_uuid`)."""

    sessions: dict[str, Session] = Field(description="Active sessions keyed by agent id; empty when there are none.")

    def summary(self) -> str:
        if not self.sessions:
            return "The customer has no active session with any agent."
        return "\n\n".join(f"Agent {agent}:\n{s.summary()}" for agent, s in self.sessions.items())


class InjectContextResult(ResultModel):
    session_id: str = Field(description="The session the entry was added to.")
    context: list[str] = Field(description="The session's context afterwards (newest last).")

    def summary(self) -> str:
        return f"Context added to session {self.session_id}. It now holds: " + " | ".join(self.context)
