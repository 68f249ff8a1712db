"""Sends on record before they leave the process, so a resumed run can tell "never sent" from "may have
been sent" (sans-I/O: what is recorded and how the API's evidence is read; the LangChain surface keeps
the records in LangGraph's store).

OSVI takes no idempotency key, so the only evidence the API offers after a crash is the conversation
itself: the session's `updated_at`. A session changed at or after the moment the earlier attempt began
(less `CLOCK_SKEW`, for the two clocks) may hold the message; one unchanged since cannot.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

#: Seconds of disagreement allowed between this machine's clock and OSVI's when reading `updated_at`:
#: a session changed this long before the attempt began still counts as "may hold the message".
CLOCK_SKEW = 5.0

Status = Literal["in_flight", "delivered", "uncertain", "not_delivered"]


@dataclass(frozen=True)
class SendIntent:
    """One write, recorded before it is sent and updated with its outcome."""

    key: str
    operation: str
    status: Status
    #: When the attempt began (seconds since the epoch, this machine's clock).
    started_at: float
    agent: str | None = None
    customer: str | None = None
    session: str | None = None
    #: sha256 of what was sent (never the text itself: a record is no copy of the customer's words).
    digest: str = ""
    #: The result's JSON once delivered, so a re-run returns it instead of sending again.
    result: dict[str, Any] | None = None

    @classmethod
    def begin(
        cls,
        key: str,
        operation: str,
        *,
        content: str = "",
        agent: str | None = None,
        customer: str | None = None,
        session: str | None = None,
    ) -> SendIntent:
        return cls(
            key,
            operation,
            "in_flight",
            time.time(),
            agent=agent,
            customer=customer,
            session=session,
            digest=content_digest(content),
        )

    def outcome(self, status: Status, result: dict[str, Any] | None = None) -> SendIntent:
        return replace(self, status=status, result=result)

    @property
    def started_iso(self) -> str:
        return datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds")

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Any) -> SendIntent | None:
        if not isinstance(record, dict):
            return None
        try:
            return cls(**record)
        except TypeError:
            return None


def content_digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def changed_since(updated_at: str | None, started_at: float, skew: float = CLOCK_SKEW) -> bool:
    """Whether a session last changed at `updated_at` (ISO 8601) may hold a write begun at `started_at`.
    Unreadable or missing times count as "may"."""
    if not updated_at:
        return True
    try:
        when = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() >= started_at - skew


def may_have_been_delivered(intent: SendIntent, session_updated_at: str | None, *, session_found: bool) -> bool:
    """The API's evidence for an attempt that never reported back. No active session: a message sent
    without a pinned session would have opened one, so none means it was not delivered; a pinned
    session that is gone (closed since) cannot tell, and counts as "may"."""
    if not session_found:
        return intent.session is not None
    return changed_since(session_updated_at, intent.started_at)
