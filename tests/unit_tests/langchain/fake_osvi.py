"""An in-process fake of the OSVI API behind `httpx.MockTransport`: no sockets, exact counts.

It records every request and every *delivered* customer message, and can be told to fail the next
inbound requests, before or after delivering them (an answer lost on the way back).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from osvi_integrations.langchain import ChatOSVI


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    #: True: the engine processed the message, then the answer failed (e.g. a 502 from a proxy).
    after_delivery: bool = False


@dataclass
class FakeSession:
    id: str
    agent_uuid: str
    customer_id: str
    status: str = "active"
    mode: str = "ai"
    help_requested: bool = False
    input_fields: dict[str, Any] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)


ENGINE_FAILED = Failure(502, {"success": False, "error": "Python engine returned 500 for POST /v1/chat/inbound"})
UNAVAILABLE = Failure(503, {"success": False, "error": "service_unavailable"})


@dataclass
class Delivery:
    agent_uuid: str
    customer_id: str
    content: str
    session_id: str


class FakeOSVI:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.delivered: list[Delivery] = []
        self.sessions: dict[str, FakeSession] = {}
        self.failures: list[Failure] = []

    # -- wiring ---------------------------------------------------------------------------------

    def model(self, **kwargs: Any) -> ChatOSVI:
        params: dict[str, Any] = {
            "agent_uuid": "agent_a",
            "api_key": "fake-token-123456",
            "base_url": "https://fake.osvi.test",
            "max_retries": 0,  # the core's own retries are tested elsewhere; here LangChain's are
            "http_client": httpx.Client(transport=httpx.MockTransport(self.handle)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self.handle)),
            **kwargs,
        }
        return ChatOSVI(**params)

    def session_for(self, agent_uuid: str, customer_id: str) -> FakeSession | None:
        return next(
            (
                s
                for s in self.sessions.values()
                if s.agent_uuid == agent_uuid and s.customer_id == customer_id and s.status == "active"
            ),
            None,
        )

    def open_session(self, agent_uuid: str, customer_id: str) -> FakeSession:
        session = FakeSession(str(uuid.uuid4()), agent_uuid, customer_id)
        self.sessions[session.id] = session
        return session

    # -- the API ----------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        path = request.url.path
        if path == "/v1/chat/inbound":
            return self._inbound(body or {})
        if path == "/v1/chat/session" and request.method == "POST":
            return self._create(body or {})
        return httpx.Response(404, json={"success": False, "error": "not_found"})

    def _inbound(self, body: dict[str, Any]) -> httpx.Response:
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None and not failure.after_delivery:
            return httpx.Response(failure.status, json=failure.body)
        agent, customer, content = body["agent_uuid"], body["customer_id"], body["content"]
        pinned = body.get("session_id")
        if pinned is not None:
            session = self.sessions.get(pinned)
            if session is None or session.agent_uuid != agent or session.customer_id != customer:
                return httpx.Response(404, json={"success": False, "error": "session_not_found"})
            if session.status == "closed":
                return httpx.Response(422, json={"success": False, "error": "session_closed"})
        else:
            session = self.session_for(agent, customer) or self.open_session(agent, customer)
        self.delivered.append(Delivery(agent, customer, content, session.id))
        if failure is not None:
            return httpx.Response(failure.status, json=failure.body)
        if "human" in content:
            session.help_requested = True
        reply = None if session.mode == "support" else f"{agent} heard: {content}"
        data = {
            "session_id": session.id,
            "reply": reply,
            "state": "default",
            "mode": session.mode,
            "help_requested": session.help_requested,
        }
        return httpx.Response(200, json={"success": True, "data": data})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        previous = self.session_for(body["agent_uuid"], body["customer_id"])
        if previous is not None:
            previous.status = "closed"
        session = self.open_session(body["agent_uuid"], body["customer_id"])
        session.input_fields = body.get("input_fields") or {}
        session.context = body.get("context") or []
        data = {
            "id": session.id,
            "customer_id": session.customer_id,
            "mode": session.mode,
            "help_requested": False,
            "status": "active",
            "metadata": {"input_fields": session.input_fields, "state_fields": {}, "context": session.context},
        }
        return httpx.Response(200, json={"success": True, "data": data})
