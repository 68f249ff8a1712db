"""Every request the client builds matches the Chat v1 contract (path, method, query, body schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from osvi_integrations.config import build_config
from osvi_integrations.protocol import OPERATIONS, Operation, base_headers

SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "spec" / "chat_v1.openapi.yaml").read_text(encoding="utf-8")
)
REGISTRY: Registry = Registry().with_resource("spec", Resource.from_contents(SPEC, default_specification=DRAFT202012))
CONFIG = build_config(api_token="0123456789abcdef", base_url="https://api.osvi.ai", env={})
SID = "4718a326-417b-4dda-90d0-21fd65a11cb8"

#: Example arguments for each operation, every optional field set (so each is checked).
EXAMPLES: dict[str, dict[str, Any]] = {
    "send_message": {"agent_uuid": "agent_x", "customer_id": "+1555", "content": "hi", "session_id": SID},
    "create_session": {
        "agent_uuid": "agent_x",
        "customer_id": "+1555",
        "input_fields": {"first_name": "Alex"},
        "context": ["note"],
    },
    "get_active_session": {"customer_id": "+1555", "agent_uuid": "agent_x"},
    "list_active_sessions": {"customer_id": "+1555"},
    "inject_context": {"session_id": SID, "context": "note"},
    "list_active_agents": {},
    "takeover_session": {"session_id": SID, "message": "Hi"},
    "tell_agent": {"session_id": SID, "message": "m"},
    "whisper_to_agent": {"session_id": SID, "message": "m"},
    "hand_back_to_agent": {"session_id": SID},
    "close_session": {"session_id": SID},
    "send_operator_message": {"session_id": SID, "message": "m"},
}


def _documented(method: str, path: str) -> dict[str, Any]:
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            operation: dict[str, Any] = item[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the contract")


def test_every_operation_has_an_example() -> None:
    assert set(EXAMPLES) == {op.name for op in OPERATIONS}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_request_matches_the_contract(op: Operation[Any, Any]) -> None:
    request = op.build(CONFIG.base_url, base_headers("0123456789abcdef"), op.validate(EXAMPLES[op.name]))
    url = urlsplit(request.url)
    documented = _documented(request.method, url.path)
    assert request.headers[SPEC["components"]["securitySchemes"]["ApiToken"]["name"]] == "0123456789abcdef"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    parameters = {p["name"]: p for p in documented.get("parameters", []) if p.get("in") == "query"}
    assert set(query) <= set(parameters), "an undocumented query parameter"
    assert {n for n, p in parameters.items() if p.get("required")} <= set(query)
    if request.content is None:
        assert "requestBody" not in documented
        return
    schema = documented["requestBody"]["content"]["application/json"]["schema"]
    ref = schema["$ref"].replace("#", "spec#", 1)
    body = json.loads(request.content)
    validator = jsonschema.Draft202012Validator({"$ref": ref, "unevaluatedProperties": False}, registry=REGISTRY)
    validator.validate(body)


def test_the_support_rules_in_the_contract_are_not_vacuous() -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": "spec#/components/schemas/SupportCommandRequest"}, registry=REGISTRY
    )
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"command": "tell"})  # tell needs a message
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({})  # a plain operator message needs a message
