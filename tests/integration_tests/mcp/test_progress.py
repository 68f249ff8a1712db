"""Slow replies: progress notifications while OSVI answers, and a default call budget under the 60 s after
which clients on the TypeScript SDK (Claude Desktop, Cursor, VS Code, the Inspector) give up."""

from __future__ import annotations

import pytest

from osvi_integrations.config import TIMEOUT_ENV
from osvi_integrations.mcp_server import DEFAULT_PROGRESS_INTERVAL, DEFAULT_TIMEOUT, ServerSettings
from osvi_integrations.sandbox import Fault, SandboxServer

from .conftest import Connect, text_of

INTERVAL = 0.1


async def test_progress_notifications_while_a_reply_is_slow(
    connect: Connect, sandbox: SandboxServer, customer_id: str
) -> None:
    sandbox.engine.inject_fault(Fault(status=None, after_processing=True, delay=0.8))
    received: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, total, message))

    async with connect(progress_interval=INTERVAL, timeout=20) as client:
        result = await client.call_tool(
            "send_message", {"content": "hello", "customer_id": customer_id}, progress_callback=on_progress
        )
    assert not result.is_error and "sandbox assistant" in text_of(result)
    assert len(received) >= 4, received
    progress = [p for p, _, _ in received]
    assert progress == sorted(progress) and len(set(progress)) == len(progress)  # strictly increasing
    assert all(total == 20 for _, total, _ in received)
    assert all(message and "Waiting for OSVI (send_message)" in message for _, _, message in received)


async def test_no_progress_for_a_quick_reply(connect: Connect, customer_id: str) -> None:
    received: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append(progress)

    async with connect(progress_interval=1.0) as client:
        result = await client.call_tool(
            "send_message", {"content": "hello", "customer_id": customer_id}, progress_callback=on_progress
        )
    assert not result.is_error and received == []


def test_the_default_call_budget_ends_before_typescript_clients_give_up() -> None:
    settings = ServerSettings.build(api_token="token-for-tests", env={})
    assert settings.osvi.timeout == DEFAULT_TIMEOUT < 60
    assert DEFAULT_PROGRESS_INTERVAL < 60
    assert ServerSettings.build(api_token="token-for-tests", env={TIMEOUT_ENV: "90"}).osvi.timeout == 90
    assert ServerSettings.build(api_token="token-for-tests", timeout=7, env={TIMEOUT_ENV: "90"}).osvi.timeout == 7


def test_the_progress_interval_must_be_positive() -> None:
    from osvi_integrations.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="progress_interval"):
        ServerSettings.build(api_token="token-for-tests", progress_interval=0, env={})
