"""Unit tests run with sockets disabled: nothing here may touch the network, not even loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)  # asyncio's event loop needs a unix socketpair
    yield
    enable_socket()
