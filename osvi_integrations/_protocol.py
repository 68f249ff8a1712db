"""Sans-I/O core of the Chat v1 API: builds requests, parses responses, maps errors.

Nothing here does I/O; the sync and async clients only move bytes.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import ValidationError

from ._config import ClientConfig
from ._version import __version__
from .errors import (
    AgentArchivedError,
    AgentInactiveError,
    AgentNotFoundError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    EngineError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from .models import SendMessageResult

SEND_MESSAGE_PATH = "/v1/chat/inbound"
USER_AGENT = f"osvi-integrations/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"

_KNOWN_CODES = {
    "agent_not_found": "The agent does not exist or is not associated with this account.",
    "agent_archived": "The agent is archived.",
    "agent_inactive": "The agent is not active.",
}


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)  # holds the token
    content: bytes


def require_text(field_name: str, value: object, *, strip_check: bool = True) -> str:
    """Checks a caller-supplied string; raises `InvalidRequestError` naming the field."""
    if not isinstance(value, str):
        raise InvalidRequestError(field_name, f"must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise InvalidRequestError(field_name, "must not be empty or blank.")
    if strip_check and value != value.strip():
        # An id with stray spaces would silently address another customer or session.
        raise InvalidRequestError(field_name, "must not have leading or trailing whitespace.")
    return value


def build_send_message(
    config: ClientConfig,
    *,
    agent_uuid: str,
    customer_id: str,
    content: str,
    session_id: str | None = None,
) -> PreparedRequest:
    body: dict[str, str] = {
        "agent_uuid": require_text("agent_uuid", agent_uuid),
        "customer_id": require_text("customer_id", customer_id),
        "content": require_text("content", content, strip_check=False),
    }
    if session_id is not None:
        body["session_id"] = require_text("session_id", session_id)
    return PreparedRequest(
        method="POST",
        url=config.base_url + SEND_MESSAGE_PATH,
        headers={
            "API-Token": config.api_token.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
    )


def parse_send_message(status_code: int, headers: Mapping[str, str], body: bytes) -> SendMessageResult:
    """Returns the typed result of a 2xx, or raises the `APIError` subclass for the status."""
    if not 200 <= status_code < 300:
        raise error_from_response(status_code, headers, body)
    payload = _decode_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise MalformedResponseError(
            "Expected a JSON object with a 'data' object.", status_code=status_code, body=_text(body)
        )
    if payload.get("success") is False:
        code, message = _error_fields(payload)
        raise APIError(message or "The API reported success=false.", status_code=status_code, code=code, body=payload)
    try:
        return SendMessageResult.model_validate(payload["data"])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MalformedResponseError(
            f"The reply does not match the documented shape ({problems}).", status_code=status_code, body=_text(body)
        ) from None


def error_from_response(status_code: int, headers: Mapping[str, str], body: bytes) -> APIError:
    payload = _decode_json(body)
    code, server_message = _error_fields(payload) if isinstance(payload, dict) else (None, None)
    if payload is _NOT_JSON and body.strip():
        server_message = f"non-JSON error body: {_text(body)[:200]!r}"
    message = _KNOWN_CODES.get(code or "") or server_message or f"HTTP {status_code} with no error message."
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "body": payload if payload is not _NOT_JSON else _text(body),
    }
    if status_code == 400:
        return BadRequestError(message, **kwargs)
    if status_code == 401:
        return AuthenticationError("The API token is invalid or missing.", **kwargs)
    if status_code == 404:
        return (AgentNotFoundError if code == "agent_not_found" else NotFoundError)(message, **kwargs)
    if status_code == 422:
        cls = {"agent_archived": AgentArchivedError, "agent_inactive": AgentInactiveError}.get(code or "")
        return (cls or UnprocessableEntityError)(message, **kwargs)
    if status_code == 429:
        return RateLimitError(message, retry_after=parse_retry_after(headers.get("retry-after")), **kwargs)
    if status_code == 502:
        upstream = payload.get("upstream_body") if isinstance(payload, dict) else None
        return EngineError(message, upstream_body=upstream, **kwargs)
    if status_code == 503:
        return ServiceUnavailableError(message, retry_after=parse_retry_after(headers.get("retry-after")), **kwargs)
    if status_code >= 500:
        return ServerError(message, **kwargs)
    return APIError(message, **kwargs)


def error_from_transport(exc: httpx.TransportError) -> APIConnectionError:
    """Maps an httpx failure, deciding whether the message may have reached the server."""
    # Connect/pool failures happen before a byte of the request is sent.
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    delivery = "was not sent" if never_sent else "may have been delivered"
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.PoolTimeout: "waiting for a free connection",
            httpx.WriteTimeout: "sending the message",
        }.get(type(exc), "waiting for the agent's reply")
        return APITimeoutError(f"Timed out {phase}; the message {delivery}.", may_have_been_delivered=not never_sent)
    return APIConnectionError(
        f"Connection error ({type(exc).__name__}: {exc}); the message {delivery}.",
        may_have_been_delivered=not never_sent,
    )


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date. None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_NOT_JSON: Any = object()


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _error_fields(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(code, message) from `{"error": "..."}` or `{"errors": ["...", ...]}` (both occur in the API)."""
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


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")
