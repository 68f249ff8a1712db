"""The sandbox and the client against the authoritative OpenAPI spec of `POST /v1/chat/inbound`.

Every response the sandbox gives is validated against the schema documented for its status,
and every request the client builds against the request schema. OpenAPI 3.0's `nullable: true`
(used by the spec) is translated to JSON Schema's `type: [T, "null"]`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from osvi_integrations.config import build_config
from osvi_integrations.protocol import SEND_MESSAGE, base_headers
from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    SUPPORT_AGENT,
    SandboxServer,
)

from ... import loopback

ROOT = Path(__file__).resolve().parents[3]
SPEC_PATH = ROOT / "spec" / "send_message.openapi.yaml"
SHARED_SPEC_PATH = ROOT.parent / "shared" / "osvi-api" / "send_message.openapi.yaml"

SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
OPERATION: dict[str, Any] = SPEC["paths"]["/v1/chat/inbound"]["post"]


def _json_schema(node: Any) -> Any:
    """OpenAPI schema -> JSON Schema: resolve local $refs, turn `nullable` into a null type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return _json_schema(SPEC["components"]["schemas"][name])
    schema = {key: _json_schema(value) for key, value in node.items() if key not in ("nullable", "example")}
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def _response_schema(status: int) -> Any:
    return _json_schema(OPERATION["responses"][str(status)]["content"]["application/json"]["schema"])


def _strict(schema: Any) -> Any:
    """The 200 schema documents every field of `data`: require them all, so a missing one fails."""
    data = schema["properties"]["data"]
    return {
        **schema,
        "required": ["success", "data"],
        "properties": {**schema["properties"], "data": {**data, "required": list(data["properties"])}},
    }


def test_spec_copy_matches_the_shared_contract() -> None:
    if not SHARED_SPEC_PATH.exists():
        pytest.skip("the shared API contract is not checked out next to this repository")
    assert SPEC_PATH.read_text(encoding="utf-8") == SHARED_SPEC_PATH.read_text(encoding="utf-8")


def test_the_nullable_translation_is_not_vacuous() -> None:
    schema = _strict(_response_schema(200))
    good = {
        "success": True,
        "data": {"session_id": "s", "reply": None, "state": "default", "mode": "support", "help_requested": False},
    }
    jsonschema.validate(good, schema)
    for bad_data in ({**good["data"], "mode": "human"}, {**good["data"], "help_requested": "no"}, {"reply": "x"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"success": True, "data": bad_data}, schema)


def _post(server: SandboxServer, body: Any, token: str | None = "sandbox") -> httpx.Response:
    headers = {} if token is None else {"API-Token": server.api_token if token == "sandbox" else token}
    return loopback.post(f"{server.base_url}/v1/chat/inbound", json=body, headers=headers, timeout=10)


def _valid(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    schema = _strict(_response_schema(200)) if response.status_code == 200 else _response_schema(response.status_code)
    jsonschema.validate(body, schema)
    return body


def test_every_sandbox_outcome_validates_against_its_documented_schema(sandbox: SandboxServer) -> None:
    customer = "+15550001111"
    message = {"agent_uuid": SUPPORT_AGENT, "customer_id": customer, "content": "Hello"}
    outcomes: dict[int, int] = {}

    def check(response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        outcomes[status] = outcomes.get(status, 0) + 1
        return _valid(response)

    first = check(_post(sandbox, message), 200)
    session_id = first["data"]["session_id"]
    check(_post(sandbox, {**message, "content": "Can I talk to a human?"}), 200)
    assert sandbox.engine.support(sandbox.api_token, session_id, {"command": "takeover"}).status == 200
    taken_over = check(_post(sandbox, {**message, "session_id": session_id, "content": "Hello?"}), 200)
    assert taken_over["data"]["reply"] is None and taken_over["data"]["mode"] == "support"
    for content in ("hi", "my order", "12345", "thanks"):
        check(_post(sandbox, {"agent_uuid": ORDERS_AGENT, "customer_id": customer, "content": content}), 200)

    for field in ("agent_uuid", "customer_id", "content"):
        missing = check(_post(sandbox, {k: v for k, v in message.items() if k != field}), 400)
        assert field in missing["error"]
    check(_post(sandbox, message, token=None), 401)
    check(_post(sandbox, message, token="WrongToken123456"), 401)
    for agent in ("agent_does_not_exist", OTHER_ACCOUNT_AGENT):
        assert check(_post(sandbox, {**message, "agent_uuid": agent}), 404)["error"] == "agent_not_found"
    assert check(_post(sandbox, {**message, "agent_uuid": ARCHIVED_AGENT}), 422)["error"] == "agent_archived"
    assert check(_post(sandbox, {**message, "agent_uuid": INACTIVE_AGENT}), 422)["error"] == "agent_inactive"
    engine_error = check(_post(sandbox, {**message, "agent_uuid": FAULTY_AGENT}), 502)
    assert isinstance(engine_error["upstream_body"], dict)

    assert set(outcomes) == {int(status) for status in OPERATION["responses"]}, "a documented status is untested"


@pytest.mark.parametrize("session_id", [None, "4718a326-417b-4dda-90d0-21fd65a11cb8"])
def test_client_requests_match_the_request_schema(session_id: str | None) -> None:
    config = build_config(api_token="0123456789abcdef", base_url="https://api.osvi.ai")
    arguments = {"agent_uuid": "agent_x", "customer_id": "+15551112222", "content": "Hi, I need help."}
    params = SEND_MESSAGE.validate({**arguments, "session_id": session_id})
    request = SEND_MESSAGE.build(config.base_url, base_headers(config.api_token.get_secret_value()), params)
    assert request.content is not None
    schema = _json_schema(OPERATION["requestBody"]["content"]["application/json"]["schema"])
    body = json.loads(request.content)
    jsonschema.validate(body, {**schema, "additionalProperties": False})
    assert ("session_id" in body) == (session_id is not None)
    assert request.url == "https://api.osvi.ai/v1/chat/inbound" and request.method == "POST"
    security = SPEC["components"]["securitySchemes"]["ApiToken"]
    assert request.headers[security["name"]] == "0123456789abcdef"
    assert request.headers["Content-Type"] == "application/json"
