"""The client's API surface, one resource per area: `client.sessions`, `client.messages`,
`client.support`, `client.agents`. Each method validates its arguments and runs one operation."""

from .agents import Agents, AsyncAgents
from .messages import AsyncMessages, Messages
from .sessions import AsyncSessions, Sessions
from .support import AsyncSupport, Support

__all__ = ["Agents", "AsyncAgents", "AsyncMessages", "AsyncSessions", "AsyncSupport", "Messages", "Sessions", "Support"]
