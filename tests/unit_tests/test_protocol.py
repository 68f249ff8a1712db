"""The sans-I/O layer: every operation's request, every response and error shape, no sockets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pydantic import SecretStr

from osvi_integrations import errors
from osvi_integrations.config import build_config
from osvi_integrations.protocol import (
    CLOSE_SESSION,
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    HAND_BACK_TO_AGENT,
    INJECT_CONTEXT,
    LIST_ACTIVE_AGENTS,
    LIST_ACTIVE_SESSIONS,
    OPERATIONS,
    SEND_MESSAGE,
    SEND_OPERATOR_MESSAGE,
    TAKEOVER_SESSION,
    TELL_AGENT,
    USER_AGENT,
    WHISPER_TO_AGENT,
    Effect,
    Operation,
    RawResponse,
    base_headers,
    describe_error,
    parse_retry_after,
)

TOKEN = "abcdEFGH12345678"
CONFIG = build_config(api_token=TOKEN, base_url="https://api.example.test/", env={})
HEADERS = base_headers(TOKEN)
OK = {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False}
SESSION = {
    "id": "4718a326-417b-4dda-90d0-21fd65a11cb8",
    "chat_agent_id": 42,
    "account_id": 7,
    "customer_id": "+15551112222",
    "mode": "ai",
    "help_requested": False,
    "status": "active",
    "current_state": None,
    "metadata": {"input_fields": {"first_name": "Alex"}, "state_fields": {}, "context": ["Initial context"]},
    "active_human": None,
    "created_at": "2026-06-04T11:40:25.690486Z",
    "updated_at": "2026-06-04T11:40:25.690486Z",
}


def _raw(status: int, body: object, headers: dict[str, str] | None = None) -> RawResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RawResponse(status, headers or {}, content)


def _build(op: Operation[Any, Any], **arguments: Any) -> tuple[str, str, Any]:
    request = op.build(CONFIG.base_url, HEADERS, op.validate(arguments))
    assert request.headers["API-Token"] == TOKEN and TOKEN not in repr(request)
    assert request.headers["User-Agent"] == USER_AGENT
    body = json.loads(request.content) if request.content is not None else None
    return request.method, request.url, body


BASE = "https://api.example.test"
SID = SESSION["id"]


@pytest.mark.parametrize(
    ("op", "arguments", "method", "url", "body"),
    [
        (
            SEND_MESSAGE,
            {"agent_uuid": "agent_1", "customer_id": "+1555", "content": "  héllo\n"},
            "POST",
            f"{BASE}/v1/chat/inbound",
            {"agent_uuid": "agent_1", "customer_id": "+1555", "content": "  héllo\n"},
        ),
        (
            SEND_MESSAGE,
            {"agent_uuid": "a", "customer_id": "c", "content": "x", "session_id": "s-9"},
            "POST",
            f"{BASE}/v1/chat/inbound",
            {"agent_uuid": "a", "customer_id": "c", "content": "x", "session_id": "s-9"},
        ),
        (
            CREATE_SESSION,
            {"agent_uuid": "a", "customer_id": "c", "input_fields": {"first_name": "Alex"}, "context": ["n1"]},
            "POST",
            f"{BASE}/v1/chat/session",
            {"agent_uuid": "a", "customer_id": "c", "input_fields": {"first_name": "Alex"}, "context": ["n1"]},
        ),
        (
            CREATE_SESSION,
            {"agent_uuid": "a", "customer_id": "c"},
            "POST",
            f"{BASE}/v1/chat/session",
            {
                "agent_uuid": "a",
                "customer_id": "c",
            },
        ),
        (
            GET_ACTIVE_SESSION,
            {"customer_id": "+1 555&x", "agent_uuid": "a"},
            "GET",
            f"{BASE}/v1/chat/session/active?customer_id=%2B1+555%26x&agent_uuid=a",
            None,
        ),
        (LIST_ACTIVE_SESSIONS, {"customer_id": "c"}, "GET", f"{BASE}/v1/chat/session/active?customer_id=c", None),
        (
            INJECT_CONTEXT,
            {"session_id": SID, "context": "Earlier call"},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/inject_context",
            {"context": "Earlier call"},
        ),
        (
            TAKEOVER_SESSION,
            {"session_id": SID},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/support",
            {"command": "takeover"},
        ),
        (
            TAKEOVER_SESSION,
            {"session_id": SID, "message": "Hi, Ana here"},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/support",
            {"command": "takeover", "message": "Hi, Ana here"},
        ),
        (
            TELL_AGENT,
            {"session_id": SID, "message": "m"},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/support",
            {
                "command": "tell",
                "message": "m",
            },
        ),
        (
            WHISPER_TO_AGENT,
            {"session_id": SID, "message": "m"},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/support",
            {
                "command": "whisper",
                "message": "m",
            },
        ),
        (HAND_BACK_TO_AGENT, {"session_id": SID}, "POST", f"{BASE}/v1/chat/session/{SID}/support", {"command": "end"}),
        (CLOSE_SESSION, {"session_id": SID}, "POST", f"{BASE}/v1/chat/session/{SID}/support", {"command": "close"}),
        (
            SEND_OPERATOR_MESSAGE,
            {"session_id": SID, "message": "m"},
            "POST",
            f"{BASE}/v1/chat/session/{SID}/support",
            {"message": "m"},
        ),
        (LIST_ACTIVE_AGENTS, {}, "GET", f"{BASE}/v1/active_agents", None),
    ],
)
def test_every_operation_builds_the_documented_request(
    op: Operation[Any, Any], arguments: dict[str, Any], method: str, url: str, body: Any
) -> None:
    assert _build(op, **arguments) == (method, url, body)


def test_path_parameters_are_escaped() -> None:
    _, url, _ = _build(CLOSE_SESSION, session_id="../../v1/active_agents")
    assert url == f"{BASE}/v1/chat/session/..%2F..%2Fv1%2Factive_agents/support"


def test_the_table_holds_every_operation_once_with_honest_effects() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names)) == 12
    reads = {op.name for op in OPERATIONS if op.effect is Effect.READ}
    assert reads == {"get_active_session", "list_active_sessions", "list_active_agents"}
    destructive = {op.name for op in OPERATIONS if op.effect is Effect.DESTRUCTIVE}
    assert destructive == {"create_session", "close_session"}
    operator = {op.name for op in OPERATIONS if op.operator}
    assert operator == {
        "takeover_session",
        "tell_agent",
        "whisper_to_agent",
        "hand_back_to_agent",
        "close_session",
        "send_operator_message",
    }
    for op in OPERATIONS:
        assert op.description and op.title and op.params.model_json_schema()


@pytest.mark.parametrize(
    ("op", "arguments", "field", "problem"),
    [
        (SEND_MESSAGE, {"agent_uuid": "a", "customer_id": "c", "content": ""}, "content", "empty or blank"),
        (SEND_MESSAGE, {"agent_uuid": "a", "customer_id": "c", "content": " \n\t"}, "content", "empty or blank"),
        (SEND_MESSAGE, {"agent_uuid": "a", "customer_id": " +1555", "content": "x"}, "customer_id", "whitespace"),
        (SEND_MESSAGE, {"agent_uuid": 42, "customer_id": "c", "content": "x"}, "agent_uuid", "a string, got a number"),
        (SEND_MESSAGE, {"agent_uuid": "a", "content": "x"}, "customer_id", "is required"),
        (SEND_MESSAGE, {"agent_uuid": "a", "customer_id": "c", "content": None}, "content", "got null"),
        (
            SEND_MESSAGE,
            {"agent_uuid": "a", "customer_id": "c", "content": "x", "sesion_id": "s"},
            "sesion_id",
            "not an",
        ),
        (
            SEND_MESSAGE,
            {"agent_uuid": "a", "customer_id": "c", "content": "x", "session_id": "s "},
            "session_id",
            "white",
        ),
        (SEND_MESSAGE, {"agent_uuid": "a", "customer_id": "c", "content": "hi \ud83d"}, "content", "surrogate"),
        (CREATE_SESSION, {"agent_uuid": "a", "customer_id": "c", "context": "one note"}, "context", "a list"),
        (CREATE_SESSION, {"agent_uuid": "a", "customer_id": "c", "context": [1]}, "context.0", "a string"),
        (CREATE_SESSION, {"agent_uuid": "a", "customer_id": "c", "input_fields": ["x"]}, "input_fields", "an object"),
        (CREATE_SESSION, {"agent_uuid": "a", "customer_id": "c", "context": ["\udc00"]}, "context", "surrogate"),
        (
            CREATE_SESSION,
            {"agent_uuid": "a", "customer_id": "c", "input_fields": {"n": "\udc00"}},
            "input_fields",
            "surr",
        ),
        (INJECT_CONTEXT, {"session_id": "s", "context": ""}, "context", "empty"),
        (TELL_AGENT, {"session_id": "s"}, "message", "is required"),
        (CLOSE_SESSION, {"session_id": "s", "message": "bye"}, "message", "not an argument"),
        (
            CREATE_SESSION,
            {"agent_uuid": "a", "customer_id": "c", "input_fields": {"when": object()}},
            "input_fields",
            "",
        ),
    ],
)
def test_bad_input_names_the_field(
    op: Operation[Any, Any], arguments: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        op.build(CONFIG.base_url, HEADERS, op.validate(arguments))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ") and problem in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.NotDeliveredError)
    assert "pydantic" not in str(info.value)
    assert describe_error(info.value, op).startswith(f"Invalid argument {field}: ")
    assert describe_error(info.value, op).endswith("Nothing was sent.")


def _parse(op: Operation[Any, Any], status: int, body: object, headers: dict[str, str] | None = None) -> Any:
    return op.parse(_raw(status, body, headers), secret=SecretStr(TOKEN))


def test_parse_every_result_shape() -> None:
    result = _parse(SEND_MESSAGE, 200, {"success": True, "data": OK})
    assert (result.session_id, result.reply, result.state, result.mode, result.help_requested) == (
        "s-1",
        "hi",
        "default",
        "ai",
        False,
    )
    takeover = _parse(SEND_MESSAGE, 200, {"success": True, "data": {**OK, "reply": None, "mode": "support"}})
    assert takeover.reply is None and takeover.human_has_taken_over and takeover.needs_human
    assert "human operator has taken over" in takeover.summary()
    session = _parse(CREATE_SESSION, 200, {"success": True, "data": SESSION})
    assert session.id == SID and session.metadata.input_fields == {"first_name": "Alex"}
    assert session.metadata.context == ["Initial context"] and session.status == "active"
    listed = _parse(LIST_ACTIVE_SESSIONS, 200, {"success": True, "data": {"agent_a": SESSION}})
    assert listed.sessions["agent_a"].id == SID
    assert _parse(LIST_ACTIVE_SESSIONS, 200, {"success": True, "data": {}}).sessions == {}
    injected = _parse(INJECT_CONTEXT, 200, {"success": True, "data": {"session_id": SID, "context": ["a", "b"]}})
    assert injected.context == ["a", "b"]
    command = _parse(
        TAKEOVER_SESSION,
        200,
        {"success": True, "data": {"state": "ok", "session_id": SID, "command": "takeover", "active_human": "a@b"}},
    )
    assert command.active_human == "a@b" and "taken over" in command.summary()
    agents = _parse(LIST_ACTIVE_AGENTS, 200, [{"agent_id": "agent_x", "name": "X", "status": "active"}])
    assert [a.agent_id for a in agents.agents] == ["agent_x"]
    assert _parse(LIST_ACTIVE_AGENTS, 200, []).agents == []


def test_unknown_fields_and_new_enum_values_never_lose_a_delivered_reply() -> None:
    result = _parse(SEND_MESSAGE, 200, {"success": True, "data": {**OK, "mode": "hybrid", "new": 1}, "extra": 2})
    assert result.mode == "hybrid" and result.reply == "hi" and not result.human_has_taken_over
    assert result.model_extra == {"new": 1}
    session = _parse(GET_ACTIVE_SESSION, 200, {"success": True, "data": {**SESSION, "status": "paused"}})
    assert session.status == "paused"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>gateway</html>", "'data'"),
        ({"success": True}, "'data'"),
        ({"success": True, "data": {k: v for k, v in OK.items() if k != "session_id"}}, "session_id"),
        ({"success": True, "data": {**OK, "help_requested": "maybe"}}, "help_requested"),
    ],
)
def test_malformed_success_bodies_raise_with_the_raw_body_kept(body: object, fragment: str) -> None:
    with pytest.raises(errors.MalformedResponseError) as info:
        _parse(SEND_MESSAGE, 200, body)
    assert fragment in str(info.value)
    assert info.value.may_have_taken_effect  # a 200 means the engine took the message
    with pytest.raises(errors.MalformedResponseError) as read:
        _parse(GET_ACTIVE_SESSION, 200, body)
    assert not read.value.may_have_taken_effect  # a read has no effect


def test_success_false_on_200_is_a_typed_api_error_not_malformed() -> None:
    with pytest.raises(errors.AgentInactiveError) as info:
        _parse(SEND_MESSAGE, 200, {"success": False, "error": "agent_inactive"})
    assert info.value.code == "agent_inactive" and info.value.status_code == 200
    assert not info.value.may_have_taken_effect
    with pytest.raises(errors.APIError) as other:
        _parse(SEND_MESSAGE, 200, {"success": False, "errors": ["weird"], "data": {}})
    assert other.value.code == "weird" and not other.value.may_have_taken_effect


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "effect"),
    [
        (400, {"success": False, "error": "content is required"}, errors.BadRequestError, "content is required", False),
        (401, {"success": False, "error": "invalid_api_token"}, errors.AuthenticationError, "invalid_api_token", False),
        (403, {"success": False, "errors": ["forbidden"]}, errors.PermissionDeniedError, "forbidden", False),
        (404, {"success": False, "error": "agent_not_found"}, errors.AgentNotFoundError, "agent_not_found", False),
        (
            404,
            {"success": False, "error": "session_not_found"},
            errors.SessionNotFoundError,
            "session_not_found",
            False,
        ),
        (404, {"success": False, "error": "nope"}, errors.SessionNotFoundError, "nope", False),
        (422, {"success": False, "error": "agent_archived"}, errors.AgentArchivedError, "agent_archived", False),
        (422, {"success": False, "error": "agent_inactive"}, errors.AgentInactiveError, "agent_inactive", False),
        (422, {"success": False, "error": "session_closed"}, errors.SessionClosedError, "session_closed", False),
        (422, {"success": False, "errors": ["bad", "worse"]}, errors.UnprocessableEntityError, "bad", False),
        (429, {"success": False, "error": "rate_limited"}, errors.RateLimitError, "rate_limited", False),
        (409, {"success": False, "error": "conflict"}, errors.RejectedError, "conflict", False),
        (500, {"success": False, "error": "boom"}, errors.ServerError, "boom", True),
        (502, {"success": False, "error": "engine", "upstream_body": None}, errors.EngineError, "engine", True),
        (503, {}, errors.ServiceUnavailableError, None, False),
        (504, {"success": False, "error": "timeout"}, errors.ServerError, "timeout", True),
        (307, b"", errors.RedirectError, None, False),
    ],
)
def test_every_status_maps_to_its_class(
    status: int, body: object, cls: type[errors.APIError], code: str | None, effect: bool
) -> None:
    with pytest.raises(errors.APIError) as info:
        _parse(SEND_MESSAGE, status, body)
    error = info.value
    assert type(error) is cls
    assert error.status_code == status and error.code == code
    assert error.may_have_taken_effect is effect
    assert isinstance(error, errors.NotDeliveredError) is (not effect)
    assert str(error).startswith(f"HTTP {status}") and error.message


def test_404_of_each_endpoint_has_its_own_class() -> None:
    with pytest.raises(errors.NoActiveSessionError):
        _parse(GET_ACTIVE_SESSION, 404, {"success": False, "error": "not found"})
    with pytest.raises(errors.SessionNotFoundError):
        _parse(TELL_AGENT, 404, {"success": False, "errors": ["Session not found"]})
    with pytest.raises(errors.AgentNotFoundError):
        _parse(CREATE_SESSION, 404, {"success": False, "error": "agent_not_found"})


def test_rejected_support_command_is_not_applied_and_carries_its_reason() -> None:
    body = {
        "success": False,
        "error": "Python engine returned 422 for POST /v1/chat/session/x/support",
        "upstream_body": {"state": "rejected", "reason": "tell_not_allowed_during_takeover"},
    }
    with pytest.raises(errors.SupportCommandRejectedError) as info:
        _parse(TELL_AGENT, 502, body)
    error = info.value
    assert error.reason == "tell_not_allowed_during_takeover" and not error.may_have_taken_effect
    assert isinstance(error, errors.EngineError) and isinstance(error, errors.NotDeliveredError)
    assert "NOT applied" in describe_error(error, TELL_AGENT)
    # A 502 that is not a rejection stays ambiguous.
    with pytest.raises(errors.EngineError) as other:
        _parse(TELL_AGENT, 502, {"success": False, "error": "x", "upstream_body": {"state": "error"}})
    assert type(other.value) is errors.EngineError and other.value.may_have_taken_effect


def test_server_text_that_echoes_the_token_is_masked() -> None:
    body = {"success": False, "error": f"bad token {TOKEN}", "upstream_body": {"echo": [TOKEN]}}
    with pytest.raises(errors.EngineError) as info:
        _parse(SEND_MESSAGE, 502, body)
    texts = [str(info.value), repr(info.value), repr(info.value.body), repr(info.value.upstream_body)]
    texts.append(describe_error(info.value, SEND_MESSAGE))
    assert all(TOKEN not in t for t in texts) and "**********" in str(info.value)
    with pytest.raises(errors.ServerError) as plain:
        _parse(SEND_MESSAGE, 500, f"<html>{TOKEN}</html>".encode())
    assert TOKEN not in str(plain.value) + repr(plain.value.body)


def test_retry_after_is_read_from_429_and_503() -> None:
    with pytest.raises(errors.RateLimitError) as limited:
        _parse(SEND_MESSAGE, 429, {}, {"retry-after": "3"})
    assert limited.value.retry_after == 3.0
    with pytest.raises(errors.ServiceUnavailableError) as unavailable:
        _parse(SEND_MESSAGE, 503, {}, {"retry-after": "1.5"})
    assert unavailable.value.retry_after == 1.5


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31  # type: ignore[operator]
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_agent_wording_is_one_clear_statement_per_case() -> None:
    ambiguous = errors.APITimeoutError("api.example did not answer within 60 s; the request was sent.")
    text = describe_error(ambiguous, SEND_MESSAGE)
    assert "MAY ALREADY HAVE TAKEN EFFECT" in text and "get_active_session" in text and "Could not" not in text
    refused = errors.ConnectError("Could not connect to http://127.0.0.1:9 (ConnectError: refused); nothing was sent.")
    assert "http://127.0.0.1:9" in describe_error(refused, SEND_MESSAGE)
    assert "cannot duplicate" in describe_error(refused, SEND_MESSAGE)
    assert "only reads" in describe_error(ambiguous, GET_ACTIVE_SESSION)
