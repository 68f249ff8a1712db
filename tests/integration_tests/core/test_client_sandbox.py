"""Both clients against the sandbox over real loopback HTTP: every documented outcome and fault."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import httpx
import pytest
from pydantic import SecretStr

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy, errors
from osvi_integrations.protocol import SEND_MESSAGE, RawResponse
from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    SUPPORT_AGENT,
    Fault,
    SandboxServer,
)

from ... import loopback
from ...conftest import FAST_RETRIES


def _take_over(sandbox: SandboxServer, session_id: str, command: str = "takeover") -> None:
    reply = sandbox.engine.support(sandbox.api_token, session_id, {"command": command, "operator": "ana@example.com"})
    assert reply.status == 200, reply.body


def test_conversation_flow_sync(client: OSVIClient, sandbox: SandboxServer, customer_id: str) -> None:
    first = client.send_message(SUPPORT_AGENT, customer_id, "Hello")
    assert first.reply and "sandbox assistant" in first.reply
    assert (first.mode, first.state, first.help_requested) == ("ai", "default", False)
    # No session_id: the engine resolves the customer's active session.
    again = client.send_message(SUPPORT_AGENT, customer_id, "Where is my order?")
    assert again.session_id == first.session_id
    pinned = client.send_message(SUPPORT_AGENT, customer_id, "thanks", session_id=first.session_id)
    assert pinned.session_id == first.session_id
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "Where is my order?", "thanks"]


async def test_conversation_flow_async(async_client: AsyncOSVIClient, customer_id: str) -> None:
    first = await async_client.send_message(ORDERS_AGENT, customer_id, "hi")
    assert first.state == "collect_order_number"
    second = await async_client.send_message(ORDERS_AGENT, customer_id, "It's order 20417", session_id=first.session_id)
    assert second.state == "order_status" and second.reply and "#20417" in second.reply


def test_escalation_and_takeover_and_handback(client: OSVIClient, sandbox: SandboxServer, customer_id: str) -> None:
    escalated = client.send_message(SUPPORT_AGENT, customer_id, "Can I talk to a human please?")
    assert escalated.help_requested and escalated.mode == "ai" and escalated.reply
    assert escalated.needs_human and not escalated.human_has_taken_over
    _take_over(sandbox, escalated.session_id)
    during = client.send_message(SUPPORT_AGENT, customer_id, "Hello? Anyone there?")
    assert during.reply is None and during.mode == "support" and during.human_has_taken_over
    assert "human operator has taken over" in during.summary()
    _take_over(sandbox, escalated.session_id, "end")
    after = client.send_message(SUPPORT_AGENT, customer_id, "hi again")
    assert after.mode == "ai" and after.reply and not after.help_requested


@pytest.mark.parametrize(
    ("agent", "cls", "code"),
    [
        ("agent_does_not_exist", errors.AgentNotFoundError, "agent_not_found"),
        (OTHER_ACCOUNT_AGENT, errors.AgentNotFoundError, "agent_not_found"),
        (ARCHIVED_AGENT, errors.AgentArchivedError, "agent_archived"),
        (INACTIVE_AGENT, errors.AgentInactiveError, "agent_inactive"),
    ],
)
def test_documented_agent_errors(
    client: OSVIClient, sandbox: SandboxServer, agent: str, cls: type[errors.APIError], code: str
) -> None:
    with pytest.raises(cls) as info:
        client.send_message(agent, "+1555", "hi")
    assert info.value.code == code and not info.value.may_have_taken_effect
    assert sandbox.engine.request_count == 1  # 4xx is never retried


async def test_documented_agent_errors_async(async_client: AsyncOSVIClient) -> None:
    with pytest.raises(errors.AgentArchivedError):
        await async_client.send_message(ARCHIVED_AGENT, "+1555", "hi")


def test_wrong_token_is_401_and_never_echoed(sandbox: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = "WrongToken123456"
    caplog.set_level(logging.DEBUG)
    with OSVIClient(secret, base_url=sandbox.base_url) as bad, pytest.raises(errors.AuthenticationError) as info:
        bad.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.status_code == 401
    texts = [str(info.value), repr(info.value), repr(bad), repr(info.value.body), caplog.text]
    assert all(secret not in text for text in texts)


def test_400_from_the_server_for_a_missing_field(sandbox: SandboxServer) -> None:
    # The client validates first, so talk to the server through the core's own HTTP path with a hand-made body.
    response = loopback.post(
        f"{sandbox.base_url}/v1/chat/inbound",
        headers={"API-Token": sandbox.api_token},
        json={"agent_uuid": SUPPORT_AGENT, "customer_id": "+1555"},
    )
    assert response.status_code == 400
    raw = RawResponse(response.status_code, response.headers, response.content)
    with pytest.raises(errors.BadRequestError, match="content is required"):
        SEND_MESSAGE.parse(raw, secret=SecretStr(sandbox.api_token))


def test_bad_input_sends_nothing(client: OSVIClient, sandbox: SandboxServer) -> None:
    for kwargs in ({"content": "  "}, {"customer_id": ""}, {"agent_uuid": ""}, {"session_id": ""}):
        args = {"agent_uuid": SUPPORT_AGENT, "customer_id": "+1555", "content": "hi", **kwargs}
        with pytest.raises(errors.InvalidRequestError) as info:
            client.send_message(**args)
        assert info.value.field == next(iter(kwargs))
    assert sandbox.engine.request_count == 0


def test_engine_error_502_carries_upstream_body_and_is_not_resent(client: OSVIClient, sandbox: SandboxServer) -> None:
    with pytest.raises(errors.EngineError) as info:
        client.send_message(FAULTY_AGENT, "+1555", "hi")
    assert info.value.status_code == 502
    assert info.value.upstream_body == {"state": "error", "reason": "sandbox_agent_always_fails"}
    assert info.value.may_have_taken_effect
    assert sandbox.engine.request_count == 1


def test_unknown_and_closed_sessions(client: OSVIClient, sandbox: SandboxServer, customer_id: str) -> None:
    with pytest.raises(errors.NotFoundError, match="session_not_found"):
        client.send_message(SUPPORT_AGENT, customer_id, "hi", session_id="00000000-0000-0000-0000-000000000000")
    first = client.send_message(SUPPORT_AGENT, customer_id, "hi")
    _take_over(sandbox, first.session_id, "close")
    with pytest.raises(errors.UnprocessableEntityError, match="session_closed"):
        client.send_message(SUPPORT_AGENT, customer_id, "hi", session_id=first.session_id)
    fresh = client.send_message(SUPPORT_AGENT, customer_id, "hi")  # the engine opens a new session
    assert fresh.session_id != first.session_id


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retried_after_retry_after(client: OSVIClient, sandbox: SandboxServer, status: int) -> None:
    sandbox.engine.inject_fault(Fault(status=status, headers={"Retry-After": "0.2"}, times=2))
    loop = asyncio.new_event_loop()
    started = loop.time()
    result = client.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert loop.time() - started >= 0.4  # waited Retry-After twice
    loop.close()
    assert result.reply
    assert sandbox.engine.request_count == 3 and len(sandbox.engine.processed) == 1


def test_throttling_gives_up_after_max_retries(client: OSVIClient, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=503, headers={"Retry-After": "0"}, times=5))
    with pytest.raises(errors.ServiceUnavailableError) as info:
        client.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.retry_after == 0 and not info.value.may_have_taken_effect
    assert sandbox.engine.request_count == 3 and sandbox.engine.processed == []


def test_retry_after_beyond_the_cap_is_raised_not_waited(sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=429, headers={"Retry-After": "3600"}))
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as c, pytest.raises(errors.RateLimitError) as info:
        c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.retry_after == 3600
    assert sandbox.engine.request_count == 1


async def test_async_throttling_is_retried(async_client: AsyncOSVIClient, sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=429, headers={"Retry-After": "0"}))
    assert (await async_client.send_message(SUPPORT_AGENT, "+1555", "hi")).reply
    assert sandbox.engine.request_count == 2 and len(sandbox.engine.processed) == 1


def test_read_timeout_after_delivery_is_not_resent(sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=1.0))
    c = OSVIClient(sandbox.api_token, base_url=sandbox.base_url, timeout=0.3, retry_policy=FAST_RETRIES)
    with c, pytest.raises(errors.APITimeoutError) as info:
        c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.may_have_taken_effect
    assert "did not answer within 0.3 s; the request was sent" in str(info.value)
    assert sandbox.engine.request_count == 1 and len(sandbox.engine.processed) == 1


def test_502_after_processing_is_not_resent_unless_opted_in(sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=502, after_processing=True))
    c = OSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=FAST_RETRIES)
    with c, pytest.raises(errors.EngineError):
        c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert len(sandbox.engine.processed) == 1

    sandbox.engine.inject_fault(Fault(status=502, after_processing=True))
    opt_in = RetryPolicy(max_retries=1, initial_backoff=0, retry_uncertain_delivery=True)
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=opt_in) as c:
        assert c.send_message(SUPPORT_AGENT, "+1555", "hi").reply
    assert len(sandbox.engine.processed) == 3  # the opt-in resend duplicated the message, as documented


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_then_raised() -> None:
    attempts: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [attempts.append]}, verify=loopback.TLS) as http:
        c = OSVIClient(
            "abcdEFGH12345678",
            base_url=f"http://127.0.0.1:{_closed_port()}",
            retry_policy=FAST_RETRIES,
            http_client=http,
        )
        with pytest.raises(errors.APIConnectionError) as info:
            c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert isinstance(info.value, errors.ConnectError) and not info.value.may_have_taken_effect
    assert "nothing was sent" in str(info.value)
    assert len(attempts) == 3


async def test_connection_refused_async() -> None:
    async with AsyncOSVIClient("abcdEFGH12345678", base_url=f"http://127.0.0.1:{_closed_port()}", max_retries=0) as c:
        with pytest.raises(errors.APIConnectionError):
            await c.send_message(SUPPORT_AGENT, "+1555", "hi")


def test_dropped_connection_after_send_is_not_resent() -> None:
    # A server that reads the request then hangs up cannot be had on demand from uvicorn: mock it.
    calls: list[httpx.Request] = []

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    with httpx.Client(transport=httpx.MockTransport(drop)) as http:
        c = OSVIClient("abcdEFGH12345678", base_url="http://127.0.0.1:1", retry_policy=FAST_RETRIES, http_client=http)
        with pytest.raises(errors.APIConnectionError) as info:
            c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.may_have_taken_effect and len(calls) == 1


def test_headers_sent_and_injected_client_left_open(sandbox: SandboxServer) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}, verify=loopback.TLS) as http:
        with OSVIClient(sandbox.api_token, base_url=sandbox.base_url, http_client=http) as c:
            c.send_message(SUPPORT_AGENT, "+1555", "hi")
        assert not http.is_closed  # ours to close, not the OSVI client's
        assert seen[0].headers["API-Token"] == sandbox.api_token
        assert seen[0].headers["User-Agent"].startswith("osvi-integrations/")
        assert seen[0].url.path == "/v1/chat/inbound"
    owned = OSVIClient(sandbox.api_token, base_url=sandbox.base_url)
    owned.close()
    with pytest.raises(errors.ClientClosedError):
        owned.send_message(SUPPORT_AGENT, "+1555", "hi")


def test_malformed_200_body_is_reported_not_lost() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    with httpx.Client(transport=httpx.MockTransport(garbage)) as http:
        c = OSVIClient("abcdEFGH12345678", base_url="http://127.0.0.1:1", http_client=http)
        with pytest.raises(errors.MalformedResponseError) as info:
            c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.body == "<html>proxy login</html>" and info.value.may_have_taken_effect


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv("OSVI_API_TOKEN", sandbox.api_token)
    monkeypatch.setenv("OSVI_BASE_URL", sandbox.base_url)
    with OSVIClient() as c:
        assert c.send_message(SUPPORT_AGENT, "+1555", "hi").reply
        assert sandbox.api_token not in repr(c) and sandbox.api_token not in str(vars(c))


def test_conversation_pins_its_session_and_serialises_threads(client: OSVIClient, sandbox: SandboxServer) -> None:
    conversation = client.conversation(ORDERS_AGENT, "+1555000111")
    assert conversation.session_id is None and conversation.mode is None
    conversation.send("hello")
    session = conversation.session_id
    assert session and conversation.state == "collect_order_number"
    threads = [threading.Thread(target=conversation.send, args=(f"message {i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert {r.session_id for r in sandbox.engine.processed} == {session}
    assert len(sandbox.engine.processed) == 7


async def test_async_conversation_sends_in_call_order(async_client: AsyncOSVIClient, sandbox: SandboxServer) -> None:
    conversation = async_client.conversation(SUPPORT_AGENT, "+1555000222")
    results = await asyncio.gather(*(conversation.send(f"message {i}") for i in range(8)))
    assert [r.content for r in sandbox.engine.processed] == [f"message {i}" for i in range(8)]
    assert len({r.session_id for r in results}) == 1 == len({conversation.session_id})
    await conversation.send("I need a human")
    assert conversation.help_requested and not conversation.human_has_taken_over
