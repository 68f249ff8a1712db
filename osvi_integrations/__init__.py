"""Hand customer conversations to an OSVI AI chat agent from Python, LangChain and MCP."""

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
    ConfigurationError,
    EngineError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    OSVIError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    describe_for_agent,
)
from .models import Mode, SendMessageResult
from .retry import RetryPolicy

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AgentArchivedError",
    "AgentInactiveError",
    "AgentNotFoundError",
    "AsyncConversation",
    "AsyncOSVIClient",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "Conversation",
    "EngineError",
    "InvalidRequestError",
    "MalformedResponseError",
    "Mode",
    "NotFoundError",
    "OSVIClient",
    "OSVIError",
    "RateLimitError",
    "RetryPolicy",
    "SendMessageResult",
    "ServerError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "__version__",
    "describe_for_agent",
]
