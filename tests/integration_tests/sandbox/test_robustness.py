"""Malformed requests get a JSON error with the right status, never a 500, a 502 or plain text;
and faults can be aimed at any operation."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from osvi_integrations.sandbox import SUPPORT_AGENT, Fault, SandboxServer
from osvi_integrations.sandbox.app import MAX_BODY_BYTES

from ... import loopback

MESSAGE = {"agent_uuid": SUPPORT_AGENT, "customer_id": "+15550001234", "content": "Hello"}


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"API-Token": sandbox.api_token}, timeout=10, verify=loopback.TLS
    ) as client:
        yield client


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]
    error: str = body["error"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/v1/chat/inbound", b"{not json"),
        ("POST", "/v1/chat/session", b"x" * (MAX_BODY_BYTES + 1)),
        ("POST", "/v1/chat/session/no-such-session/support", b'{"command": "close"}'),
        ("POST", "/v1/chat/session/no-such-session/inject_context", b"[]"),
        ("GET", "/v1/chat/session/active", b""),
        ("GET", "/v1/active_agents", b""),
    ],
)
@pytest.mark.parametrize("token", [None, "WrongToken123456", ""])
def test_the_token_is_checked_before_anything_else(
    sandbox: SandboxServer, method: str, path: str, content: bytes, token: str | None
) -> None:
    headers = {} if token is None else {"API-Token": token}
    response = loopback.request(method, sandbox.base_url + path, content=content, headers=headers, timeout=10)
    assert _error(response, 401) == "invalid_api_token"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/chat/inbound", {"POST"}),
        ("PUT", "/v1/chat/session", {"POST"}),
        ("POST", "/v1/chat/session/active", {"GET", "HEAD"}),
        ("DELETE", "/v1/chat/session/abc/support", {"POST"}),
        ("PATCH", "/v1/chat/session/abc/inject_context", {"POST"}),
        ("POST", "/v1/active_agents", {"GET", "HEAD"}),
        ("OPTIONS", "/v1/chat/inbound", {"POST"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(http: httpx.Client, method: str, path: str, allow: set[str]) -> None:
    response = http.request(method, path)
    assert _error(response, 405) == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allow


@pytest.mark.parametrize(
    "path", ["/", "/v1", "/v1/chat/inbound/", "/v1/chat/session/abc", "/v1/chat/session/abc/other", "/v2/chat/inbound"]
)
def test_unknown_routes_are_404(http: httpx.Client, path: str) -> None:
    assert _error(http.post(path, json=MESSAGE), 404) == "not_found"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   ",
        b"{",
        b"\xff\xfe\xfa",  # not UTF-8
        b'{"agent_uuid": NaN}',
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than any parser stack
        b"null",
        b"[]",
        b'"a string"',
        b"42",
    ],
    ids=["empty", "blank", "truncated", "not-utf8", "nan", "deep", "null", "array", "string", "number"],
)
@pytest.mark.parametrize("path", ["/v1/chat/inbound", "/v1/chat/session"])
def test_unreadable_or_non_object_bodies_are_400(http: httpx.Client, path: str, content: bytes) -> None:
    _error(http.post(path, content=content, headers={"Content-Type": "application/json"}), 400)


def test_an_oversized_body_is_413(http: httpx.Client) -> None:
    body = json.dumps({**MESSAGE, "content": "x" * MAX_BODY_BYTES})
    assert "larger than" in _error(http.post("/v1/chat/inbound", content=body), 413)


@pytest.mark.parametrize(
    "change",
    [
        {"agent_uuid": None},
        {"customer_id": 5},
        {"content": ["Hello"]},
        {"content": {"text": "Hello"}},
        {"content": ""},
        {"customer_id": "   "},
        {"session_id": None},
        {"session_id": 123},
        {"session_id": ""},
    ],
)
def test_ill_typed_null_and_blank_fields_are_400(http: httpx.Client, change: dict[str, Any]) -> None:
    field = next(iter(change))
    assert field in _error(http.post("/v1/chat/inbound", json={**MESSAGE, **change}), 400)


def test_unknown_properties_are_ignored_and_content_type_is_not_required(http: httpx.Client) -> None:
    body = json.dumps({**MESSAGE, "channel": "whatsapp", "nested": {"a": [1, None]}})
    response = http.post("/v1/chat/inbound", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200 and response.json()["data"]["reply"]


@pytest.mark.parametrize("query", ["", "?agent_uuid=agent_sandbox_support", "?customer_id=", "?customer_id=%20"])
def test_get_active_session_needs_a_customer_id(http: httpx.Client, query: str) -> None:
    assert "customer_id" in _error(http.get("/v1/chat/session/active" + query), 400)


def test_bytes_that_are_not_http_get_a_json_400(sandbox: SandboxServer) -> None:
    port = int(sandbox.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /v1/active_agents HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n")
        raw = b""
        while chunk := conn.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["success"] is False


# -- faults aimed at one operation ------------------------------------------------------------------


def test_a_fault_without_a_route_hits_inbound_only(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=503))
    assert http.get("/v1/active_agents").status_code == 200
    assert http.post("/v1/chat/session", json=MESSAGE).status_code == 200
    assert _error(http.post("/v1/chat/inbound", json=MESSAGE), 503) == "sandbox_fault_503"
    assert http.post("/v1/chat/inbound", json=MESSAGE).status_code == 200


def test_faults_on_read_only_gets(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=503, route="get_active_session", times=2, headers={"Retry-After": "0"}))
    query = {"customer_id": "+15550001234"}
    for _ in range(2):
        response = http.get("/v1/chat/session/active", params=query)
        assert response.status_code == 503 and response.headers["retry-after"] == "0"
    assert http.get("/v1/chat/session/active", params=query).status_code == 200
    assert http.post("/v1/chat/inbound", json=MESSAGE).status_code == 200  # other routes were never affected
    assert sandbox.engine.requests_by_route["get_active_session"] == 3
    assert sandbox.engine.request_count == 1  # inbound requests only, as before routes existed


def test_a_fault_after_processing_keeps_the_effect(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(route="create_session", after_processing=True))
    response = http.post("/v1/chat/session", json=MESSAGE)
    assert response.status_code == 502
    assert response.json() == {
        "success": False,
        "error": "Python engine returned 500 for POST /v1/chat/session",
        "upstream_body": {"state": "error", "reason": "sandbox_injected_fault"},
    }
    found = http.get("/v1/chat/session/active", params={"customer_id": MESSAGE["customer_id"]}).json()["data"]
    assert list(found) == [SUPPORT_AGENT]  # the session was created before the answer was lost


def test_a_slow_reply_on_a_session_route(http: httpx.Client, sandbox: SandboxServer) -> None:
    session_id = http.post("/v1/chat/session", json=MESSAGE).json()["data"]["id"]
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=0.05, route="support"))
    response = http.post(f"/v1/chat/session/{session_id}/support", json={"command": "close"})
    assert response.status_code == 200 and sandbox.engine.sessions[session_id].status == "closed"


def test_an_unknown_fault_route_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown route"):
        Fault(route="send_message")


@pytest.mark.parametrize(("route", "path"), [("inbound", "/v1/chat/inbound"), ("create_session", "/v1/chat/session")])
def test_a_bug_is_a_json_500(
    http: httpx.Client, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, route: str, path: str
) -> None:
    """Inbound (sent straight to its endpoint) and the routed operations handle a bug the same way."""

    def broken(*args: Any) -> Any:
        raise RuntimeError("a sandbox bug")

    monkeypatch.setattr(sandbox.engine, route, broken)
    assert _error(http.post(path, json=MESSAGE), 500) == "internal_error"


async def _asgi_call(app: Any, scope: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    incoming = [  # the body in two messages
        {"type": "http.request", "body": body[:7], "more_body": True},
        {"type": "http.request", "body": body[7:]},
    ]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    "body",
    [json.dumps(MESSAGE).encode(), json.dumps({**MESSAGE, "content": "I want a human"}).encode(), b"{not json", b"[]"],
)
def test_inbound_answers_the_same_straight_or_routed(body: bytes) -> None:
    """POST /v1/chat/inbound skips Starlette's routing unless the app is mounted under a root path:
    both ways give the same status, headers and body (and the same engine effect)."""
    import asyncio

    from osvi_integrations.sandbox import Engine
    from osvi_integrations.sandbox.app import create_app

    headers = [(b"host", b"sandbox"), (b"api-token", b"osvi-sandbox-key"), (b"content-length", str(len(body)).encode())]
    base = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http"}
    base |= {"query_string": b"", "headers": headers, "server": ("sandbox", 80), "client": ("127.0.0.1", 1)}
    straight = {**base, "path": "/v1/chat/inbound", "raw_path": b"/v1/chat/inbound", "root_path": ""}
    routed = {**base, "path": "/base/v1/chat/inbound", "raw_path": b"/base/v1/chat/inbound", "root_path": "/base"}
    answers, engines = [], []
    for scope in (straight, routed):
        engine = Engine()
        answers.append(asyncio.run(_asgi_call(create_app(engine), scope, body)))
        engines.append((engine.request_count, [(r.customer_id, r.content) for r in engine.processed]))
    assert answers[0] == answers[1] and engines[0] == engines[1]
    assert answers[0][0]["type"] == "http.response.start"
