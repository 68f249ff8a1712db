"""The sandbox engine as an ASGI app (Starlette)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .engine import Engine, Fault, Reply


def create_app(engine: Engine) -> Starlette:
    async def inbound(request: Request) -> JSONResponse:
        fault = engine.next_fault()
        body = await _json_body(request)
        token = request.headers.get("api-token")
        if fault is not None and not fault.after_processing:
            return await _fault_response(fault, None)
        reply = engine.inbound(token, body)
        if fault is not None:
            return await _fault_response(fault, reply)
        return _response(reply)

    async def support(request: Request) -> JSONResponse:
        body = await _json_body(request)
        return _response(engine.support(request.headers.get("api-token"), request.path_params["session_id"], body))

    return Starlette(
        routes=[
            Route("/v1/chat/inbound", inbound, methods=["POST"]),
            Route("/v1/chat/session/{session_id}/support", support, methods=["POST"]),
        ]
    )


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _response(reply: Reply) -> JSONResponse:
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


async def _fault_response(fault: Fault, processed: Reply | None) -> JSONResponse:
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.status is None and processed is not None:
        return _response(processed)  # a slow but otherwise normal reply
    status = fault.status or 502
    body = fault.body
    if body is None:
        body = {"success": False, "error": f"sandbox_fault_{status}"}
        if status == 502:
            body = {
                "success": False,
                "error": "Python engine returned 500 for POST /v1/chat/inbound",
                "upstream_body": {"state": "error", "reason": "sandbox_injected_fault"},
            }
    return JSONResponse(body, status_code=status, headers=fault.headers)
