"""A deterministic, in-memory OSVI chat engine: the sandbox's behaviour, with no HTTP in it.

Behaviour follows `chat_v1.openapi.yaml` (and `send_message.openapi.yaml` for inbound messages);
where the contract is silent the choices are written down in docs/sandbox.md.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..protocol import (
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    INJECT_CONTEXT,
    LIST_ACTIVE_AGENTS,
    SEND_MESSAGE,
    TAKEOVER_SESSION,
    Operation,
)

SANDBOX_API_TOKEN = "osvi-sandbox-key"  # 16 characters, like a real token
OTHER_ACCOUNT_API_TOKEN = "osvi-other-accnt"

SUPPORT_AGENT = "agent_sandbox_support"
ORDERS_AGENT = "agent_sandbox_orders"
ARCHIVED_AGENT = "agent_sandbox_archived"
INACTIVE_AGENT = "agent_sandbox_inactive"
FAULTY_AGENT = "agent_sandbox_faulty"
OTHER_ACCOUNT_AGENT = "agent_other_account"


def _route(operation: Operation[Any, Any]) -> tuple[str, str]:
    # The contract writes the session placeholder `{id}`; the operations call the field `session_id`.
    return operation.method, operation.path.replace("{session_id}", "{id}")


#: The sandbox's routes by name (what `Fault.route` and `Engine.requests_by_route` use), each the
#: method and path of the operations it serves, taken from the operation table. Several operations
#: share a route: `get_active_session` serves `list_active_sessions` too, `support` every command.
ROUTES: dict[str, tuple[str, str]] = {
    "create_session": _route(CREATE_SESSION),
    "get_active_session": _route(GET_ACTIVE_SESSION),
    "inbound": _route(SEND_MESSAGE),
    "inject_context": _route(INJECT_CONTEXT),
    "support": _route(TAKEOVER_SESSION),
    "active_agents": _route(LIST_ACTIVE_AGENTS),
}
SUPPORT_COMMANDS = ("takeover", "tell", "whisper", "end", "close")
CONTEXT_LIMIT = 5  # the contract keeps the newest 5 non-empty context entries
TRANSCRIPT_LIMIT = 50  # per session, so a long conversation costs bounded memory
DEFAULT_OPERATOR = "operator@sandbox.osvi.local"

_HUMAN_REQUEST = re.compile(
    r"\b(human|real person|a person|someone real|operator|representative|live agent|talk to (an? )?agent)\b", re.I
)
_ORDER_NUMBER = re.compile(r"\b(\d{4,10})\b")
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|bye|that's all)\b", re.I)
_CONTEXT_QUESTION = re.compile(r"\b(what do you know|context)\b", re.I)
_SESSION_NAMESPACE = uuid.UUID("6f1d3a52-8c1e-4b5e-9a57-0b2f0c5d9e11")

AgentStatus = Literal["active", "inactive", "archived"]


@dataclass(frozen=True)
class Agent:
    uuid: str
    name: str
    account_token: str
    status: AgentStatus = "active"
    multi_state: bool = False
    always_fails: bool = False
    # Support commands this agent refuses (the platform guide lets each one be switched off per agent).
    disabled_commands: frozenset[str] = frozenset()
    updated_at: str = "2026-01-01T00:00:00Z"  # orders GET /v1/active_agents (newest first)


DEMO_AGENTS: tuple[Agent, ...] = (
    Agent(SUPPORT_AGENT, "Sandbox support (single prompt)", SANDBOX_API_TOKEN, updated_at="2026-06-03T09:00:00Z"),
    Agent(
        ORDERS_AGENT,
        "Sandbox orders (multi-state)",
        SANDBOX_API_TOKEN,
        multi_state=True,
        disabled_commands=frozenset({"tell"}),  # so a refused command can be seen
        updated_at="2026-06-02T09:00:00Z",
    ),
    Agent(ARCHIVED_AGENT, "Archived agent", SANDBOX_API_TOKEN, status="archived", updated_at="2026-06-04T09:00:00Z"),
    Agent(INACTIVE_AGENT, "Inactive agent", SANDBOX_API_TOKEN, status="inactive", updated_at="2026-06-04T08:00:00Z"),
    Agent(
        FAULTY_AGENT,
        "Agent whose engine always fails",
        SANDBOX_API_TOKEN,
        always_fails=True,
        updated_at="2026-05-30T09:00:00Z",
    ),
    Agent(OTHER_ACCOUNT_AGENT, "Another account's agent", OTHER_ACCOUNT_API_TOKEN, updated_at="2026-06-01T09:00:00Z"),
)


@dataclass
class Session:
    id: str
    agent_uuid: str
    customer_id: str
    state: str
    created_at: datetime
    updated_at: datetime
    mode: Literal["ai", "support"] = "ai"
    help_requested: bool = False
    status: Literal["active", "closed"] = "active"
    active_human: str | None = None
    whisper: str | None = None
    input_fields: dict[str, Any] = field(default_factory=dict)
    state_fields: dict[str, Any] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    transcript: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_LIMIT))  # (who, text)


@dataclass(frozen=True)
class Reply:
    """An HTTP-shaped answer: status code, JSON body (an object, or a list for active agents), extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Makes the next `times` requests to one operation fail. `route` names the operation (a key of
    `ROUTES`); None means `inbound`, as before routes existed. With `after_processing`, the request
    takes effect first (as when a reply is lost on the way back). `status=None` with
    `after_processing=True` and a `delay` gives a slow but normal reply."""

    status: int | None = 502
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_processing: bool = False
    times: int = 1
    route: str | None = None

    def __post_init__(self) -> None:
        if self.route is not None and self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; expected one of {', '.join(ROUTES)}")


@dataclass(frozen=True)
class InboundRecord:
    """One customer message the engine processed (for exactly-once checks)."""

    agent_uuid: str
    customer_id: str
    content: str
    session_id: str


class _Refusal(Exception):
    """Carries the error reply out of nested validation."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class Engine:
    """Thread-safe: the HTTP server's loop and a test's thread may both use it.

    Every public operation takes the caller's API token first and returns a `Reply`, so tests and
    the demo can drive the engine directly, exactly as the HTTP app does."""

    def __init__(
        self,
        agents: tuple[Agent, ...] = DEMO_AGENTS,
        *,
        max_processed: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.agents: dict[str, Agent] = {a.uuid: a for a in agents}
        self.sessions: dict[str, Session] = {}
        self.processed: list[InboundRecord] = []
        self.request_count: int = 0  # HTTP requests to POST /v1/chat/inbound (what retry tests count)
        self.requests_by_route: dict[str, int] = dict.fromkeys(ROUTES, 0)
        self._max_processed = max_processed
        self._clock = clock or (lambda: datetime.now(UTC))
        self._faults: list[Fault] = []
        self._created: dict[tuple[str, str], int] = {}
        # customer_id -> agent uuid -> active session: O(1) lookups however many sessions exist.
        self._active: dict[str, dict[str, Session]] = {}
        self._accounts: dict[str, int] = {}
        for agent in agents:
            self._accounts.setdefault(agent.account_token, len(self._accounts) + 1)
        self._agent_ids = {a.uuid: index for index, a in enumerate(agents, start=1)}
        self._lock = threading.RLock()

    # -- test and demo controls -------------------------------------------------------

    def inject_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def next_fault(self, route: str = "inbound") -> Fault | None:
        """Counts one request to `route` and takes one use of the first pending fault aimed at it."""
        with self._lock:
            self.requests_by_route[route] = self.requests_by_route.get(route, 0) + 1
            if route == "inbound":
                self.request_count += 1
            for index, fault in enumerate(self._faults):
                if (fault.route or "inbound") == route:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[index]
                    return fault
            return None

    def is_valid_token(self, api_token: str | None) -> bool:
        return api_token is not None and api_token in self._accounts

    def active_session(self, agent_uuid: str, customer_id: str) -> Session | None:
        with self._lock:
            return self._active.get(customer_id, {}).get(agent_uuid)

    # -- POST /v1/chat/session ------------------------------------------------------------

    def create_session(self, api_token: str | None, body: Any) -> Reply:
        try:
            self._authenticate(api_token)
            fields = _object(body)
            agent_uuid = _required_string(fields, "agent_uuid")
            customer_id = _required_string(fields, "customer_id")
            input_fields = fields.get("input_fields", {})
            if not isinstance(input_fields, dict):
                raise _Refusal(_error(400, "input_fields must be an object"))
            context = fields.get("context", [])
            if not isinstance(context, list) or not all(isinstance(entry, str) for entry in context):
                raise _Refusal(_error(400, "context must be a list of strings"))
            agent = self._usable_agent(api_token, agent_uuid, "POST /v1/chat/session")
            with self._lock:
                existing = self._active.get(customer_id, {}).get(agent.uuid)
                if existing is not None:
                    self._close(existing)  # a customer never holds two active sessions with one agent
                session = self._open(agent, customer_id)
                session.input_fields = dict(input_fields)
                session.context = _newest_context(context)
                return _ok(self._record(session))
        except _Refusal as refusal:
            return refusal.reply

    # -- GET /v1/chat/session/active ------------------------------------------------------

    def get_active_session(self, api_token: str | None, customer_id: Any, agent_uuid: Any = None) -> Reply:
        try:
            self._authenticate(api_token)
            query = {"customer_id": customer_id, "agent_uuid": agent_uuid}
            customer = _required_string(query, "customer_id")
            agent = _optional_string({k: v for k, v in query.items() if v is not None}, "agent_uuid")
            with self._lock:
                mine = {
                    uuid_: session
                    for uuid_, session in self._active.get(customer, {}).items()
                    if self.agents[uuid_].account_token == api_token
                }
                if agent is None:
                    return _ok({uuid_: self._record(session) for uuid_, session in mine.items()})
                if agent not in mine:
                    return _error(404, "no_active_session")
                return _ok(self._record(mine[agent]))
        except _Refusal as refusal:
            return refusal.reply

    # -- POST /v1/chat/inbound ------------------------------------------------------------

    def inbound(self, api_token: str | None, body: Any) -> Reply:
        try:
            self._authenticate(api_token)
            fields = _object(body, "request body must be a JSON object with agent_uuid, customer_id and content")
            agent_uuid = _required_string(fields, "agent_uuid")
            customer_id = _required_string(fields, "customer_id")
            content = _required_string(fields, "content")
            session_id = _optional_string(fields, "session_id")
            agent = self._usable_agent(api_token, agent_uuid, "POST /v1/chat/inbound")
            with self._lock:
                if session_id is None:
                    session = self._active.get(customer_id, {}).get(agent.uuid) or self._open(agent, customer_id)
                else:
                    found = self.sessions.get(session_id)
                    if found is None or found.agent_uuid != agent.uuid or found.customer_id != customer_id:
                        return _error(404, "session_not_found")
                    if found.status == "closed":
                        return _error(422, "session_closed")
                    session = found
                reply = self._turn(agent, session, content)
                self._record_processed(InboundRecord(agent.uuid, customer_id, content, session.id))
                return _ok(
                    {
                        "session_id": session.id,
                        "reply": reply,
                        "state": session.state,
                        "mode": session.mode,
                        "help_requested": session.help_requested,
                    }
                )
        except _Refusal as refusal:
            return refusal.reply

    # -- POST /v1/chat/session/{id}/inject_context ----------------------------------------

    def inject_context(self, api_token: str | None, session_id: str, body: Any) -> Reply:
        try:
            self._authenticate(api_token)
            entry = _required_string(_object(body), "context")
            with self._lock:
                session = self._live_session(api_token, session_id)
                session.context = _newest_context([*session.context, entry])
                session.updated_at = self._clock()
                return _ok({"session_id": session.id, "context": list(session.context)})
        except _Refusal as refusal:
            return refusal.reply

    # -- POST /v1/chat/session/{id}/support -----------------------------------------------

    def support(self, api_token: str | None, session_id: str, body: Any) -> Reply:
        """Operator commands: takeover, tell, whisper, end, close, or a plain message (no command).

        `operator` is a sandbox extension naming who takes over (default DEFAULT_OPERATOR)."""
        try:
            self._authenticate(api_token)
            fields = _object(body)
            command = _optional_string(fields, "command")
            if command is not None and command not in SUPPORT_COMMANDS:
                raise _Refusal(_error(400, f"command must be one of {', '.join(SUPPORT_COMMANDS)}"))
            message = _optional_string(fields, "message")
            if command in (None, "tell", "whisper") and message is None:
                raise _Refusal(_error(400, "message is required"))
            operator = fields.get("operator")
            if not isinstance(operator, str) or not operator.strip():
                operator = DEFAULT_OPERATOR  # an extension field: ignored unless it is usable
            with self._lock:
                session = self._live_session(api_token, session_id)
                agent = self.agents[session.agent_uuid]
                if command in agent.disabled_commands:
                    return _rejected(session, f"{command}_disabled_for_agent")
                data: dict[str, Any] = {"state": "ok", "session_id": session.id, "command": command or "message"}
                if command == "takeover":
                    session.mode, session.active_human = "support", operator
                    if message is not None:
                        session.transcript.append(("human", message))  # goes to the customer
                    data["active_human"] = session.active_human
                elif command == "tell":
                    if session.mode == "support":
                        return _rejected(session, "tell_not_allowed_during_takeover")
                    assert message is not None
                    reply = self._agent_reply(agent, session, None, message)
                    session.transcript.append(("agent", reply))
                    data["reply"] = reply
                elif command == "whisper":
                    session.whisper = message
                elif command == "end":
                    session.mode, session.active_human, session.help_requested = "ai", None, False
                elif command == "close":
                    self._close(session)
                else:
                    if session.mode != "support":
                        return _rejected(session, "message_requires_support_mode")
                    assert message is not None
                    session.transcript.append(("human", message))
                session.updated_at = self._clock()
                return _ok(data)
        except _Refusal as refusal:
            return refusal.reply

    # -- GET /v1/active_agents ------------------------------------------------------------

    def active_agents(self, api_token: str | None) -> Reply:
        try:
            self._authenticate(api_token)
        except _Refusal as refusal:
            return refusal.reply
        mine = [a for a in self.agents.values() if a.account_token == api_token and a.status == "active"]
        mine.sort(key=lambda a: a.updated_at, reverse=True)
        return Reply(200, [{"agent_id": a.uuid, "name": a.name, "status": "active"} for a in mine])

    # -- internals -------------------------------------------------------------------------

    def _authenticate(self, api_token: str | None) -> None:
        if not self.is_valid_token(api_token):
            raise _Refusal(_error(401, "invalid_api_token"))

    def _usable_agent(self, api_token: str | None, agent_uuid: str, operation: str) -> Agent:
        agent = self.agents.get(agent_uuid)
        if agent is None or agent.account_token != api_token:
            raise _Refusal(_error(404, "agent_not_found"))
        if agent.status == "archived":
            raise _Refusal(_error(422, "agent_archived"))
        if agent.status == "inactive":
            raise _Refusal(_error(422, "agent_inactive"))
        if agent.always_fails:
            raise _Refusal(
                Reply(
                    502,
                    _engine_error_body(
                        f"Python engine returned 500 for {operation}",
                        {"state": "error", "reason": "sandbox_agent_always_fails"},
                    ),
                )
            )
        return agent

    def _live_session(self, api_token: str | None, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None or self.agents[session.agent_uuid].account_token != api_token:
            raise _Refusal(_error(404, "session_not_found"))
        if session.status == "closed":
            raise _Refusal(_error(422, "session_closed"))
        return session

    def _open(self, agent: Agent, customer_id: str) -> Session:
        key = (agent.uuid, customer_id)
        self._created[key] = self._created.get(key, 0) + 1
        session_id = str(uuid.uuid5(_SESSION_NAMESPACE, f"{agent.uuid}|{customer_id}|{self._created[key]}"))
        now = self._clock()
        state = "greeting" if agent.multi_state else "default"
        session = Session(session_id, agent.uuid, customer_id, state, created_at=now, updated_at=now)
        self.sessions[session_id] = session
        self._active.setdefault(customer_id, {})[agent.uuid] = session
        return session

    def _close(self, session: Session) -> None:
        session.status = "closed"
        session.updated_at = self._clock()
        by_agent = self._active.get(session.customer_id, {})
        if by_agent.get(session.agent_uuid) is session:
            del by_agent[session.agent_uuid]
            if not by_agent:
                del self._active[session.customer_id]

    def _record(self, session: Session) -> dict[str, Any]:
        agent = self.agents[session.agent_uuid]
        return {
            "id": session.id,
            "chat_agent_id": self._agent_ids[agent.uuid],
            "account_id": self._accounts[agent.account_token],
            "customer_id": session.customer_id,
            "mode": session.mode,
            "help_requested": session.help_requested,
            "status": session.status,
            "current_state": session.state if agent.multi_state else None,
            "metadata": {
                "input_fields": dict(session.input_fields),
                "state_fields": dict(session.state_fields),
                "context": list(session.context),
            },
            "active_human": session.active_human,
            "created_at": _iso(session.created_at),
            "updated_at": _iso(session.updated_at),
        }

    def _record_processed(self, record: InboundRecord) -> None:
        self.processed.append(record)
        limit = self._max_processed
        if limit is not None and len(self.processed) > 2 * limit:
            del self.processed[:-limit]  # trimmed in batches: amortised O(1) per message

    def _turn(self, agent: Agent, session: Session, content: str) -> str | None:
        session.transcript.append(("customer", content))
        session.updated_at = self._clock()
        if session.mode == "support":
            return None  # a human operator answers; the agent stays silent
        if _HUMAN_REQUEST.search(content):
            session.help_requested = True
            reply = "I've asked a member of our team to join this conversation. They'll be with you shortly."
        else:
            reply = self._agent_reply(agent, session, content)
        session.transcript.append(("agent", reply))
        return reply

    def _agent_reply(self, agent: Agent, session: Session, content: str | None, told: str | None = None) -> str:
        """One agent turn; a pending whisper and a `tell` show up, in brackets, at the end of the reply."""
        guidance = "; ".join(g for g in (session.whisper, told) if g)
        session.whisper = None
        if content is None:  # a `tell` turn: the agent speaks up without a new customer message
            reply = "Here is an update on your conversation."
        elif agent.multi_state:
            reply = self._orders_reply(session, content)
        else:
            reply = self._support_reply(session, content)
        return f"{reply} ({guidance})" if guidance else reply

    @staticmethod
    def _support_reply(session: Session, content: str) -> str:
        if _GREETING.search(content):
            name = session.input_fields.get("first_name")
            hello = f"Hello {name}!" if isinstance(name, str) and name.strip() else "Hello!"
            return f"{hello} I'm the OSVI sandbox assistant. How can I help you today?"
        if _CONTEXT_QUESTION.search(content):
            if not session.context:
                return "I have no context for this conversation yet."
            return f"Here is what I know: {'; '.join(session.context)}."
        if "order" in content.lower():
            return "I can help with your order. What's your order number?"
        if _THANKS.search(content):
            return "You're welcome! Anything else I can do for you?"
        return f"Thanks, I've noted: \u201c{content.strip()}\u201d. Is there anything else I can help with?"

    @staticmethod
    def _orders_reply(session: Session, content: str) -> str:
        if session.state == "greeting":
            session.state = "collect_order_number"
            return "Welcome to order support! What's your order number?"
        number = _ORDER_NUMBER.search(content)
        order_number = session.state_fields.get("order_number")
        if session.state == "collect_order_number":
            if number is None:
                return "I need your order number (4 to 10 digits) to look it up."
            session.state, order_number = "order_status", number.group(1)
            session.state_fields["order_number"] = order_number
            days = sum(map(int, order_number)) % 5 + 1
            return f"Order #{order_number} has shipped and should arrive in {days} day(s)."
        if _THANKS.search(content):
            session.state = "wrap_up"
            return "Glad I could help. Have a great day!"
        return f"Is there anything else about order #{order_number}?"


# -- request validation: every schema violation is a 400 with a readable `error` ----------------


def _object(body: Any, message: str = "request body must be a JSON object") -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise _Refusal(_error(400, message))
    return body


def _required_string(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:  # absent, or JSON null
        raise _Refusal(_error(400, f"{name} is required"))
    if not isinstance(value, str):
        raise _Refusal(_error(400, f"{name} must be a string"))
    if not value.strip():
        raise _Refusal(_error(400, f"{name} is required (got a blank string)"))
    return value


def _optional_string(fields: Mapping[str, Any], name: str) -> str | None:
    if name not in fields:
        return None
    if fields[name] is None:
        raise _Refusal(_error(400, f"{name} must be a string, not null (leave it out instead)"))
    return _required_string(fields, name)


def _newest_context(entries: list[str]) -> list[str]:
    return [entry for entry in entries if entry.strip()][-CONTEXT_LIMIT:]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ok(data: Any) -> Reply:
    return Reply(200, {"success": True, "data": data})


def _error(status: int, error: str) -> Reply:
    return Reply(status, {"success": False, "error": error})


def _engine_error_body(error: str, upstream: dict[str, Any] | None) -> dict[str, Any]:
    return {"success": False, "error": error, "upstream_body": upstream}


def _rejected(session: Session, reason: str) -> Reply:
    return Reply(
        502,
        _engine_error_body(
            f"Python engine returned 422 for POST /v1/chat/session/{session.id}/support",
            {"state": "rejected", "reason": reason},
        ),
    )
