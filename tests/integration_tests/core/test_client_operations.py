"""Every Chat v1 operation on both clients against the sandbox over real loopback HTTP: results,
every documented error status, the effect rules and the conversation helper."""

from __future__ import annotations

import asyncio

import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, RetryPolicy, errors
from osvi_integrations.protocol import GET_ACTIVE_SESSION, HAND_BACK_TO_AGENT, SEND_MESSAGE
from osvi_integrations.sandbox import (
    ARCHIVED_AGENT,
    FAULTY_AGENT,
    INACTIVE_AGENT,
    ORDERS_AGENT,
    OTHER_ACCOUNT_AGENT,
    SUPPORT_AGENT,
    Fault,
    SandboxServer,
)

from ...conftest import FAST_RETRIES


def test_sessions_create_get_list_and_inject(client: OSVIClient, sandbox: SandboxServer, customer_id: str) -> None:
    first = client.sessions.create(
        SUPPORT_AGENT, customer_id, input_fields={"first_name": "Alex"}, context=["a", "", "b", "c", "d", "e", "f"]
    )
    assert first.status == "active" and first.customer_id == customer_id and first.mode == "ai"
    assert first.metadata.input_fields == {"first_name": "Alex"}
    assert first.metadata.context == ["b", "c", "d", "e", "f"]  # the newest 5 non-empty entries
    assert client.sessions.get_active(customer_id, SUPPORT_AGENT).id == first.id
    # Creating again closes the previous session first.
    second = client.sessions.create(SUPPORT_AGENT, customer_id)
    assert second.id != first.id and client.sessions.get_active(customer_id, SUPPORT_AGENT).id == second.id
    client.send_message(ORDERS_AGENT, customer_id, "hi")
    assert set(client.sessions.list_active(customer_id)) == {SUPPORT_AGENT, ORDERS_AGENT}
    assert client.sessions.list_active("+10000000000") == {}
    added = client.sessions.inject_context(second.id, "Earlier call: wants a refund.")
    assert added.session_id == second.id and added.context[-1] == "Earlier call: wants a refund."
    assert client.sessions.get_active(customer_id, SUPPORT_AGENT).metadata.context == added.context
    # A message without session_id goes to the created session.
    assert client.send_message(SUPPORT_AGENT, customer_id, "hello").session_id == second.id


def test_support_commands_and_the_takeover_cycle(client: OSVIClient, customer_id: str) -> None:
    session = client.send_message(SUPPORT_AGENT, customer_id, "Can I talk to a human?")
    assert session.help_requested
    sid = session.session_id
    taken = client.support.takeover(sid, "Hi, Ana here.")
    assert taken.command == "takeover" and taken.active_human and taken.session_id == sid
    assert client.sessions.get_active(customer_id, SUPPORT_AGENT).human_has_taken_over
    assert client.send_message(SUPPORT_AGENT, customer_id, "Hello?").reply is None
    assert client.support.send_message(sid, "Your parcel ships today.").session_id == sid
    with pytest.raises(errors.SupportCommandRejectedError) as refused:
        client.support.tell(sid, "Apologise.")
    assert refused.value.reason == "tell_not_allowed_during_takeover" and not refused.value.may_have_taken_effect
    assert client.support.whisper(sid, "offer a voucher").command == "whisper"
    assert client.support.hand_back(sid).command == "end"
    active = client.sessions.get_active(customer_id, SUPPORT_AGENT)
    assert active.mode == "ai" and not active.help_requested
    assert "(offer a voucher)" in (client.send_message(SUPPORT_AGENT, customer_id, "thanks").reply or "")
    told = client.support.tell(sid, "Mention the returns policy.")
    assert told.reply
    with pytest.raises(errors.SupportCommandRejectedError) as plain:
        client.support.send_message(sid, "not in support mode")
    assert plain.value.reason == "message_requires_support_mode"
    assert client.support.close(sid).command == "close"
    with pytest.raises(errors.NoActiveSessionError):
        client.sessions.get_active(customer_id, SUPPORT_AGENT)
    with pytest.raises(errors.SessionClosedError):
        client.support.takeover(sid)
    with pytest.raises(errors.SessionClosedError):
        client.send_message(SUPPORT_AGENT, customer_id, "hi", session_id=sid)


def test_a_command_disabled_for_an_agent_is_rejected_not_applied(client: OSVIClient, customer_id: str) -> None:
    session = client.sessions.create(ORDERS_AGENT, customer_id)
    with pytest.raises(errors.SupportCommandRejectedError) as info:
        client.support.tell(session.id, "hurry up")
    assert info.value.reason == "tell_disabled_for_agent" and info.value.status_code == 502


def test_active_agents(client: OSVIClient) -> None:
    agents = client.agents.list_active()
    ids = [a.agent_id for a in agents]
    assert SUPPORT_AGENT in ids and ORDERS_AGENT in ids
    assert not {ARCHIVED_AGENT, INACTIVE_AGENT, OTHER_ACCOUNT_AGENT} & set(ids)
    assert all(a.status == "active" and a.name for a in agents)


@pytest.mark.parametrize(
    ("call", "cls"),
    [
        (lambda c, cid: c.sessions.create("agent_nope", cid), errors.AgentNotFoundError),
        (lambda c, cid: c.sessions.create(OTHER_ACCOUNT_AGENT, cid), errors.AgentNotFoundError),
        (lambda c, cid: c.sessions.create(ARCHIVED_AGENT, cid), errors.AgentArchivedError),
        (lambda c, cid: c.sessions.create(INACTIVE_AGENT, cid), errors.AgentInactiveError),
        (lambda c, cid: c.sessions.get_active(cid, SUPPORT_AGENT), errors.NoActiveSessionError),
        (lambda c, cid: c.sessions.inject_context("00000000-0000-0000-0000-000000000000", "x"), errors.NotFoundError),
        (lambda c, cid: c.support.takeover("00000000-0000-0000-0000-000000000000"), errors.SessionNotFoundError),
        (
            lambda c, cid: c.send_message(SUPPORT_AGENT, cid, "hi", "00000000-0000-0000-0000-0000000000"),
            errors.NotFoundError,
        ),
        (lambda c, cid: c.send_message(ARCHIVED_AGENT, cid, "hi"), errors.AgentArchivedError),
        (lambda c, cid: c.send_message(INACTIVE_AGENT, cid, "hi"), errors.AgentInactiveError),
        (lambda c, cid: c.send_message(FAULTY_AGENT, cid, "hi"), errors.EngineError),
    ],
)
def test_documented_errors_of_every_endpoint(client: OSVIClient, customer_id: str, call: object, cls: type) -> None:
    with pytest.raises(cls):
        call(client, customer_id)  # type: ignore[operator]


def test_a_wrong_token_is_an_authentication_error_on_every_endpoint(sandbox: SandboxServer) -> None:
    with OSVIClient("WrongToken123456", base_url=sandbox.base_url) as wrong:
        for call in (
            lambda: wrong.agents.list_active(),
            lambda: wrong.sessions.create(SUPPORT_AGENT, "c"),
            lambda: wrong.sessions.get_active("c", SUPPORT_AGENT),
            lambda: wrong.sessions.list_active("c"),
            lambda: wrong.sessions.inject_context("s", "x"),
            lambda: wrong.support.close("s"),
            lambda: wrong.send_message(SUPPORT_AGENT, "c", "hi"),
        ):
            with pytest.raises(errors.AuthenticationError):
                call()


def test_read_only_calls_are_retried_after_ambiguous_failures_but_writes_are_not(
    client: OSVIClient, sandbox: SandboxServer, customer_id: str
) -> None:
    session = client.sessions.create(SUPPORT_AGENT, customer_id)
    sandbox.engine.inject_fault(Fault(status=500, route="get_active_session"))
    assert client.sessions.get_active(customer_id, SUPPORT_AGENT).id == session.id  # retried after a 500
    sandbox.engine.inject_fault(Fault(status=502, route="active_agents", times=2))
    assert client.agents.list_active()
    sandbox.engine.inject_fault(Fault(status=500, route="inject_context", after_processing=True))
    with pytest.raises(errors.ServerError) as info:
        client.sessions.inject_context(session.id, "note")
    assert info.value.may_have_taken_effect  # it did: the note is there once, not resent
    assert client.sessions.get_active(customer_id, SUPPORT_AGENT).metadata.context.count("note") == 1
    sandbox.engine.inject_fault(Fault(status=500, route="get_active_session", times=5))
    with pytest.raises(errors.ServerError) as read:
        client.sessions.get_active(customer_id, SUPPORT_AGENT)
    assert not read.value.may_have_taken_effect  # a read never has an effect


def test_default_agent_fills_agent_uuid(sandbox: SandboxServer, customer_id: str) -> None:
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url, default_agent_uuid=ORDERS_AGENT) as client:
        assert client.send_message(None, customer_id, "hi").state == "collect_order_number"
        assert client.sessions.get_active(customer_id).customer_id == customer_id
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        with pytest.raises(errors.InvalidRequestError, match="OSVI_AGENT_UUID") as info:
            client.send_message(None, customer_id, "hi")
        assert info.value.field == "agent_uuid"
    assert len(sandbox.engine.processed) == 1  # the refused call sent nothing


def test_checked_params_are_sent_as_they_are(client: OSVIClient, sandbox: SandboxServer, customer_id: str) -> None:
    """`call(operation, params)`: what a caller validated once (`operation.validate`) is not checked again,
    and gives what the keyword form gives; a mix of both forms, or another model, is refused unsent."""
    params = SEND_MESSAGE.validate({"agent_uuid": SUPPORT_AGENT, "customer_id": customer_id, "content": "hi"})
    sent = client.call(SEND_MESSAGE, params)
    assert sent == client.call(SEND_MESSAGE, agent_uuid=SUPPORT_AGENT, customer_id=customer_id, content="hi")
    before = len(sandbox.engine.processed)
    with pytest.raises(TypeError, match="not both"):
        client.call(SEND_MESSAGE, params, content="again")
    with pytest.raises(TypeError, match="SendMessageParams"):
        client.call(SEND_MESSAGE, GET_ACTIVE_SESSION.validate({"agent_uuid": SUPPORT_AGENT, "customer_id": "x"}))
    with pytest.raises(errors.InvalidRequestError, match="bound to another value") as info:
        client.call_for_customer(SEND_MESSAGE, params, customer_id="+10000000000")
    assert info.value.field == "customer_id"
    hand_back = HAND_BACK_TO_AGENT.validate({"session_id": sent.session_id})
    with pytest.raises(errors.InvalidRequestError, match="not an active session") as info:
        client.call_for_customer(HAND_BACK_TO_AGENT, hand_back, customer_id="+10000000000")
    assert len(sandbox.engine.processed) == before  # nothing refused was sent
    assert client.call_for_customer(SEND_MESSAGE, params, customer_id=customer_id).session_id == sent.session_id


def test_conversation_starts_with_context_refreshes_and_survives_a_close(
    client: OSVIClient, sandbox: SandboxServer, customer_id: str
) -> None:
    conversation = client.conversation(SUPPORT_AGENT, customer_id)
    assert conversation.refresh() is None and conversation.session_id is None
    started = conversation.start(input_fields={"first_name": "Alex"}, context=["VIP"])
    assert conversation.session_id == started.id
    conversation.send("hello")
    assert conversation.inject_context("second note").context == ["VIP", "second note"]
    conversation.send("Can I talk to a human?")
    client.support.takeover(started.id)
    refreshed = conversation.refresh()
    assert refreshed is not None and conversation.human_has_taken_over and conversation.help_requested
    client.support.close(started.id)
    after = conversation.send("still there?")
    assert after.session_id != started.id and conversation.session_id == after.session_id
    # Each customer message reached the engine exactly once.
    contents = [r.content for r in sandbox.engine.processed]
    assert contents == ["hello", "Can I talk to a human?", "still there?"]


def test_a_conversation_without_a_session_looks_it_up_for_context(client: OSVIClient, customer_id: str) -> None:
    client.send_message(SUPPORT_AGENT, customer_id, "hi")
    conversation = client.conversation(SUPPORT_AGENT, customer_id)
    assert conversation.inject_context("from the CRM").context == ["from the CRM"]
    with pytest.raises(errors.NoActiveSessionError):
        client.conversation(SUPPORT_AGENT, "+19999999999").inject_context("x")


async def test_the_async_client_runs_every_operation(sandbox: SandboxServer, customer_id: str) -> None:
    async with AsyncOSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=FAST_RETRIES) as client:
        agents = await client.agents.list_active()
        assert SUPPORT_AGENT in {a.agent_id for a in agents}
        session = await client.sessions.create(SUPPORT_AGENT, customer_id, context=["ctx"])
        assert (await client.sessions.get_active(customer_id, SUPPORT_AGENT)).id == session.id
        assert SUPPORT_AGENT in await client.sessions.list_active(customer_id)
        assert (await client.sessions.inject_context(session.id, "more")).context == ["ctx", "more"]
        assert (await client.messages.send(SUPPORT_AGENT, customer_id, "help, a human please")).help_requested
        assert (await client.support.takeover(session.id)).active_human
        await client.support.send_message(session.id, "Hello from Ana")
        with pytest.raises(errors.SupportCommandRejectedError):
            await client.support.tell(session.id, "x")
        await client.support.whisper(session.id, "be brief")
        await client.support.hand_back(session.id)
        assert (await client.support.tell(session.id, "greet")).reply
        await client.support.close(session.id)
        conversation = client.conversation(SUPPORT_AGENT, customer_id, session_id=session.id)
        moved = await conversation.send("hi again")
        assert moved.session_id != session.id
        assert await conversation.refresh() is not None
        results = await asyncio.gather(*(conversation.send(f"m{i}") for i in range(5)))
        assert {r.session_id for r in results} == {moved.session_id}
    assert [r.content for r in sandbox.engine.processed][-5:] == [f"m{i}" for i in range(5)]


def test_no_retry_policy_means_one_attempt(sandbox: SandboxServer) -> None:
    sandbox.engine.inject_fault(Fault(status=503, times=3))
    no_retry = RetryPolicy(max_retries=0)
    c = OSVIClient(sandbox.api_token, base_url=sandbox.base_url, retry_policy=no_retry)
    with c, pytest.raises(errors.ServiceUnavailableError):
        c.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert sandbox.engine.request_count == 1
