"""The unit-test folder really runs without network: these fail if the conftest hook stops working."""

from __future__ import annotations

import socket

import httpx
import pytest
from pytest_socket import SocketBlockedError

pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket")


def test_tcp_sockets_are_refused() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_http_clients_cannot_connect() -> None:
    with httpx.Client() as client, pytest.raises(SocketBlockedError):
        client.get("http://127.0.0.1:9/")


async def test_event_loops_still_work() -> None:
    # asyncio's self-pipe is an AF_UNIX socket pair: allowed, so async unit tests run.
    left, right = socket.socketpair()
    left.close()
    right.close()
