"""The sandbox engine as an ASGI app (Starlette): routing, body parsing and faults; no behaviour.

Every answer is JSON in the contract's shape, also for bad input: 401 (checked before the body
is looked at), 400 (unreadable or ill-typed body), 413 (body over MAX_BODY_BYTES), 404 (unknown
route), 405 with `Allow` (wrong method). Unexpected exceptions become a JSON 500 so a bug is
visible as a bug, never as plain text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .engine import Engine, Fault, Reply

MAX_BODY_BYTES = 1 << 20  # a chat message is small; anything bigger is refused before parsing

logger = logging.getLogger(__name__)

# Engine call for one operation: (engine, token, request, parsed JSON body or None) -> Reply.
_Call = Callable[[Engine, str | None, Request, Any], Reply]


def create_app(engine: Engine) -> Starlette:
    """The app serves `app.state.engine`; replacing that attribute swaps engines between requests."""
    app = Starlette(
        routes=[
            Route("/v1/chat/session", _endpoint("create_session", _create_session, body=True), methods=["POST"]),
            Route("/v1/chat/session/active", _endpoint("get_active_session", _get_active_session), methods=["GET"]),
            Route("/v1/chat/inbound", _endpoint("inbound", _inbound, body=True), methods=["POST"]),
            Route(
                "/v1/chat/session/{id}/inject_context",
                _endpoint("inject_context", _inject_context, body=True),
                methods=["POST"],
            ),
            Route("/v1/chat/session/{id}/support", _endpoint("support", _support, body=True), methods=["POST"]),
            Route("/v1/active_agents", _endpoint("active_agents", _active_agents), methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.router.redirect_slashes = False  # `/v1/chat/inbound/` is an unknown route (404), not a redirect
    app.state.engine = engine
    return app


def _create_session(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    return engine.create_session(token, body)


def _get_active_session(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    query = request.query_params
    return engine.get_active_session(token, query.get("customer_id"), query.get("agent_uuid"))


def _inbound(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    return engine.inbound(token, body)


def _inject_context(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    return engine.inject_context(token, request.path_params["id"], body)


def _support(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    return engine.support(token, request.path_params["id"], body)


def _active_agents(engine: Engine, token: str | None, request: Request, body: Any) -> Reply:
    return engine.active_agents(token)


def _endpoint(route: str, call: _Call, *, body: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        engine: Engine = request.app.state.engine  # read once: a reset() mid-request does not mix engines
        raw = await _read_body(request) if body else b""
        fault = engine.next_fault(route)
        if fault is not None and not fault.after_processing:
            return await _fault_response(fault, None, request)
        token = request.headers.get("api-token")
        if not engine.is_valid_token(token):
            reply = Reply(401, _error_body("invalid_api_token"))
        elif raw is None:
            reply = Reply(413, _error_body(f"request body is larger than {MAX_BODY_BYTES} bytes"))
        else:
            parsed = _parse_json(raw) if body else None
            reply = parsed if isinstance(parsed, Reply) else call(engine, token, request, parsed)
        if fault is not None:
            return await _fault_response(fault, reply, request)
        return _response(reply)

    return endpoint


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is over MAX_BODY_BYTES (the rest is not read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(raw: bytes) -> Any:
    """The decoded JSON value, or a 400 Reply. Content-Type is not checked: the bytes decide."""
    if not raw.strip():
        return Reply(400, _error_body("request body must be a JSON object"))
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, NaN/Infinity, absurd nesting
        return Reply(400, _error_body("request body is not valid JSON"))


def _error_body(error: str) -> dict[str, Any]:
    return {"success": False, "error": error}


def _response(reply: Reply) -> JSONResponse:
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404 unknown route, 405 wrong method) in the API's JSON error shape."""
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(_error_body(error), status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("OSVI sandbox bug on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_error_body("internal_error"), status_code=500)


async def _fault_response(fault: Fault, processed: Reply | None, request: Request) -> JSONResponse:
    if fault.delay:
        try:
            await asyncio.sleep(fault.delay)
        except asyncio.CancelledError:  # the server is stopping: end this request without a traceback in the log
            return JSONResponse(_error_body("sandbox_stopping"), status_code=503)
    if fault.status is None and processed is not None:
        return _response(processed)  # a slow but otherwise normal reply
    status = fault.status or 502
    body = fault.body
    if body is None:
        body = _error_body(f"sandbox_fault_{status}")
        if status == 502:
            body = {
                "success": False,
                "error": f"Python engine returned 500 for {request.method} {request.url.path}",
                "upstream_body": {"state": "error", "reason": "sandbox_injected_fault"},
            }
    return JSONResponse(body, status_code=status, headers=fault.headers)
