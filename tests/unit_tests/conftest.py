"""Unit tests run with sockets disabled: nothing here may touch the network, not even loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture is set up, so no fixture can open a connection either.
    disable_socket(allow_unix_socket=True)


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)  # asyncio's event loop needs a unix socketpair
    yield
    enable_socket()
