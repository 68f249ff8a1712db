"""Sessions: create one with context, find the active one, add context to it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ._base import (
    AgentId,
    CustomerId,
    HandoffFlags,
    Identifier,
    RequestModel,
    ResultModel,
    SessionId,
    SessionMode,
    SessionStatus,
    Text,
)

#: Only the newest five non-empty context entries are kept by OSVI.
MAX_CONTEXT_ENTRIES = 5


# `input_fields` is an object with any keys (what the API receives), which a tool schema cannot state in
# OpenAI's strict mode (every object needs `additionalProperties: false`); a list of name/value entries can,
# in every provider's tool format. Python callers pass the object itself; both reach the API as the object.
class InputField(RequestModel):
    """One customer fact: a name and its value."""

    name: Identifier = Field(description="The fact's name, e.g. 'first_name'.")
    value: str = Field(
        description=(
            "The fact's value. Text as it is (Alex); a number, true/false, null, a list or an object as JSON "
            '(42, true, ["tea", "cake"], {"city": "Oslo"}). A value that reads as JSON is taken as JSON: '
            'quote it to keep it text ("42").'
        )
    )


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python's json reads them, the API would not


def json_value(text: str) -> Any:
    """An entry's value: the JSON it reads as, or else the text itself."""
    try:
        return json.loads(text, parse_constant=_not_json_constant)
    except ValueError:
        return text


def input_fields_object(entries: Any) -> Any:
    """`input_fields` in the API's shape, an object: a list of name/value entries becomes one, an object
    stays as it is, anything else is refused."""
    if entries is None or isinstance(entries, dict):
        return entries
    if not isinstance(entries, list | tuple):
        kind = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
            type(entries), type(entries).__name__
        )
        raise ValueError(f'must be a list of {{"name", "value"}} entries (or an object), got {kind}')
    fields: dict[str, Any] = {}
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, InputField):
            entry = {"name": entry.name, "value": entry.value}
        if not isinstance(entry, dict) or set(entry) != {"name", "value"}:
            raise ValueError(f'entry {number} must be an object with exactly "name" and "value"')
        name, value = entry["name"], entry["value"]
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ValueError(f"entry {number} needs a name: a non-blank string without surrounding spaces")
        if name in fields:
            raise ValueError(f"the name {name!r} is given twice")
        fields[name] = json_value(value) if isinstance(value, str) else value
    return fields


#: Customer facts: the API's object, stated to LLMs as a list of `InputField` entries (see there).
InputFields = Annotated[
    dict[str, Any] | None,
    BeforeValidator(input_fields_object, json_schema_input_type=list[InputField] | None),
]


class CreateSessionParams(RequestModel):
    agent_uuid: AgentId
    customer_id: CustomerId
    input_fields: InputFields = Field(
        default=None,
        description=(
            "Facts about the customer the agent can read, as name/value entries, e.g. "
            "[{'name': 'first_name', 'value': 'Alex'}, {'name': 'plan', 'value': 'gold'}]. Each name once."
        ),
        examples=[[{"name": "first_name", "value": "Alex"}]],
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
