"""A local OSVI-compatible engine: try everything with no OSVI account.

Needs the `sandbox` extra (starlette, uvicorn). `SANDBOX_API_TOKEN` is a public,
sandbox-only token. Behaviour and the choices made where the API contract is silent:
docs/sandbox.md.
"""

from .engine import (
    ARCHIVED_AGENT,
    CONTEXT_LIMIT,
    DEFAULT_OPERATOR,
    DEMO_AGENTS,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    OTHER_ACCOUNT_API_TOKEN,
    ROUTES,
    SANDBOX_API_TOKEN,
    SUPPORT_AGENT,
    SUPPORT_COMMANDS,
    TRANSCRIPT_LIMIT,
    Agent,
    Engine,
    Fault,
    InboundRecord,
    Reply,
    Session,
)
from .server import SandboxServer, Target, open_target

__all__ = [
    "ARCHIVED_AGENT",
    "CONTEXT_LIMIT",
    "DEFAULT_OPERATOR",
    "DEMO_AGENTS",
    "FAULTY_AGENT",
    "INACTIVE_AGENT",
    "ORDERS_AGENT",
    "OTHER_ACCOUNT_AGENT",
    "OTHER_ACCOUNT_API_TOKEN",
    "ROUTES",
    "SANDBOX_API_TOKEN",
    "SUPPORT_AGENT",
    "SUPPORT_COMMANDS",
    "TRANSCRIPT_LIMIT",
    "Agent",
    "Engine",
    "Fault",
    "InboundRecord",
    "Reply",
    "SandboxServer",
    "Session",
    "Target",
    "open_target",
]
