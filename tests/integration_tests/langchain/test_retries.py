"""Retries a LangChain user can trust, on the sandbox with injected faults: `engine.processed` counts
what really reached the agent."""

from __future__ import annotations

import pytest

from osvi_integrations import EngineError, RetryableError
from osvi_integrations.sandbox import ORDERS_AGENT, Fault, SandboxServer

from .helpers import make_model


def lost_answers() -> Fault:
    """The engine processes the message, then the answer is lost (three times): a retry delivers it again."""
    return Fault(status=502, after_processing=True, times=3)


def unavailable() -> Fault:
    """Refused before processing (twice): nothing arrived, a retry is safe."""
    return Fault(status=503, times=2)


def test_plain_with_retry_delivers_once_after_an_ambiguous_502(sandbox: SandboxServer, customer_id: str) -> None:
    sandbox.engine.inject_fault(lost_answers())
    model = make_model(sandbox, customer_id=customer_id, max_retries=0, retry_policy=None)
    with pytest.raises(EngineError):
        model.with_retry(wait_exponential_jitter=False).invoke("Please cancel order 12345")
    assert [r.content for r in sandbox.engine.processed] == ["Please cancel order 12345"]


async def test_retrying_on_every_exception_delivers_three_times(sandbox: SandboxServer, customer_id: str) -> None:
    # What LangChain's own default would do: the danger the safe default avoids, shown on the engine.
    sandbox.engine.inject_fault(lost_answers())
    model = make_model(sandbox, customer_id=customer_id, max_retries=0, retry_policy=None)
    retrying = model.with_retry(retry_if_exception_type=(Exception,), wait_exponential_jitter=False)
    with pytest.raises(EngineError):
        await retrying.ainvoke("Please cancel order 12345")
    assert [r.content for r in sandbox.engine.processed] == ["Please cancel order 12345"] * 3


def test_retryable_errors_are_retried_and_delivered_once(sandbox: SandboxServer, customer_id: str) -> None:
    sandbox.engine.inject_fault(unavailable())
    model = make_model(sandbox, customer_id=customer_id, max_retries=0, retry_policy=None)
    retrying = model.with_retry(retry_if_exception_type=(RetryableError,), wait_exponential_jitter=False)
    assert retrying.invoke("Hello").content
    assert [r.content for r in sandbox.engine.processed] == ["Hello"]
    assert sandbox.engine.request_count == 3


def test_fallbacks_never_hand_a_possibly_delivered_message_to_another_agent(
    sandbox: SandboxServer, customer_id: str
) -> None:
    primary = make_model(sandbox, customer_id=customer_id, max_retries=0, retry_policy=None)
    chain = primary.with_fallbacks([make_model(sandbox, customer_id=customer_id, agent_uuid=ORDERS_AGENT)])
    sandbox.engine.inject_fault(Fault(status=503))
    assert chain.invoke("Hello").response_metadata["model_name"] == ORDERS_AGENT
    sandbox.engine.inject_fault(Fault(status=502, after_processing=True))
    with pytest.raises(EngineError):
        chain.invoke("Refund order 12345")
    assert [(r.agent_uuid, r.content) for r in sandbox.engine.processed] == [
        (ORDERS_AGENT, "Hello"),
        ("agent_sandbox_support", "Refund order 12345"),
    ]
