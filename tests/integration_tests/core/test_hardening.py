"""Fault injection against fake servers that count what they received: every failure is a typed
OSVIError saying whether the call may have taken effect, the token stays with its origin, deadlines
hold, and a conversation keeps call order."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx
import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy, describe_error, errors
from osvi_integrations.protocol import SEND_MESSAGE

from ... import loopback
from .fakes import OK_DATA, FakeServer, Gate, Received, ok, respond, trickle

TOKEN = "SeCrEtToKeN12345"
AGENT = "agent_test"
NO_RETRY = RetryPolicy(max_retries=0)
FAST = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)


def _client(server: FakeServer, **kwargs: Any) -> OSVIClient:
    return OSVIClient(TOKEN, base_url=server.base_url, **{"retry_policy": FAST, **kwargs})


def _async_client(server: FakeServer, **kwargs: Any) -> AsyncOSVIClient:
    return AsyncOSVIClient(TOKEN, base_url=server.base_url, **{"retry_policy": FAST, **kwargs})


def _send(client: OSVIClient, content: str = "hello") -> Any:
    return client.send_message(AGENT, "+1555", content)


# -- 1. everything that escapes is an OSVIError ------------------------------------------------------


def test_success_false_without_data_is_the_typed_api_error() -> None:
    def handler(received: Received, conn: socket.socket) -> None:
        respond(conn, 200, {"success": False, "error": "agent_inactive"})

    with FakeServer(handler) as server, _client(server) as client, pytest.raises(errors.AgentInactiveError) as info:
        _send(client)
    assert not info.value.may_have_taken_effect and len(server.received) == 1


@pytest.mark.parametrize("sync", [True, False])
def test_undecodable_compressed_body_is_malformed_and_not_resent(sync: bool) -> None:
    def handler(received: Received, conn: socket.socket) -> None:
        respond(conn, 200, b"\x1f\x8bnot really gzip", {"Content-Encoding": "gzip"})

    with FakeServer(handler) as server:
        error = _failure(server, sync)
    assert isinstance(error, errors.MalformedResponseError) and error.may_have_taken_effect
    assert len(server.received) == 1  # the engine took it: never resent


def test_unknown_mode_keeps_the_delivered_reply() -> None:
    def handler(received: Received, conn: socket.socket) -> None:
        respond(conn, 200, {"success": True, "data": {**OK_DATA, "mode": "hybrid", "reply": "kept"}})

    with FakeServer(handler) as server, _client(server) as client:
        result = _send(client)
    assert (result.reply, result.mode) == ("kept", "hybrid")


@pytest.mark.parametrize("sync", [True, False])
def test_unencodable_text_is_invalid_argument_and_nothing_is_sent(sync: bool) -> None:
    with FakeServer() as server:
        error = _failure(server, sync, content="\ud83d broken emoji")
    assert isinstance(error, errors.InvalidRequestError) and error.field == "content"
    assert server.received == []
    assert describe_error(error, SEND_MESSAGE).endswith("Nothing was sent.")


def test_closed_clients_raise_client_closed_and_send_nothing() -> None:
    with FakeServer() as server:
        client = _client(server)
        client.close()
        with pytest.raises(errors.ClientClosedError):
            _send(client)
        injected = httpx.Client(verify=loopback.TLS)
        injected.close()
        wrapped = OSVIClient(TOKEN, base_url=server.base_url, http_client=injected)
        with pytest.raises(errors.ClientClosedError) as info:
            _send(wrapped)
        assert not info.value.may_have_taken_effect

        async def closed_async() -> None:
            client = _async_client(server)
            await client.aclose()
            with pytest.raises(errors.ClientClosedError):
                await client.send_message(AGENT, "+1555", "hi")

        asyncio.run(closed_async())
    assert server.received == []


def _failure(server: FakeServer, sync: bool, content: str = "hello", **kwargs: Any) -> errors.OSVIError:
    if sync:
        with _client(server, **kwargs) as client, pytest.raises(errors.OSVIError) as info:
            _send(client, content)
        return info.value

    async def run() -> errors.OSVIError:
        async with _async_client(server, **kwargs) as client:
            with pytest.raises(errors.OSVIError) as info:
                await client.send_message(AGENT, "+1555", content)
            return info.value

    return asyncio.run(run())


@pytest.mark.parametrize("sync", [True, False])
def test_connection_dropped_after_the_request_is_ambiguous_and_not_resent(sync: bool) -> None:
    def handler(received: Received, conn: socket.socket) -> None:
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"succ')
        conn.close()

    with FakeServer(handler) as server:
        error = _failure(server, sync)
    assert type(error) is errors.APIConnectionError and error.may_have_taken_effect
    assert server.base_url in str(error) and "after the request was sent" in str(error)
    assert len(server.received) == 1


@pytest.mark.parametrize("sync", [True, False])
def test_refused_connection_names_the_url_and_is_retried(sync: bool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{port}"

        class Refused(FakeServer):
            @property
            def base_url(self) -> str:
                return url

        with Refused() as server:
            error = _failure(server, sync)
    assert isinstance(error, errors.ConnectError) and not error.may_have_taken_effect
    assert url in str(error) and "nothing was sent" in str(error)
    text = describe_error(error, SEND_MESSAGE)
    assert url in text and "MAY" not in text


# -- 2. the token goes only to the configured origin and never into an error ------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed_even_by_an_injected_client(status: int) -> None:
    with FakeServer() as elsewhere:

        def redirect(received: Received, conn: socket.socket) -> None:
            respond(conn, status, b"", {"Location": f"{elsewhere.base_url}/steal"})

        with FakeServer(redirect) as server:
            follower = httpx.Client(follow_redirects=True, verify=loopback.TLS)
            client = OSVIClient(TOKEN, base_url=server.base_url, http_client=follower)
            with pytest.raises(errors.RedirectError) as info:
                _send(client)
            follower.close()

            async def run_async() -> None:
                async with httpx.AsyncClient(follow_redirects=True, verify=loopback.TLS) as afollower:
                    aclient = AsyncOSVIClient(TOKEN, base_url=server.base_url, http_client=afollower)
                    with pytest.raises(errors.RedirectError):
                        await aclient.send_message(AGENT, "+1555", "hi")

            asyncio.run(run_async())
    assert elsewhere.received == [] and len(server.received) == 2
    assert not info.value.may_have_taken_effect


def _echo_token(received: Received, conn: socket.socket) -> None:
    token = received.headers["api-token"]
    respond(conn, 500, {"success": False, "error": f"invalid token {token}", "upstream_body": {"token": token}})


def _serialize(value: object, depth: int = 0) -> list[str]:
    """Like a crash reporter: repr of an object, and the items of containers, a few levels deep."""
    texts = [repr(value)]
    if depth < 4:
        if isinstance(value, Mapping):
            for key, item in value.items():
                texts += _serialize(key, depth + 1) + _serialize(item, depth + 1)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                texts += _serialize(item, depth + 1)
    return texts


def _frames_and_chain(error: BaseException) -> str:
    """What a crash reporter records: the exception chain, each exception's attributes and every
    frame's local variables."""
    texts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), "".join(traceback.format_exception(current)), *_serialize(vars(current))]
        tb: TracebackType | None = current.__traceback__
        if current is error and tb is not None:
            tb = tb.tb_next  # the test's own frame holds the fake server, which recorded the headers
        while tb is not None:
            texts += _serialize(tb.tb_frame.f_locals)
            tb = tb.tb_next
        stack += [current.__cause__, current.__context__]
    return "\n".join(texts)


@pytest.mark.parametrize("scenario", ["echo", "refused", "timeout", "reset"])
def test_token_is_in_no_error_chain_frame_local_or_agent_text(scenario: str) -> None:
    def hang(received: Received, conn: socket.socket) -> None:
        time.sleep(2)

    def reset(received: Received, conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    handler = {"echo": _echo_token, "refused": ok, "timeout": hang, "reset": reset}[scenario]
    with FakeServer(handler) as server:
        url = server.base_url if scenario != "refused" else "http://127.0.0.1:9"
        with OSVIClient(TOKEN, base_url=url, timeout=0.5, retry_policy=NO_RETRY) as client:
            try:
                _send(client)
            except errors.OSVIError as error:
                caught: errors.OSVIError = error
            else:
                pytest.fail("no error")
    recorded = _frames_and_chain(caught) + describe_error(caught, SEND_MESSAGE)
    assert TOKEN not in recorded
    assert caught.__cause__ is None and caught.__context__ is None
    if scenario == "echo":
        assert "**********" in str(caught)


# -- 3. timeout is a real deadline for the whole call ------------------------------------------------


@pytest.mark.parametrize("sync", [True, False])
def test_a_trickling_body_cannot_outlive_the_timeout(sync: bool) -> None:
    with FakeServer(trickle(byte_every=0.05, size=400)) as server:
        started = time.monotonic()
        error = _failure(server, sync, timeout=1.0)
        elapsed = time.monotonic() - started
    assert isinstance(error, errors.APITimeoutError) and error.may_have_taken_effect
    assert elapsed < 3.0  # the body alone would take ~22 s; each byte resets a per-read timeout
    assert len(server.received) == 1


@pytest.mark.parametrize("sync", [True, False])
def test_retry_after_longer_than_the_budget_is_not_waited_out(sync: bool) -> None:
    def limited(received: Received, conn: socket.socket) -> None:
        respond(conn, 429, {"success": False, "error": "rate_limited"}, {"Retry-After": "30"})

    with FakeServer(limited) as server:
        started = time.monotonic()
        error = _failure(server, sync, timeout=2.0)
        elapsed = time.monotonic() - started
    assert isinstance(error, errors.RateLimitError) and error.retry_after == 30
    assert elapsed < 1.5 and len(server.received) == 1


# -- 8. a conversation sends in call order -----------------------------------------------------------


def test_threads_are_served_first_come_first_served() -> None:
    gate = Gate()
    with FakeServer(gate) as server, _client(server) as client, gate:
        conversation = client.conversation(AGENT, "+1555")
        threads: list[threading.Thread] = []
        for i in range(6):
            thread = threading.Thread(target=conversation.send, args=(f"m{i}",))
            thread.start()
            threads.append(thread)
            queued = i + 1
            _wait_until(lambda n=queued: conversation._turns._next_ticket == n)  # queued before the next starts
            if i == 0:
                _wait_until(lambda: len(server.received) == 1)
        gate.open.set()
        for thread in threads:
            thread.join(10)
    assert [r.json()["content"] for r in server.received] == [f"m{i}" for i in range(6)]  # type: ignore[index]


def test_tasks_are_served_first_come_first_served_even_when_one_is_cancelled() -> None:
    gate = Gate()

    async def run(server: FakeServer) -> None:
        async with _async_client(server) as client:
            conversation = client.conversation(AGENT, "+1555")
            tasks = []
            for i in range(6):
                tasks.append(asyncio.create_task(conversation.send(f"m{i}")))
                await asyncio.sleep(0.05 if i == 0 else 0)
            tasks[2].cancel()
            await asyncio.sleep(0)
            gate.open.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    with FakeServer(gate) as server, gate:
        asyncio.run(run(server))
    assert [r.json()["content"] for r in server.received] == ["m0", "m1", "m3", "m4", "m5"]  # type: ignore[index]


def _wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    # Fake-server tests never leave threads behind that outlive their server by much.
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 3
    while threading.active_count() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
