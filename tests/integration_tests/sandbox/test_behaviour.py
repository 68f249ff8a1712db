"""The sandbox's rules, over real HTTP: sessions, context, support commands, agents, account isolation."""

from __future__ import annotations

from typing import Any

import pytest

from osvi_integrations.sandbox import (
    CONTEXT_LIMIT,
    DEFAULT_OPERATOR,
    FAULTY_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    OTHER_ACCOUNT_API_TOKEN,
    SUPPORT_AGENT,
    TRANSCRIPT_LIMIT,
    Engine,
    SandboxServer,
)

from ._contract import ACTIVE, AGENTS, INBOUND, INJECT, SESSION, SUPPORT
from .conftest import Api

CUSTOMER = "+15550009999"


def _create(api: Api, agent: str = SUPPORT_AGENT, customer: str = CUSTOMER, **extra: Any) -> dict[str, Any]:
    status, body = api.call("POST", SESSION, json={"agent_uuid": agent, "customer_id": customer, **extra})
    assert status == 200, body
    record: dict[str, Any] = body["data"]
    return record


def _say(api: Api, content: str, agent: str = SUPPORT_AGENT, **extra: Any) -> dict[str, Any]:
    status, body = api.call(
        "POST", INBOUND, json={"agent_uuid": agent, "customer_id": CUSTOMER, "content": content, **extra}
    )
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


def _support(api: Api, session_id: str, **body: Any) -> tuple[int, Any]:
    return api.call("POST", SUPPORT, session_id=session_id, json=body)


# -- sessions ---------------------------------------------------------------------------------


def test_a_new_session_closes_the_customers_active_one_with_that_agent(api: Api, sandbox: SandboxServer) -> None:
    first = _create(api)
    other_agent = _create(api, ORDERS_AGENT)
    second = _create(api)
    assert second["id"] != first["id"]
    assert sandbox.engine.sessions[first["id"]].status == "closed"
    assert sandbox.engine.sessions[other_agent["id"]].status == "active"  # another agent's session is untouched
    assert _say(api, "Hello")["session_id"] == second["id"]  # messages go to the new session
    stale = {"agent_uuid": SUPPORT_AGENT, "customer_id": CUSTOMER, "content": "x", "session_id": first["id"]}
    assert api.call("POST", INBOUND, json=stale) == (422, {"success": False, "error": "session_closed"})


def test_the_session_record(api: Api) -> None:
    single = _create(api)
    assert single["current_state"] is None  # single-prompt agent
    assert (single["mode"], single["status"], single["help_requested"], single["active_human"]) == (
        "ai",
        "active",
        False,
        None,
    )
    assert single["metadata"] == {"input_fields": {}, "state_fields": {}, "context": []}
    assert single["customer_id"] == CUSTOMER and single["created_at"] == single["updated_at"]
    multi = _create(api, ORDERS_AGENT, input_fields={"first_name": "Alex", "tier": 2})
    assert multi["current_state"] == "greeting" and multi["metadata"]["input_fields"] == {
        "first_name": "Alex",
        "tier": 2,
    }
    assert multi["chat_agent_id"] != single["chat_agent_id"] and multi["account_id"] == single["account_id"]
    for content in ("hi", "my order is 20417"):
        _say(api, content, ORDERS_AGENT)
    status, body = api.call("GET", ACTIVE, params={"customer_id": CUSTOMER, "agent_uuid": ORDERS_AGENT})
    assert status == 200 and body["data"]["current_state"] == "order_status"
    assert body["data"]["metadata"]["state_fields"] == {"order_number": "20417"}
    assert body["data"]["updated_at"] > body["data"]["created_at"]


def test_context_keeps_the_newest_five_non_empty_entries(api: Api) -> None:
    entries = ["one", "", "two", "  ", "three", "four", "five", "six"]
    session = _create(api, context=entries)
    assert session["metadata"]["context"] == ["two", "three", "four", "five", "six"]
    status, body = api.call("POST", INJECT, session_id=session["id"], json={"context": "seven"})
    assert status == 200 and body["data"]["context"] == ["three", "four", "five", "six", "seven"]
    assert len(body["data"]["context"]) == CONTEXT_LIMIT
    for blank in ("", "   "):
        assert api.call("POST", INJECT, session_id=session["id"], json={"context": blank})[0] == 400
    for wrong in ({"context": ["x"]}, {"context": None}, {}, "x"):
        assert api.call("POST", INJECT, session_id=session["id"], json=wrong)[0] == 400


def test_replies_reflect_input_fields_and_context(api: Api) -> None:
    _create(api, input_fields={"first_name": "Alex"})
    assert _say(api, "What do you know?")["reply"] == "I have no context for this conversation yet."
    assert _say(api, "Hello")["reply"].startswith("Hello Alex! I'm the OSVI sandbox assistant.")
    session_id = _say(api, "x")["session_id"]
    api.call("POST", INJECT, session_id=session_id, json={"context": "Wants a refund"})
    assert _say(api, "What do you know?")["reply"] == "Here is what I know: Wants a refund."


def test_get_active_session_sees_only_the_tokens_account(api: Api, sandbox: SandboxServer) -> None:
    mine = _create(api)
    status, body = api.call(
        "POST",
        SESSION,
        json={"agent_uuid": OTHER_ACCOUNT_AGENT, "customer_id": CUSTOMER},
        token=OTHER_ACCOUNT_API_TOKEN,
    )
    theirs = body["data"]
    assert status == 200 and theirs["account_id"] != mine["account_id"]
    assert api.call("GET", ACTIVE, params={"customer_id": CUSTOMER})[1]["data"] == {SUPPORT_AGENT: mine}
    assert api.call("GET", ACTIVE, params={"customer_id": CUSTOMER, "agent_uuid": OTHER_ACCOUNT_AGENT})[0] == 404
    status, body = api.call("GET", ACTIVE, params={"customer_id": CUSTOMER}, token=OTHER_ACCOUNT_API_TOKEN)
    assert list(body["data"]) == [OTHER_ACCOUNT_AGENT]
    # Another account's session id is unknown to this token, for every session-scoped call.
    assert api.call("POST", INJECT, session_id=theirs["id"], json={"context": "x"})[1]["error"] == "session_not_found"
    assert _support(api, theirs["id"], command="close")[1]["error"] == "session_not_found"
    message = {"agent_uuid": OTHER_ACCOUNT_AGENT, "customer_id": CUSTOMER, "content": "hi", "session_id": theirs["id"]}
    assert api.call("POST", INBOUND, json=message)[1]["error"] == "agent_not_found"
    assert sandbox.engine.sessions[theirs["id"]].status == "active"


def test_inbound_session_rules(api: Api) -> None:
    first = _say(api, "Hello")
    assert _say(api, "again")["session_id"] == first["session_id"]  # resolved by customer + agent
    assert _say(api, "pinned", session_id=first["session_id"])["session_id"] == first["session_id"]
    message = {"agent_uuid": SUPPORT_AGENT, "customer_id": CUSTOMER, "content": "x"}
    other_customer = {**message, "customer_id": "+15550000000", "session_id": first["session_id"]}
    other_agent = {**message, "agent_uuid": ORDERS_AGENT, "session_id": first["session_id"]}
    for body in (other_customer, other_agent, {**message, "session_id": "4718a326-417b-4dda-90d0-21fd65a11cb8"}):
        assert api.call("POST", INBOUND, json=body) == (404, {"success": False, "error": "session_not_found"})
    assert api.call("POST", INBOUND, json={**message, "session_id": None})[0] == 400
    _support(api, first["session_id"], command="close")
    assert api.call("POST", INBOUND, json={**message, "session_id": first["session_id"]})[0] == 422
    assert _say(api, "new start")["session_id"] != first["session_id"]  # without an id: a new session


# -- support commands ---------------------------------------------------------------------------


def test_takeover_then_end(api: Api, sandbox: SandboxServer) -> None:
    escalated = _say(api, "Can I talk to a human?")
    session_id = escalated["session_id"]
    assert escalated["help_requested"] is True
    status, body = _support(api, session_id, command="takeover", message="Ana here, reading your messages.")
    assert status == 200
    assert body["data"] == {
        "state": "ok",
        "session_id": session_id,
        "command": "takeover",
        "active_human": DEFAULT_OPERATOR,
    }
    assert sandbox.engine.sessions[session_id].transcript[-1] == ("human", "Ana here, reading your messages.")
    quiet = _say(api, "Hello?")
    assert (quiet["reply"], quiet["mode"]) == (None, "support")
    record = api.call("GET", ACTIVE, params={"customer_id": CUSTOMER, "agent_uuid": SUPPORT_AGENT})[1]["data"]
    assert (record["mode"], record["active_human"]) == ("support", DEFAULT_OPERATOR)
    assert _support(api, session_id, command="end")[1]["data"] == {
        "state": "ok",
        "session_id": session_id,
        "command": "end",
    }
    back = _say(api, "thanks")
    assert (back["mode"], back["help_requested"]) == ("ai", False) and back["reply"]
    record = api.call("GET", ACTIVE, params={"customer_id": CUSTOMER, "agent_uuid": SUPPORT_AGENT})[1]["data"]
    assert record["active_human"] is None


def test_operator_extension_names_who_takes_over(api: Api) -> None:
    session_id = _create(api)["id"]
    body = _support(api, session_id, command="takeover", operator="ana@example.com")[1]
    assert body["data"]["active_human"] == "ana@example.com"
    assert _support(api, session_id, command="takeover", operator=42)[1]["data"]["active_human"] == DEFAULT_OPERATOR


def test_tell_returns_the_agents_turn_and_is_refused_during_a_takeover(api: Api) -> None:
    session_id = _create(api)["id"]
    status, body = _support(api, session_id, command="tell", message="Offer a refund")
    assert status == 200 and body["data"]["command"] == "tell"
    assert body["data"]["reply"] == "Here is an update on your conversation. (Offer a refund)"
    assert _support(api, session_id, command="tell")[0] == 400  # message required
    _support(api, session_id, command="takeover")
    status, body = _support(api, session_id, command="tell", message="x")
    assert status == 502
    assert body == {
        "success": False,
        "error": f"Python engine returned 422 for POST /v1/chat/session/{session_id}/support",
        "upstream_body": {"state": "rejected", "reason": "tell_not_allowed_during_takeover"},
    }


def test_tell_is_disabled_for_the_orders_agent(api: Api) -> None:
    session_id = _create(api, ORDERS_AGENT)["id"]
    status, body = _support(api, session_id, command="tell", message="x")
    assert status == 502 and body["upstream_body"] == {"state": "rejected", "reason": "tell_disabled_for_agent"}
    assert _support(api, session_id, command="whisper", message="be brief")[0] == 200  # other commands work


def test_whisper_shapes_the_next_reply_only(api: Api) -> None:
    session_id = _say(api, "Hello")["session_id"]
    status, body = _support(api, session_id, command="whisper", message="mention the sale")
    assert (status, body["data"]) == (200, {"state": "ok", "session_id": session_id, "command": "whisper"})
    assert _say(api, "thanks")["reply"] == "You're welcome! Anything else I can do for you? (mention the sale)"
    assert _say(api, "thanks")["reply"] == "You're welcome! Anything else I can do for you?"
    assert _support(api, session_id, command="whisper")[0] == 400  # the sandbox requires a message


def test_plain_operator_messages_need_support_mode(api: Api, sandbox: SandboxServer) -> None:
    session_id = _create(api)["id"]
    status, body = _support(api, session_id, message="Hello from a human")
    assert status == 502 and body["upstream_body"]["reason"] == "message_requires_support_mode"
    _support(api, session_id, command="takeover")
    status, body = _support(api, session_id, message="Hello from a human")
    assert (status, body["data"]) == (200, {"state": "ok", "session_id": session_id, "command": "message"})
    assert sandbox.engine.sessions[session_id].transcript[-1] == ("human", "Hello from a human")
    assert _support(api, session_id)[0] == 400  # neither command nor message


def test_close_is_final(api: Api) -> None:
    session_id = _create(api)["id"]
    assert _support(api, session_id, command="close")[1]["data"]["command"] == "close"
    for body in ({"command": "end"}, {"command": "close"}, {"message": "x"}):
        assert _support(api, session_id, **body) == (422, {"success": False, "error": "session_closed"})
    assert api.call("GET", ACTIVE, params={"customer_id": CUSTOMER, "agent_uuid": SUPPORT_AGENT})[0] == 404


@pytest.mark.parametrize(
    "body",
    [{"command": "shout"}, {"command": None}, {"command": 1}, {"command": "tell", "message": ""}, {"message": 5}, []],
)
def test_malformed_support_requests_are_400(api: Api, body: Any) -> None:
    session_id = _create(api)["id"]
    assert api.call("POST", SUPPORT, session_id=session_id, json=body)[0] == 400


# -- agents and the engine's bounds ---------------------------------------------------------------


def test_active_agents_per_account_newest_first(api: Api) -> None:
    status, body = api.call("GET", AGENTS)
    assert status == 200 and body == [
        {"agent_id": SUPPORT_AGENT, "name": "Sandbox support (single prompt)", "status": "active"},
        {"agent_id": ORDERS_AGENT, "name": "Sandbox orders (multi-state)", "status": "active"},
        {"agent_id": FAULTY_AGENT, "name": "Agent whose engine always fails", "status": "active"},
    ]
    status, body = api.call("GET", AGENTS, token=OTHER_ACCOUNT_API_TOKEN)
    assert status == 200 and [agent["agent_id"] for agent in body] == [OTHER_ACCOUNT_AGENT]


def test_engine_keeps_bounded_state_per_session_and_overall() -> None:
    engine = Engine(max_processed=10)
    token = "osvi-sandbox-key"
    for i in range(TRANSCRIPT_LIMIT):
        engine.inbound(token, {"agent_uuid": SUPPORT_AGENT, "customer_id": "c", "content": f"message {i}"})
    (session,) = engine.sessions.values()
    assert len(session.transcript) == TRANSCRIPT_LIMIT  # 2 entries per turn, capped
    assert session.transcript[-1][0] == "agent" and "message 49" in session.transcript[-2][1]
    assert 10 <= len(engine.processed) <= 20 and engine.processed[-1].content == "message 49"


def test_sessions_are_indexed_by_agent_and_customer() -> None:
    engine = Engine()
    token = "osvi-sandbox-key"
    for i in range(200):
        engine.create_session(token, {"agent_uuid": SUPPORT_AGENT, "customer_id": f"c{i % 50}"})
    assert len(engine.sessions) == 200
    active = [s for s in engine.sessions.values() if s.status == "active"]
    assert len(active) == 50
    assert all(engine.active_session(SUPPORT_AGENT, s.customer_id) is s for s in active)
    assert engine.active_session(ORDERS_AGENT, "c1") is None
