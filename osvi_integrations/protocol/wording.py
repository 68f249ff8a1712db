"""How errors read to an AI agent (MCP tool errors, LangChain tool messages): one clear statement of
what failed and whether repeating the call could duplicate something. Built from the error's own
(already masked) message and status: never the token, never a raw upstream body."""

from __future__ import annotations

from typing import Any

from ..errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InvalidRequestError,
    MalformedResponseError,
    NoActiveSessionError,
    OSVIError,
    RateLimitError,
    ServiceUnavailableError,
    SessionClosedError,
    SupportCommandRejectedError,
)
from .operation import Operation
from .operations import GET_ACTIVE_SESSION


def describe_error(error: OSVIError, operation: Operation[Any, Any] | None = None) -> str:
    subject = operation.subject if operation is not None else "the request"
    if isinstance(error, InvalidRequestError):
        return f"Invalid argument {error.field}: {error.problem} Nothing was sent."
    what = _what_failed(error)
    if operation is not None and operation.read_only:
        return f"{what} This call only reads, so it is safe to try again."
    if error.may_have_taken_effect:
        return (
            f"{what} {subject[0].upper()}{subject[1:]} MAY ALREADY HAVE TAKEN EFFECT: do not repeat this call "
            f"automatically (that could duplicate it); check the session with `{GET_ACTIVE_SESSION.name}` first."
        )
    if isinstance(error, SupportCommandRejectedError):
        return what  # already says "not applied"
    return f"{what} Nothing was sent or changed, so trying again cannot duplicate anything."


def _what_failed(error: OSVIError) -> str:
    if isinstance(error, AuthenticationError):
        return (
            "OSVI rejected the configured API token (HTTP 401): the person running this tool must set a valid "
            "OSVI_API_TOKEN."
        )
    if isinstance(error, RateLimitError):
        return "OSVI is rate limiting requests (HTTP 429) and retries did not get through; wait before trying again."
    if isinstance(error, ServiceUnavailableError):
        return "OSVI is temporarily unavailable (HTTP 503) and retries did not get through; try again later."
    if isinstance(error, SupportCommandRejectedError):
        return f"The OSVI engine refused the command ({error.reason or 'no reason given'}); it was NOT applied."
    if isinstance(error, NoActiveSessionError):
        return "The customer has no active session with this agent."
    if isinstance(error, SessionClosedError):
        return "That session is closed; send without session_id to continue in a new session."
    if isinstance(error, MalformedResponseError):
        return f"OSVI answered, but {_continuing(error.message).rstrip('.')}."
    if isinstance(error, APIError):
        return f"OSVI returned an error: {str(error).rstrip('.')}."
    if isinstance(error, ConnectError | APITimeoutError | APIConnectionError | ConfigurationError):
        return error.message.rstrip(".") + "."
    return f"OSVI request failed: {error.message}"


def _continuing(text: str) -> str:
    """`text` continuing a sentence: first letter lowered, unless the first word is an acronym ("OSVI's")."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]
