"""What an answer means, decided once: from the operation, then the status, then the body.

`ERROR_TABLE` is the one place that says which error class an answer becomes, whether the call may
have taken effect and whether it may be retried. `error_from_response` walks it; the README's error
table is rendered from it (`error_table_markdown`) and a test keeps the two identical.

Three rules that the order of the table encodes:

- The status decides first. An error code in the body only refines a 4xx (which proves the request was
  refused) or a 2xx that says `success: false`. A 5xx stays a `ServerError` whatever code its body names:
  a 500 reading `session_closed` does not prove the message was not recorded.
- Only a *support command* refused by the engine (502, `upstream_body.state` "rejected") is known not to
  have been applied: the contract documents that answer for `POST /v1/chat/session/{id}/support` alone.
  The same body on any other operation is an `EngineError` that may have taken effect.
- Server text is masked (the token) and bounded (`SERVER_TEXT_LIMIT`) before it reaches an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from ..errors import (
    AgentArchivedError,
    AgentInactiveError,
    AgentNotFoundError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    EngineError,
    InvalidRequestError,
    MalformedResponseError,
    NoActiveSessionError,
    NotFoundError,
    OSVIError,
    PermissionDeniedError,
    PossiblyDeliveredError,
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
from ._wire import NOT_JSON, RawResponse, bound, bounded, decode_json, error_fields, parse_retry_after, redact, text

#: Error codes the API documents, with the class each names and how it reads.
KNOWN_CODES: dict[str, tuple[type[RejectedError], str]] = {
    "agent_not_found": (AgentNotFoundError, "The agent does not exist or is not associated with this account."),
    "agent_archived": (AgentArchivedError, "The agent is archived."),
    "agent_inactive": (AgentInactiveError, "The agent is not active."),
    "session_not_found": (SessionNotFoundError, "No such session for this account, agent and customer."),
    "session_closed": (SessionClosedError, "The session is closed."),
    "no_active_session": (NoActiveSessionError, "The customer has no active session with this agent."),
}

Effect = Literal["no", "maybe", "yes", "not applied"]


@dataclass(frozen=True)
class Answer:
    """What the table looks at: the operation's kind, the status, and the parsed (masked) body."""

    status: int
    code: str | None
    payload: Any
    #: The operation is a support command (`POST /v1/chat/session/{id}/support`).
    support_command: bool
    #: The class of a 404 without a more precise code (`Operation.not_found`).
    not_found: type[NotFoundError]


@dataclass(frozen=True)
class Row:
    """One line of the table: the first row whose `matches` holds decides the class."""

    #: The README's first column (the class names, as a reader sees them).
    names: str
    #: The README's second column.
    when: str
    #: The README's third column: may the call have taken effect (writes; reads never have an effect)?
    effect: Effect
    #: The README's fourth column: retried by the client (subject to `RetryPolicy`).
    retried: str
    #: None for rows about errors that do not come from an HTTP answer (listed for the README only).
    matches: Callable[[Answer], bool] | None = None
    #: The class for a matching answer (None: decided by `pick`).
    error: type[APIError] | None = None
    pick: Callable[[Answer], type[APIError]] | None = None

    def error_class(self, answer: Answer) -> type[APIError]:
        if self.pick is not None:
            return self.pick(answer)
        assert self.error is not None
        return self.error


def _is(status: int) -> Callable[[Answer], bool]:
    return lambda a: a.status == status


def _code_class(answer: Answer, default: type[APIError]) -> type[APIError]:
    known = KNOWN_CODES.get(answer.code or "")
    return known[0] if known is not None else default


def _rejected_by_engine(answer: Answer) -> bool:
    upstream = answer.payload.get("upstream_body") if isinstance(answer.payload, dict) else None
    return answer.support_command and isinstance(upstream, dict) and upstream.get("state") == "rejected"


ERROR_TABLE: tuple[Row, ...] = (
    Row(
        "`InvalidRequestError` (`ValueError`)",
        "a bad argument; `.field` names it (`content`, `session_id`...); nothing is sent",
        "no",
        "no",
    ),
    Row("`ConfigurationError` (`ValueError`)", "missing or malformed token, base URL or timeout", "no", "no"),
    Row("`ClientClosedError`", "the client (or the injected HTTP client) is closed", "no", "no"),
    Row("`RedirectError`", "3xx: never followed", "no", "no", lambda a: 300 <= a.status < 400, RedirectError),
    Row("`BadRequestError`", "400", "no", "no", _is(400), pick=lambda a: _code_class(a, BadRequestError)),
    Row("`AuthenticationError`", "401: invalid or missing token", "no", "no", _is(401), AuthenticationError),
    Row("`PermissionDeniedError`", "403", "no", "no", _is(403), PermissionDeniedError),
    Row(
        "`AgentNotFoundError` / `SessionNotFoundError` / `NoActiveSessionError` / `NotFoundError`",
        "404 `agent_not_found` / `session_not_found` (or any 404 of a session call) / "
        "get-active-session found none / other",
        "no",
        "no",
        _is(404),
        pick=lambda a: _code_class(a, a.not_found),
    ),
    Row(
        "`AgentArchivedError`, `AgentInactiveError`, `SessionClosedError` / `UnprocessableEntityError`",
        "422 `agent_archived`, `agent_inactive`, `session_closed` / other 422",
        "no",
        "no",
        _is(422),
        pick=lambda a: _code_class(a, UnprocessableEntityError),
    ),
    Row(
        "`RateLimitError` (`RetryableError`)",
        "429 (`retry_after` in seconds)",
        "no",
        "yes, honouring `Retry-After`",
        _is(429),
        RateLimitError,
    ),
    Row(
        "`RejectedError`",
        "another 4xx (a documented `error` code names its class)",
        "no",
        "no",
        lambda a: 400 <= a.status < 500,
        pick=lambda a: _code_class(a, RejectedError),
    ),
    Row(
        "`RejectedError`",
        "a 2xx whose body says `success: false` (a documented `error` code names its class)",
        "no",
        "no",
        lambda a: 200 <= a.status < 300,
        pick=lambda a: _code_class(a, RejectedError),
    ),
    Row(
        "`SupportCommandRejectedError`",
        "502 to a **support command** whose `upstream_body.state` is `rejected`: the engine refused the "
        "command; `.reason` says why",
        "not applied",
        "no",
        lambda a: a.status == 502 and _rejected_by_engine(a),
        SupportCommandRejectedError,
    ),
    Row(
        "`EngineError`",
        "any other 502 (also a `rejected` body on a customer message, which the contract does not say was "
        "not recorded); `upstream_body` holds the engine's answer",
        "maybe",
        "reads only",
        _is(502),
        EngineError,
    ),
    Row(
        "`ServiceUnavailableError` (`RetryableError`)",
        "503 (`retry_after`)",
        "no",
        "yes, honouring `Retry-After`",
        _is(503),
        ServiceUnavailableError,
    ),
    Row(
        "`ServerError`",
        "any other 5xx, whatever `error` code its body names (`.code` keeps it)",
        "maybe",
        "reads only",
        lambda a: 500 <= a.status < 600,
        ServerError,
    ),
    Row(
        "`APIError`",
        "a status outside 2xx-5xx",
        "maybe",
        "no",
        lambda a: True,
        APIError,
    ),
    Row(
        "`MalformedResponseError`",
        "a 2xx whose body is not the documented JSON or cannot be decoded (`body` keeps the masked, bounded text)",
        "yes",
        "no",
    ),
    Row(
        "`ConnectError`, `ConnectTimeoutError` (`RetryableError`)",
        "no connection could be made; the message names the URL",
        "no",
        "yes",
    ),
    Row(
        "`APITimeoutError` / `APIConnectionError`",
        "the call ran out of time / the connection failed after the request was sent",
        "maybe",
        "reads only",
    ),
    Row(
        "`PossiblyDeliveredError`",
        "a LangGraph thread runs a send again whose earlier attempt never reported back, and the "
        "conversation changed since (`started_at`); nothing is sent",
        "maybe",
        "no",
    ),
)

#: The classes of the rows that are not answers, kept next to the table so its rendering names real classes.
NOT_FROM_AN_ANSWER: tuple[type[OSVIError], ...] = (
    InvalidRequestError,
    ConfigurationError,
    ClientClosedError,
    MalformedResponseError,
    ConnectError,
    ConnectTimeoutError,
    APITimeoutError,
    APIConnectionError,
    PossiblyDeliveredError,
)

_EFFECT_TEXT: dict[Effect, str] = {
    "no": "no",
    "maybe": "**maybe**",
    "yes": "**yes**",
    "not applied": "no: **not applied**",
}


def error_table_markdown() -> str:
    """The README's error table, rendered from `ERROR_TABLE`."""
    lines = ["| exception | when | effect? | retried |", "|---|---|---|---|"]
    lines += [f"| {r.names} | {r.when} | {_EFFECT_TEXT[r.effect]} | {r.retried} |" for r in ERROR_TABLE]
    return "\n".join(lines)


def error_from_response(
    response: RawResponse,
    *,
    secret: SecretStr,
    not_found: type[NotFoundError] = NotFoundError,
    support_command: bool = False,
    payload: Any = NOT_JSON,
) -> APIError:
    """The typed error for a non-2xx answer, or a 2xx that says `success: false`, by `ERROR_TABLE`.

    Server text was masked where it entered (the transport); it is masked again here with `secret` (a
    `SecretStr`, so a frame-recording crash reporter never sees the token in a local) and bounded."""
    status = response.status_code
    if payload is NOT_JSON:
        payload = decode_json(response.content)
    token = secret.get_secret_value()
    payload = bounded(redact(payload, token))
    code, server_message = error_fields(payload)
    if payload is NOT_JSON and response.content.strip():
        server_message = f"non-JSON error body: {redact(text(response.content, 200), token)!r}"
    answer = Answer(status, code, payload, support_command, not_found)
    row = next(r for r in ERROR_TABLE if r.matches is not None and r.matches(answer))
    cls = row.error_class(answer)
    known = KNOWN_CODES.get(code or "")
    message = (known[1] if known is not None and known[0] is cls else None) or server_message
    message = bound(message) if message else f"HTTP {status} with no error message."
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": bound(code, 100) if code is not None else None,
        "body": payload if payload is not NOT_JSON else redact(text(response.content), token),
    }
    if cls is RedirectError:
        where = bound(redact(response.headers.get("location", "another address"), token), 200)
        return RedirectError(f"OSVI answered with a redirect to {where}, which is never followed.", **kwargs)
    if cls is AuthenticationError:
        return AuthenticationError("The API token is invalid or missing.", **kwargs)
    if cls is RateLimitError or cls is ServiceUnavailableError:
        return cls(message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs)
    if cls is SupportCommandRejectedError or cls is EngineError:
        upstream = payload.get("upstream_body") if isinstance(payload, dict) else None
        if cls is SupportCommandRejectedError:
            assert isinstance(upstream, dict)
            reason = upstream.get("reason")
            reason = reason if isinstance(reason, str) else None
            return SupportCommandRejectedError(
                f"The engine rejected the command ({reason or 'no reason given'}); it was not applied.",
                reason=reason,
                upstream_body=upstream,
                **kwargs,
            )
        return EngineError(message, upstream_body=upstream, **kwargs)
    if cls is APIError:
        # A status outside the table: nothing says the request was refused.
        return APIError(message, may_have_taken_effect=True, **kwargs)
    return cls(message, **kwargs)
