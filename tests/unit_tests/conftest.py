"""Unit tests run with the network switched off: any socket other than AF_UNIX (which asyncio's
event loops use internally) raises `pytest_socket.SocketBlockedError`. A test that needs a server
belongs in tests/integration_tests."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before fixtures are set up, so no fixture can open a connection either; pytest-socket's own
    # teardown hook lifts the block after each test.
    disable_socket(allow_unix_socket=True)
