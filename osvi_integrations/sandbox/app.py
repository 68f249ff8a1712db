"""The sandbox engine as an ASGI app (Starlette): routing, body parsing and faults; no behaviour.

Every answer is JSON in the contract's shape, also for bad input: 401 (checked before the body
is looked at), 400 (unreadable or ill-typed body), 413 (body over MAX_BODY_BYTES), 404 (unknown
route), 405 with `Allow` (wrong method). Unexpected exceptions become a JSON 500 so a bug is
visible as a bug, never as plain text.

Starlette routes; each operation's endpoint is a plain ASGI app that reads the scope, the body and
the reply bytes itself: users point load tests at the sandbox, and Starlette's per-request Request,
wrappers and JSONResponse cost as much CPU as the engine's own work (measured in bench/sandbox_bench.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .engine import ROUTES, Engine, Fault, Reply

MAX_BODY_BYTES = 1 << 20  # a chat message is small; anything bigger is refused before parsing
INBOUND_PATH = ROUTES["inbound"][1]

logger: logging.Logger = logging.getLogger(__name__)

# Engine call for one operation: (engine, token, scope, parsed JSON body or None) -> Reply.
_Call = Callable[[Engine, str | None, Scope, Any], Reply]


def create_app(engine: Engine) -> Starlette:
    """The app serves `app.state.engine`; replacing that attribute swaps engines between requests."""
    return SandboxApp(engine)


class SandboxApp(Starlette):
    """Starlette with the sandbox's routes. `POST /v1/chat/inbound`, the route load tests hit, goes
    straight to its endpoint under the same error handling (the JSON 500): the route scan and the
    exception middleware it skips cost about as much CPU as the engine's turn."""

    def __init__(self, engine: Engine) -> None:
        inbound = _Endpoint("inbound", _inbound, body=True)
        super().__init__(
            routes=[
                Route(INBOUND_PATH, inbound, methods=["POST"]),
                *(
                    Route(
                        ROUTES[name][1],
                        _Endpoint(name, handler, body=ROUTES[name][0] == "POST"),
                        methods=[ROUTES[name][0]],
                    )
                    for name, handler in (
                        ("create_session", _create_session),
                        ("get_active_session", _get_active_session),
                        ("inject_context", _inject_context),
                        ("support", _support),
                        ("active_agents", _active_agents),
                    )
                ),
            ],
            exception_handlers={HTTPException: _http_error, Exception: _server_error},
        )
        self.router.redirect_slashes = False  # `/v1/chat/inbound/` is an unknown route (404), not a redirect
        self.state.engine = engine
        self._inbound = ServerErrorMiddleware(inbound, handler=_server_error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == INBOUND_PATH
            and not scope.get("root_path")
        ):
            scope["app"] = self
            await self._inbound(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _create_session(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    return engine.create_session(token, body)


def _get_active_session(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    query = QueryParams(scope["query_string"])
    return engine.get_active_session(token, query.get("customer_id"), query.get("agent_uuid"))


def _inbound(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    return engine.inbound(token, body)


def _inject_context(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    return engine.inject_context(token, scope["path_params"]["id"], body)


def _support(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    return engine.support(token, scope["path_params"]["id"], body)


def _active_agents(engine: Engine, token: str | None, scope: Scope, body: Any) -> Reply:
    return engine.active_agents(token)


class _Endpoint:
    """One operation as an ASGI app (a class, so Starlette routes to it without a Request per call)."""

    def __init__(self, route: str, call: _Call, *, body: bool = False) -> None:
        self.route = route
        self.call = call
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine: Engine = scope["app"].state.engine  # read once: a reset() mid-request does not mix engines
        token, declared = _token_and_length(scope["headers"])
        raw = await _read_body(receive, declared) if self.body else b""
        fault = engine.next_fault(self.route)
        if fault is not None and not fault.after_processing:
            await _send_reply(send, await _fault_reply(fault, None, scope))
            return
        if not engine.is_valid_token(token):
            reply = Reply(401, _error_body("invalid_api_token"))
        elif raw is None:
            reply = Reply(413, _error_body(f"request body is larger than {MAX_BODY_BYTES} bytes"))
        else:
            parsed = _parse_json(raw) if self.body else None
            reply = parsed if isinstance(parsed, Reply) else self.call(engine, token, scope, parsed)
        if fault is not None:
            reply = await _fault_reply(fault, reply, scope)
        await _send_reply(send, reply)


def _token_and_length(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, bytes | None]:
    """The first `API-Token` and `Content-Length` headers (ASGI servers give names in lower case)."""
    token: str | None = None
    length: bytes | None = None
    for name, value in headers:
        if name == b"api-token":
            if token is None:
                token = value.decode("latin-1")
        elif name == b"content-length" and length is None:
            length = value
    return token, length


async def _read_body(receive: Receive, declared: bytes | None) -> bytes | None:
    """The body, or None when it is over MAX_BODY_BYTES (the rest is not read)."""
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            if not chunks:
                return chunk  # the usual case: the whole body in one message
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: One decoder for every request: `json.loads` with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
#: What Starlette's JSONResponse writes, with one encoder for every reply.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def _parse_json(raw: bytes) -> Any:
    """The decoded JSON value, or a 400 Reply. Content-Type is not checked: the bytes decide."""
    if not raw.strip():
        return Reply(400, _error_body("request body must be a JSON object"))
    try:
        # What json.loads does with bytes: the encoding (UTF-8/16/32) from the first bytes.
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, NaN/Infinity, absurd nesting
        return Reply(400, _error_body("request body is not valid JSON"))


def _error_body(error: str) -> dict[str, Any]:
    return {"success": False, "error": error}


async def _send_reply(send: Send, reply: Reply) -> None:
    """The reply as JSONResponse would send it: the body's JSON, then its own headers."""
    content = _ENCODER.encode(reply.body).encode("utf-8")
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers.items()]
    has_body = not (reply.status < 200 or reply.status in (204, 304))
    if has_body and not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(content)).encode("latin-1")))
    if not any(name == b"content-type" for name, _ in headers):
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404 unknown route, 405 wrong method) in the API's JSON error shape."""
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(_error_body(error), status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("OSVI sandbox bug on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_error_body("internal_error"), status_code=500)


async def _fault_reply(fault: Fault, processed: Reply | None, scope: Scope) -> Reply:
    if fault.delay:
        try:
            await asyncio.sleep(fault.delay)
        except asyncio.CancelledError:  # the server is stopping: end this request without a traceback in the log
            return Reply(503, _error_body("sandbox_stopping"))
    if fault.status is None and processed is not None:
        return processed  # a slow but otherwise normal reply
    status = fault.status or 502
    body = fault.body
    if body is None:
        body = _error_body(f"sandbox_fault_{status}")
        if status == 502:
            body = {
                "success": False,
                "error": f"Python engine returned 500 for {scope['method']} {scope['path']}",
                "upstream_body": {"state": "error", "reason": "sandbox_injected_fault"},
            }
    return Reply(status, body, dict(fault.headers))
