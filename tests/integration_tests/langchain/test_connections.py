"""Connection pools: objects with the same settings share one; an async pool ends with its event loop;
close()/aclose() release what they opened. Counted on a loopback server and in the pool cache."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.runnables import ConfigurableField

from osvi_integrations.langchain import ChatOSVI, OSVIToolkit
from osvi_integrations.langchain._connection import shared_pool_counts

from .counting_server import CountingServer


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as s:
        yield s


def make(server: CountingServer, **kwargs: Any) -> ChatOSVI:
    params: dict[str, Any] = {
        "agent_uuid": "agent_a",
        "customer_id": "c",
        "api_key": "count-token-1234",
        "base_url": server.base_url,
        **kwargs,
    }
    return ChatOSVI(**params)


def test_asyncio_run_five_times_leaves_nothing_open(server: CountingServer) -> None:
    model = make(server)
    for n in range(5):
        assert asyncio.run(model.ainvoke(f"message {n}")).content == f"heard: message {n}"
        assert shared_pool_counts() == (0, 0)  # the loop's end closed its pool and dropped it
    assert server.wait_until_closed() == 0
    assert server.opened == 5  # one per loop: connections cannot cross event loops
    assert server.delivered == [f"message {n}" for n in range(5)]


def test_an_asyncio_runner_closes_its_pool_at_close(server: CountingServer) -> None:
    with asyncio.Runner() as runner:
        runner.run(make(server).ainvoke("Hello"))
        assert shared_pool_counts() == (0, 1)
        assert server.open == 1
    assert shared_pool_counts() == (0, 0)
    assert server.wait_until_closed() == 0


def test_instances_with_the_same_settings_share_one_async_pool(server: CountingServer) -> None:
    async def conversation() -> tuple[int, int]:
        models = [make(server, customer_id=f"customer-{n}") for n in range(5)]  # the customer is not a setting
        for model in models:
            await model.ainvoke("Hello")
        await make(server, timeout=30).ainvoke("Hello")  # other settings, other pool
        return shared_pool_counts()

    assert asyncio.run(conversation()) == (0, 2)
    assert server.opened == 2 and server.wait_until_closed() == 0


def test_configurable_fields_and_tools_share_the_models_pool(server: CountingServer) -> None:
    model = make(server)
    per_customer = model.configurable_fields(customer_id=ConfigurableField(id="customer"))
    for n in range(5):  # builds a new ChatOSVI per call
        per_customer.invoke("Hello", config={"configurable": {"customer": f"customer-{n}"}})
    tools = OSVIToolkit(agent_uuid="agent_a", customer_id="c", api_key="count-token-1234", base_url=server.base_url)
    send = tools.get_tools()[0]
    send.invoke({"content": "Hello from the tool"})
    gc.collect()  # the per-call models are gone; the pool is not theirs to close
    assert shared_pool_counts() == (1, 0)
    assert server.opened == 1 and len(server.delivered) == 6
    model.close()
    assert shared_pool_counts() == (0, 0)
    assert server.wait_until_closed() == 0


def test_close_releases_the_pool_and_the_next_call_opens_a_new_one(server: CountingServer) -> None:
    first, second = make(server), make(server)
    first.invoke("Hello")
    second.invoke("Hello")
    assert server.opened == 1
    second.close()  # shared: closes the pool `first` used too
    assert server.wait_until_closed() == 0
    first.invoke("Again")
    assert server.opened == 2
    first.close()
    assert shared_pool_counts() == (0, 0) and server.wait_until_closed() == 0


async def test_aclose_releases_the_loops_pool_at_once(server: CountingServer) -> None:
    model = make(server)
    await model.ainvoke("Hello")
    model.invoke("Hello")  # the sync pool of the same settings
    assert shared_pool_counts() == (1, 1)
    await model.aclose()
    assert shared_pool_counts() == (0, 0)
    assert server.wait_until_closed() == 0


def test_a_loop_closed_without_shutting_down_is_forgotten_quietly(server: CountingServer) -> None:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(make(server).ainvoke("Hello"))
    loop.close()  # no shutdown_asyncgens(): its pool can no longer be closed properly
    assert shared_pool_counts() == (0, 1)
    assert asyncio.run(make(server).ainvoke("Again")).content == "heard: Again"
    assert shared_pool_counts() == (0, 0)  # the dead loop's entry went with the next lookup
    gc.collect()  # nothing left that would be finalised into the closed loop (unraisable errors fail the run)
