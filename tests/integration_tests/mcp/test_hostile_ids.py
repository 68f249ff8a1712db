"""Hostile ids over MCP (issue 17): every tool that names a session refuses an id that would leave its
path segment ("Invalid argument session_id ... Nothing was sent."), and the sandbox receives nothing;
an id with a slash or percent sign is sent as one segment and refused by the sandbox as unknown (404)."""

from __future__ import annotations

import pytest

from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import SandboxServer

from .conftest import Connect, text_of

SESSION_OPS = [op for op in OPERATIONS if "session_id" in op.params.model_fields]
REFUSED = ["..", ".", "a\r\nb", "a\x00b", "a\u200bb"]
ONE_SEGMENT = ["../support", "%2E%2E", "a/b"]
TEXTS = {"content": "hello", "context": "a note", "message": "operator text"}


def arguments(op: object, session_id: str) -> dict[str, object]:
    fields = op.params.model_fields  # type: ignore[attr-defined]
    args: dict[str, object] = {"session_id": session_id}
    args.update({k: v for k, v in TEXTS.items() if k in fields})
    if "customer_id" in fields:
        args["customer_id"] = "c-1"
    return args


@pytest.mark.parametrize("operation", SESSION_OPS, ids=lambda op: op.name)
async def test_session_ids_that_leave_their_segment_are_refused(
    connect: Connect, sandbox: SandboxServer, operation: object
) -> None:
    async with connect(operator_tools=True) as client:
        for bad in REFUSED:
            result = await client.call_tool(operation.name, arguments(operation, bad))  # type: ignore[attr-defined]
            assert result.is_error and "Invalid argument session_id" in text_of(result)
            assert "Nothing was sent" in text_of(result)
        for odd in ONE_SEGMENT:
            result = await client.call_tool(operation.name, arguments(operation, odd))  # type: ignore[attr-defined]
            # Sent as one segment (the FakeServer tests check the raw path); the sandbox knows no such session.
            assert result.is_error and "HTTP 404" in text_of(result)
    assert sandbox.engine.processed == []


@pytest.mark.parametrize(("status", "kind"), [(200, "malformed"), (302, "json"), (400, "json"), (502, "json")])
async def test_an_echoed_token_never_reaches_the_mcp_client(connect: Connect, status: int, kind: str) -> None:
    from ..core.fakes import FakeServer
    from ..core.test_boundaries import TOKEN, echoing

    with FakeServer(echoing(status, kind)) as fake:
        async with connect(base_url=fake.base_url, api_token=TOKEN) as client:
            for name, args in (("send_message", {"customer_id": "c", "content": "hi"}), ("list_active_agents", {})):
                result = await client.call_tool(name, args)
                assert result.is_error and TOKEN not in str(result.model_dump())
