"""Bytes in, bytes out: request building blocks, envelope decoding and the one status-to-error table."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from .._version import __version__
from ..errors import (
    AgentArchivedError,
    AgentInactiveError,
    AgentNotFoundError,
    APIError,
    AuthenticationError,
    BadRequestError,
    EngineError,
    NoActiveSessionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    RejectedError,
    ServerError,
    ServiceUnavailableError,
    SessionClosedError,
    SessionNotFoundError,
    SupportCommandRejectedError,
    UnprocessableEntityError,
)

# What platform.python_version() returns, without importing platform (a millisecond at start-up).
USER_AGENT = f"osvi-integrations/{__version__} python/{sys.version.split()[0]}"
MASK = "**********"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One HTTP request, ready to send as is (and to resend unchanged on a retry)."""

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)  # holds the token
    content: bytes | None


@dataclass(frozen=True, slots=True)
class RawResponse:
    status_code: int
    # Not in the repr: server text may echo the token, and crash reporters record frame locals.
    headers: Mapping[str, str] = field(repr=False)  # looked up case-insensitively
    content: bytes = field(repr=False)


class SecretHeaders(dict[str, str]):
    """Request headers whose repr masks the token (they live on the client, which may be printed)."""

    def __repr__(self) -> str:
        return repr({k: MASK if k.lower() == "api-token" else v for k, v in self.items()})


def base_headers(api_token: str) -> SecretHeaders:
    """The headers every request carries; built once per client."""
    return SecretHeaders({"API-Token": api_token, "Accept": "application/json", "User-Agent": USER_AGENT})


def encode_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def redact(value: Any, secret: str) -> Any:
    """`value` (server text or a parsed body) with every occurrence of `secret` masked."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, MASK)
    if isinstance(value, dict):
        return {redact(k, secret): redact(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secret) for v in value]
    return value


NOT_JSON: Any = object()


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return NOT_JSON


def error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) from `{"error": "..."}` or `{"errors": ["...", ...]}` (both occur in the API)."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, str) and error:
        return error, error
    errors = payload.get("errors")
    if isinstance(errors, list):
        texts = [e for e in errors if isinstance(e, str) and e]
        if texts:
            return texts[0], "; ".join(texts)
    message = payload.get("message")
    return None, message if isinstance(message, str) and message else None


def text(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", errors="replace")


# -- the status-to-error table ------------------------------------------------------------------

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    502: EngineError,
    503: ServiceUnavailableError,
}
#: Error codes that name a more precise class, whatever the status they come with.
_BY_CODE: dict[str, type[APIError]] = {
    "agent_not_found": AgentNotFoundError,
    "agent_archived": AgentArchivedError,
    "agent_inactive": AgentInactiveError,
    "session_not_found": SessionNotFoundError,
    "session_closed": SessionClosedError,
    "no_active_session": NoActiveSessionError,
}
_KNOWN_CODES = {
    "agent_not_found": "The agent does not exist or is not associated with this account.",
    "agent_archived": "The agent is archived.",
    "agent_inactive": "The agent is not active.",
    "session_not_found": "No such session for this account, agent and customer.",
    "session_closed": "The session is closed.",
    "no_active_session": "The customer has no active session with this agent.",
}


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date. None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    from email.utils import parsedate_to_datetime  # rare (an HTTP-date Retry-After): not at import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(
    response: RawResponse,
    *,
    secret: SecretStr,
    not_found: type[NotFoundError] = NotFoundError,
    payload: Any = NOT_JSON,
) -> APIError:
    """The typed error for a non-2xx answer (or a 2xx that says `success: false`). Server text is masked
    with `secret` (a `SecretStr`, so frame-recording crash reporters never see the token in a local)."""
    status = response.status_code
    if payload is NOT_JSON:
        payload = decode_json(response.content)
    payload = redact(payload, secret.get_secret_value())
    code, server_message = error_fields(payload)
    if payload is NOT_JSON and response.content.strip():
        server_message = f"non-JSON error body: {redact(text(response.content, 200), secret.get_secret_value())!r}"
    message = _KNOWN_CODES.get(code or "") or server_message or f"HTTP {status} with no error message."
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "body": payload if payload is not NOT_JSON else redact(text(response.content), secret.get_secret_value()),
    }
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if 300 <= status < 400:
        where = redact(response.headers.get("location", "another address"), secret.get_secret_value())
        return RedirectError(f"OSVI answered with a redirect to {where}, which is never followed.", **kwargs)
    if status == 502 and isinstance(payload, dict):
        upstream = payload.get("upstream_body")
        if isinstance(upstream, dict) and upstream.get("state") == "rejected":
            reason = upstream.get("reason")
            reason = reason if isinstance(reason, str) else None
            return SupportCommandRejectedError(
                f"The engine rejected the command ({reason or 'no reason given'}); it was not applied.",
                reason=reason,
                upstream_body=upstream,
                **kwargs,
            )
        return EngineError(message, upstream_body=upstream, **kwargs)
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if status == 404 and cls is NotFoundError:
        cls = not_found
    if cls is None:
        cls = ServerError if status >= 500 else RejectedError if 400 <= status < 500 else APIError
    if cls is AuthenticationError:
        message = "The API token is invalid or missing."
    if cls in (RateLimitError, ServiceUnavailableError):
        return cls(message, retry_after=retry_after, **kwargs)
    if cls is APIError:
        # A 2xx with success:false, or a status outside the table: the server says it did not succeed.
        kwargs["may_have_taken_effect"] = False
    return cls(message, **kwargs)
