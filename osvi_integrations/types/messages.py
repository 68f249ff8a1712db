"""`POST /v1/chat/inbound`: one customer message in, the agent's reply out."""

from __future__ import annotations

from pydantic import Field

from ._base import AgentId, CustomerId, HandoffFlags, RequestModel, ResultModel, SessionId, SessionMode, Text


class SendMessageParams(RequestModel):
    agent_uuid: AgentId
    customer_id: CustomerId
    content: Text = Field(min_length=1, description="The customer's message, verbatim.")
    session_id: SessionId | None = Field(
        default=None,
        description=(
            "session_id from an earlier result, to continue that exact session. Null (or left out) continues the "
            "customer's active session with the agent (or starts one)."
        ),
    )


class SendMessageResult(HandoffFlags, ResultModel):
    """The engine's answer to one customer message (`data` of `POST /v1/chat/inbound`)."""

    session_id: str = Field(description="UUID of the session the message was routed to.")
    reply: str | None = Field(
        description=(
            "The agent's reply; null when the agent produced none "
            "(e.g. while a human operator has taken over the session)."
        )
    )
    state: str = Field(
        description="State name after this turn (multi-prompt agents); single-prompt agents report a default state."
    )
    mode: SessionMode | str = Field(
        description=(
            "'ai' while the agent responds, 'support' once a human operator has taken over "
            "(a value OSVI adds later is passed through as is)."
        )
    )
    help_requested: bool = Field(
        description="True if the agent has escalated the conversation and is requesting a human operator."
    )

    def summary(self) -> str:
        """One readable paragraph: the reply and, stated plainly, any takeover or escalation."""
        lines: list[str] = []
        if self.reply is not None:
            lines.append(self.reply)
        if self.human_has_taken_over:
            lines.append("[A human operator has taken over this conversation; the agent will not reply automatically.]")
        elif self.reply is None:
            lines.append("[The agent produced no reply for this message.]")
        if self.help_requested:
            lines.append("[Escalation requested: the agent has asked for a human operator.]")
        return "\n".join(lines)
