"""Every documented status of every Chat v1 operation, reached over real HTTP, its body validated
against spec/chat_v1.openapi.yaml (the strict variant: every documented field present).

A `default` response is reached with the errors the sandbox gives where the contract lists none
(docs/sandbox.md): 400 for bad input, 404 for unknown objects, 422 for state rules, 502 for engine
failures, and an injected fault for the one operation that has no error of its own.
"""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    ROUTES,
    SUPPORT_AGENT,
    Fault,
    SandboxServer,
)

from ._contract import ACTIVE, AGENTS, CHAT_V1_PATH, INBOUND, INJECT, SESSION, SUPPORT, response_schema
from .conftest import Api

WRONG_TOKEN = "WrongToken123456"


def test_every_route_is_a_path_of_the_contract() -> None:
    """The routes come from the operation table; the contract (spec/, kept equal to the published one by
    tests/unit_tests/test_spec_copy.py) is the independent word on what the paths are."""
    contract = yaml.safe_load(CHAT_V1_PATH.read_text(encoding="utf-8"))["paths"]
    for method, path in ROUTES.values():
        assert method.lower() in contract[path], (method, path)


def test_the_strict_schemas_are_not_vacuous() -> None:
    session_schema = response_schema(SESSION, "POST", 200)
    with pytest.raises(jsonschema.ValidationError):  # a missing field fails
        jsonschema.validate({"success": True, "data": {"id": "x"}}, session_schema)
    support_schema = response_schema(SUPPORT, "POST", 200)
    jsonschema.validate({"success": True, "data": {"state": "ok", "session_id": "s", "command": "end"}}, support_schema)
    with pytest.raises(jsonschema.ValidationError):  # `command` is always there
        jsonschema.validate({"success": True, "data": {"state": "ok", "session_id": "s"}}, support_schema)
    with pytest.raises(jsonschema.ValidationError):  # the error forms need their field
        jsonschema.validate({"success": False}, response_schema(AGENTS, "GET", 401))


def _session(api: Api, agent: str = SUPPORT_AGENT, customer: str = "+15550001111") -> str:
    status, body = api.call("POST", SESSION, json={"agent_uuid": agent, "customer_id": customer})
    assert status == 200, body
    session_id: str = body["data"]["id"]
    return session_id


def test_create_session(api: Api) -> None:
    full = {
        "agent_uuid": ORDERS_AGENT,
        "customer_id": "+15551112222",
        "input_fields": {"first_name": "Alex"},
        "context": ["Initial context for this chat"],
    }
    status, body = api.call("POST", SESSION, json=full)
    assert status == 200 and body["data"]["current_state"] == "greeting"
    assert api.call("POST", SESSION, json=full, token=None)[0] == 401
    assert api.call("POST", SESSION, json=full, token=WRONG_TOKEN)[0] == 401
    for bad in ({"agent_uuid": SUPPORT_AGENT}, {**full, "input_fields": []}, {**full, "context": "x"}, ["x"]):
        assert api.call("POST", SESSION, json=bad)[0] == 400
    for agent, status, error in [
        ("agent_does_not_exist", 404, "agent_not_found"),
        (OTHER_ACCOUNT_AGENT, 404, "agent_not_found"),
        (ARCHIVED_AGENT, 422, "agent_archived"),
        (INACTIVE_AGENT, 422, "agent_inactive"),
    ]:
        assert api.call("POST", SESSION, json={**full, "agent_uuid": agent}) == (
            status,
            {"success": False, "error": error},
        )
    status, body = api.call("POST", SESSION, json={**full, "agent_uuid": FAULTY_AGENT})
    assert status == 502 and body["upstream_body"]["reason"] == "sandbox_agent_always_fails"
    api.assert_every_documented_status_reached(SESSION, "POST")


def test_get_active_session(api: Api) -> None:
    customer = "+15552223333"
    assert api.call("GET", ACTIVE, params={"customer_id": customer}) == (200, {"success": True, "data": {}})
    support_id, orders_id = _session(api, SUPPORT_AGENT, customer), _session(api, ORDERS_AGENT, customer)
    status, body = api.call("GET", ACTIVE, params={"customer_id": customer, "agent_uuid": SUPPORT_AGENT})
    assert status == 200 and body["data"]["id"] == support_id
    status, body = api.call("GET", ACTIVE, params={"customer_id": customer})
    assert status == 200 and {k: v["id"] for k, v in body["data"].items()} == {
        SUPPORT_AGENT: support_id,
        ORDERS_AGENT: orders_id,
    }
    assert api.call("GET", ACTIVE, params={"customer_id": customer, "agent_uuid": FAULTY_AGENT}) == (
        404,
        {"success": False, "error": "no_active_session"},
    )
    assert api.call("GET", ACTIVE, params={"customer_id": customer}, token=None)[0] == 401
    assert api.call("GET", ACTIVE, params={})[0] == 400
    assert api.call("GET", ACTIVE, params={"customer_id": " "})[0] == 400
    api.assert_every_documented_status_reached(ACTIVE, "GET")


def test_send_message(api: Api) -> None:
    message = {"agent_uuid": SUPPORT_AGENT, "customer_id": "+15553334444", "content": "Hello"}
    status, body = api.call("POST", INBOUND, json=message)
    assert status == 200 and body["data"]["state"] == "default"
    assert api.call("POST", INBOUND, json={**message, "content": ""})[0] == 400
    assert api.call("POST", INBOUND, json=message, token=WRONG_TOKEN)[0] == 401
    assert api.call("POST", INBOUND, json={**message, "agent_uuid": OTHER_ACCOUNT_AGENT})[0] == 404
    assert api.call("POST", INBOUND, json={**message, "agent_uuid": ARCHIVED_AGENT})[0] == 422
    status, body = api.call("POST", INBOUND, json={**message, "agent_uuid": FAULTY_AGENT})
    assert status == 502 and isinstance(body["upstream_body"], dict)
    api.assert_every_documented_status_reached(INBOUND, "POST")


def test_inject_context(api: Api) -> None:
    session_id = _session(api)
    status, body = api.call("POST", INJECT, session_id=session_id, json={"context": "Called earlier about a refund."})
    assert (status, body["data"]) == (200, {"session_id": session_id, "context": ["Called earlier about a refund."]})
    assert api.call("POST", INJECT, session_id=session_id, json={"context": "x"}, token=None)[0] == 401
    assert api.call("POST", INJECT, session_id=session_id, json={"context": ""})[0] == 400
    assert api.call("POST", INJECT, session_id="no-such-session", json={"context": "x"})[0] == 404
    api.call("POST", SUPPORT, session_id=session_id, json={"command": "close"})
    assert api.call("POST", INJECT, session_id=session_id, json={"context": "x"}) == (
        422,
        {"success": False, "error": "session_closed"},
    )
    api.assert_every_documented_status_reached(INJECT, "POST")


def test_support_command(api: Api) -> None:
    session_id = _session(api)
    status, body = api.call("POST", SUPPORT, session_id=session_id, json={"command": "takeover"})
    assert status == 200 and body["data"]["active_human"]
    status, body = api.call("POST", SUPPORT, session_id=session_id, json={"command": "tell", "message": "Hi"})
    assert status == 502 and body["upstream_body"] == {
        "state": "rejected",
        "reason": "tell_not_allowed_during_takeover",
    }
    assert api.call("POST", SUPPORT, session_id=session_id, json={"command": "end"}, token=None)[0] == 401
    assert api.call("POST", SUPPORT, session_id=session_id, json={"command": "shout"})[0] == 400
    assert api.call("POST", SUPPORT, session_id="no-such-session", json={"command": "end"})[0] == 404
    for command in ("end", "close"):
        assert api.call("POST", SUPPORT, session_id=session_id, json={"command": command})[0] == 200
    assert api.call("POST", SUPPORT, session_id=session_id, json={"command": "end"})[0] == 422
    api.assert_every_documented_status_reached(SUPPORT, "POST")


def test_list_active_agents(api: Api, sandbox: SandboxServer) -> None:
    status, body = api.call("GET", AGENTS)
    assert status == 200 and [agent["agent_id"] for agent in body] == [SUPPORT_AGENT, ORDERS_AGENT, FAULTY_AGENT]
    assert api.call("GET", AGENTS, token=None)[0] == 401
    # The operation has no error besides 401: its `default` is reached with an injected fault.
    sandbox.engine.inject_fault(Fault(status=503, route="active_agents", headers={"Retry-After": "1"}))
    assert api.call("GET", AGENTS) == (503, {"success": False, "error": "sandbox_fault_503"})
    api.assert_every_documented_status_reached(AGENTS, "GET")
