"""Security at every boundary (issue 17), over real HTTP to fake servers that record what they got:

- an id stays exactly one path segment (or one query value), or is refused naming its field with
  nothing sent: property-based over every operation, sync and async clients and the LangChain tools;
- a token the server echoes (body, headers, `Location`, error strings) reaches no error, attribute,
  chained exception, frame local, log record or tool text;
- server text is bounded in errors and tool answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage

from osvi_integrations import AsyncOSVIClient, OSVIClient
from osvi_integrations.errors import InvalidRequestError, OSVIError
from osvi_integrations.langchain import OSVITool
from osvi_integrations.protocol import OPERATIONS, SERVER_TEXT_LIMIT, Operation, describe_error

from ... import loopback
from .fakes import FakeServer, Received, respond

TOKEN = "tok-SECRET-0123456789abcdef"
SESSION_ANSWER = {
    "id": "s-1",
    "customer_id": "c",
    "mode": "ai",
    "help_requested": False,
    "status": "active",
}
SUPPORT_ANSWER = {"session_id": "s-1", "command": "takeover", "state": "ok"}
ANSWERS: dict[str, Any] = {
    "send_message": {"session_id": "s-1", "reply": "hi", "state": "default", "mode": "ai", "help_requested": False},
    "create_session": SESSION_ANSWER,
    "get_active_session": SESSION_ANSWER,
    "list_active_sessions": {},
    "inject_context": {"session_id": "s-1", "context": ["x"]},
}
ID_FIELDS = ("agent_uuid", "customer_id", "session_id")
TEXTS = {"content": "hello", "context": "a note", "message": "operator text"}

HOSTILE = [
    ".",
    "..",
    "../support",
    "..%2Fsupport",
    "%2E%2E",
    "%2e",
    "a/b",
    "/",
    "a?b=c",
    "a#frag",
    "a%00b",
    "a\r\nX-Injected: 1",
    "a\x00b",
    "\u2024\u2024",  # ONE DOT LEADER twice: looks like ".."
    "\uff0e\uff0e",  # FULLWIDTH FULL STOP twice
    "a\u200bb",  # zero-width space
    "x" * 5000,
    "é/ü",
    " a",
]


def answer(received: Received, conn: socket.socket) -> None:
    path = urlsplit(received.path).path
    if path == "/v1/active_agents":
        respond(conn, 200, [{"agent_id": "agent_a", "name": "A", "status": "active"}])
        return
    if path == "/v1/chat/session/active" and "agent_uuid=" not in received.path:
        respond(conn, 200, {"success": True, "data": {}})
        return
    if path.endswith("/support"):
        respond(conn, 200, {"success": True, "data": SUPPORT_ANSWER})
        return
    for name, data in ANSWERS.items():
        if path == _route(name):
            respond(conn, 200, {"success": True, "data": data})
            return
    if path.endswith("/inject_context"):
        respond(conn, 200, {"success": True, "data": ANSWERS["inject_context"]})
        return
    respond(conn, 404, {"success": False, "error": "not_found"})


def _route(name: str) -> str:
    return next(op.path for op in OPERATIONS if op.name == name)


def arguments_for(operation: Operation[Any, Any], field: str | None, value: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name in operation.params.model_fields:
        if name in ID_FIELDS:
            args[name] = value if name == field else {"agent_uuid": "agent_a", "customer_id": "c"}.get(name, "s-1")
        elif name in TEXTS:
            text = TEXTS[name]
            args[name] = [text] if name == "context" and operation.name == "create_session" else text
    return args


def check_request(operation: Operation[Any, Any], args: dict[str, Any], received: list[Received]) -> None:
    """Exactly one request, to the operation's route, each id exactly one segment or one query value."""
    assert len(received) == 1, [r.path for r in received]
    got = received[0]
    assert got.method == operation.method
    split = urlsplit(got.path)
    template = operation.path.split("/")
    segments = split.path.split("/")
    assert len(segments) == len(template), got.path
    for want, seg in zip(template, segments, strict=True):
        if want.startswith("{"):
            assert unquote(seg) == args[want[1:-1]]  # the id, whole, as one segment
            assert "/" not in seg and seg not in (".", "..")
        else:
            assert seg == want
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    for name in ID_FIELDS:
        if operation.method == "GET" and name in args:
            assert query[name] == args[name]
    if operation.method == "POST" and got.body:
        body = json.loads(got.body)
        for name in ID_FIELDS:
            if name in body:
                assert body[name] == args[name]


def _id_strategy() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(alphabet=st.sampled_from("./%2Ee\\?#\r\n\x00 a\u2024\uff0e"), min_size=1, max_size=8),
        st.text(min_size=1, max_size=30),
    )


CASES = [(op, field) for op in OPERATIONS for field in ID_FIELDS if field in op.params.model_fields]


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeServer(answer, max_requests=100_000) as fake:
        yield fake


@pytest.mark.parametrize(("operation", "field"), CASES, ids=lambda x: getattr(x, "name", x))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_id_strategy())
def test_an_id_stays_one_segment_or_is_refused(
    server: FakeServer, operation: Operation[Any, Any], field: str, value: str
) -> None:
    args = arguments_for(operation, field, value)
    for surface in ("sync", "async", "tool"):
        server.received.clear()
        try:
            if surface == "sync":
                with OSVIClient(TOKEN, base_url=server.base_url, max_retries=0) as client:
                    client.call(operation, **args)
            elif surface == "async":
                asyncio.run(_async_invoke(server.base_url, operation, args))
            else:
                message = _tool(server.base_url, operation, args).invoke(
                    {"type": "tool_call", "id": "1", "name": f"osvi_{operation.name}", "args": _tool_args(args)}
                )
                assert isinstance(message, ToolMessage)
                if message.status == "error":
                    raise InvalidRequestError(field, str(message.content))
        except InvalidRequestError as error:
            assert server.received == [], "refused, yet something was sent"
            assert field in str(error)
            continue
        check_request(operation, args, list(server.received))


async def _async_invoke(base_url: str, operation: Operation[Any, Any], args: dict[str, Any]) -> None:
    async with AsyncOSVIClient(TOKEN, base_url=base_url, max_retries=0) as client:
        await client.call(operation, **args)


def _tool(base_url: str, operation: Operation[Any, Any], args: dict[str, Any]) -> OSVITool:
    # The application binds agent and customer on the tool; the LLM gives the rest (a session id).
    return OSVITool(
        operation=operation,
        agent_uuid=args.get("agent_uuid"),
        customer_id=args.get("customer_id"),
        api_key=TOKEN,
        base_url=base_url,
        max_retries=0,
    )


def _tool_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in ("agent_uuid", "customer_id")}


def test_tools_bind_agent_and_customer_ids_through_the_same_checks(server: FakeServer) -> None:
    for bad in ("..", "a\r\nb", "."):
        server.received.clear()
        tool = OSVITool(
            operation="get_active_session",
            agent_uuid="agent_a",
            customer_id=bad,
            api_key=TOKEN,
            base_url=server.base_url,
        )
        message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": {}})
        assert message.status == "error" and "customer_id" in str(message.content)
        assert server.received == []


# -- a server that echoes the token everywhere ---------------------------------------------------


def echoing(status: int, kind: str) -> Any:
    def handler(received: Received, conn: socket.socket) -> None:
        token = received.headers["api-token"]
        headers = {"Location": f"https://evil.test/?t={token}", "X-Echo": token, "Retry-After": "0"}
        if kind == "json":
            body: Any = {"success": False, "error": f"bad token {token}", "upstream_body": {"echo": token}}
        elif kind == "malformed":
            body = f'{{"success": true, "data": {{"echo": "{token}"}}}}'.encode()
        else:
            body = f"<html>token {token}</html>".encode()
        respond(conn, status, body, headers)

    return handler


ECHO_CASES = [
    (200, "malformed"),
    (200, "text"),
    (302, "json"),
    (400, "json"),
    (422, "text"),
    (500, "json"),
    (502, "json"),
    (503, "text"),
]


def _no_token_anywhere(error: BaseException) -> None:
    seen: set[int] = set()
    chain: BaseException | None = error
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        texts = [str(chain), repr(chain), repr(vars(chain))]
        texts += [repr(v) for v in vars(chain).values()]
        for frame, _ in traceback.walk_tb(chain.__traceback__):
            if "osvi_integrations" in frame.f_code.co_filename:  # the package's frames, not the test's
                texts += [repr(v) for v in frame.f_locals.values()]
        for text in texts:
            assert TOKEN not in text
        chain = chain.__cause__ or chain.__context__


@pytest.mark.parametrize(("status", "kind"), ECHO_CASES)
def test_an_echoed_token_reaches_no_error_frame_or_log(
    status: int, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeServer(echoing(status, kind)) as fake:
        for operation in (OPERATIONS[0], OPERATIONS[6]):  # a customer message, a support command
            args = arguments_for(operation, None, "")
            with OSVIClient(TOKEN, base_url=fake.base_url, max_retries=0) as client:
                with pytest.raises(OSVIError) as info:
                    client.call(operation, **args)
                _no_token_anywhere(info.value)
                assert TOKEN not in describe_error(info.value, operation)
            with pytest.raises(OSVIError) as ainfo:
                asyncio.run(_async_invoke(fake.base_url, operation, args))
            _no_token_anywhere(ainfo.value)
            tool = OSVITool(
                operation=operation, agent_uuid="agent_a", customer_id="c", api_key=TOKEN, base_url=fake.base_url
            )
            tool_args = _tool_args(args)
            message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": tool_args})
            assert message.status == "error" and TOKEN not in str(message.content)
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name


def test_an_injected_httpx_client_masks_too() -> None:
    with FakeServer(echoing(200, "malformed")) as fake:
        with (
            httpx.Client(verify=loopback.TLS) as http,
            OSVIClient(TOKEN, base_url=fake.base_url, http_client=http, max_retries=0) as client,
            pytest.raises(OSVIError) as info,
        ):
            client.call(OPERATIONS[0], **arguments_for(OPERATIONS[0], None, ""))
        _no_token_anywhere(info.value)
        assert "**********" in str(getattr(info.value, "body", ""))


# -- bounded server text -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 422, 500, 502])
def test_server_text_is_bounded(status: int) -> None:
    huge = "E" * (2 * 1024 * 1024)

    def handler(received: Received, conn: socket.socket) -> None:
        respond(
            conn,
            status,
            {"success": False, "error": huge, "upstream_body": {"reason": huge, "list": [huge[:600]] * 5000}},
        )

    with FakeServer(handler) as fake:
        operation = OPERATIONS[0]
        with (
            OSVIClient(TOKEN, base_url=fake.base_url, max_retries=0) as client,
            pytest.raises(OSVIError) as info,
        ):
            client.call(operation, **arguments_for(operation, None, ""))
        error = info.value
        assert len(str(error)) < SERVER_TEXT_LIMIT + 200
        assert len(repr(vars(error))) < 100 * SERVER_TEXT_LIMIT
        assert len(describe_error(error, operation)) < SERVER_TEXT_LIMIT + 600
        tool = OSVITool(
            operation=operation, agent_uuid="agent_a", customer_id="c", api_key=TOKEN, base_url=fake.base_url
        )
        message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": {"content": "hi"}})
        assert message.status == "error" and len(str(message.content)) < SERVER_TEXT_LIMIT + 600
