"""A local OSVI-compatible engine: try everything with no OSVI account.

Needs the `sandbox` extra (starlette, uvicorn). `SANDBOX_API_TOKEN` is a public,
sandbox-only token.
"""

from .engine import (
    ARCHIVED_AGENT,
    DEMO_AGENTS,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    SANDBOX_API_TOKEN,
    SUPPORT_AGENT,
    Agent,
    Engine,
    Fault,
    InboundRecord,
)
from .server import SandboxServer, Target, open_target

__all__ = [
    "ARCHIVED_AGENT",
    "DEMO_AGENTS",
    "FAULTY_AGENT",
    "INACTIVE_AGENT",
    "ORDERS_AGENT",
    "OTHER_ACCOUNT_AGENT",
    "SANDBOX_API_TOKEN",
    "SUPPORT_AGENT",
    "Agent",
    "Engine",
    "Fault",
    "InboundRecord",
    "SandboxServer",
    "Target",
    "open_target",
]
