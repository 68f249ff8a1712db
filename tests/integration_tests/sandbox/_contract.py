"""The Chat v1 contract (spec/chat_v1.openapi.yaml) as JSON Schemas the tests validate responses with.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so the only translation is inlining `$ref`s. The strict
variant also requires every documented property of an object (a field the sandbox leaves out must
fail), except the ones the contract calls conditional (OPTIONAL_PROPERTIES).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

from osvi_integrations.sandbox import ROUTES

ROOT = Path(__file__).resolve().parents[3]
SPEC_DIR = ROOT / "spec"
CHAT_V1_PATH = SPEC_DIR / "chat_v1.openapi.yaml"
SEND_MESSAGE_PATH = SPEC_DIR / "send_message.openapi.yaml"

# The operations' paths, from the operation table by way of the sandbox's routes (written once); that
# each is a path of the contract is checked by `test_every_route_is_a_path_of_the_contract`.
SESSION = ROUTES["create_session"][1]
ACTIVE = ROUTES["get_active_session"][1]
INBOUND = ROUTES["inbound"][1]
INJECT = ROUTES["inject_context"][1]
SUPPORT = ROUTES["support"][1]
AGENTS = ROUTES["active_agents"][1]

CHAT_V1: dict[str, Any] = yaml.safe_load(CHAT_V1_PATH.read_text(encoding="utf-8"))

# SupportCommandData: "`reply` and `active_human` appear only for some commands".
OPTIONAL_PROPERTIES = {"SupportCommandData": frozenset({"reply", "active_human"})}
# The sandbox writes timestamps as UTC with microseconds and a Z, like the contract's example.
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
_FORMATS = jsonschema.FormatChecker()


def _pointer(ref: str) -> tuple[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = CHAT_V1
    for part in ref[2:].split("/"):
        node = node[part]
    return ref.rsplit("/", 1)[-1], node


def inline(node: Any, *, strict: bool, name: str | None = None) -> Any:
    """The schema with every local $ref replaced by its target (the contract has no cycles)."""
    if isinstance(node, list):
        return [inline(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target_name, target = _pointer(node["$ref"])
        resolved = inline(target, strict=strict, name=target_name)
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {"allOf": [resolved, inline(siblings, strict=strict)]} if siblings else resolved
    schema = {key: inline(value, strict=strict) for key, value in node.items() if key not in ("example", "examples")}
    if strict and isinstance(node.get("properties"), dict):
        optional = OPTIONAL_PROPERTIES.get(name or "", frozenset())
        schema["required"] = sorted(set(node["properties"]) - optional | set(node.get("required", [])))
    return schema


def operation(path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = CHAT_V1["paths"][path][method.lower()]
    return op


def documented_statuses(path: str, method: str) -> set[str]:
    return set(operation(path, method)["responses"])


def response_schema(path: str, method: str, status: int, *, strict: bool = True) -> Any:
    """The schema documented for `status`, or the operation's `default` when the status is not listed."""
    responses = operation(path, method)["responses"]
    entry = responses.get(str(status), responses.get("default"))
    assert entry is not None, f"{method} {path} documents no {status} and no default"
    if "$ref" in entry:
        entry = _pointer(entry["$ref"])[1]
    return inline(entry["content"]["application/json"]["schema"], strict=strict)


def documented_key(path: str, method: str, status: int) -> str:
    """The key of `responses` that covers `status`."""
    return str(status) if str(status) in documented_statuses(path, method) else "default"


def validate(response: httpx.Response, path: str, method: str) -> Any:
    """Asserts the response is JSON matching the (strict) schema documented for its status; returns the body."""
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    jsonschema.validate(body, response_schema(path, method, response.status_code), format_checker=_FORMATS)
    for record in _sessions_in(body):
        for stamp in ("created_at", "updated_at"):
            assert ISO_Z.match(record[stamp]), record[stamp]
            datetime.fromisoformat(record[stamp])
    return body


def _sessions_in(body: Any) -> list[dict[str, Any]]:
    """Session records in a success envelope (one record, or a map of agent uuid -> record)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return []
    data = body["data"]
    if "created_at" in data:
        return [data]
    return [value for value in data.values() if isinstance(value, dict) and "created_at" in value]
