"""How errors read to an AI agent (MCP tool errors, LangChain tool messages): one clear statement of
what failed and whether repeating the call could duplicate something. Built from the error's own
(already masked) message and status: never the token, never a raw upstream body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

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
    if isinstance(error, ConnectError | APITimeoutError | APIConnectionError):
        # The transport's own "; nothing was sent" / "; the request was sent" is said once, below.
        return error.message.split("; ")[0].rstrip(".") + "."
    if isinstance(error, ConfigurationError):
        return error.message.rstrip(".") + "."
    return f"OSVI request failed: {error.message}"


#: Yes/no readings of a session that the result models define as properties; shown with the fields.
FLAG_FIELDS = ("human_has_taken_over", "needs_human")
#: Left out of the details line: the summary above it already shows the reply.
_NOT_IN_DETAILS = frozenset({"reply", "summary"})
_PLAIN = (str, bool, int, float)


def result_fields(result: BaseModel) -> dict[str, Any]:
    """The result as JSON values: its declared fields, the yes/no flags it defines, then any field OSVI
    added later (what the MCP structured content holds, without the summary)."""
    dumped = result.model_dump(mode="json")
    fields = {name: dumped[name] for name in type(result).model_fields}
    for flag in FLAG_FIELDS:
        if isinstance(getattr(type(result), flag, None), property):
            fields[flag] = getattr(result, flag)
    for name, value in dumped.items():
        fields.setdefault(name, value)
    return fields


def result_text(result: BaseModel, fields: Mapping[str, Any] | None = None) -> str:
    """What a model reads of a result, complete on its own: the summary (the reply, and any takeover or
    escalation stated plainly), then one line with the plain fields (`session_id`, `state`, `mode`,
    `help_requested`...). The LangChain tools' content and the MCP text block are this text."""
    summary: str = result.summary()  # type: ignore[attr-defined]  # every result model has one
    return with_fields_line(summary, result_fields(result) if fields is None else fields)


def with_fields_line(summary: str, fields: Mapping[str, Any]) -> str:
    """`summary`, then one line with the plain (string, number, yes/no) fields, the reply left out."""
    details = [
        f"{name}: {_plain(value)}"
        for name, value in fields.items()
        if name not in _NOT_IN_DETAILS and isinstance(value, _PLAIN)
    ]
    return f"{summary}\n{'; '.join(details)}" if details else summary


def _plain(value: str | bool | float) -> str:
    if value is True or value is False:
        return "true" if value else "false"  # as JSON writes them
    return str(value)


def _continuing(text: str) -> str:
    """`text` continuing a sentence: first letter lowered, unless the first word is an acronym ("OSVI's")."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]
