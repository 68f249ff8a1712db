"""ChatOSVI against the sandbox over loopback: replies and metadata, sessions started with context,
threads that survive an operator's close, takeover, supervisor and swarm handoffs, concurrency.
The operator always acts through the public client API; `engine.processed` only checks results."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate

from osvi_integrations import (
    AgentArchivedError,
    AgentNotFoundError,
    AuthenticationError,
    ConfigurationError,
    EngineError,
    InvalidRequestError,
    OSVIClient,
)
from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import ARCHIVED_AGENT, FAULTY_AGENT, ORDERS_AGENT, SUPPORT_AGENT, SandboxServer

from ... import loopback
from .helpers import CaptureStart, make_model

SECRET = "osvi-sandbox-key"  # the sandbox token: what must never leak


@pytest.fixture
def model(sandbox: SandboxServer, customer_id: str) -> Iterator[ChatOSVI]:
    m = make_model(sandbox, customer_id=customer_id)
    yield m
    m.close()


@pytest.fixture
def operator(sandbox: SandboxServer) -> Iterator[OSVIClient]:
    """What a human operator's console uses: the public client."""
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        yield client


# -- replies, metadata, secrets -------------------------------------------------------------------


def test_reply_and_metadata(model: ChatOSVI, sandbox: SandboxServer, customer_id: str) -> None:
    reply = model.invoke("Hello")
    session = sandbox.engine.active_session(SUPPORT_AGENT, customer_id)
    assert session is not None
    assert reply.content == "Hello! I'm the OSVI sandbox assistant. How can I help you today?"
    assert reply.response_metadata == {
        "session_id": session.id,
        "state": "default",
        "mode": "ai",
        "help_requested": False,
        "model_name": SUPPORT_AGENT,
        "model_provider": "osvi",
    }
    assert reply.usage_metadata is None


def test_aliases_model_and_api_token() -> None:
    params: dict[str, Any] = {"model": SUPPORT_AGENT, "api_token": "tok-123456789012", "customer_id": "c"}
    m = ChatOSVI(**params)
    assert m.agent_uuid == SUPPORT_AGENT
    assert m.api_key is not None and m.api_key.get_secret_value() == "tok-123456789012"


def test_neither_token_nor_customer_is_traced(model: ChatOSVI, customer_id: str) -> None:
    handler = CaptureStart()
    model.invoke("Hello", config={"callbacks": [handler]}, customer_id="+15550177")
    assert handler.invocation_params[0]["agent_uuid"] == SUPPORT_AGENT
    for text in (
        repr(model),
        str(model),
        dumps(model),
        model.model_dump_json(),
        repr(model.model_dump()),
        repr(handler.serialized),
        repr(handler.invocation_params),
        repr(model._get_ls_params()),
        repr(model._get_client()),
    ):
        assert SECRET not in text
    assert customer_id not in repr(handler.serialized) + repr(handler.invocation_params)
    assert "+15550177" not in repr(handler.invocation_params)
    assert dumpd(model)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["OSVI_API_TOKEN"]}


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_round_trip_without_the_token(model: ChatOSVI, sandbox: SandboxServer) -> None:
    restored = load(
        dumpd(model),
        allowed_objects=[ChatOSVI],
        valid_namespaces=["osvi_integrations"],
        secrets_map={"OSVI_API_TOKEN": sandbox.api_token},
    )
    assert isinstance(restored, ChatOSVI)
    assert restored.asdict() == model.asdict()
    assert restored.invoke("Hello").content  # it works with the secret supplied at load time


def test_token_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv("OSVI_API_TOKEN", sandbox.api_token)
    monkeypatch.setenv("OSVI_BASE_URL", sandbox.base_url)
    m = ChatOSVI(agent_uuid=SUPPORT_AGENT, customer_id="env-customer")
    assert m.invoke("Hello").content


def test_missing_token_is_a_configuration_error(sandbox: SandboxServer) -> None:
    m = ChatOSVI(agent_uuid=SUPPORT_AGENT, customer_id="c", base_url=sandbox.base_url)
    with pytest.raises(ConfigurationError, match="OSVI_API_TOKEN"):
        m.invoke("Hello")
    assert sandbox.engine.processed == []


def test_per_call_agent(model: ChatOSVI, sandbox: SandboxServer) -> None:
    reply = model.invoke("Hello", model=ORDERS_AGENT)
    assert reply.response_metadata["model_name"] == ORDERS_AGENT
    assert reply.content == "Welcome to order support! What's your order number?"
    assert sandbox.engine.processed[-1].agent_uuid == ORDERS_AGENT
    assert model.agent_uuid == SUPPORT_AGENT


def test_tools_and_structured_output_are_refused(model: ChatOSVI) -> None:
    with pytest.raises(NotImplementedError, match="OSVIToolkit"):
        model.bind_tools([])
    with pytest.raises(NotImplementedError, match="OSVIToolkit"):
        model.with_structured_output({"type": "object"})


def test_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.startswith("osvi_integrations.langchain")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # what a missing package looks like to import
    with pytest.raises(ImportError, match=r'pip install "osvi-integrations\[langchain\]"'):
        importlib.import_module("osvi_integrations.langchain")


def test_prompt_template_pipeline(model: ChatOSVI, sandbox: SandboxServer) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "Order {number}: where is it?")]) | model
    reply = chain.invoke({"number": "12345"})
    assert isinstance(reply, AIMessage) and reply.content
    assert sandbox.engine.processed[-1].content == "Order 12345: where is it?"


def test_blank_customer_text_is_rejected_before_sending(model: ChatOSVI, sandbox: SandboxServer) -> None:
    with pytest.raises(InvalidRequestError):
        model.invoke("   ")
    assert sandbox.engine.processed == []


# -- sessions: started with context, continued, survived ------------------------------------------


def test_a_conversation_starts_with_context(sandbox: SandboxServer, customer_id: str) -> None:
    model = make_model(
        sandbox,
        customer_id=customer_id,
        input_fields={"first_name": "Alex"},
        context=["Called yesterday: late parcel."],
    )
    hello = model.invoke("Hello")
    assert hello.content == "Hello Alex! I'm the OSVI sandbox assistant. How can I help you today?"
    known = model.invoke([HumanMessage("Hello"), hello, HumanMessage("What do you know about me?")])
    assert known.content == "Here is what I know: Called yesterday: late parcel.."
    assert known.response_metadata["session_id"] == hello.response_metadata["session_id"]
    assert sandbox.engine.requests_by_route["create_session"] == 1  # only the first message started one


def test_the_thread_survives_an_operator_closing_the_session(
    sandbox: SandboxServer, customer_id: str, operator: OSVIClient
) -> None:
    model = make_model(sandbox, customer_id=customer_id)
    history: list[BaseMessage] = [HumanMessage("Hello")]
    history.append(model.invoke(history))
    first_session = history[-1].response_metadata["session_id"]
    operator.support.close(first_session)
    for text in ("Are you there?", "Thanks"):
        history.append(HumanMessage(text))
        history.append(model.invoke(history))
    meta = [m.response_metadata for m in history if isinstance(m, AIMessage)]
    assert meta[1]["continued_from_session_id"] == first_session
    assert meta[1]["session_id"] == meta[2]["session_id"] != first_session
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "Are you there?", "Thanks"]  # each once


async def test_an_async_thread_survives_a_close_and_restarts_with_context(
    sandbox: SandboxServer, customer_id: str, operator: OSVIClient
) -> None:
    model = make_model(sandbox, customer_id=customer_id, context=["VIP customer."])
    first = await model.ainvoke("Hello")
    operator.support.close(first.response_metadata["session_id"])
    again = await model.ainvoke([HumanMessage("Hello"), first, HumanMessage("What do you know?")])
    assert again.content == "Here is what I know: VIP customer.."  # the new session got the context too
    assert again.response_metadata["continued_from_session_id"] == first.response_metadata["session_id"]
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "What do you know?"]


def test_sessions_come_only_from_the_agents_own_replies(sandbox: SandboxServer, customer_id: str) -> None:
    """A fallback or `model=` agent reading another agent's history keeps to its own session."""
    model = make_model(sandbox, customer_id=customer_id)
    support = model.invoke("Hello")
    orders = model.invoke([HumanMessage("Hello"), support, HumanMessage("Order 12345")], model=ORDERS_AGENT)
    assert "continued_from_session_id" not in orders.response_metadata  # it never tried support's session
    assert orders.response_metadata["session_id"] != support.response_metadata["session_id"]
    back = model.invoke([HumanMessage("Hello"), support, HumanMessage("Order 12345"), orders, HumanMessage("Thanks")])
    assert back.response_metadata["session_id"] == support.response_metadata["session_id"]


def test_two_customers_share_one_model_concurrently(sandbox: SandboxServer) -> None:
    m = make_model(sandbox)  # no customer on the instance: every call names its own
    customers = [f"+1555000{i:04d}" for i in range(6)]
    jobs = [(c, f"message {n} from {c}") for n in range(4) for c in customers]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(lambda job: m.invoke(job[1], config={"configurable": {"osvi_customer_id": job[0]}}), jobs)
        )
    sessions = {c: sandbox.engine.active_session(SUPPORT_AGENT, c) for c in customers}
    assert len({s.id for s in sessions.values() if s is not None}) == len(customers)
    for (customer, content), reply in zip(jobs, replies, strict=True):
        session = sessions[customer]
        assert session is not None and reply.response_metadata["session_id"] == session.id
        assert content in str(reply.content)  # the sandbox quotes the message it answered
    assert sorted((r.customer_id, r.content) for r in sandbox.engine.processed) == sorted(jobs)
    assert m.customer_id is None and m.session_id is None


async def test_two_customers_share_one_model_async(sandbox: SandboxServer) -> None:
    m = make_model(sandbox)
    jobs = [(c, f"note {n} for {c}") for n in range(5) for c in ("alice", "bob")]
    replies = await asyncio.gather(*(m.ainvoke(text, customer_id=c) for c, text in jobs))
    for (customer, text), reply in zip(jobs, replies, strict=True):
        session = sandbox.engine.active_session(SUPPORT_AGENT, customer)
        assert session is not None and reply.response_metadata["session_id"] == session.id
        assert text in str(reply.content)
    assert sorted((r.customer_id, r.content) for r in sandbox.engine.processed) == sorted(jobs)
    await m.aclose()


# -- takeover and escalation ----------------------------------------------------------------------


def test_escalation_is_reported(model: ChatOSVI) -> None:
    reply = model.invoke("Can I talk to a real person?")
    assert reply.response_metadata["help_requested"] is True
    assert reply.response_metadata["mode"] == "ai"
    assert reply.content  # the agent still answers while it waits for a human


def test_takeover_gives_empty_content_not_an_error(
    model: ChatOSVI, sandbox: SandboxServer, operator: OSVIClient
) -> None:
    first = model.invoke("Hello")
    operator.support.takeover(first.response_metadata["session_id"])
    reply = model.invoke("Are you still there?")
    assert reply.content == ""
    assert reply.response_metadata["mode"] == "support"
    chunks = list(model.stream("Hello?"))
    assert len(chunks) == 1 and chunks[0].content == "" and chunks[0].response_metadata["mode"] == "support"
    assert len(sandbox.engine.processed) == 3  # the customer's words still reached the session


async def test_async_takeover_and_stream(model: ChatOSVI, operator: OSVIClient) -> None:
    first = await model.ainvoke("Hello")
    operator.support.takeover(first.response_metadata["session_id"])
    reply = await model.ainvoke("Anyone?")
    assert (reply.content, reply.response_metadata["mode"]) == ("", "support")
    chunks = [c async for c in model.astream("Hello?")]
    assert len(chunks) == 1 and chunks[0].response_metadata["mode"] == "support"
    assert chunks[0].chunk_position == "last"


# -- streaming, caching, clients ------------------------------------------------------------------


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        self.tokens.append(str(token))


def test_stream_is_one_final_chunk(model: ChatOSVI, sandbox: SandboxServer) -> None:
    handler = _Tokens()
    chunks = list(model.stream("Hello", config={"callbacks": [handler]}))
    assert len(chunks) == 1
    assert chunks[0].chunk_position == "last"
    assert chunks[0].response_metadata["model_provider"] == "osvi"
    assert handler.tokens == [chunks[0].content]
    assert len(sandbox.engine.processed) == 1


def test_never_answered_from_a_global_cache(model: ChatOSVI, sandbox: SandboxServer) -> None:
    previous = get_llm_cache()
    set_llm_cache(InMemoryCache())
    try:
        model.invoke("Hello")
        model.invoke("Hello")
    finally:
        set_llm_cache(previous)
    assert len(sandbox.engine.processed) == 2


def test_an_injected_client_is_used_and_never_closed(sandbox: SandboxServer, customer_id: str) -> None:
    requests: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [requests.append]}, verify=loopback.TLS) as http:
        m = make_model(sandbox, customer_id=customer_id, http_client=http)
        assert m._get_client() is m._get_client()
        m.invoke("Hello")
        m.invoke("Thanks")
        m.close()  # does not close a client it was given
        assert not http.is_closed
        m.invoke("Bye")
    assert len(requests) == 3
    assert "http_client" not in dumpd(m)["kwargs"]


# -- errors are the core's typed exceptions -------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "error"),
    [
        ("agent_does_not_exist", AgentNotFoundError),
        (ARCHIVED_AGENT, AgentArchivedError),
        (FAULTY_AGENT, EngineError),
    ],
)
async def test_errors_propagate_typed(sandbox: SandboxServer, agent: str, error: type[Exception]) -> None:
    m = make_model(sandbox, agent_uuid=agent, customer_id="c")
    with pytest.raises(error):
        m.invoke("Hello")
    with pytest.raises(error):
        await m.ainvoke("Hello")
    with pytest.raises(error):
        list(m.stream("Hello"))


def test_bad_token_is_an_authentication_error(sandbox: SandboxServer) -> None:
    m = make_model(sandbox, api_key="wrong-token-1234", customer_id="c")
    with pytest.raises(AuthenticationError) as info:
        m.invoke("Hello")
    assert "wrong-token-1234" not in repr(info.value) + str(info.value)
