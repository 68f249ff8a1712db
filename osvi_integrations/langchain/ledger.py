"""Where the writes of a LangGraph thread are put on record before they leave the process.

Inside a graph run (a node of a `StateGraph`, the tool node of `create_agent`) `ChatOSVI` and the OSVI
tools record each customer turn or tool call as a `SendIntent` before sending it, and its outcome after.
A resumed or re-invoked thread reads the record first:

- delivered: the recorded result is returned, nothing is sent again (a crash after the send, before
  the checkpoint, or durability "exit");
- in flight or uncertain: the conversation is read (`get_active_session`); if it changed since the
  attempt began, `PossiblyDeliveredError` (`may_have_taken_effect=True`) says so and nothing is sent,
  unless the model or tool was built with `resend_uncertain=True`; if it did not, the send goes ahead;
- a newer customer turn after a failed or cancelled one: only the new turn is sent; the earlier one is
  reported in the reply's `response_metadata["osvi_skipped_turns"]`, never folded into it.

The records go to the graph's LangGraph store (`compile(store=...)`, `create_agent(store=...)`): with a
persistent one (`SqliteStore`, `PostgresStore`) they survive a crash of the process. A graph without a
store gets a store in this process, which covers cancelled and failed turns but not a crash, and a
warning says so once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..client import AsyncOSVIClient, OSVIClient
from ..errors import OSVIError, PossiblyDeliveredError
from ..protocol import LIST_ACTIVE_SESSIONS
from ..protocol.intents import SendIntent, may_have_been_delivered

logger: logging.Logger = logging.getLogger("osvi_integrations")

NAMESPACE = "osvi_sends"


class _Item:
    """A stored record, shaped like a LangGraph store's item (`.value`)."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value: dict[str, Any] = value


class LocalStore:
    """A bounded in-process stand-in for a LangGraph store (`get`/`put`/`aget`/`aput`/`delete`), for
    graphs compiled without one. Forgets the oldest records past `limit`."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: OrderedDict[tuple[tuple[str, ...], str], _Item] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, namespace: tuple[str, ...], key: str) -> Any:
        """The item under `key`, or None."""
        with self._lock:
            return self._items.get((namespace, key))

    def put(self, namespace: tuple[str, ...], key: str, value: dict[str, Any], index: Any = None) -> None:
        with self._lock:
            self._items[(namespace, key)] = _Item(value)
            self._items.move_to_end((namespace, key))
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    async def aget(self, namespace: tuple[str, ...], key: str) -> Any:
        """The item under `key`, or None."""
        return self.get(namespace, key)

    async def aput(self, namespace: tuple[str, ...], key: str, value: dict[str, Any], index: Any = None) -> None:
        self.put(namespace, key, value)


_LOCAL = LocalStore()
_warned_no_store = False


class SendLedger:
    """The send records of one LangGraph thread, in a LangGraph store (`BaseStore`) or a `LocalStore`."""

    def __init__(self, store: Any, thread: str) -> None:
        #: A LangGraph `BaseStore` (or `LocalStore`): `get`, `put` and their async twins.
        self.store: Any = store
        self.namespace: tuple[str, str] = (NAMESPACE, thread)

    def get(self, key: str) -> SendIntent | None:
        item = self.store.get(self.namespace, key)
        return None if item is None else SendIntent.from_record(item.value)

    async def aget(self, key: str) -> SendIntent | None:
        item = await self.store.aget(self.namespace, key)
        return None if item is None else SendIntent.from_record(item.value)

    def put(self, intent: SendIntent) -> None:
        self.store.put(self.namespace, intent.key, intent.to_record(), index=False)

    async def aput(self, intent: SendIntent) -> None:
        await self.store.aput(self.namespace, intent.key, intent.to_record(), index=False)

    def put_each(self, intent: SendIntent, keys: Iterable[str]) -> None:
        """`intent` recorded under each of `keys` (one send that carries several customer turns)."""
        for key in keys:
            self.put(replace(intent, key=key))

    async def aput_each(self, intent: SendIntent, keys: Iterable[str]) -> None:
        for key in keys:
            await self.aput(replace(intent, key=key))


def ledger_for_run() -> SendLedger | None:
    """The ledger of the LangGraph thread this code runs in, or None outside a checkpointed graph run."""
    global _warned_no_store
    try:
        from langgraph.config import get_config, get_store
    except ImportError:  # LangGraph is not installed: no graph, no thread
        return None
    try:
        config = get_config()
    except RuntimeError:  # not inside a runnable
        return None
    thread = (config.get("configurable") or {}).get("thread_id")
    if thread is None:
        return None
    store: Any
    try:
        store = get_store()
    except (RuntimeError, KeyError, AttributeError):
        store = None
    if store is None:
        if not _warned_no_store:
            _warned_no_store = True
            logger.warning(
                "OSVI sends in LangGraph thread runs are recorded in this process only: compile the graph with a "
                "persistent store (e.g. SqliteStore, PostgresStore) so a crash mid-send is never resent silently."
            )
        store = _LOCAL
    return SendLedger(store, str(thread))


@dataclass(frozen=True)
class TurnPlan:
    """What a call does with its customer turns, given their records (`plan_turns`)."""

    #: The turns to send (indices), joined into one message.
    send: tuple[int, ...] = ()
    #: Turns left out: an earlier attempt delivered them, may have, or failed before a newer turn.
    skipped: tuple[int, ...] = ()
    #: Every turn was delivered: its recorded result is the answer, nothing is sent.
    replay: SendIntent | None = None
    #: Attempts that never reported back: the conversation must be read before sending again.
    check: tuple[SendIntent, ...] = ()


def plan_turns(records: list[SendIntent | None]) -> TurnPlan:
    """Turns never sent are sent, and only they; a call whose turns all have records is the re-run of a
    stopped one (a resume, a retry): delivered ones are replayed, failed ones resent, and ones that may
    have been delivered are checked against the conversation first."""
    fresh = tuple(i for i, record in enumerate(records) if record is None)
    if fresh:
        return TurnPlan(send=fresh, skipped=tuple(i for i in range(len(records)) if i not in fresh))
    known = [r for r in records if r is not None]
    pending = tuple(i for i, r in enumerate(known) if r.status != "delivered")
    if not pending:
        return TurnPlan(replay=known[-1], skipped=tuple(range(len(known) - 1)))
    check = tuple(known[i] for i in pending if known[i].status in ("in_flight", "uncertain"))
    return TurnPlan(send=pending, skipped=tuple(i for i in range(len(known)) if i not in pending), check=check)


#: What the conversation says of an attempt that never reported back: (an active session found, its
#: `updated_at`). `UNKNOWN` (found, changed at an unknown time) counts as "changed".
Evidence = tuple[bool, str | None]
UNKNOWN: Evidence = (True, None)


def evidence_in(record: SendIntent, sessions: Mapping[str, Any]) -> Evidence:
    """The evidence for `record` among the customer's active sessions (keyed by agent): the session it
    named, else (naming none) its agent's session. A record naming neither cannot tell."""
    for agent, session in sessions.items():
        if session.id == record.session or (record.session is None and agent == record.agent):
            return True, session.updated_at
    if record.session is None and record.agent is None:
        return UNKNOWN
    return False, None


def read_evidence(client: OSVIClient, record: SendIntent) -> Evidence:
    """`evidence_in` the customer's active sessions, read now. No customer, or a failed read: `UNKNOWN`,
    so the answer errs towards "may have been delivered"."""
    if record.customer is None:
        return UNKNOWN  # no read names a session without its customer
    try:
        return evidence_in(record, client.call(LIST_ACTIVE_SESSIONS, customer_id=record.customer).sessions)
    except OSVIError:
        return UNKNOWN


async def aread_evidence(client: AsyncOSVIClient, record: SendIntent) -> Evidence:
    if record.customer is None:
        return UNKNOWN
    try:
        sessions = (await client.call(LIST_ACTIVE_SESSIONS, customer_id=record.customer)).sessions
    except OSVIError:
        return UNKNOWN
    return evidence_in(record, sessions)


def settle(attempts: tuple[SendIntent, ...], evidence: Evidence, *, resend_uncertain: bool) -> None:
    """Raises `PossiblyDeliveredError` when `evidence` says an unfinished attempt may have been delivered
    (unless the caller opted into `resend_uncertain`); returns when none can have been."""
    found, updated_at = evidence
    if resend_uncertain:
        return
    if any(may_have_been_delivered(attempt, updated_at, session_found=found) for attempt in attempts):
        raise possibly_delivered(attempts)


def possibly_delivered(intents: tuple[SendIntent, ...]) -> PossiblyDeliveredError:
    """The error for attempts that may have been delivered (the earliest is named)."""
    first = min(intents, key=lambda i: i.started_at)
    return PossiblyDeliveredError(
        f"This may already have been delivered at {first.started_iso}: a send was in flight when the run "
        "stopped, and the conversation has changed since. It was NOT sent again; read the conversation "
        "(get_active_session) before resending.",
        started_at=first.started_iso,
        key=first.key,
    )
