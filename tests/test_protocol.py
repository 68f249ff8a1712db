"""Unit tests of the sans-I/O layer: request building, response parsing, error mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from osvi_integrations import errors
from osvi_integrations._config import build_config
from osvi_integrations._protocol import (
    USER_AGENT,
    build_send_message,
    error_from_response,
    error_from_transport,
    parse_retry_after,
    parse_send_message,
)

TOKEN = "abcdEFGH12345678"
CONFIG = build_config(api_token=TOKEN, base_url="https://api.example.test/")
OK = {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False}


def _body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_build_send_message_matches_the_spec() -> None:
    request = build_send_message(CONFIG, agent_uuid="agent_1", customer_id="+1555", content="Hi, I need help.")
    assert request.method == "POST"
    assert request.url == "https://api.example.test/v1/chat/inbound"
    assert request.headers["API-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("osvi-integrations/")
    assert json.loads(request.content) == {
        "agent_uuid": "agent_1",
        "customer_id": "+1555",
        "content": "Hi, I need help.",
    }
    assert TOKEN not in repr(request)


def test_session_id_is_sent_only_when_given_and_content_is_sent_verbatim() -> None:
    request = build_send_message(CONFIG, agent_uuid="a", customer_id="c", content="  héllo\n", session_id="s-9")
    assert json.loads(request.content) == {
        "agent_uuid": "a",
        "customer_id": "c",
        "content": "  héllo\n",
        "session_id": "s-9",
    }


@pytest.mark.parametrize(
    ("field", "kwargs", "problem"),
    [
        ("content", {"content": ""}, "empty or blank"),
        ("content", {"content": " \n\t"}, "empty or blank"),
        ("customer_id", {"customer_id": ""}, "empty or blank"),
        ("customer_id", {"customer_id": " +1555"}, "leading or trailing whitespace"),
        ("agent_uuid", {"agent_uuid": "   "}, "empty or blank"),
        ("agent_uuid", {"agent_uuid": 42}, "must be a string, got int"),
        ("session_id", {"session_id": ""}, "empty or blank"),
        ("session_id", {"session_id": "s "}, "leading or trailing whitespace"),
    ],
)
def test_bad_input_names_the_field(field: str, kwargs: dict[str, object], problem: str) -> None:
    args: dict[str, object] = {"agent_uuid": "a", "customer_id": "c", "content": "hi", **kwargs}
    with pytest.raises(errors.InvalidRequestError) as info:
        build_send_message(CONFIG, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ") and problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_success_and_takeover() -> None:
    result = parse_send_message(200, {}, _body({"success": True, "data": OK}))
    assert (result.session_id, result.reply, result.state, result.mode, result.help_requested) == (
        "s-1",
        "hi",
        "default",
        "ai",
        False,
    )
    takeover = parse_send_message(200, {}, _body({"success": True, "data": {**OK, "reply": None, "mode": "support"}}))
    assert takeover.reply is None and takeover.human_has_taken_over and takeover.needs_human
    assert "human operator has taken over" in takeover.summary()


def test_parse_ignores_unknown_fields_for_forward_compatibility() -> None:
    result = parse_send_message(200, {}, _body({"success": True, "data": {**OK, "new_field": 1}, "extra": 2}))
    assert result.session_id == "s-1"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>gateway</html>", "'data' object"),
        (_body({"success": True}), "'data' object"),
        (_body({"success": True, "data": {**OK, "mode": "hybrid"}}), "mode"),
        (_body({"success": True, "data": {k: v for k, v in OK.items() if k != "session_id"}}), "session_id"),
        (_body({"success": True, "data": {**OK, "help_requested": "maybe"}}), "help_requested"),
    ],
)
def test_malformed_success_bodies_raise_with_the_raw_body_kept(body: bytes, fragment: str) -> None:
    with pytest.raises(errors.MalformedResponseError) as info:
        parse_send_message(200, {}, body)
    assert fragment in str(info.value)
    assert info.value.body == body.decode()
    assert info.value.may_have_been_delivered  # a 200 means the engine took the message


def test_success_false_on_200_is_an_error() -> None:
    with pytest.raises(errors.APIError) as info:
        parse_send_message(200, {}, _body({"success": False, "error": "weird", "data": {}}))
    assert info.value.code == "weird"


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"success": False, "error": "content is required"}, errors.BadRequestError, "content is required"),
        (401, {"success": False, "error": "invalid_api_token"}, errors.AuthenticationError, "invalid_api_token"),
        (404, {"success": False, "error": "agent_not_found"}, errors.AgentNotFoundError, "agent_not_found"),
        (404, {"success": False, "error": "session_not_found"}, errors.NotFoundError, "session_not_found"),
        (422, {"success": False, "error": "agent_archived"}, errors.AgentArchivedError, "agent_archived"),
        (422, {"success": False, "error": "agent_inactive"}, errors.AgentInactiveError, "agent_inactive"),
        (422, {"success": False, "errors": ["bad", "worse"]}, errors.UnprocessableEntityError, "bad"),
        (429, {"success": False, "error": "rate_limited"}, errors.RateLimitError, "rate_limited"),
        (500, {"success": False, "error": "boom"}, errors.ServerError, "boom"),
        (503, {}, errors.ServiceUnavailableError, None),
        (504, {"success": False, "error": "timeout"}, errors.ServerError, "timeout"),
        (409, {"success": False, "error": "conflict"}, errors.APIError, "conflict"),
    ],
)
def test_every_status_maps_to_its_class(
    status: int, body: dict[str, object], cls: type[errors.APIError], code: str | None
) -> None:
    error = error_from_response(status, {}, _body(body))
    assert type(error) is cls
    assert error.status_code == status and error.code == code
    assert str(error).startswith(f"HTTP {status}") and error.message


def test_engine_error_carries_upstream_body() -> None:
    upstream = {"state": "rejected", "reason": "tell_not_allowed_during_takeover"}
    error = error_from_response(502, {}, _body({"success": False, "error": "engine 422", "upstream_body": upstream}))
    assert isinstance(error, errors.EngineError)
    assert error.upstream_body == upstream and error.may_have_been_delivered


def test_non_json_error_body_is_described_not_crashed_on() -> None:
    error = error_from_response(502, {}, b"<html>Bad Gateway</html>")
    assert isinstance(error, errors.EngineError) and error.upstream_body is None
    assert "non-JSON" in error.message and error.body == "<html>Bad Gateway</html>"
    assert "no error message" in error_from_response(500, {}, b"").message


def test_retry_after_is_read_from_429_and_503() -> None:
    assert error_from_response(429, {"retry-after": "3"}, b"{}").retry_after == 3.0  # type: ignore[attr-defined]
    assert error_from_response(503, {"retry-after": "1.5"}, b"{}").retry_after == 1.5  # type: ignore[attr-defined]


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31  # type: ignore[operator]
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize(
    ("exc", "cls", "delivered"),
    [
        (httpx.ConnectError("refused"), errors.APIConnectionError, False),
        (httpx.ConnectTimeout("slow"), errors.APITimeoutError, False),
        (httpx.PoolTimeout("busy"), errors.APITimeoutError, False),
        (httpx.ReadTimeout("slow"), errors.APITimeoutError, True),
        (httpx.WriteTimeout("slow"), errors.APITimeoutError, True),
        (httpx.ReadError("reset"), errors.APIConnectionError, True),
        (httpx.RemoteProtocolError("closed"), errors.APIConnectionError, True),
    ],
)
def test_transport_errors_say_whether_the_message_may_have_arrived(
    exc: httpx.TransportError, cls: type[errors.APIConnectionError], delivered: bool
) -> None:
    error = error_from_transport(exc)
    assert type(error) is cls
    assert error.may_have_been_delivered is delivered
    assert ("may have been delivered" if delivered else "was not sent") in str(error)


def test_config_rejects_bad_values_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def config(**overrides: object) -> object:
        args: dict[str, object] = {"api_token": TOKEN, **overrides}
        return build_config(**args)  # type: ignore[arg-type]

    with pytest.raises(errors.ConfigurationError, match="OSVI_API_TOKEN"):
        config(api_token=None)
    with pytest.raises(errors.ConfigurationError, match="api_token: contains whitespace") as info:
        config(api_token="abc def\n")
    assert "abc def" not in str(info.value)
    with pytest.raises(errors.ConfigurationError, match="base_url"):
        config(base_url="ftp://x")
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        config(timeout=0)
    with pytest.raises(errors.ConfigurationError, match="max_retries"):
        config(max_retries=-1)
    monkeypatch.setenv("OSVI_API_TOKEN", f"  {TOKEN}\n")
    monkeypatch.setenv("OSVI_BASE_URL", "http://127.0.0.1:9/")
    from_env = config(api_token=None)
    assert from_env.api_token.get_secret_value() == TOKEN  # type: ignore[attr-defined]
    assert from_env.base_url == "http://127.0.0.1:9"  # type: ignore[attr-defined]
    assert TOKEN not in repr(from_env)


def test_timeouts_keep_connect_short_and_read_generous() -> None:
    default = CONFIG.timeout
    assert default is not None and default.read == 120.0 and default.connect == 5.0
    custom = build_config(api_token=TOKEN, timeout=300, connect_timeout=2).timeout
    assert custom is not None and (custom.read, custom.connect) == (300.0, 2.0)
    injected = build_config(api_token=TOKEN, injected_client=True)
    assert injected.timeout is None  # the injected client's own timeout applies
