"""Typed requests and results of the OSVI Chat v1 API, one module per resource."""

from ._base import (
    AGENT_ID_EXAMPLE,
    DOT_SEGMENTS,
    AgentId,
    CustomerId,
    HandoffFlags,
    SessionId,
    SessionMode,
    SessionStatus,
)
from .agents import ActiveAgent, ActiveAgents, ListActiveAgentsParams
from .messages import SendMessageParams, SendMessageResult
from .sessions import (
    MAX_CONTEXT_ENTRIES,
    ActiveSessions,
    CreateSessionParams,
    GetActiveSessionParams,
    InjectContextParams,
    InjectContextResult,
    InputField,
    ListActiveSessionsParams,
    Session,
    SessionMetadata,
)
from .support import (
    OperatorTextParams,
    SessionOnlyParams,
    SupportCommand,
    SupportCommandResult,
    TakeoverParams,
)

__all__ = [
    "AGENT_ID_EXAMPLE",
    "DOT_SEGMENTS",
    "MAX_CONTEXT_ENTRIES",
    "ActiveAgent",
    "ActiveAgents",
    "ActiveSessions",
    "AgentId",
    "CreateSessionParams",
    "CustomerId",
    "GetActiveSessionParams",
    "HandoffFlags",
    "InjectContextParams",
    "InjectContextResult",
    "InputField",
    "ListActiveAgentsParams",
    "ListActiveSessionsParams",
    "OperatorTextParams",
    "SendMessageParams",
    "SendMessageResult",
    "Session",
    "SessionId",
    "SessionMetadata",
    "SessionMode",
    "SessionOnlyParams",
    "SessionStatus",
    "SupportCommand",
    "SupportCommandResult",
    "TakeoverParams",
]
