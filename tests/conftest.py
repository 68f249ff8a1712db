"""Shared fixtures: real sandbox servers on 127.0.0.1 and clients pointed at them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy
from osvi_integrations.sandbox import SandboxServer

# Fast retries so fault tests stay quick; the policy itself is what is under test.
FAST_RETRIES = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture(autouse=True)
def _no_real_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real credentials from the environment."""
    for name in ("OSVI_API_TOKEN", "OSVI_BASE_URL", "OSVI_AGENT_UUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxServer]:
    """One sandbox for the whole run: for suites that need a fixed URL. Do not inject faults into it."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox (own engine, own port) per test: safe for faults and exact counts."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def customer_id() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[OSVIClient]:
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=FAST_RETRIES) as c:
        yield c


@pytest.fixture
async def async_client(sandbox: SandboxServer) -> AsyncIterator[AsyncOSVIClient]:
    async with AsyncOSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=FAST_RETRIES) as c:
        yield c
