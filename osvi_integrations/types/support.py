"""`POST /v1/chat/session/{id}/support`: what an operator does with an escalated session."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import RequestModel, ResultModel, SessionId, Text

SupportCommand = Literal["takeover", "tell", "whisper", "end", "close"]


class SessionOnlyParams(RequestModel):
    session_id: SessionId


class TakeoverParams(RequestModel):
    session_id: SessionId
    message: Text | None = Field(default=None, description="Optional first message from the operator to the customer.")


class OperatorTextParams(RequestModel):
    session_id: SessionId
    message: Text = Field(min_length=1, description="The operator's text.")


class SupportCommandResult(ResultModel):
    """`data` of a support command: always `state`, `session_id`, `command`; `reply` for `tell`,
    `active_human` for `takeover`."""

    session_id: str = Field(description="The session the command was applied to.")
    command: str | None = Field(default=None, description="The command OSVI applied.")
    state: str | None = Field(default=None, description="Outcome or state reported by the engine.")
    reply: str | None = Field(default=None, description="The agent's reply (for `tell`).")
    active_human: str | None = Field(default=None, description="The operator now in charge (for `takeover`).")

    def summary(self) -> str:
        what = {
            "takeover": "A human operator has taken over the session; the agent stops replying.",
            "tell": "The agent was told and answered.",
            "whisper": "The whisper was stored; the agent will use it on its next turn (the customer never sees it).",
            "end": "The session was handed back to the agent (mode 'ai').",
            "close": "The session is closed for good.",
        }.get(self.command or "", "The operator message was sent to the customer.")
        lines = [f"{what} Session {self.session_id}."]
        if self.active_human:
            lines.append(f"Operator in charge: {self.active_human}.")
        if self.reply is not None:
            lines.append(f"Agent's reply: {self.reply}")
        return "\n".join(lines)
