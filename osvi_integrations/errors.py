"""One exception hierarchy for everything that can go wrong talking to OSVI.

Every error says whether the call may have taken effect (`may_have_taken_effect`): a customer
message may have reached the agent, an operator command may have been applied. A caller can then
decide, knowingly, whether to try again. Errors whose *class* proves that nothing happened derive
from `NotDeliveredError`; `RetryableError` is the subset worth trying again unchanged, so
`runnable.with_retry(retry_if_exception_type=(RetryableError,))` can never duplicate a message.
No error ever carries the API token (server text that echoes it is masked).
"""

from __future__ import annotations

from typing import Any


class OSVIError(Exception):
    """Base class of all osvi-integrations errors."""

    #: The class default; instances set their own (see `may_have_taken_effect`).
    _effect_possible: bool = False

    def __init__(self, message: str, *, may_have_taken_effect: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: True when the request may have taken effect (a message delivered, a command applied),
        #: so repeating it could duplicate it. Always False for read-only calls.
        self.may_have_taken_effect: bool = (
            self._effect_possible if may_have_taken_effect is None else may_have_taken_effect
        )


class NotDeliveredError(OSVIError):
    """The request provably had no effect: nothing was delivered or applied. Sending again cannot duplicate it."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["may_have_taken_effect"] = False
        super().__init__(message, **kwargs)


class RetryableError(NotDeliveredError):
    """Had no effect, and the same request may succeed later (rate limit, service unavailable, no connection)."""


class ConfigurationError(NotDeliveredError, ValueError):
    """The client is misconfigured (missing token, bad base URL...). Nothing was sent."""


class ClientClosedError(NotDeliveredError, RuntimeError):
    """The client (or its HTTP client) was closed before the call. Nothing was sent."""


class InvalidRequestError(NotDeliveredError, ValueError):
    """An argument failed validation before anything was sent. `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class APIError(OSVIError):
    """The API answered with an error. `code` is the machine-readable error string, `body` the parsed body."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        body: Any = None,
        may_have_taken_effect: bool | None = None,
    ) -> None:
        super().__init__(message, may_have_taken_effect=may_have_taken_effect)
        self.status_code = status_code
        self.code = code
        self.body = body

    def __str__(self) -> str:
        code = f" {self.code}" if self.code and self.code != self.message else ""
        return f"HTTP {self.status_code}{code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, message={self.message!r})"


class RejectedError(APIError, NotDeliveredError):
    """The API refused the request (4xx, or `success: false`): it had no effect."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["may_have_taken_effect"] = False
        APIError.__init__(self, message, **kwargs)


class BadRequestError(RejectedError):
    """400: a required field is missing or malformed."""


class AuthenticationError(RejectedError):
    """401: the API token is invalid or missing."""


class PermissionDeniedError(RejectedError):
    """403: the token may not do this."""


class NotFoundError(RejectedError):
    """404: something was not found."""


class AgentNotFoundError(NotFoundError):
    """404 `agent_not_found`: no such agent for the authenticated account."""


class SessionNotFoundError(NotFoundError):
    """404: no such session for this account (or it belongs to another agent or customer)."""


class NoActiveSessionError(NotFoundError):
    """404 from get-active-session: the customer has no active session with that agent."""


class UnprocessableEntityError(RejectedError):
    """422: the request was understood but cannot be processed."""


class AgentArchivedError(UnprocessableEntityError):
    """422 `agent_archived`: the agent is archived."""


class AgentInactiveError(UnprocessableEntityError):
    """422 `agent_inactive`: the agent is not active."""


class SessionClosedError(UnprocessableEntityError):
    """422 `session_closed`: the session was closed (by an operator or OSVI); start or continue another one."""


class RedirectError(RejectedError):
    """3xx: the API answered with a redirect, which is never followed (the token stays with its origin)."""


class RateLimitError(RejectedError, RetryableError):
    """429: too many requests. `retry_after` is the server's wait in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed. A write may have been processed before it did."""

    _effect_possible = True


class EngineError(ServerError):
    """502: the chat engine failed or refused; `upstream_body` holds its parsed answer."""

    def __init__(self, message: str, *, upstream_body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.upstream_body = upstream_body


class SupportCommandRejectedError(EngineError, NotDeliveredError):
    """502 whose `upstream_body.state` is `rejected`: the engine refused the support command, which was
    NOT applied. `reason` says why (e.g. `tell_not_allowed_during_takeover`)."""

    def __init__(self, message: str, *, reason: str | None, **kwargs: Any) -> None:
        kwargs["may_have_taken_effect"] = False
        EngineError.__init__(self, message, **kwargs)
        self.reason = reason


class ServiceUnavailableError(ServerError, RetryableError):
    """503: the service is temporarily unavailable and did not process the request."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        kwargs["may_have_taken_effect"] = False
        ServerError.__init__(self, message, **kwargs)
        self.retry_after = retry_after


class MalformedResponseError(APIError):
    """The server answered 2xx but the body is not the documented JSON. `body` holds the raw text.
    The request was processed: a write took effect, only its answer is unreadable."""

    _effect_possible = True


class APIConnectionError(OSVIError):
    """The request failed below HTTP (connection refused or reset, protocol error, timeout)."""

    _effect_possible = True


class ConnectError(APIConnectionError, RetryableError):
    """No connection could be made (refused, DNS, connect timeout, no free connection). Nothing was sent."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["may_have_taken_effect"] = False
        APIConnectionError.__init__(self, message, **kwargs)


class APITimeoutError(APIConnectionError):
    """The call ran out of time (its `timeout` covers every attempt, wait and retry)."""


class ConnectTimeoutError(ConnectError, APITimeoutError):
    """Timed out before a connection was made. Nothing was sent."""


class PossiblyDeliveredError(OSVIError):
    """A send that was in flight when its run stopped (a crash, a cancel, a timeout) is about to run again,
    and the conversation shows it may already have been delivered: it is NOT sent again. `started_at`
    (ISO 8601, UTC) is when the earlier attempt began. Read the conversation before resending; a model
    or tool built with `resend_uncertain=True` resends instead."""

    _effect_possible = True

    def __init__(self, message: str, *, started_at: str, key: str) -> None:
        super().__init__(message)
        self.started_at = started_at
        self.key = key
