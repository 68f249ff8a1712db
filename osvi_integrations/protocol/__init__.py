"""The sans-I/O core of the OSVI Chat v1 API: operations defined once, requests built, responses and
errors parsed. Nothing here does I/O; the sync and async clients only move bytes."""

from ._wire import (
    SERVER_TEXT_LIMIT,
    USER_AGENT,
    Masker,
    PreparedRequest,
    RawResponse,
    SecretHeaders,
    base_headers,
    bound,
    parse_retry_after,
    redact,
)
from .operation import Effect, Operation, with_json_content_type
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
from .outcomes import ERROR_TABLE, error_from_response, error_table_markdown
from .wording import describe_error

__all__ = [
    "ERROR_TABLE",
    "SERVER_TEXT_LIMIT",
    "Masker",
    "SecretHeaders",
    "bound",
    "error_from_response",
    "error_table_markdown",
    "with_json_content_type",
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
