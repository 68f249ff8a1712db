"""The sans-I/O core of the OSVI Chat v1 API: operations defined once, requests built, responses and
errors parsed. Nothing here does I/O; the sync and async clients only move bytes."""

from ._wire import USER_AGENT, PreparedRequest, RawResponse, base_headers, parse_retry_after, redact
from .operation import Effect, Operation
from .operations import (
    CLOSE_SESSION,
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    HAND_BACK_TO_AGENT,
    INJECT_CONTEXT,
    LIST_ACTIVE_AGENTS,
    LIST_ACTIVE_SESSIONS,
    OPERATIONS,
    SEND_MESSAGE,
    SEND_OPERATOR_MESSAGE,
    TAKEOVER_SESSION,
    TELL_AGENT,
    WHISPER_TO_AGENT,
)
from .wording import describe_error

__all__ = [
    "CLOSE_SESSION",
    "CREATE_SESSION",
    "GET_ACTIVE_SESSION",
    "HAND_BACK_TO_AGENT",
    "INJECT_CONTEXT",
    "LIST_ACTIVE_AGENTS",
    "LIST_ACTIVE_SESSIONS",
    "OPERATIONS",
    "SEND_MESSAGE",
    "SEND_OPERATOR_MESSAGE",
    "TAKEOVER_SESSION",
    "TELL_AGENT",
    "USER_AGENT",
    "WHISPER_TO_AGENT",
    "Effect",
    "Operation",
    "PreparedRequest",
    "RawResponse",
    "base_headers",
    "describe_error",
    "parse_retry_after",
    "redact",
]
