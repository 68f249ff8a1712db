"""Shared fixtures: real sandbox servers on 127.0.0.1 and clients pointed at them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy
from osvi_integrations.sandbox import SandboxServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` (seconds of work in one test) run first, the rest in their order.

    The workers share the run by work stealing: a long test that starts last ends the run alone while
    the other workers idle (the contract fuzzing, ~17 s, did: the run's last ~4 s). The order is the
    same in every worker, as xdist requires.
    """
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


# Fast retries so fault tests stay quick; the policy itself is what is under test.
FAST_RETRIES = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture(autouse=True)
def _no_real_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real credentials from the environment."""
    for name in ("OSVI_API_TOKEN", "OSVI_BASE_URL", "OSVI_AGENT_UUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[SandboxServer]:
    """The one sandbox server of the run; `sandbox` gives each test a fresh engine on it."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def shared_sandbox(_sandbox_server: SandboxServer) -> SandboxServer:
    """The run's sandbox, not reset for the test: for suites that need a fixed URL. Do not inject faults into it."""
    return _sandbox_server


@pytest.fixture
def sandbox(_sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The run's sandbox with a fresh engine (no sessions, faults or counts): safe for faults and exact counts.
    Starting a server per test cost more than the tests themselves, so only the engine is new."""
    _sandbox_server.reset()
    yield _sandbox_server
    _sandbox_server.reset()  # leaves no fault behind for `shared_sandbox` users


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    """A server of its own (own port and engine), for tests that stop it or need a port nobody else uses."""
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
