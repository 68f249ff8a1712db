"""Audit records: one structured record per write or destructive tool call, on the logger
`osvi_integrations.mcp.audit` (level INFO), saying who did what to which conversation and how it ended.

A record holds the time, the caller (token subject, client id, issuer: from the verified access token;
null without OAuth), the operation and its effect, the agent, customer and session, the outcome, the
error class, and whether the call may have taken effect. Never message text, context notes or tokens.
The message of the log record is the record as one line of JSON; the same dict is on the log record as
its `audit` attribute, for handlers that format it themselves.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..protocol import Operation
from .oauth import caller_token

AUDIT_LOGGER = "osvi_integrations.mcp.audit"
audit_logger: logging.Logger = logging.getLogger(AUDIT_LOGGER)
#: The arguments a record names (identifiers only: never `content`, `context`, `message`...).
_IDENTIFIERS = {"agent": "agent_uuid", "customer": "customer_id", "session": "session_id"}


def audit_record(
    operation: Operation[Any, Any],
    *,
    request: object,
    arguments: Mapping[str, Any],
    default_agent: str | None,
    started: float,
    outcome: str,
    error: str | None,
    may_have_taken_effect: bool,
    result: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    token = caller_token(request)
    claims = (token.claims or {}) if token is not None else {}
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": "tool_call",
        "operation": operation.name,
        "effect": operation.effect.value,
        "operator": operation.operator,
        "subject": token.subject if token is not None else None,
        "client_id": token.client_id if token is not None else None,
        "issuer": claims.get("iss"),
    }
    for field, name in _IDENTIFIERS.items():
        value = arguments.get(name)
        if value is None and result is not None:
            value = result.get(name)
        if value is None and field == "agent":
            value = default_agent
        record[field] = value if isinstance(value, str) else None
    record.update(
        outcome=outcome,
        error=error,
        may_have_taken_effect=may_have_taken_effect,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return record


def emit(record: dict[str, Any]) -> None:
    audit_logger.info(json.dumps(record, ensure_ascii=False), extra={"audit": record})
