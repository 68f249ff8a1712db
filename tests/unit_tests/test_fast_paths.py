"""The one-step paths (the request body serialised straight from the params, the answer read with one
model_validate_json on the happy path) give exactly what the full paths give: the same request or
result, or the same error with the same message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from osvi_integrations import errors
from osvi_integrations._transport import SyncHttpxTransport, _ParsedUrls
from osvi_integrations.config import build_config
from osvi_integrations.protocol import OPERATIONS, Masker, Operation, PreparedRequest, RawResponse

SESSION = {
    "id": "4718a326-417b-4dda-90d0-21fd65a11cb8",
    "chat_agent_id": 7,
    "customer_id": "+1555",
    "mode": "ai",
    "help_requested": False,
    "status": "active",
    "current_state": None,
    "metadata": {
        "input_fields": {"name": "Ana", "n": 1e16, "big": 10**30, "nested": [1, {"a": None}]},
        "context": ["x"],
    },
    "created_at": "2026-01-01T00:00:00Z",
}
MESSAGE = {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False}
DATA: list[Any] = [
    MESSAGE,
    {**MESSAGE, "mode": "hybrid", "extra_field": {"kept": True}},
    {**MESSAGE, "reply": None},
    {**MESSAGE, "help_requested": "yes"},
    {**MESSAGE, "reply": 5},
    {k: v for k, v in MESSAGE.items() if k != "reply"},
    SESSION,
    {**SESSION, "status": "dormant", "chat_agent_id": "7", "metadata": {"context": "not a list"}},
    {**SESSION, "mode": "support", "unknown": [1.5, True]},
    {"session_id": "s-1", "context": ["a", "b"]},
    {"session_id": "s-1", "context": "a"},
    {"message": "ok", "state": "takeover"},
    {"state": "applied"},
    None,
    [],
    "text",
]
BODIES: list[bytes] = [
    *(json.dumps({"success": True, "data": d}).encode() for d in DATA),
    *(json.dumps({"data": d}).encode() for d in DATA[:3]),
    *(json.dumps({"success": 1, "data": d}).encode() for d in DATA[:2]),
    json.dumps({"success": True, "data": MESSAGE, "success_extra": 1}).encode(),
    json.dumps({"success": False, "error": "agent_inactive"}).encode(),
    json.dumps({"success": False, "data": MESSAGE}).encode(),
    json.dumps({"success": True}).encode(),
    b'{"success": true, "data": {"reply": "\\ud83d lone"}}',
    b'{"success": true, "data": ' + json.dumps(MESSAGE).encode() + b', "data": null}',
    b"\xff\xfe not utf-8",
    b"<html>proxy login</html>",
    b"",
    b"[1, 2]",
    json.dumps(MESSAGE).encode(),
]


def _outcome(operation: Operation[Any, Any], body: bytes) -> tuple[str, Any]:
    try:
        result = operation.parse(RawResponse(200, {"content-type": "application/json"}, body), secret=SecretStr("tok"))
    except errors.OSVIError as error:
        return type(error).__name__, (str(error), error.may_have_taken_effect, vars(error))
    return type(result).__name__, result.model_dump()


@pytest.mark.parametrize("operation", list(OPERATIONS), ids=lambda op: op.name)
def test_fast_and_full_reading_agree(operation: Operation[Any, Any]) -> None:
    fast = [_outcome(operation, body) for body in BODIES]
    operation.__dict__["_envelope_validator"] = None  # the full reading only
    try:
        full = [_outcome(operation, body) for body in BODIES]
    finally:
        del operation.__dict__["_envelope_validator"]
    assert fast == full
    if operation._envelope_adapter is not None:  # the happy path is exercised, not only the errors
        assert any(not kind.endswith("Error") for kind, _ in fast)


ARGUMENTS: dict[str, list[dict[str, Any]]] = {
    "send_message": [
        {"agent_uuid": "agent_x", "customer_id": "+1555", "content": 'héllo \u2028 "quoted" \\ \n\t\x01 😀'},
        {"agent_uuid": "agent_x", "customer_id": "+1555", "content": "hi", "session_id": "s-1"},
    ],
    "create_session": [
        {"agent_uuid": "agent_x", "customer_id": "+1555"},
        {
            "agent_uuid": "agent_x",
            "customer_id": "+1555",
            "input_fields": {"n": 1e16, "f": 0.1, "big": 10**30, "nan": float("nan"), "l": [None, True]},
            "context": ["a", "b"],
        },
        {"agent_uuid": "agent_x", "customer_id": "+1555", "input_fields": {"bad": "\ud83d"}},
        {"agent_uuid": "agent_x", "customer_id": "+1555", "input_fields": {"obj": object()}},
    ],
}


def _built(operation: Operation[Any, Any], arguments: dict[str, Any]) -> tuple[str, Any]:
    config = build_config(api_token="tok", base_url="https://api.osvi.ai")
    try:
        request = operation.build(config.base_url, {"API-Token": "tok"}, operation.validate(arguments))
    except errors.OSVIError as error:
        return type(error).__name__, str(error)
    body = json.loads(request.content) if request.content is not None else None
    return request.url, (request.method, dict(request.headers), body)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_one_step_body_equals_the_full_encoding(name: str) -> None:
    operation = next(op for op in OPERATIONS if op.name == name)
    assert operation._body_is_params
    fast = [_built(operation, arguments) for arguments in ARGUMENTS[name]]
    operation.__dict__["_body_is_params"] = False
    try:
        full = [_built(operation, arguments) for arguments in ARGUMENTS[name]]
    finally:
        del operation.__dict__["_body_is_params"]
    assert repr(fast) == repr(full)  # repr: NaN sent as null compares equal this way


URLS = [
    "https://api.osvi.test/v1/chat/inbound",
    "https://api.osvi.test/v1/chat/session/s%2F1?customer_id=%2B1555&agent_uuid=agent_x",
    "https://api.osvi.test/v1/chat/session/caf%C3%A9",
    "https://api.osvi.test/base/v1/chat/active_agents",
    "https://api.osvi.test/v1/chat/session/ünïcode?q=a b",
]


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_parsed_urls_give_the_request_a_string_gives(library: str) -> None:
    """The transport parses each URL once; what goes out is what httpx makes of the string each time."""
    module = pytest.importorskip(library)
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request.url)
        return module.Response(200, content=b"{}")

    transport = SyncHttpxTransport(
        module.Client(transport=module.MockTransport(handler)),
        owns_client=False,
        origin="https://api.osvi.test",
        masker=Masker(SecretStr("tok")),
    )
    for _ in range(2):  # the second round is served from the cache
        for url in URLS:
            transport.send(PreparedRequest("op", "GET", url, {}, None), remaining=5.0, connect_timeout=5.0)
    expected = [module.Request("GET", url).url for url in URLS] * 2
    assert [(str(u), u.raw_path) for u in seen] == [(str(u), u.raw_path) for u in expected]
    # Parsed once: the second round's URLs share the first round's parse (a str is parsed anew each time).
    first, second = seen[: len(URLS)], seen[len(URLS) :]
    assert all(a._uri_reference is b._uri_reference for a, b in zip(first, second, strict=True))

    with pytest.raises(errors.ConfigurationError):  # the library's InvalidURL, mapped as before
        transport.send(
            PreparedRequest("op", "GET", "https://api.osvi.test/\x00", {}, None), remaining=5.0, connect_timeout=5.0
        )


def test_parsed_urls_are_bounded() -> None:
    import httpx2

    urls = _ParsedUrls(httpx2)
    for n in range(3 * _ParsedUrls.LIMIT):
        assert str(urls(f"https://api.osvi.test/v1/chat/session/{n}")).endswith(f"/{n}")
        assert len(urls._parsed) <= _ParsedUrls.LIMIT
