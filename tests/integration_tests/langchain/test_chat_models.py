"""ChatOSVI behaviour beyond the standard suites, against a fresh sandbox per test."""

from __future__ import annotations

import asyncio
import importlib
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx
import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate

from osvi_integrations import (
    AgentArchivedError,
    AgentNotFoundError,
    AuthenticationError,
    ConfigurationError,
    EngineError,
    InvalidRequestError,
    NotFoundError,
)
from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    ORDERS_AGENT,
    SUPPORT_AGENT,
    SandboxServer,
)
from tests.conftest import FAST_RETRIES

SECRET = "osvi-sandbox-key"  # the sandbox token: what must never leak


def make_model(sandbox: SandboxServer, **kwargs: Any) -> ChatOSVI:
    params: dict[str, Any] = {
        "agent_uuid": SUPPORT_AGENT,
        "api_key": sandbox.api_token,
        "base_url": sandbox.base_url,
        "retry_policy": FAST_RETRIES,
        **kwargs,
    }
    return ChatOSVI(**params)


@pytest.fixture
def model(sandbox: SandboxServer, customer_id: str) -> Iterator[ChatOSVI]:
    m = make_model(sandbox, customer_id=customer_id)
    yield m
    m.close()


def takeover(sandbox: SandboxServer, session_id: str) -> None:
    reply = sandbox.engine.support(
        sandbox.api_token, session_id, {"command": "takeover", "operator": "ana@example.com"}
    )
    assert reply.status == 200


# -- construction, metadata, secrets ------------------------------------------------------


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


class _CaptureStart(BaseCallbackHandler):
    def __init__(self) -> None:
        self.serialized: list[dict[str, Any]] = []
        self.invocation_params: list[Any] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.serialized.append(serialized)
        self.invocation_params.append(kwargs.get("invocation_params"))


def test_token_never_shown(model: ChatOSVI) -> None:
    handler = _CaptureStart()
    model.invoke("Hello", config={"callbacks": [handler]}, customer_id="other-customer")
    assert handler.serialized and handler.invocation_params
    assert handler.invocation_params[0]["customer_id"] == "other-customer"  # per-call args are traced
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
    assert restored.api_key is not None and restored.api_key.get_secret_value() == sandbox.api_token
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


def test_ls_params_and_per_call_agent(model: ChatOSVI, sandbox: SandboxServer, customer_id: str) -> None:
    assert model._get_ls_params() == {"ls_provider": "osvi", "ls_model_name": SUPPORT_AGENT, "ls_model_type": "chat"}
    reply = model.invoke("Hello", model=ORDERS_AGENT)
    assert reply.response_metadata["model_name"] == ORDERS_AGENT
    assert reply.content == "Welcome to order support! What's your order number?"
    assert sandbox.engine.processed[-1].agent_uuid == ORDERS_AGENT
    assert model.agent_uuid == SUPPORT_AGENT


def test_tools_and_structured_output_are_refused(model: ChatOSVI) -> None:
    with pytest.raises(NotImplementedError, match="OSVISendMessageTool"):
        model.bind_tools([])
    with pytest.raises(NotImplementedError, match="OSVISendMessageTool"):
        model.with_structured_output({"type": "object"})


def test_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        n for n in sys.modules if n == "osvi_integrations.langchain" or n.startswith("osvi_integrations.lang")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # what a missing package looks like to import
    with pytest.raises(ImportError, match=r'pip install "osvi-integrations\[langchain\]"'):
        importlib.import_module("osvi_integrations.langchain")


# -- what is sent -------------------------------------------------------------------------


def test_only_the_trailing_human_turn_is_sent(model: ChatOSVI, sandbox: SandboxServer) -> None:
    first = model.invoke("Hello")
    history: list[BaseMessage] = [
        HumanMessage("Hello"),
        first,
        HumanMessage("My order is late."),
        HumanMessage([{"type": "text", "text": "It was due "}, "on Monday."]),
    ]
    model.invoke(history)
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "My order is late.\n\nIt was due on Monday."]


def test_prompt_template_pipeline(model: ChatOSVI, sandbox: SandboxServer) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "Order {number}: where is it?")]) | model
    reply = chain.invoke({"number": "12345"})
    assert isinstance(reply, AIMessage) and reply.content
    assert sandbox.engine.processed[-1].content == "Order 12345: where is it?"


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [SystemMessage("be nice")],
        [HumanMessage("hi"), AIMessage("hello")],
        [HumanMessage("hi"), AIMessage("hello", tool_calls=[]), ToolMessage("42", tool_call_id="1")],
        [HumanMessage([{"type": "image", "url": "https://example.com/cat.png"}])],
    ],
    ids=["empty", "system-only", "ends-with-ai", "tool-result", "image"],
)
def test_no_customer_text_is_a_value_error(model: ChatOSVI, sandbox: SandboxServer, messages: list[Any]) -> None:
    with pytest.raises(ValueError, match=r"ChatOSVI|text only"):
        model.invoke(messages)
    assert sandbox.engine.processed == []


def test_blank_customer_text_is_rejected_before_sending(model: ChatOSVI, sandbox: SandboxServer) -> None:
    with pytest.raises(InvalidRequestError):
        model.invoke("   ")
    assert sandbox.engine.processed == []


def test_customer_id_is_required_and_call_args_are_checked(sandbox: SandboxServer) -> None:
    m = make_model(sandbox)
    with pytest.raises(ValueError, match="customer_id"):
        m.invoke("Hello")
    with pytest.raises(TypeError, match="temperature"):
        m.invoke("Hello", customer_id="c", temperature=0.2)
    assert sandbox.engine.processed == []


def test_system_messages_ignored_with_one_warning(model: ChatOSVI, sandbox: SandboxServer) -> None:
    with pytest.warns(UserWarning, match="ignores system messages"):
        model.invoke([SystemMessage("You are a pirate."), HumanMessage("Hello")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.invoke([SystemMessage("You are a pirate."), HumanMessage("Thanks")])
    assert [r.content for r in sandbox.engine.processed] == ["Hello", "Thanks"]


# -- sessions ------------------------------------------------------------------------------


def test_session_resolution_order(sandbox: SandboxServer, customer_id: str) -> None:
    """call argument > latest AIMessage's session_id > constructor field > customer's active session.

    A bogus id at one level and a good one at the next show which level was used."""
    bogus = "00000000-0000-0000-0000-000000000000"
    plain = make_model(sandbox, customer_id=customer_id)
    first = plain.invoke("Hello")  # engine-resolved session
    good = first.response_metadata["session_id"]
    with_bogus_field = make_model(sandbox, customer_id=customer_id, session_id=bogus)
    from_history = [HumanMessage("Hello"), first, HumanMessage("again")]
    bogus_history = [HumanMessage("Hello"), AIMessage("hi", response_metadata={"session_id": bogus}), HumanMessage("x")]

    assert with_bogus_field.invoke(bogus_history, session_id=good).response_metadata["session_id"] == good
    with pytest.raises(NotFoundError):
        plain.invoke(from_history, session_id=bogus)  # the call argument beats history
    assert with_bogus_field.invoke(from_history).response_metadata["session_id"] == good  # history beats field
    with pytest.raises(NotFoundError):
        with_bogus_field.invoke("again")  # then the field
    # An AIMessage without a session_id (e.g. written by hand) does not hide an earlier one.
    mixed = [*from_history, AIMessage("typed by an operator"), HumanMessage("ok")]
    assert with_bogus_field.invoke(mixed).response_metadata["session_id"] == good
    assert with_bogus_field.session_id == bogus and plain.session_id is None  # calls never change the model


def test_two_customers_share_one_model_concurrently(sandbox: SandboxServer) -> None:
    m = make_model(sandbox)  # no customer on the instance: every call names its own
    customers = [f"+1555000{i:04d}" for i in range(6)]
    jobs = [(c, f"message {n} from {c}") for n in range(4) for c in customers]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda job: m.invoke(job[1], customer_id=job[0]), jobs))
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


# -- takeover and escalation ---------------------------------------------------------------


def test_escalation_is_reported(model: ChatOSVI) -> None:
    reply = model.invoke("Can I talk to a real person?")
    assert reply.response_metadata["help_requested"] is True
    assert reply.response_metadata["mode"] == "ai"
    assert reply.content  # the agent still answers while it waits for a human


def test_takeover_gives_empty_content_not_an_error(model: ChatOSVI, sandbox: SandboxServer) -> None:
    first = model.invoke("Hello")
    takeover(sandbox, first.response_metadata["session_id"])
    reply = model.invoke("Are you still there?")
    assert reply.content == ""
    assert reply.response_metadata["mode"] == "support"
    chunks = list(model.stream("Hello?"))
    assert len(chunks) == 1 and chunks[0].content == "" and chunks[0].response_metadata["mode"] == "support"
    assert len(sandbox.engine.processed) == 3  # the customer's words still reached the session


async def test_async_takeover_and_stream(model: ChatOSVI, sandbox: SandboxServer) -> None:
    first = await model.ainvoke("Hello")
    takeover(sandbox, first.response_metadata["session_id"])
    reply = await model.ainvoke("Anyone?")
    assert (reply.content, reply.response_metadata["mode"]) == ("", "support")
    chunks = [c async for c in model.astream("Hello?")]
    assert len(chunks) == 1 and chunks[0].response_metadata["mode"] == "support"
    assert chunks[0].chunk_position == "last"


# -- streaming, caching, clients -----------------------------------------------------------


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


def test_client_is_built_once_and_injected_client_is_used(sandbox: SandboxServer, customer_id: str) -> None:
    requests: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [requests.append]}) as http:
        m = make_model(sandbox, customer_id=customer_id, http_client=http)
        assert m._get_client() is m._get_client()
        m.invoke("Hello")
        m.invoke("Thanks")
        m.close()  # does not close a client it was given
        assert not http.is_closed
        m.invoke("Bye")
    assert len(requests) == 3
    assert "http_client" not in dumpd(m)["kwargs"]


def test_async_model_survives_several_event_loops(model: ChatOSVI) -> None:
    # Each asyncio.run has its own loop; a pooled connection from a closed loop must not be reused.
    for text in ("Hello", "Thanks"):
        assert asyncio.run(model.ainvoke(text)).content


# -- errors are the core's typed exceptions -------------------------------------------------


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
