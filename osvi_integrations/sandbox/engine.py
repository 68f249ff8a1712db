"""A deterministic, in-memory OSVI chat engine: the sandbox's behaviour, with no HTTP in it.

Behaviour follows `send_message.openapi.yaml`; where the spec is silent the choices are
documented in README ("The sandbox").
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

SANDBOX_API_TOKEN = "osvi-sandbox-key"  # 16 characters, like a real token
OTHER_ACCOUNT_API_TOKEN = "osvi-other-accnt"

SUPPORT_AGENT = "agent_sandbox_support"
ORDERS_AGENT = "agent_sandbox_orders"
ARCHIVED_AGENT = "agent_sandbox_archived"
INACTIVE_AGENT = "agent_sandbox_inactive"
FAULTY_AGENT = "agent_sandbox_faulty"
OTHER_ACCOUNT_AGENT = "agent_other_account"

_HUMAN_REQUEST = re.compile(
    r"\b(human|real person|a person|someone real|operator|representative|live agent|talk to (an? )?agent)\b", re.I
)
_ORDER_NUMBER = re.compile(r"\b(\d{4,10})\b")
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|bye|that's all)\b", re.I)
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


DEMO_AGENTS: tuple[Agent, ...] = (
    Agent(SUPPORT_AGENT, "Sandbox support (single prompt)", SANDBOX_API_TOKEN),
    Agent(ORDERS_AGENT, "Sandbox orders (multi-state)", SANDBOX_API_TOKEN, multi_state=True),
    Agent(ARCHIVED_AGENT, "Archived agent", SANDBOX_API_TOKEN, status="archived"),
    Agent(INACTIVE_AGENT, "Inactive agent", SANDBOX_API_TOKEN, status="inactive"),
    Agent(FAULTY_AGENT, "Agent whose engine always fails", SANDBOX_API_TOKEN, always_fails=True),
    Agent(OTHER_ACCOUNT_AGENT, "Another account's agent", OTHER_ACCOUNT_API_TOKEN),
)


@dataclass
class Session:
    id: str
    agent_uuid: str
    customer_id: str
    state: str
    mode: Literal["ai", "support"] = "ai"
    help_requested: bool = False
    status: Literal["active", "closed"] = "active"
    active_human: str | None = None
    order_number: str | None = None
    whisper: str | None = None
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text)


@dataclass(frozen=True)
class Reply:
    """An HTTP-shaped answer: status code, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Makes the next `times` inbound requests fail. With `after_processing`, the message is
    delivered to the agent first (as when a reply is lost on the way back). `status=None`
    with `after_processing=True` and a `delay` gives a slow but normal reply."""

    status: int | None = 502
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_processing: bool = False
    times: int = 1


@dataclass(frozen=True)
class InboundRecord:
    """One customer message the engine processed (for exactly-once checks)."""

    agent_uuid: str
    customer_id: str
    content: str
    session_id: str


class Engine:
    """Thread-safe: the HTTP server's loop and a test's thread may both use it."""

    def __init__(self, agents: tuple[Agent, ...] = DEMO_AGENTS) -> None:
        self.agents = {a.uuid: a for a in agents}
        self.sessions: dict[str, Session] = {}
        self.processed: list[InboundRecord] = []
        self.request_count = 0
        self._faults: list[Fault] = []
        self._created: dict[tuple[str, str], int] = {}
        self._lock = threading.RLock()

    # -- test and demo controls -------------------------------------------------------

    def inject_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def next_fault(self) -> Fault | None:
        """Takes one use of the first pending fault (called once per inbound request)."""
        with self._lock:
            self.request_count += 1
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault

    def active_session(self, agent_uuid: str, customer_id: str) -> Session | None:
        with self._lock:
            return next(
                (
                    s
                    for s in self.sessions.values()
                    if s.agent_uuid == agent_uuid and s.customer_id == customer_id and s.status == "active"
                ),
                None,
            )

    # -- POST /v1/chat/inbound ------------------------------------------------------------

    def inbound(self, api_token: str | None, body: Any) -> Reply:
        if not self._token_known(api_token):
            return _error(401, "invalid_api_token")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object with agent_uuid, customer_id and content")
        for name in ("agent_uuid", "customer_id", "content"):
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                return _error(400, f"{name} is required")
        session_id = body.get("session_id")
        if session_id is not None and not isinstance(session_id, str):
            return _error(400, "session_id must be a string")
        agent = self.agents.get(body["agent_uuid"])
        if agent is None or agent.account_token != api_token:
            return _error(404, "agent_not_found")
        if agent.status == "archived":
            return _error(422, "agent_archived")
        if agent.status == "inactive":
            return _error(422, "agent_inactive")
        if agent.always_fails:
            return Reply(
                502,
                _engine_error_body(
                    "Python engine returned 500 for POST /v1/chat/inbound",
                    {"state": "error", "reason": "sandbox_agent_always_fails"},
                ),
            )
        with self._lock:
            if session_id is None:
                session = self._resolve_session(agent, body["customer_id"])
            else:
                found = self.sessions.get(session_id)
                if found is None or found.agent_uuid != agent.uuid or found.customer_id != body["customer_id"]:
                    return _error(404, "session_not_found")
                if found.status == "closed":
                    return _error(422, "session_closed")
                session = found
            reply = self._turn(agent, session, body["content"])
            self.processed.append(InboundRecord(agent.uuid, session.customer_id, body["content"], session.id))
            return Reply(
                200,
                {
                    "success": True,
                    "data": {
                        "session_id": session.id,
                        "reply": reply,
                        "state": session.state,
                        "mode": session.mode,
                        "help_requested": session.help_requested,
                    },
                },
            )

    # -- POST /v1/chat/session/{id}/support ----------------------------------------------

    def support(self, api_token: str | None, session_id: str, body: Any) -> Reply:
        """Operator commands (chat-v1.md): takeover, tell, whisper, end, close, or a plain message."""
        if not self._token_known(api_token):
            return _error(401, "invalid_api_token")
        if not isinstance(body, dict):
            body = {}
        command = body.get("command")
        message = body.get("message")
        operator = body.get("operator") or "operator@sandbox.osvi.local"
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or self.agents[session.agent_uuid].account_token != api_token:
                return _error(404, "session_not_found")
            agent = self.agents[session.agent_uuid]
            data: dict[str, Any] = {"session_id": session.id, "command": command}
            if command == "takeover":
                session.mode, session.active_human = "support", str(operator)
                data["active_human"] = session.active_human
            elif command == "tell":
                if session.mode == "support":
                    return _rejected(session, "tell_not_allowed_during_takeover")
                if not isinstance(message, str) or not message.strip():
                    return _error(400, "message is required")
                session.whisper = message
                data["reply"] = self._agent_reply(agent, session, "")
            elif command == "whisper":
                if not isinstance(message, str) or not message.strip():
                    return _error(400, "message is required")
                session.whisper = message
            elif command == "end":
                session.mode, session.active_human, session.help_requested = "ai", None, False
            elif command == "close":
                session.status = "closed"
            elif command is None:
                if session.mode != "support":
                    return _rejected(session, "message_requires_support_mode")
                if not isinstance(message, str) or not message.strip():
                    return _error(400, "message is required")
                session.transcript.append(("human", message))
            else:
                return _error(422, f"unknown command: {command}")
            data["state"] = session.state
            return Reply(200, {"success": True, "data": data})

    # -- internals -------------------------------------------------------------------------

    def _token_known(self, api_token: str | None) -> bool:
        return api_token is not None and any(a.account_token == api_token for a in self.agents.values())

    def _resolve_session(self, agent: Agent, customer_id: str) -> Session:
        existing = self.active_session(agent.uuid, customer_id)
        if existing is not None:
            return existing
        key = (agent.uuid, customer_id)
        self._created[key] = self._created.get(key, 0) + 1
        session_id = str(uuid.uuid5(_SESSION_NAMESPACE, f"{agent.uuid}|{customer_id}|{self._created[key]}"))
        session = Session(session_id, agent.uuid, customer_id, state="greeting" if agent.multi_state else "default")
        self.sessions[session_id] = session
        return session

    def _turn(self, agent: Agent, session: Session, content: str) -> str | None:
        session.transcript.append(("customer", content))
        if session.mode == "support":
            return None  # a human operator answers; the agent stays silent
        if _HUMAN_REQUEST.search(content):
            session.help_requested = True
            reply = "I've asked a member of our team to join this conversation. They'll be with you shortly."
        else:
            reply = self._agent_reply(agent, session, content)
        session.transcript.append(("agent", reply))
        return reply

    def _agent_reply(self, agent: Agent, session: Session, content: str) -> str:
        guidance, session.whisper = session.whisper, None
        reply = self._orders_reply(session, content) if agent.multi_state else self._support_reply(content)
        return f"{reply} ({guidance})" if guidance else reply

    @staticmethod
    def _support_reply(content: str) -> str:
        if _GREETING.search(content):
            return "Hello! I'm the OSVI sandbox assistant. How can I help you today?"
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
        if session.state == "collect_order_number":
            if number is None:
                return "I need your order number (4 to 10 digits) to look it up."
            session.state, session.order_number = "order_status", number.group(1)
            days = sum(map(int, session.order_number)) % 5 + 1
            return f"Order #{session.order_number} has shipped and should arrive in {days} day(s)."
        if _THANKS.search(content):
            session.state = "wrap_up"
            return "Glad I could help. Have a great day!"
        return f"Is there anything else about order #{session.order_number}?"


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
