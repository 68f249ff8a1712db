"""The trust store is read once per process: building a client does not parse the CA bundle again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpcore2
import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient
from osvi_integrations import _transport as transport


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[None]]:
    """Counts the reads of the trust store from a cold cache; the cache is cold again afterwards."""
    counted: list[None] = []
    real = httpcore2.default_ssl_context

    def counting(**kwargs: Any) -> Any:
        counted.append(None)
        return real(**kwargs)

    monkeypatch.setattr(httpcore2, "default_ssl_context", counting)
    transport._ssl_context.cache_clear()
    yield counted
    transport._ssl_context.cache_clear()


URLS = ("https://api.osvi.example", "http://127.0.0.1:9", "https://api.osvi.example")


def test_clients_share_one_trust_store(reads: list[None]) -> None:
    for base_url in URLS:
        with OSVIClient("token-1234", base_url=base_url):
            pass
    assert len(reads) == 1


async def test_async_clients_share_it_too(reads: list[None]) -> None:
    """The async client's pool (opened by its first send, here without one) takes the same context."""
    with OSVIClient("token-1234", base_url=URLS[0]):
        pass
    loop = asyncio.get_running_loop()
    for base_url in URLS:
        async with AsyncOSVIClient("token-1234", base_url=base_url) as client:
            pool = client._transport
            assert isinstance(pool, transport.AiohttpTransport)
            await pool._session_for(loop)
    assert len(reads) == 1
