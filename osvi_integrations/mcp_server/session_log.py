"""MCP logging (`notifications/message`) for clients on protocol versions up to 2025-11-25, which choose the
lowest level per session with `logging/setLevel`. On 2026-07-28 a client asks per request (the
`io.modelcontextprotocol/logLevel` `_meta` key) and the SDK drops what was not asked for."""

from __future__ import annotations

import logging
import warnings
import weakref
from typing import Any, Literal, get_args

from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import LoggingLevel
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

logger: logging.Logger = logging.getLogger("osvi_integrations.mcp")

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)
#: Until a client sets a level: warnings and worse (a failed OSVI call), not the routine.
DEFAULT_LEVEL: Literal["warning"] = "warning"
_levels: weakref.WeakKeyDictionary[Any, LoggingLevel] = weakref.WeakKeyDictionary()


def _connection(session: Any) -> Any:
    """What a level belongs to: the client's connection. The SDK builds a `ServerSession` per request around
    it and does not expose it (2.3), hence the private attribute, with the session itself as the fallback."""
    return getattr(session, "_connection", session)


def set_log_level(session: Any, level: LoggingLevel) -> None:
    _levels[_connection(session)] = level


def wanted(session: Any, level: LoggingLevel) -> bool:
    threshold = _levels.get(_connection(session), DEFAULT_LEVEL)
    return LEVELS.index(level) >= LEVELS.index(threshold)


async def send_log(ctx: Any, level: LoggingLevel, data: dict[str, Any]) -> None:
    """Sends one log message to the client of `ctx` (an MCPServer `Context`) if its level allows it, on the
    protocol versions that have `logging/setLevel` (2026-07-28 deprecates the logging capability, SEP-2577,
    so nothing is sent there). A client gone away does not fail the call that logs."""
    try:
        session = ctx.request_context.session
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or not wanted(session, level):
            return
        with warnings.catch_warnings():  # the SDK warns at the call that the 2026 revision deprecates it
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            pending = session.send_log_message(
                level=level, data=data, logger="osvi", related_request_id=ctx.request_context.request_id
            )
        await pending
    except Exception:
        logger.debug("log notification not sent", exc_info=True)
