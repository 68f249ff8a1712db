"""The transports (aiohttp for async, httpx2 for sync, injected httpx/httpx2 clients) against servers
on 127.0.0.1 that misbehave on purpose and count what they received. Every failure must be the same
typed OSVI error whichever library moved the bytes, say whether the request may have been sent,
chain no library exception, and end within the call's time budget."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import httpx2
import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy, errors
from osvi_integrations._transport import AiohttpTransport, AsyncHttpxTransport, SyncHttpxTransport
from osvi_integrations.protocol import SEND_MESSAGE

from ... import loopback
from .fakes import wake

TOKEN = "TrAnSpOrTtOkEn-4242"
AGENT = "agent_test"
NO_RETRY = RetryPolicy(max_retries=0)
FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)
OK_BODY = json.dumps(
    {
        "success": True,
        "data": {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False},
    }
).encode()

#: What a server does with one request: gets the socket and the request bytes, writes what it likes.
Behaviour = Callable[[socket.socket, bytes], None]


class Misbehaving:
    """A threaded HTTP/1.1 server on 127.0.0.1 that answers every request with `behaviour`. It counts
    connections and requests, serves at most `max_requests`, and stops with the `with` block."""

    def __init__(self, behaviour: Behaviour, max_requests: int = 100) -> None:
        self.behaviour = behaviour
        self.max_requests = max_requests
        self.requests: list[bytes] = []
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Misbehaving:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for sock in [self._sock, *self._connections]:
            wake(sock)
        for thread in list(self._threads):
            thread.join(5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                end = buffer.find(b"\r\n\r\n")
                if end >= 0:
                    head = buffer[:end].decode("latin-1")
                    length = next(
                        (
                            int(line.split(":", 1)[1])
                            for line in head.split("\r\n")
                            if line.lower().startswith("content-length:")
                        ),
                        0,
                    )
                    if len(buffer) >= end + 4 + length:
                        request, buffer = buffer[: end + 4 + length], buffer[end + 4 + length :]
                        with self._lock:
                            if len(self.requests) >= self.max_requests:
                                return
                            self.requests.append(request)
                        try:
                            self.behaviour(conn, request)
                        except OSError:
                            return
                        if conn.fileno() < 0:
                            return
                        continue
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk


def answer(status: int = 200, body: bytes = OK_BODY, headers: dict[str, str] | None = None) -> Behaviour:
    def behaviour(conn: socket.socket, request: bytes) -> None:
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return behaviour


def reset_mid_body(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + OK_BODY[:20])
    time.sleep(0.05)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST, not FIN
    conn.close()


def close_mid_body(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + OK_BODY[:20])
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def close_without_answer(conn: socket.socket, request: bytes) -> None:
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def not_http(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def trickle(conn: socket.socket, request: bytes) -> None:
    """Headers at once, then the body one byte every 50 ms (~10 s): each byte resets a per-read timeout."""
    body = OK_BODY.replace(b'"hi"', b'"' + b"x" * 60 + b'"')
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    for i in range(len(body)):
        conn.sendall(body[i : i + 1])
        time.sleep(0.05)


def hang(seconds: float) -> Behaviour:
    """Answers nothing for `seconds`, or until the client gives up and closes the connection (so a test
    ends when its client does, not when the hang would)."""

    def behaviour(conn: socket.socket, request: bytes) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            try:
                if conn.recv(1) == b"":
                    break  # the client closed its end
            except TimeoutError:
                continue
            except OSError:
                break
        conn.close()

    return behaviour


BAD_GZIP = answer(body=b"\x1f\x8b\x08\x00not really gzip", headers={"Content-Encoding": "gzip"})
GOOD_GZIP = answer(body=gzip.compress(OK_BODY), headers={"Content-Encoding": "gzip"})


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed right after: connections are refused


# -- driving one call through each kind of transport ---------------------------------------------------

KINDS = ["sync-httpx2", "async-aiohttp", "sync-injected-httpx", "async-injected-httpx", "async-injected-httpx2"]


def failure(kind: str, base_url: str, **kwargs: Any) -> tuple[errors.OSVIError, float]:
    """The error of one send_message through `kind`, and the seconds it took."""
    kwargs = {"retry_policy": NO_RETRY, **kwargs}
    started = time.monotonic()
    if kind.startswith("sync"):
        injected = httpx.Client(verify=loopback.TLS) if kind == "sync-injected-httpx" else None
        try:
            with OSVIClient(TOKEN, base_url=base_url, http_client=injected, **kwargs) as client:
                try:
                    client.send_message(AGENT, "+1555", "hello")
                except errors.OSVIError as error:
                    return error, time.monotonic() - started
        finally:
            if injected is not None:
                injected.close()
        pytest.fail("no error")

    async def run() -> errors.OSVIError:
        injected: httpx.AsyncClient | httpx2.AsyncClient | None = None
        if kind == "async-injected-httpx":
            injected = httpx.AsyncClient(verify=loopback.TLS)
        elif kind == "async-injected-httpx2":
            injected = httpx2.AsyncClient(verify=loopback.TLS)
        try:
            async with AsyncOSVIClient(TOKEN, base_url=base_url, http_client=injected, **kwargs) as client:
                try:
                    await client.send_message(AGENT, "+1555", "hello")
                except errors.OSVIError as error:
                    return error
        finally:
            if injected is not None:
                await injected.aclose()
        pytest.fail("no error")

    error = asyncio.run(run())
    return error, time.monotonic() - started


def assert_clean(error: errors.OSVIError) -> None:
    """No library exception is chained (its request holds the token) and no text shows the token."""
    assert error.__cause__ is None and error.__context__ is None
    assert TOKEN not in str(error) and TOKEN not in repr(error) and TOKEN not in repr(vars(error))


# -- the own transports are the fast ones ----------------------------------------------------------------


def test_own_pools_are_aiohttp_for_async_and_httpx2_for_sync_injected_clients_are_kept() -> None:
    sync_client = OSVIClient(TOKEN, base_url="http://127.0.0.1:9")
    assert isinstance(sync_client._transport, SyncHttpxTransport) and sync_client._transport.owns_client
    assert isinstance(sync_client._transport._client, httpx2.Client)
    sync_client.close()
    async_client = AsyncOSVIClient(TOKEN, base_url="http://127.0.0.1:9")  # no event loop needed to build it
    assert isinstance(async_client._transport, AiohttpTransport)
    with httpx.Client(verify=loopback.TLS) as mine:
        injected = OSVIClient(TOKEN, base_url="http://127.0.0.1:9", http_client=mine)
        injected.close()
        assert not mine.is_closed  # the caller's to close
    wrapped = AsyncOSVIClient(TOKEN, base_url="http://127.0.0.1:9", http_client=httpx2.AsyncClient(verify=loopback.TLS))
    assert isinstance(wrapped._transport, AsyncHttpxTransport) and not wrapped._transport.owns_client


def test_anything_else_as_http_client_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="httpx or httpx2"):
        OSVIClient(TOKEN, base_url="http://127.0.0.1:9", http_client=object())  # type: ignore[arg-type]


# -- nothing was sent ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_refused_is_connect_error_nothing_sent_and_retried(kind: str) -> None:
    url = refused_url()
    error, elapsed = failure(kind, url, retry_policy=FAST_RETRY)
    assert type(error) is errors.ConnectError and not error.may_have_taken_effect
    assert url in str(error) and "nothing was sent" in str(error)
    assert elapsed < 5
    assert_clean(error)


@pytest.mark.parametrize("kind", ["sync-httpx2", "async-aiohttp"])
def test_waiting_for_a_free_connection_past_the_deadline_sent_nothing(kind: str) -> None:
    """One connection, held by a first attempt: a second attempt whose budget ends while it waits for
    that connection never reaches the server."""
    arguments = {"agent_uuid": AGENT, "customer_id": "+1555", "content": "hello"}
    results: list[BaseException] = []
    with Misbehaving(hang(1.2)) as server:
        if kind.startswith("sync"):
            with OSVIClient(TOKEN, base_url=server.base_url, max_connections=1) as client:
                prepared = client._prepare(SEND_MESSAGE, arguments)

                def attempt(budget: float) -> None:
                    try:
                        client._transport.send(prepared, remaining=budget, connect_timeout=1)
                    except errors.OSVIError as exc:
                        results.append(exc)

                threads = [threading.Thread(target=attempt, args=(budget,)) for budget in (3.0, 0.4)]
                for thread in threads:
                    thread.start()
                    time.sleep(0.1)
                for thread in threads:
                    thread.join(5)
        else:

            async def run() -> None:
                async with AsyncOSVIClient(TOKEN, base_url=server.base_url, max_connections=1) as client:
                    prepared = client._prepare(SEND_MESSAGE, arguments)
                    first = asyncio.create_task(client._transport.send(prepared, remaining=3.0, connect_timeout=1))
                    await asyncio.sleep(0.1)
                    second = asyncio.create_task(client._transport.send(prepared, remaining=0.4, connect_timeout=1))
                    for outcome in await asyncio.gather(first, second, return_exceptions=True):
                        assert isinstance(outcome, BaseException)
                        results.append(outcome)

            asyncio.run(run())
    waited = [r for r in results if isinstance(r, errors.ConnectTimeoutError)]
    assert len(results) == 2 and len(waited) == 1, results
    assert not waited[0].may_have_taken_effect and "nothing was sent" in str(waited[0])
    assert len(server.requests) == 1 and server.connections == 1


@pytest.mark.parametrize("kind", ["sync-httpx2", "async-aiohttp"])
def test_closed_client_raises_client_closed_and_sends_nothing(kind: str) -> None:
    with Misbehaving(answer()) as server:
        if kind.startswith("sync"):
            client = OSVIClient(TOKEN, base_url=server.base_url)
            client.close()
            with pytest.raises(errors.ClientClosedError):
                client.send_message(AGENT, "+1555", "hello")
        else:

            async def run() -> errors.OSVIError:
                client = AsyncOSVIClient(TOKEN, base_url=server.base_url)
                await client.send_message(AGENT, "+1555", "hello")
                prepared = client._prepare(SEND_MESSAGE, {"agent_uuid": AGENT, "customer_id": "+1555", "content": "x"})
                await client.aclose()
                with pytest.raises(errors.ClientClosedError) as info:
                    await client.send_message(AGENT, "+1555", "hello")
                # The transport refuses too, should a caller reach it after close.
                with pytest.raises(errors.ClientClosedError):
                    await client._transport.send(prepared, remaining=1, connect_timeout=1)
                return info.value

            assert not asyncio.run(run()).may_have_taken_effect
    expected = 0 if kind.startswith("sync") else 1
    assert len(server.requests) == expected


# -- sent: the outcome is unknown, never resent -------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [reset_mid_body, close_mid_body, close_without_answer, not_http])
@pytest.mark.parametrize("kind", KINDS)
def test_failure_after_sending_may_have_taken_effect_and_is_not_resent(kind: str, behaviour: Behaviour) -> None:
    with Misbehaving(behaviour) as server:
        error, elapsed = failure(kind, server.base_url, retry_policy=FAST_RETRY)
    assert type(error) is errors.APIConnectionError and error.may_have_taken_effect, repr(error)
    assert server.base_url in str(error) and "after the request was sent" in str(error)
    assert len(server.requests) == 1 and elapsed < 5
    assert_clean(error)


@pytest.mark.parametrize("kind", KINDS)
def test_a_trickling_body_cannot_outlive_the_timeout(kind: str) -> None:
    with Misbehaving(trickle) as server:
        error, elapsed = failure(kind, server.base_url, timeout=0.8)
    assert isinstance(error, errors.APITimeoutError) and error.may_have_taken_effect
    assert "the request was sent" in str(error)
    assert 0.7 < elapsed < 2.0  # the body alone would take ~6 s
    assert len(server.requests) == 1
    assert_clean(error)


@pytest.mark.parametrize("kind", KINDS)
def test_no_answer_is_a_timeout_within_the_budget(kind: str) -> None:
    with Misbehaving(hang(3)) as server:
        error, elapsed = failure(kind, server.base_url, timeout=0.5)
    assert type(error) is errors.APITimeoutError and error.may_have_taken_effect
    assert 0.4 < elapsed < 1.5 and len(server.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_undecodable_gzip_is_malformed_and_not_resent(kind: str) -> None:
    with Misbehaving(BAD_GZIP) as server:
        error, _ = failure(kind, server.base_url, retry_policy=FAST_RETRY)
    assert isinstance(error, errors.MalformedResponseError) and error.may_have_taken_effect, repr(error)
    assert len(server.requests) == 1
    assert_clean(error)


@pytest.mark.parametrize("kind", ["sync-httpx2", "async-aiohttp"])
def test_a_gzipped_answer_is_read(kind: str) -> None:
    with Misbehaving(GOOD_GZIP) as server:
        if kind.startswith("sync"):
            with OSVIClient(TOKEN, base_url=server.base_url) as client:
                reply = client.send_message(AGENT, "+1555", "hello").reply
        else:

            async def run() -> str | None:
                async with AsyncOSVIClient(TOKEN, base_url=server.base_url) as client:
                    return (await client.send_message(AGENT, "+1555", "hello")).reply

            reply = asyncio.run(run())
    assert reply == "hi" and len(server.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("kind", KINDS)
def test_redirects_are_never_followed(kind: str, status: int) -> None:
    with Misbehaving(answer()) as elsewhere:
        with Misbehaving(answer(status, b"", {"Location": f"{elsewhere.base_url}/steal"})) as server:
            error, _ = failure(kind, server.base_url, retry_policy=FAST_RETRY)
        assert elsewhere.requests == [] and elsewhere.connections == 0
    assert isinstance(error, errors.RedirectError) and not error.may_have_taken_effect
    assert len(server.requests) == 1


def test_an_injected_client_that_follows_redirects_still_does_not() -> None:
    with Misbehaving(answer()) as elsewhere:
        with Misbehaving(answer(302, b"", {"Location": f"{elsewhere.base_url}/steal"})) as server:
            for follower in (
                httpx.Client(follow_redirects=True, verify=loopback.TLS),
                httpx2.Client(follow_redirects=True, verify=loopback.TLS),
            ):
                with (
                    follower,
                    OSVIClient(TOKEN, base_url=server.base_url, http_client=follower) as client,
                    pytest.raises(errors.RedirectError),
                ):
                    client.send_message(AGENT, "+1555", "hello")
        assert elsewhere.requests == []
    assert len(server.requests) == 2


# -- what a request carries, and connection reuse -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync-httpx2", "async-aiohttp"])
def test_headers_and_body_on_the_wire(kind: str) -> None:
    with Misbehaving(answer()) as server:
        if kind.startswith("sync"):
            with OSVIClient(TOKEN, base_url=server.base_url) as client:
                client.send_message(AGENT, "+1555", "héllo")
        else:

            async def run() -> None:
                async with AsyncOSVIClient(TOKEN, base_url=server.base_url) as client:
                    await client.send_message(AGENT, "+1555", "héllo")

            asyncio.run(run())
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert lines[0] == "POST /v1/chat/inbound HTTP/1.1"
    assert headers["api-token"] == TOKEN and headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json" and headers["user-agent"].startswith("osvi-integrations/")
    assert "cookie" not in headers and "authorization" not in headers
    assert json.loads(body) == {"agent_uuid": AGENT, "customer_id": "+1555", "content": "héllo"}


def test_async_pool_reuses_connections_under_load() -> None:
    """48 calls, 16 at a time, through a pool of 4: no more than 4 connections are ever opened."""
    with Misbehaving(answer(), max_requests=48) as server:

        async def run() -> None:
            async with AsyncOSVIClient(TOKEN, base_url=server.base_url, max_connections=4) as client:
                gate = asyncio.Semaphore(16)

                async def one() -> None:
                    async with gate:
                        await client.send_message(AGENT, "+1555", "hello")

                await asyncio.gather(*(one() for _ in range(48)))

        asyncio.run(run())
    assert len(server.requests) == 48 and server.connections <= 4


def test_sync_pool_reuses_connections_under_load() -> None:
    with (
        Misbehaving(answer(), max_requests=48) as server,
        OSVIClient(TOKEN, base_url=server.base_url, max_connections=4) as client,
    ):

        def worker() -> None:
            for _ in range(6):
                client.send_message(AGENT, "+1555", "hello")

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert len(server.requests) == 48 and server.connections <= 4


def test_an_async_client_follows_its_caller_into_a_new_event_loop() -> None:
    """Built outside any loop, used in two `asyncio.run`s in turn (a script, a notebook)."""
    with Misbehaving(answer()) as server:
        client = AsyncOSVIClient(TOKEN, base_url=server.base_url)

        async def one() -> str | None:
            return (await client.send_message(AGENT, "+1555", "hello")).reply

        assert asyncio.run(one()) == "hi"
        assert asyncio.run(one()) == "hi"
        asyncio.run(client.aclose())
    assert len(server.requests) == 2


def test_an_async_client_in_use_by_a_running_loop_refuses_another() -> None:
    with Misbehaving(answer()) as server:
        client = AsyncOSVIClient(TOKEN, base_url=server.base_url)
        started, release = threading.Event(), threading.Event()
        errors_seen: list[BaseException] = []

        def other_loop() -> None:
            async def hold() -> None:
                await client.send_message(AGENT, "+1555", "first")
                started.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait, 5)
                await client.aclose()

            asyncio.run(hold())

        thread = threading.Thread(target=other_loop)
        thread.start()
        assert started.wait(5)

        async def second() -> None:
            try:
                await client.send_message(AGENT, "+1555", "second")
            except errors.OSVIError as exc:
                errors_seen.append(exc)

        asyncio.run(second())
        release.set()
        thread.join(5)
    assert len(errors_seen) == 1 and isinstance(errors_seen[0], errors.ConfigurationError)
    assert not errors_seen[0].may_have_taken_effect
    assert len(server.requests) == 1


@pytest.fixture(autouse=True)
def _bounded_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 3
    while threading.active_count() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)


# -- the injected async client's hard deadline per attempt (asyncio.timeout) -----------------------------------


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_an_earlier_deadline_fires_on_time_while_a_later_one_waits(library: str) -> None:
    """A second attempt with a shorter budget times out at its own deadline, not at the first one's; the
    first still ends at its own; and each task can go on awaiting afterwards (no stray cancellation)."""
    outcomes: dict[str, tuple[str, float]] = {}

    async def run(base_url: str) -> None:
        injected: Any = (
            httpx.AsyncClient(verify=loopback.TLS) if library == "httpx" else httpx2.AsyncClient(verify=loopback.TLS)
        )
        async with injected, AsyncOSVIClient(TOKEN, base_url=base_url, http_client=injected) as client:
            prepared = client._prepare(SEND_MESSAGE, {"agent_uuid": AGENT, "customer_id": "+1555", "content": "x"})
            loop = asyncio.get_running_loop()
            started = loop.time()

            async def attempt(name: str, budget: float) -> None:
                try:
                    await client._transport.send(prepared, remaining=budget, connect_timeout=1)
                except errors.OSVIError as exc:
                    outcomes[name] = (type(exc).__name__, loop.time() - started)
                await asyncio.sleep(0.01)  # the task is not left with a cancellation pending

            first = asyncio.create_task(attempt("first", 1.5))
            await asyncio.sleep(0.1)
            await asyncio.gather(first, attempt("second", 0.3))

    with Misbehaving(hang(3)) as server:
        asyncio.run(run(server.base_url))
    assert outcomes["second"][0] == outcomes["first"][0] == "APITimeoutError"
    assert 0.35 < outcomes["second"][1] < 1.0, outcomes
    assert 1.5 < outcomes["first"][1] < 2.5, outcomes


def test_cancelling_a_send_is_a_cancellation_not_a_timeout() -> None:
    """Someone else's cancellation (a caller's own timeout, a shutdown) goes on as CancelledError."""

    async def run(base_url: str) -> None:
        async with (
            httpx2.AsyncClient(verify=loopback.TLS) as injected,
            AsyncOSVIClient(TOKEN, base_url=base_url, http_client=injected, timeout=0.5, max_retries=0) as client,
        ):
            task = asyncio.create_task(client.send_message(AGENT, "+1555", "hello"))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
            # The next call is unaffected: its deadline is its own.
            with pytest.raises(errors.APITimeoutError):
                await client.send_message(AGENT, "+1555", "hello")

    with Misbehaving(hang(2)) as server:
        asyncio.run(run(server.base_url))
