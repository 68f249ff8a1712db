"""MCP test helpers: in-process client sessions on a server built for the run's sandbox, over both
protocol eras the SDK speaks: the initialize handshake ("legacy") and 2026-07-28 ("auto" negotiates it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent, Tool

from osvi_integrations.mcp_server import ServerSettings, create_server
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from ...conftest import FAST_RETRIES

MODES = ["legacy", "auto"]
CALL_TIMEOUT = 30.0

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings_for(sandbox: SandboxServer, **overrides: Any) -> ServerSettings:
    """Server settings pointed at `sandbox`, the support agent as default, fast retries; nothing from os.environ."""
    arguments: dict[str, Any] = {
        "api_token": sandbox.api_token,
        "base_url": sandbox.base_url,
        "default_agent_uuid": SUPPORT_AGENT,
        "retry_policy": FAST_RETRIES,
        "env": {},
    }
    arguments.update(overrides)
    return ServerSettings.build(**arguments)


@pytest.fixture
def connect(sandbox: SandboxServer, mode: str) -> Connect:
    """Opens an in-process MCP client session on a server built from `ServerSettings.build` overrides."""

    @asynccontextmanager
    async def open_session(**overrides: Any) -> AsyncIterator[Client]:
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(create_server(settings_for(sandbox, **overrides)), mode=mode) as client:
                yield client

    return open_session


def text_of(result: CallToolResult) -> str:
    """The one text block every result carries (what text-only clients give the model)."""
    assert len(result.content) == 1, "a tool result carries exactly one text block"
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def checked(result: CallToolResult, tool: Tool) -> dict[str, Any]:
    """The structured content of a successful result, validated against the tool's advertised outputSchema."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None and tool.output_schema is not None
    jsonschema.validate(result.structured_content, tool.output_schema)
    return result.structured_content


def server_env(**osvi: str) -> dict[str, str]:
    """The parent's environment minus any OSVI_* setting, plus `osvi`: what a launched server sees."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    env.update(osvi)
    return env
