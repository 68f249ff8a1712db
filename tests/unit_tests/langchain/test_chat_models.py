"""ChatOSVI rules, against an in-process fake OSVI (no sockets): what is sent and where, run config,
tracing, session choice and survival, starting sessions with context, retries and fallbacks."""

from __future__ import annotations

import warnings
from typing import Any
from uuid import UUID

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, load
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import ConfigurableField, RunnableConfig
from pydantic import ValidationError

from osvi_integrations import (
    EngineError,
    NotDeliveredError,
    RetryableError,
    ServiceUnavailableError,
    SessionClosedError,
)
from osvi_integrations.langchain import ChatOSVI

from .fake_osvi import ENGINE_FAILED, UNAVAILABLE, Failure, FakeOSVI


@pytest.fixture
def fake() -> FakeOSVI:
    return FakeOSVI()


def handoff(text: str, agent_name: str = "osvi_support") -> list[BaseMessage]:
    """What `create_handoff_tool` (langgraph-supervisor / -swarm) leaves before the OSVI agent runs."""
    call = {"name": f"transfer_to_{agent_name}", "args": {}, "id": "call-handoff", "type": "tool_call"}
    return [
        HumanMessage(text),
        AIMessage("", name="supervisor", tool_calls=[call]),
        ToolMessage(f"Successfully transferred to {agent_name}", tool_call_id="call-handoff"),
    ]


class CaptureStart(BaseCallbackHandler):
    def __init__(self) -> None:
        self.serialized: list[dict[str, Any]] = []
        self.invocation_params: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.serialized.append(serialized)
        self.invocation_params.append(kwargs["invocation_params"])
        self.metadata.append(kwargs.get("metadata") or {})


# -- construction ------------------------------------------------------------------------------


def test_a_misspelt_argument_is_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError, match=r"does not take 'sesion_id' \(did you mean 'session_id'\?\)"):
        ChatOSVI(model="agent_a", sesion_id="s-1")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="does not take 'agent_id'"):
        ChatOSVI(agent_id="agent_a")  # type: ignore[call-arg]


def test_standard_generation_parameters_are_accepted_and_ignored() -> None:
    params: dict[str, Any] = {"model": "agent_a", "temperature": 0.2, "max_tokens": 5, "stop": ["x"], "streaming": True}
    model = ChatOSVI(**params)
    assert model.agent_uuid == "agent_a" and "temperature" not in model.model_dump()


# -- what is sent ---------------------------------------------------------------------------------


def test_only_the_newest_customer_turn_is_sent(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    first = model.invoke("Hello")
    model.invoke(
        [HumanMessage("Hello"), first, HumanMessage("Late order."), HumanMessage([{"type": "text", "text": "A"}])]
    )
    assert [d.content for d in fake.delivered] == ["Hello", "Late order.\n\nA"]


@pytest.mark.parametrize(
    "messages",
    [
        handoff("Where is order 12345?"),
        # swarm: the customer spoke after another agent's reply, then that agent handed over
        [
            HumanMessage("Hi"),
            AIMessage("Hello from the front desk.", name="front"),
            *handoff("Where is order 12345?", "osvi"),
        ],
        # a system message and a tool-free history before it change nothing
        [SystemMessage("Route carefully."), *handoff("Where is order 12345?")],
    ],
    ids=["supervisor", "swarm", "with-system"],
)
def test_a_handoff_sends_the_customer_words_before_it(fake: FakeOSVI, messages: list[BaseMessage]) -> None:
    model = fake.model(customer_id="c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reply = model.invoke(messages)
    assert [d.content for d in fake.delivered] == ["Where is order 12345?"]
    assert reply.content == "agent_a heard: Where is order 12345?"


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [SystemMessage("be nice")],
        [HumanMessage("hi"), AIMessage("hello")],
        # a tool result after a reply is not a handoff: there is nothing new from the customer
        [HumanMessage("hi"), AIMessage("hello"), ToolMessage("42", tool_call_id="1")],
        # the OSVI agent already answered this handoff: a second transfer has nothing new to send
        [*handoff("hi"), AIMessage("answered", name="osvi_support"), *handoff("hi")[1:]],
        [HumanMessage([{"type": "image", "url": "https://example.com/cat.png"}])],
    ],
    ids=["empty", "system-only", "ends-with-reply", "tool-after-reply", "answered-handoff", "image"],
)
def test_no_new_customer_words_is_a_value_error(fake: FakeOSVI, messages: list[BaseMessage]) -> None:
    with pytest.raises(ValueError, match=r"ChatOSVI|text only"):
        fake.model(customer_id="c").invoke(messages)
    assert fake.requests == []


def test_system_messages_are_ignored_with_one_warning(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    with pytest.warns(UserWarning, match="ignores system messages"):
        model.invoke([SystemMessage("You are a pirate."), HumanMessage("Hello")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.invoke([SystemMessage("You are a pirate."), HumanMessage("Thanks")])
    assert [d.content for d in fake.delivered] == ["Hello", "Thanks"]


def test_call_arguments_are_checked(fake: FakeOSVI) -> None:
    model = fake.model()
    with pytest.raises(ValueError, match="osvi_customer_id"):
        model.invoke("Hello")
    with pytest.raises(TypeError, match="temperature"):
        model.invoke("Hello", customer_id="c", temperature=0.2)
    assert fake.requests == []


# -- the run config -------------------------------------------------------------------------------


def test_customer_agent_and_session_come_from_the_run_config(fake: FakeOSVI) -> None:
    model = fake.model()
    config: RunnableConfig = {"configurable": {"osvi_customer_id": "alice", "osvi_agent_uuid": "agent_b"}}
    reply = model.invoke("Hello", config=config)
    assert (fake.delivered[-1].customer_id, fake.delivered[-1].agent_uuid) == ("alice", "agent_b")
    assert reply.response_metadata["model_name"] == "agent_b"
    pinned: RunnableConfig = {
        "configurable": {"osvi_customer_id": "alice", "osvi_session_id": reply.response_metadata["session_id"]}
    }
    fake.open_session("agent_b", "alice")  # a newer active session: the pinned one must still be used
    model.invoke("Again", config={**pinned, "configurable": {**pinned["configurable"], "osvi_agent_uuid": "agent_b"}})
    assert fake.delivered[-1].session_id == reply.response_metadata["session_id"]


def test_call_arguments_win_over_the_run_config(fake: FakeOSVI) -> None:
    model = fake.model()
    config: RunnableConfig = {"configurable": {"osvi_customer_id": "alice", "osvi_agent_uuid": "agent_b"}}
    model.invoke("Hello", config=config, customer_id="bob", model="agent_c")
    assert (fake.delivered[-1].customer_id, fake.delivered[-1].agent_uuid) == ("bob", "agent_c")


def test_batch_over_customers_needs_no_configurable_fields(fake: FakeOSVI) -> None:
    model = fake.model()
    customers = ["alice", "bob", "carol"]
    configs: list[RunnableConfig] = [{"configurable": {"osvi_customer_id": c}} for c in customers]
    replies = model.batch([f"Hi from {c}" for c in customers], config=configs)
    assert sorted((d.customer_id, d.content) for d in fake.delivered) == [(c, f"Hi from {c}") for c in customers]
    assert all(r.content for r in replies)


async def test_abatch_over_customers(fake: FakeOSVI) -> None:
    model = fake.model()
    configs: list[RunnableConfig] = [{"configurable": {"osvi_customer_id": c}} for c in ("alice", "bob")]
    await model.abatch(["one", "two"], config=configs)
    assert sorted((d.customer_id, d.content) for d in fake.delivered) == [("alice", "one"), ("bob", "two")]


def test_stream_reads_the_run_config(fake: FakeOSVI) -> None:
    chunks = list(fake.model().stream("Hello", config={"configurable": {"osvi_customer_id": "dan"}}))
    assert len(chunks) == 1 and chunks[0].chunk_position == "last"
    assert fake.delivered[-1].customer_id == "dan"


# -- tracing --------------------------------------------------------------------------------------


def test_traces_name_the_agent_called_and_not_the_customer(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="+15550100", input_fields={"first_name": "Alex"}, context=["VIP"])
    handler = CaptureStart()
    model.invoke("Hello", config={"callbacks": [handler]}, model="agent_b")
    model.invoke("Hello", config={"callbacks": [handler], "configurable": {"osvi_customer_id": "+15550199"}})
    first, second = handler.invocation_params
    assert first["agent_uuid"] == "agent_b" and "model" not in first
    assert second["agent_uuid"] == "agent_a"
    traced = repr(handler.invocation_params) + repr(handler.serialized) + repr(handler.metadata)
    for private in ("+15550100", "+15550199", "Alex", "VIP"):
        assert private not in traced
    assert model._get_ls_params(model="agent_b")["ls_model_name"] == "agent_b"
    # ...while the model itself keeps them: a round trip loses nothing.
    assert dumpd(model)["kwargs"]["customer_id"] == "+15550100"


def test_trace_customer_id_puts_the_customer_in_traces(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="+15550100", trace_customer_id=True)
    handler = CaptureStart()
    model.invoke("Hello", config={"callbacks": [handler]}, customer_id="+15550123")
    assert handler.invocation_params[0]["customer_id"] == "+15550123"
    assert handler.serialized[0]["kwargs"]["customer_id"] == "+15550100"


def test_a_cache_never_serves_one_customer_another_customers_answer(fake: FakeOSVI) -> None:
    cache = InMemoryCache()
    for customer in ("alice", "bob"):
        model = fake.model(cache=cache, customer_id=customer)  # the customer is a field, kept out of traces
        assert customer not in repr(model._serialized)
        model.invoke("Hello")
    fake.model(cache=cache).invoke("Hello", customer_id="carol")
    fake.model(cache=cache, customer_id="alice").invoke("Hello")  # the same words again: served from the cache
    assert [d.customer_id for d in fake.delivered] == ["alice", "bob", "carol"]


def test_serialization_round_trip_without_the_token(fake: FakeOSVI) -> None:
    model = ChatOSVI(model="agent_a", customer_id="c", api_key="fake-token-123456", context=["VIP"])
    restored = load(
        dumpd(model),
        allowed_objects=[ChatOSVI],
        valid_namespaces=["osvi_integrations"],
        secrets_map={"OSVI_API_TOKEN": "fake-token-123456"},
    )
    assert isinstance(restored, ChatOSVI)
    assert (restored.customer_id, restored.context, restored.agent_uuid) == ("c", ["VIP"], "agent_a")
    assert restored.api_key is not None and restored.api_key.get_secret_value() == "fake-token-123456"
    assert "fake-token-123456" not in repr(dumpd(model))


# -- which session ---------------------------------------------------------------------------------


def test_history_sessions_count_only_for_the_agent_being_called(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    mine = model.invoke("Hello")
    fake.open_session("agent_a", "c")  # had the history been ignored, this newer one would be used
    foreign = [
        AIMessage("from agent b", response_metadata={"session_id": "s-of-b", "model_name": "agent_b"}),
        AIMessage(
            "from gpt",
            response_metadata={"session_id": "s-of-gpt", "model_name": "agent_a", "model_provider": "openai"},
        ),
    ]
    model.invoke([HumanMessage("Hello"), mine, *foreign, HumanMessage("Again")])
    assert fake.delivered[-1].session_id == mine.response_metadata["session_id"]
    # A fallback agent reading agent_a's history starts from its own session, not agent_a's.
    model.invoke([HumanMessage("Hello"), mine, HumanMessage("Again")], model="agent_b")
    assert fake.delivered[-1].agent_uuid == "agent_b"
    assert fake.delivered[-1].session_id != mine.response_metadata["session_id"]
    assert [r for r in fake.requests if r[2] and r[2].get("session_id") == "s-of-b"] == []


def test_session_order_call_then_history_then_field(fake: FakeOSVI) -> None:
    a = fake.open_session("agent_a", "c")
    b = fake.open_session("agent_a", "c")
    field_session = fake.open_session("agent_a", "c")
    model = fake.model(customer_id="c", session_id=field_session.id)
    history = [
        HumanMessage("x"),
        AIMessage("y", response_metadata={"session_id": b.id, "model_name": "agent_a"}),
        HumanMessage("z"),
    ]
    model.invoke(history, session_id=a.id)
    model.invoke(history)
    model.invoke("z")
    assert [d.session_id for d in fake.delivered] == [a.id, b.id, field_session.id]
    assert model.session_id == field_session.id  # calls never change the model


def test_a_closed_session_continues_the_thread_in_a_new_one(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    first = model.invoke("Hello")
    fake.sessions[first.response_metadata["session_id"]].status = "closed"  # an operator closed it
    second = model.invoke([HumanMessage("Hello"), first, HumanMessage("Still there?")])
    assert second.response_metadata["continued_from_session_id"] == first.response_metadata["session_id"]
    assert second.response_metadata["session_id"] != first.response_metadata["session_id"]
    third = model.invoke([HumanMessage("Hello"), first, HumanMessage("Still there?"), second, HumanMessage("Ok")])
    assert "continued_from_session_id" not in third.response_metadata  # the new session is in the history now
    assert [d.content for d in fake.delivered] == ["Hello", "Still there?", "Ok"]  # each delivered once
    assert [d.session_id for d in fake.delivered][1:] == [second.response_metadata["session_id"]] * 2


async def test_an_unknown_session_continues_the_thread_async(fake: FakeOSVI) -> None:
    reply = await fake.model(customer_id="c").ainvoke("Hello", session_id="00000000-0000-0000-0000-000000000000")
    assert reply.response_metadata["continued_from_session_id"] == "00000000-0000-0000-0000-000000000000"
    assert [d.content for d in fake.delivered] == ["Hello"]


def test_the_new_session_is_tried_once(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    fake.failures.append(Failure(422, {"success": False, "error": "session_closed"}))
    fake.failures.append(Failure(422, {"success": False, "error": "session_closed"}))
    with pytest.raises(SessionClosedError):
        model.invoke("Hello", session_id="00000000-0000-0000-0000-000000000000")
    assert len(fake.requests) == 2 and fake.delivered == []


def test_without_a_pinned_session_a_session_error_is_raised(fake: FakeOSVI) -> None:
    fake.failures.append(Failure(422, {"success": False, "error": "session_closed"}))
    with pytest.raises(SessionClosedError):
        fake.model(customer_id="c").invoke("Hello")
    assert len(fake.requests) == 1


# -- starting a session with context ---------------------------------------------------------------


def test_the_first_message_starts_a_session_with_context(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c", input_fields={"first_name": "Alex"}, context=["Called about a late parcel."])
    old = fake.open_session("agent_a", "c")
    first = model.invoke("Hello")
    created = fake.sessions[first.response_metadata["session_id"]]
    assert (created.input_fields, created.context) == ({"first_name": "Alex"}, ["Called about a late parcel."])
    assert old.status == "closed"  # create_session closes the customer's previous session
    model.invoke([HumanMessage("Hello"), first, HumanMessage("Thanks")])  # the history names the session
    assert [(m, p) for m, p, _ in fake.requests] == [
        ("POST", "/v1/chat/session"),
        ("POST", "/v1/chat/inbound"),
        ("POST", "/v1/chat/inbound"),
    ]
    assert fake.delivered[0].session_id == fake.delivered[1].session_id == created.id


async def test_context_per_call_and_after_a_closed_session(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    first = await model.ainvoke("Hello", context=["Per-call note."])
    assert fake.sessions[first.response_metadata["session_id"]].context == ["Per-call note."]
    fake.sessions[first.response_metadata["session_id"]].status = "closed"
    second = await model.ainvoke([HumanMessage("Hello"), first, HumanMessage("Back")], context=["Per-call note."])
    replacement = fake.sessions[second.response_metadata["session_id"]]
    assert replacement.context == ["Per-call note."] and replacement.id != first.response_metadata["session_id"]
    assert [d.content for d in fake.delivered] == ["Hello", "Back"]


def test_a_pinned_session_is_not_replaced_by_create(fake: FakeOSVI) -> None:
    pinned = fake.open_session("agent_a", "c")
    fake.model(customer_id="c", context=["note"]).invoke("Hello", session_id=pinned.id)
    assert [p for _, p, _ in fake.requests] == ["/v1/chat/inbound"]


# -- retries and fallbacks ------------------------------------------------------------------------


def test_with_retry_defaults_to_errors_that_prove_nothing_arrived(fake: FakeOSVI) -> None:
    model = fake.model(customer_id="c")
    assert model.with_retry().retry_exception_types == (RetryableError,)  # type: ignore[attr-defined]
    assert model.bind(customer_id="d").with_retry().bound.retry_exception_types == (RetryableError,)  # type: ignore[attr-defined]


def test_plain_with_retry_never_delivers_twice_after_an_ambiguous_502(fake: FakeOSVI) -> None:
    fake.failures += [Failure(502, ENGINE_FAILED.body, after_delivery=True)] * 3
    with pytest.raises(EngineError):
        fake.model(customer_id="c").with_retry(wait_exponential_jitter=False).invoke("Pay my invoice")
    assert [d.content for d in fake.delivered] == ["Pay my invoice"]


def test_retrying_every_exception_is_what_duplicates(fake: FakeOSVI) -> None:
    # LangChain's own default (`Exception`), passed explicitly: the failure mode the default avoids.
    fake.failures += [Failure(502, ENGINE_FAILED.body, after_delivery=True)] * 3
    retrying = fake.model(customer_id="c").with_retry(
        retry_if_exception_type=(Exception,), wait_exponential_jitter=False
    )
    with pytest.raises(EngineError):
        retrying.invoke("Pay my invoice")
    assert [d.content for d in fake.delivered] == ["Pay my invoice"] * 3


async def test_with_retry_retries_what_provably_did_not_arrive(fake: FakeOSVI) -> None:
    fake.failures += [UNAVAILABLE, UNAVAILABLE]
    reply = await fake.model(customer_id="c").with_retry(wait_exponential_jitter=False).ainvoke("Hello")
    assert reply.content and [d.content for d in fake.delivered] == ["Hello"]
    assert len(fake.requests) == 3


def test_with_fallbacks_only_after_nothing_was_delivered(fake: FakeOSVI) -> None:
    primary = fake.model(customer_id="c")
    chain = primary.with_fallbacks([fake.model(customer_id="c", agent_uuid="agent_b")])
    assert chain.exceptions_to_handle == (NotDeliveredError,)
    fake.failures.append(UNAVAILABLE)
    assert chain.invoke("Hello").response_metadata["model_name"] == "agent_b"
    fake.failures.append(Failure(502, ENGINE_FAILED.body, after_delivery=True))
    with pytest.raises(EngineError):
        chain.invoke("Where is my refund?")  # agent_a may have it: agent_b must not get it too
    assert [(d.agent_uuid, d.content) for d in fake.delivered] == [
        ("agent_b", "Hello"),
        ("agent_a", "Where is my refund?"),
    ]


def test_unavailable_is_a_retryable_error() -> None:
    # The contract the defaults above rest on.
    assert issubclass(ServiceUnavailableError, RetryableError) and not issubclass(EngineError, NotDeliveredError)


def test_configurable_fields_reads_the_configured_value(fake: FakeOSVI) -> None:
    configurable = fake.model().configurable_fields(customer_id=ConfigurableField(id="customer"))
    configurable.invoke("Hello", config={"configurable": {"customer": "erin"}})
    assert fake.delivered[-1].customer_id == "erin"
