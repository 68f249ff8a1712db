"""One exception hierarchy for everything that can go wrong talking to OSVI.

Every error says whether the customer message may have reached the engine
(`may_have_been_delivered`), so a caller can decide, knowingly, whether to resend.
No error ever carries the API token.
"""

from __future__ import annotations

from typing import Any


class OSVIError(Exception):
    """Base class of all osvi-integrations errors."""

    #: True when the message may have reached the engine (resending could duplicate it).
    may_have_been_delivered: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(OSVIError, ValueError):
    """The client is misconfigured (missing token, bad base URL...)."""


class InvalidRequestError(OSVIError, ValueError):
    """An argument failed validation before anything was sent. `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class APIError(OSVIError):
    """The API answered with an error status. `code` is the machine-readable error string."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.body = body

    def __str__(self) -> str:
        code = f" {self.code}" if self.code and self.code != self.message else ""
        return f"HTTP {self.status_code}{code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, message={self.message!r})"


class BadRequestError(APIError):
    """400: a required parameter (`agent_uuid`, `customer_id` or `content`) is missing."""


class AuthenticationError(APIError):
    """401: the API token is invalid or missing."""


class NotFoundError(APIError):
    """404: something was not found."""


class AgentNotFoundError(NotFoundError):
    """404 `agent_not_found`: no such agent for the authenticated account."""


class UnprocessableEntityError(APIError):
    """422: the request was understood but cannot be processed."""


class AgentArchivedError(UnprocessableEntityError):
    """422 `agent_archived`: the agent is archived."""


class AgentInactiveError(UnprocessableEntityError):
    """422 `agent_inactive`: the agent is not active."""


class RateLimitError(APIError):
    """429: too many requests. `retry_after` is the server's wait in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed. The message may have been processed."""

    may_have_been_delivered = True


class EngineError(ServerError):
    """502: the chat engine could not be reached or returned an error; `upstream_body` holds its parsed body."""

    def __init__(self, message: str, *, upstream_body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.upstream_body = upstream_body


class ServiceUnavailableError(ServerError):
    """503: the service is temporarily unavailable and did not process the message."""

    may_have_been_delivered = False

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class MalformedResponseError(APIError):
    """The server answered 2xx but the body is not the documented JSON. `body` holds the raw text."""

    may_have_been_delivered = True


class APIConnectionError(OSVIError):
    """The request failed below HTTP (connection refused, reset, protocol error)."""

    def __init__(self, message: str, *, may_have_been_delivered: bool) -> None:
        super().__init__(message)
        self.may_have_been_delivered = may_have_been_delivered


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, sending, or waiting for the agent's reply)."""


def describe_for_agent(error: OSVIError) -> str:
    """The error as an AI agent should read it (MCP tool errors, LangChain tool messages): what failed,
    and whether resending could duplicate the message. Built from the error's own message and status
    only: never the token, never a raw upstream body."""
    if isinstance(error, InvalidRequestError):
        return f"Invalid argument {error.message} Nothing was sent."
    if isinstance(error, AuthenticationError):
        what = "OSVI rejected the configured API token (HTTP 401): fix OSVI_API_TOKEN where this tool is configured."
    elif isinstance(error, RateLimitError):
        what = "OSVI is rate limiting requests (HTTP 429) and retries did not get through; wait before trying again."
    elif isinstance(error, ServiceUnavailableError):
        what = "OSVI is temporarily unavailable (HTTP 503) and retries did not get through; try again later."
    elif isinstance(error, MalformedResponseError):
        what = f"OSVI's answer could not be read ({error.message.rstrip('.')})."
    elif isinstance(error, APIError):
        what = f"OSVI returned an error: {str(error).rstrip('.')}."
    elif isinstance(error, APIConnectionError):
        what = f"Could not reach OSVI: {error.message}"
    else:
        what = f"OSVI request failed: {error.message}"
    if error.may_have_been_delivered:
        return (
            f"{what} The message MAY HAVE BEEN DELIVERED to the agent: do not resend it automatically "
            "(that could duplicate it); check the conversation first."
        )
    return f"{what} The message was not delivered, so sending it again cannot duplicate it."
