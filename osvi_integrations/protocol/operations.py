"""Every OSVI Chat v1 operation, one definition each. Adding an endpoint: see "Adding an endpoint" in
the README (types, an entry here, the resource methods, the sandbox)."""

from __future__ import annotations

from typing import Any

from ..errors import NoActiveSessionError, SessionNotFoundError
from ..types import (
    ActiveAgents,
    ActiveSessions,
    CreateSessionParams,
    GetActiveSessionParams,
    InjectContextParams,
    InjectContextResult,
    ListActiveAgentsParams,
    ListActiveSessionsParams,
    OperatorTextParams,
    SendMessageParams,
    SendMessageResult,
    Session,
    SessionOnlyParams,
    SupportCommandResult,
    TakeoverParams,
)
from .operation import Effect, Operation

_SUPPORT_PATH = "/v1/chat/session/{session_id}/support"
_TAKEOVER_NOTE = (
    "`mode` 'support' means a human operator has taken over: the agent stays silent and you must stop "
    "replying to the customer automatically. `help_requested` true means the agent escalated and asks for a human."
)

SEND_MESSAGE: Operation[SendMessageParams, SendMessageResult] = Operation(
    name="send_message",
    title="Send a customer message to an OSVI agent",
    description=(
        "Deliver one customer message to an OSVI AI chat agent and get the agent's reply, with the session's "
        f"`session_id`, `state`, `mode` and `help_requested`. {_TAKEOVER_NOTE} Not idempotent: every call adds "
        "a message to the conversation."
    ),
    method="POST",
    path="/v1/chat/inbound",
    params=SendMessageParams,
    result=SendMessageResult,
    effect=Effect.WRITE,
    not_found=SessionNotFoundError,
    subject="the customer's message",
)

CREATE_SESSION: Operation[CreateSessionParams, Session] = Operation(
    name="create_session",
    title="Start an OSVI session with context",
    description=(
        "Start a fresh session between a customer and an OSVI agent, handing over what the agent should know "
        "first: `input_fields` (facts such as the customer's name) and `context` (free-text notes, the newest 5 "
        "are kept). Any active session of this customer with this agent is CLOSED first. Then send the "
        "customer's messages with send_message."
    ),
    method="POST",
    path="/v1/chat/session",
    params=CreateSessionParams,
    result=Session,
    effect=Effect.DESTRUCTIVE,
    subject="the new session",
)

GET_ACTIVE_SESSION: Operation[GetActiveSessionParams, Session] = Operation(
    name="get_active_session",
    title="Get a customer's active OSVI session",
    description=(
        "Read the customer's active session with one agent: its id, `mode`, `help_requested`, status, state, "
        "operator and context. Use it to check a conversation before acting, e.g. after a call timed out. "
        "Read-only."
    ),
    method="GET",
    path="/v1/chat/session/active",
    params=GetActiveSessionParams,
    result=Session,
    effect=Effect.READ,
    not_found=NoActiveSessionError,
)

LIST_ACTIVE_SESSIONS: Operation[ListActiveSessionsParams, ActiveSessions] = Operation(
    name="list_active_sessions",
    title="List a customer's active OSVI sessions",
    description="Read every active session of a customer, keyed by agent id. Read-only.",
    method="GET",
    path="/v1/chat/session/active",
    params=ListActiveSessionsParams,
    result=ActiveSessions,
    result_field="sessions",
    effect=Effect.READ,
)

INJECT_CONTEXT: Operation[InjectContextParams, InjectContextResult] = Operation(
    name="inject_context",
    title="Add context to an OSVI session",
    description=(
        "Append one free-text note to a live session's context (e.g. what happened in an earlier phone call) "
        "so the agent uses it in its next turns. OSVI keeps the newest 5 entries. Not idempotent: a repeat adds "
        "the note twice."
    ),
    method="POST",
    path="/v1/chat/session/{session_id}/inject_context",
    params=InjectContextParams,
    result=InjectContextResult,
    effect=Effect.WRITE,
    not_found=SessionNotFoundError,
    subject="the context note",
)


def _support(
    name: str, title: str, description: str, command: str | None, params: Any, effect: Effect, subject: str
) -> Operation[Any, SupportCommandResult]:
    return Operation(
        name=name,
        title=title,
        description=f"Operator action. {description}",
        method="POST",
        path=_SUPPORT_PATH,
        params=params,
        result=SupportCommandResult,
        effect=effect,
        operator=True,
        fixed_body={"command": command} if command else {},
        not_found=SessionNotFoundError,
        subject=subject,
    )


TAKEOVER_SESSION: Operation[TakeoverParams, SupportCommandResult] = _support(
    "takeover_session",
    "Take over an OSVI session (human operator)",
    "A human operator takes the session over: the agent stops replying and `mode` becomes 'support'. "
    "An optional `message` goes to the customer. Use after `help_requested`.",
    "takeover",
    TakeoverParams,
    Effect.WRITE,
    "the takeover",
)
TELL_AGENT: Operation[OperatorTextParams, SupportCommandResult] = _support(
    "tell_agent",
    "Tell the OSVI agent what to do",
    "Give the agent guidance that it acts on at once: it takes a turn and its `reply` comes back. "
    "Refused while a human has taken over.",
    "tell",
    OperatorTextParams,
    Effect.WRITE,
    "the instruction",
)
WHISPER_TO_AGENT: Operation[OperatorTextParams, SupportCommandResult] = _support(
    "whisper_to_agent",
    "Whisper to the OSVI agent",
    "Private guidance for the agent's next turn; the customer never sees it.",
    "whisper",
    OperatorTextParams,
    Effect.WRITE,
    "the whisper",
)
HAND_BACK_TO_AGENT: Operation[SessionOnlyParams, SupportCommandResult] = _support(
    "hand_back_to_agent",
    "Hand an OSVI session back to the agent",
    "End the human takeover: `mode` returns to 'ai' and the agent answers the customer again.",
    "end",
    SessionOnlyParams,
    Effect.WRITE,
    "the hand-back",
)
CLOSE_SESSION: Operation[SessionOnlyParams, SupportCommandResult] = _support(
    "close_session",
    "Close an OSVI session",
    "Close the session for good; it cannot be reopened (the customer's next message starts a new session).",
    "close",
    SessionOnlyParams,
    Effect.DESTRUCTIVE,
    "the close",
)
SEND_OPERATOR_MESSAGE: Operation[OperatorTextParams, SupportCommandResult] = _support(
    "send_operator_message",
    "Send an operator message to the customer",
    "Send the operator's own message to the customer. Only while a human has taken over (mode 'support').",
    None,
    OperatorTextParams,
    Effect.WRITE,
    "the operator message",
)

LIST_ACTIVE_AGENTS: Operation[ListActiveAgentsParams, ActiveAgents] = Operation(
    name="list_active_agents",
    title="List the account's active OSVI agents",
    description=(
        "List the account's active agents (id and name), most recently updated first. Use it to find or check "
        "an agent id. Read-only."
    ),
    method="GET",
    path="/v1/active_agents",
    params=ListActiveAgentsParams,
    result=ActiveAgents,
    result_field="agents",
    enveloped=False,
    effect=Effect.READ,
)

#: Every operation, in the order tools are listed.
OPERATIONS: tuple[Operation[Any, Any], ...] = (
    SEND_MESSAGE,
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    LIST_ACTIVE_SESSIONS,
    INJECT_CONTEXT,
    LIST_ACTIVE_AGENTS,
    TAKEOVER_SESSION,
    TELL_AGENT,
    WHISPER_TO_AGENT,
    HAND_BACK_TO_AGENT,
    CLOSE_SESSION,
    SEND_OPERATOR_MESSAGE,
)

#: The operator's operations (`Operation.operator`: the support commands). A tool surface offers them
#: only on explicit opt-in (`offered_operations`); they need the `osvi:operate` scope.
OPERATOR_OPERATIONS: tuple[Operation[Any, Any], ...] = tuple(op for op in OPERATIONS if op.operator)
_WITHOUT_OPERATOR: tuple[Operation[Any, Any], ...] = tuple(op for op in OPERATIONS if not op.operator)


def offered_operations(*, operator_tools: bool) -> tuple[Operation[Any, Any], ...]:
    """The operations a tool surface (the LangChain toolkit, the MCP server) offers, in `OPERATIONS`
    order: all of them with `operator_tools`, otherwise all but `OPERATOR_OPERATIONS`."""
    return OPERATIONS if operator_tools else _WITHOUT_OPERATOR
