"""Hand customer conversations to an OSVI AI chat agent from Python, LangChain and MCP."""

import logging as _logging

from ._version import __version__
from .client import AsyncOSVIClient, OSVIClient
from .conversation import AsyncConversation, Conversation
from .errors import (
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
    NotDeliveredError,
    NotFoundError,
    OSVIError,
    PermissionDeniedError,
    PossiblyDeliveredError,
    RateLimitError,
    RedirectError,
    RejectedError,
    RetryableError,
    ServerError,
    ServiceUnavailableError,
    SessionClosedError,
    SessionNotFoundError,
    SupportCommandRejectedError,
    UnprocessableEntityError,
)
from .protocol import describe_error
from .retry import RetryPolicy
from .types import (
    ActiveAgent,
    InjectContextResult,
    SendMessageResult,
    Session,
    SessionMetadata,
    SessionMode,
    SupportCommandResult,
)

# A library leaves logging to the application: without a handler of ours, Python's last-resort handler
# would print our warnings to stderr in programs that never configured logging.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ActiveAgent",
    "AgentArchivedError",
    "AgentInactiveError",
    "AgentNotFoundError",
    "AsyncConversation",
    "AsyncOSVIClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "Conversation",
    "EngineError",
    "InjectContextResult",
    "InvalidRequestError",
    "MalformedResponseError",
    "NoActiveSessionError",
    "NotDeliveredError",
    "PossiblyDeliveredError",
    "NotFoundError",
    "OSVIClient",
    "OSVIError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RejectedError",
    "RetryPolicy",
    "RetryableError",
    "SendMessageResult",
    "ServerError",
    "ServiceUnavailableError",
    "Session",
    "SessionClosedError",
    "SessionMetadata",
    "SessionMode",
    "SessionNotFoundError",
    "SupportCommandRejectedError",
    "SupportCommandResult",
    "UnprocessableEntityError",
    "__version__",
    "describe_error",
]
