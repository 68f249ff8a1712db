"""`ChatOSVI`: an OSVI chat agent behind LangChain's chat model interface.

An OSVI agent is stateful: it keeps the conversation (and its prompt) server-side, per customer and
session. So each call sends only the customer's newest turn, never the history, and responses are
not cached by default.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar, Literal

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.load import dumpd
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.runnables.fallbacks import RunnableWithFallbacks
from langchain_core.runnables.retry import ExponentialJitterParams
from langchain_core.tools import BaseTool
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr

from ..client import AsyncOSVIClient, OSVIClient
from ..conversation import SESSION_GONE
from ..errors import NotDeliveredError, OSVIError, RetryableError
from ..protocol import SEND_MESSAGE
from ..protocol.intents import SendIntent
from ..types import SendMessageResult
from ._connection import AGENT_UUID_KEY, CUSTOMER_ID_KEY, SESSION_ID_KEY, OSVIConnection
from .ledger import TurnPlan, aread_evidence, ledger_for_run, plan_turns, read_evidence, settle

_PROVIDER = "osvi"
_CALL_KWARGS = frozenset({"customer_id", "session_id", "model", "agent_uuid", "input_fields", "context"})
#: Call arguments that are the customer's data: kept out of traces unless `trace_customer_id`.
_CUSTOMER_DATA = ("customer_id", "input_fields", "context")
_CONFIGURABLE = ((CUSTOMER_ID_KEY, "customer_id"), (AGENT_UUID_KEY, "agent_uuid"), (SESSION_ID_KEY, "session_id"))
_NO_TOOLS = (
    "OSVI agents do not take client-side tools or output schemas: their behaviour is configured in OSVI. "
    "To let another LLM talk to an OSVI agent, give it the tools of `osvi_integrations.langchain.OSVIToolkit` "
    "(or `OSVISendMessageTool`)."
)


@dataclass(frozen=True)
class _Call:
    """Everything one call sends: resolved from call arguments, run config, input messages and fields."""

    agent: str
    customer: str
    content: str
    #: The session to continue, or None (a new session with `start`, else OSVI's routing).
    session: str | None
    #: (input_fields, context) for `create_session` when the call has no session to continue.
    start: tuple[dict[str, Any] | None, list[str] | None] | None
    #: The customer turns `content` joins: (message id or None, text), oldest first.
    turns: tuple[tuple[str | None, str], ...] = ()

    def keys(self) -> list[str] | None:
        """The turns' record keys, when every turn has an id (messages in LangGraph state do). A key names
        the agent and the customer too: another agent given the same turn is another send."""
        if not self.turns or any(message_id is None for message_id, _ in self.turns):
            return None
        return [f"turn:{self.agent}:{self.customer}:{message_id}" for message_id, _ in self.turns]


@dataclass(frozen=True)
class _Delivery:
    result: SendMessageResult
    agent: str
    #: The closed or unknown session the thread was pinned to, when it continued in another one.
    continued_from: str | None
    #: Earlier turns left out of this send (`osvi_skipped_turns`): never folded into a later message.
    skipped: tuple[dict[str, Any], ...] = ()
    #: The result is the record of an earlier, delivered attempt: nothing was sent this time.
    replayed: bool = False


class ChatOSVI(OSVIConnection, BaseChatModel):
    """An OSVI chat agent as a LangChain chat model, speaking for one customer per call.

    Setup:
        Install `osvi-integrations[langchain]` and set `OSVI_API_TOKEN` (OSVI dashboard:
        Settings -> API). No account? `osvi_integrations.sandbox` serves a local copy of the API.

        ```bash
        pip install "osvi-integrations[langchain]"
        export OSVI_API_TOKEN="your-token"
        ```

    Key init args — conversation:
        agent_uuid: str
            The OSVI agent (also accepted as `model`). Per call: `model=` / `agent_uuid=`, or
            `config["configurable"]["osvi_agent_uuid"]`.
        customer_id: str | None
            Who is writing (e.g. a phone number). Per call: `customer_id=`, or
            `config["configurable"]["osvi_customer_id"]`.
        session_id: str | None
            A session to continue (per call: `session_id=` or `configurable["osvi_session_id"]`).
            Usually left out: sessions are taken from the history.
        input_fields: dict | None
            Facts about the customer, handed over when a conversation starts (see below).
        context: list[str] | None
            Notes for the agent, handed over when a conversation starts (newest 5 kept).
        trace_customer_id: bool
            Default False: the customer id, input fields and context stay out of traces.

    Key init args — client:
        api_key: SecretStr | None
            Token (also `api_token`); defaults to `OSVI_API_TOKEN`.
        base_url: str | None
            Defaults to `OSVI_BASE_URL`, then https://api.osvi.ai.
        timeout: float | None
            Seconds one call may take in all, retries included (default 60).
        max_retries: int | None
            Retries of requests that provably did not arrive (default 2); see also `retry_policy`.
        http_client, http_async_client:
            Your own httpx clients (never closed by the model).

    Instantiate:
        ```python
        from osvi_integrations.langchain import ChatOSVI

        model = ChatOSVI(agent_uuid="agent_...", customer_id="+15550100")  # token from OSVI_API_TOKEN
        ```

    Invoke:
        ```python
        reply = model.invoke("Where is my order?")
        reply.content  # the agent's reply
        history = ["Where is my order?", reply, "It is 12345."]
        model.invoke(history)  # only the last human turn is sent; the session comes from `reply`
        ```

    Stream:
        The API answers in one piece, so a stream has one chunk:

        ```python
        for chunk in model.stream("Hello"):
            print(chunk.content)
        ```

    Async:
        ```python
        reply = await model.ainvoke("Hello")
        replies = await model.abatch(
            ["Hi", "Hi"], config=[{"configurable": {"osvi_customer_id": c}} for c in ("alice", "bob")]
        )
        ```

    Response metadata:
        ```python
        reply.response_metadata
        # {'session_id': '…', 'state': 'default', 'mode': 'ai', 'help_requested': False,
        #  'model_name': 'agent_...', 'model_provider': 'osvi'}
        ```

        `model_name` is the agent that answered. After a closed or unknown session the thread
        continues in a new one and `continued_from_session_id` names the old one.

    Starting a conversation with context:
        With `input_fields` / `context` set (fields or call arguments), a call with no session to
        continue (none given, none in the history from this agent) first creates a session with
        them (`create_session`, which closes the customer's active session with the agent), then
        sends the message there. Later calls find the session in the history and send only.

    Takeover and escalation:
        `help_requested` True: the agent asked for a human operator (it still replies).
        `mode` "support": a human has taken over; the agent stays silent, so `content` is "".
        Neither is an error. Pause for a person on either (see `OSVIEscalationMiddleware` and
        the LangGraph handoff example); the operator acts with `OSVIClient.support` or the
        operator tools (`OSVIToolkit(include_operator_tools=True)`).

    Retries and fallbacks:
        A send is not idempotent. `with_retry()` and `with_fallbacks()` on this model default to
        errors that prove nothing was delivered (`RetryableError` / `NotDeliveredError`), so an
        ambiguous failure (a 502, a read timeout) is raised, never resent.
    """

    _ignored_arguments: ClassVar[frozenset[str]] = frozenset({"temperature", "max_tokens", "stop", "streaming"})

    agent_uuid: str = Field(validation_alias=AliasChoices("agent_uuid", "model", "model_name"))
    """The OSVI agent (also accepted as `model` or `model_name`, as partner chat models name theirs)."""

    customer_id: str | None = None
    """The customer this model speaks for (e.g. a phone number); may be given per call instead."""

    session_id: str | None = None
    """Session to continue when neither the call nor the history names one."""

    input_fields: dict[str, Any] | None = None
    """Facts about the customer given to the agent when a conversation starts (`create_session`)."""

    context: list[str] | None = None
    """Notes given to the agent when a conversation starts (`create_session`); OSVI keeps the newest 5."""

    resend_uncertain: bool = False
    """Inside a LangGraph thread, resend a customer turn whose earlier attempt may have been delivered
    (a crash or cancel mid-send, and the conversation changed since). Off: `PossiblyDeliveredError`."""

    trace_customer_id: bool = False
    """Report the customer id, input fields and context in traces (invocation params, serialized
    model). Off by default: a customer id is often a phone number."""

    cache: BaseCache | bool | None = Field(default=False, exclude=True)
    """Off: a stateful agent's answer to the same words differs per turn, and a cached answer
    would also mean the message never reached the agent."""

    _warned_system: bool = PrivateAttr(default=False)

    @property
    def model_name(self) -> str:
        """The partner packages' name for what is called: here the OSVI agent (`agent_uuid`)."""
        return self.agent_uuid

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What an OSVI agent is, as LangChain model profiles describe models: text in and out, no
        client-side tools or structured output (the agent's behaviour is configured in OSVI), no system
        messages mid-conversation (its prompt lives in OSVI). Token limits are the agent's own and not
        published by the API, so they are left out."""
        return ModelProfile(
            text_inputs=True,
            text_outputs=True,
            image_inputs=False,
            audio_inputs=False,
            video_inputs=False,
            pdf_inputs=False,
            tool_calling=False,
            tool_choice=False,
            structured_output=False,
            mid_conversation_system_messages=False,
            temperature=False,
        )

    @property
    def _llm_type(self) -> str:
        return "osvi-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["osvi_integrations", "langchain", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "OSVI_API_TOKEN"}

    # -- what traces show ------------------------------------------------------------------

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        # Traced as invocation params: never the token; the customer only when asked for.
        params: dict[str, Any] = {
            "agent_uuid": self.agent_uuid,
            "session_id": self.session_id,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        if self.trace_customer_id:
            params.update(customer_id=self.customer_id, input_fields=self.input_fields, context=self.context)
        return params

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        params = super()._get_invocation_params(stop=stop, **kwargs)
        params["agent_uuid"] = self._agent_for_call(kwargs)  # the agent actually called, also via `model=`
        params.pop("model", None)
        if not self.trace_customer_id:
            for key in _CUSTOMER_DATA:
                params.pop(key, None)
        return params

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=_PROVIDER, ls_model_name=self._agent_for_call(kwargs), ls_model_type="chat"
        )
        if stop:
            params["ls_stop"] = stop
        return params

    @cached_property
    def _serialized(self) -> dict[str, Any]:
        """The model as callbacks and tracers receive it: without the customer's data unless asked."""
        serialized: dict[str, Any] = dumpd(self)
        kwargs = serialized.get("kwargs")
        if not self.trace_customer_id and isinstance(kwargs, dict):
            serialized["kwargs"] = {k: v for k, v in kwargs.items() if k not in _CUSTOMER_DATA}
        return serialized

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        # A cache key must name the customer even when traces do not: never serve one customer's answer to another.
        who = {
            "customer_id": kwargs.get("customer_id") or self.customer_id,
            "session_id": kwargs.get("session_id") or self.session_id,
        }
        return super()._get_llm_string(stop=stop, **kwargs) + "---" + json.dumps(who, sort_keys=True)

    # -- tools and structured output do not apply ------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        raise NotImplementedError(_NO_TOOLS)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        raise NotImplementedError(_NO_TOOLS)

    # -- retries and fallbacks that never duplicate a message -------------------------------

    def with_retry(
        self,
        *,
        retry_if_exception_type: tuple[type[BaseException], ...] | Callable[[BaseException], bool] = (RetryableError,),
        wait_exponential_jitter: bool = True,
        exponential_jitter_params: ExponentialJitterParams | None = None,
        stop_after_attempt: int = 3,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """LangChain's `with_retry`, retrying by default only errors that prove the message did not
        arrive (`RetryableError`: rate limited, unavailable, no connection). LangChain's own default
        (`Exception`) would resend after an ambiguous 502 or timeout, delivering the message again."""
        return super().with_retry(
            retry_if_exception_type=retry_if_exception_type,
            wait_exponential_jitter=wait_exponential_jitter,
            exponential_jitter_params=exponential_jitter_params,
            stop_after_attempt=stop_after_attempt,
        )

    def with_fallbacks(
        self,
        fallbacks: Sequence[Runnable[LanguageModelInput, AIMessage]],
        *,
        exceptions_to_handle: tuple[type[BaseException], ...] = (NotDeliveredError,),
        exception_key: str | None = None,
    ) -> RunnableWithFallbacks[LanguageModelInput, AIMessage]:
        """LangChain's `with_fallbacks`, falling back by default only when the message provably did
        not arrive (`NotDeliveredError`); after an ambiguous error the first agent may have it."""
        return super().with_fallbacks(fallbacks, exceptions_to_handle=exceptions_to_handle, exception_key=exception_key)

    # -- run config: customer, agent and session per run -------------------------------------

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        config = ensure_config(config)
        return super().invoke(input, config, stop=stop, **_with_configurable(config, kwargs))

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        config = ensure_config(config)
        return await super().ainvoke(input, config, stop=stop, **_with_configurable(config, kwargs))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        config = ensure_config(config)
        yield from super().stream(input, config, stop=stop, **_with_configurable(config, kwargs))

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        config = ensure_config(config)
        async for chunk in super().astream(input, config, stop=stop, **_with_configurable(config, kwargs)):
            yield chunk

    # -- calls -----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=_message(self._send(messages, kwargs)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        delivery = await self._asend(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=_message(delivery))])

    # The API answers in one piece: "streaming" yields that answer as a single, final chunk.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        chunk = _chunk(self._send(messages, kwargs))
        if run_manager is not None:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        chunk = _chunk(await self._asend(messages, kwargs))
        if run_manager is not None:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    # -- sending ---------------------------------------------------------------------------

    def _send(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> _Delivery:
        call = self._plan(messages, kwargs)
        keys = call.keys()
        ledger = ledger_for_run() if keys is not None else None
        if ledger is None or keys is None:
            return self._deliver(call, call.content)
        records = [ledger.get(key) for key in keys]
        plan = plan_turns(records)
        if plan.replay is not None:
            return _replayed(plan.replay, call, records, plan)
        if plan.check:
            evidence = read_evidence(self._get_client(), plan.check[0])
            settle(plan.check, evidence, resend_uncertain=self.resend_uncertain)
        intent, sent = _intent(call, plan), [keys[index] for index in plan.send]
        ledger.put_each(intent, sent)
        try:
            delivery = self._deliver(call, intent_content(call, plan))
        except NotDeliveredError:
            ledger.put_each(intent.outcome("not_delivered"), sent)
            raise
        except OSVIError:
            ledger.put_each(intent.outcome("uncertain"), sent)
            raise
        ledger.put_each(intent.outcome("delivered", _record(delivery)), sent)
        return _with_skipped(delivery, call, records, plan)

    async def _asend(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> _Delivery:
        call = self._plan(messages, kwargs)
        keys = call.keys()
        ledger = ledger_for_run() if keys is not None else None
        if ledger is None or keys is None:
            return await self._adeliver(call, call.content)
        records = [await ledger.aget(key) for key in keys]
        plan = plan_turns(records)
        if plan.replay is not None:
            return _replayed(plan.replay, call, records, plan)
        if plan.check:
            evidence = await aread_evidence(await self._aget_client(), plan.check[0])
            settle(plan.check, evidence, resend_uncertain=self.resend_uncertain)
        intent, sent = _intent(call, plan), [keys[index] for index in plan.send]
        await ledger.aput_each(intent, sent)
        try:
            delivery = await self._adeliver(call, intent_content(call, plan))
        except NotDeliveredError:
            await ledger.aput_each(intent.outcome("not_delivered"), sent)
            raise
        except OSVIError:
            await ledger.aput_each(intent.outcome("uncertain"), sent)
            raise
        await ledger.aput_each(intent.outcome("delivered", _record(delivery)), sent)
        return _with_skipped(delivery, call, records, plan)

    def _deliver(self, call: _Call, content: str) -> _Delivery:
        client = self._get_client()
        session = call.session
        if session is None and call.start is not None:
            session = _start(client, call)
        try:
            result = client.send_message(call.agent, call.customer, content, session_id=session)
        except SESSION_GONE:
            if call.session is None:
                raise  # not a session this call was pinned to: nothing to fall back from
            # The error proves the message was not delivered: continue the thread in a new session, once.
            session = _start(client, call) if call.start is not None else None
            result = client.send_message(call.agent, call.customer, content, session_id=session)
            return _Delivery(result, call.agent, call.session)
        return _Delivery(result, call.agent, None)

    async def _adeliver(self, call: _Call, content: str) -> _Delivery:
        client = await self._aget_client()
        session = call.session
        if session is None and call.start is not None:
            session = await _astart(client, call)
        try:
            result = await client.send_message(call.agent, call.customer, content, session_id=session)
        except SESSION_GONE:
            if call.session is None:
                raise
            session = await _astart(client, call) if call.start is not None else None
            result = await client.send_message(call.agent, call.customer, content, session_id=session)
            return _Delivery(result, call.agent, call.session)
        return _Delivery(result, call.agent, None)

    def _agent_for_call(self, kwargs: Mapping[str, Any]) -> str:
        for key in ("agent_uuid", "model"):
            value = kwargs.get(key)
            if isinstance(value, str) and value:
                return value
        return self.agent_uuid

    def _plan(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> _Call:
        """What this call sends, where; reads, never writes, the instance's fields."""
        unknown = set(kwargs) - _CALL_KWARGS
        if unknown:
            raise TypeError(
                f"ChatOSVI got unexpected call arguments {sorted(unknown)}; "
                f"it accepts {sorted(_CALL_KWARGS)} (agent settings such as temperature live in OSVI)."
            )
        customer = kwargs.get("customer_id") or self.customer_id
        if not customer:
            raise ValueError(
                "ChatOSVI needs a customer_id: set it on the model, pass customer_id=... per call, or "
                f"config={{'configurable': {{{CUSTOMER_ID_KEY!r}: ...}}}}."
            )
        agent = self._agent_for_call(kwargs)
        turns, saw_system = _customer_turns(messages)
        content = "\n\n".join(text for _, text in turns)
        if saw_system and not self._warned_system:
            self._warned_system = True
            warnings.warn(
                "ChatOSVI ignores system messages: the agent's prompt is configured in OSVI.",
                UserWarning,
                stacklevel=4,
            )
        session = kwargs.get("session_id") or _history_session(messages, agent) or self.session_id
        input_fields = kwargs.get("input_fields", self.input_fields)
        context = kwargs.get("context", self.context)
        start = (input_fields, context) if input_fields is not None or context is not None else None
        return _Call(agent, customer, content, session, start, tuple(turns))


def _with_configurable(config: RunnableConfig, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call arguments plus what the run config names (`osvi_customer_id`...); call arguments win."""
    configurable = config.get("configurable") or {}
    merged = dict(kwargs)
    for key, name in _CONFIGURABLE:
        value = configurable.get(key)
        if value is None or merged.get(name) is not None:
            continue
        if name == "agent_uuid" and merged.get("model") is not None:
            continue
        merged[name] = value
    return merged


def _start(client: OSVIClient, call: _Call) -> str:
    assert call.start is not None
    input_fields, context = call.start
    return client.sessions.create(call.agent, call.customer, input_fields=input_fields, context=context).id


async def _astart(client: AsyncOSVIClient, call: _Call) -> str:
    assert call.start is not None
    input_fields, context = call.start
    session = await client.sessions.create(call.agent, call.customer, input_fields=input_fields, context=context)
    return session.id


def _customer_turns(messages: Sequence[BaseMessage]) -> tuple[list[tuple[str | None, str]], bool]:
    """(the customer's newest turns as (message id, text), oldest first; whether there were system messages).

    The newest words are the HumanMessages after the latest reply (an AIMessage without tool calls).
    Tool-calling AIMessages and ToolMessages in between are passed over: that is how a supervisor or
    swarm agent hands a conversation over (`transfer_to_...` and its "Successfully transferred").
    """
    parts: list[tuple[str | None, str]] = []
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            if not (message.tool_calls or message.invalid_tool_calls):
                break
        elif isinstance(message, HumanMessage):
            parts.append((message.id, _text(message)))
        elif not isinstance(message, SystemMessage | ToolMessage):
            raise ValueError(f"ChatOSVI sends customer messages only; got a {message.type!r} message.")
    if not parts:
        raise ValueError(
            "ChatOSVI needs a customer turn: end the input with one or more HumanMessages after the latest "
            "AI reply (tool calls and tool results of a handoff may follow them)."
        )
    saw_system = any(isinstance(m, SystemMessage) for m in messages)
    return list(reversed(parts)), saw_system


def _history_session(messages: Sequence[BaseMessage], agent: str) -> str | None:
    """The session of the latest AIMessage that this agent wrote. Replies of other agents (a
    `model=` override, a fallback, another node of the graph) never lend their sessions."""
    for message in reversed(messages):
        if not isinstance(message, AIMessage):
            continue
        meta = message.response_metadata
        session = meta.get("session_id")
        if (
            isinstance(session, str)
            and meta.get("model_name") == agent
            and meta.get("model_provider", _PROVIDER) == _PROVIDER
        ):
            return session
    return None


def _text(message: HumanMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    texts: list[str] = []
    for block in message.content:
        if isinstance(block, str):
            texts.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        else:
            raise ValueError(f"OSVI agents take text only; got a {block.get('type')!r} content block.")
    return "".join(texts)


def _metadata(delivery: _Delivery) -> dict[str, Any]:
    result = delivery.result
    meta: dict[str, Any] = {
        "session_id": result.session_id,
        "state": result.state,
        "mode": result.mode,
        "help_requested": result.help_requested,
        "model_name": delivery.agent,
        "model_provider": _PROVIDER,
    }
    if delivery.continued_from is not None:
        meta["continued_from_session_id"] = delivery.continued_from
    if delivery.skipped:
        meta["osvi_skipped_turns"] = list(delivery.skipped)
    if delivery.replayed:
        meta["osvi_replayed"] = True
    return meta


def _message(delivery: _Delivery) -> AIMessage:
    # reply is None while a human operator has taken over: empty content, mode "support" says why.
    return AIMessage(content=delivery.result.reply or "", response_metadata=_metadata(delivery))


def _chunk(delivery: _Delivery) -> ChatGenerationChunk:
    position: Literal["last"] = "last"
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=delivery.result.reply or "", response_metadata=_metadata(delivery), chunk_position=position
        )
    )


# -- send records (see `ledger`) ------------------------------------------------------------------


def intent_content(call: _Call, plan: TurnPlan) -> str:
    """The text of the turns this call sends: only those never sent (or failed before)."""
    return "\n\n".join(call.turns[i][1] for i in plan.send)


def _intent(call: _Call, plan: TurnPlan) -> SendIntent:
    return SendIntent.begin(
        "",
        SEND_MESSAGE.name,
        content=intent_content(call, plan),
        agent=call.agent,
        customer=call.customer,
        session=call.session,
    )


def _record(delivery: _Delivery) -> dict[str, Any]:
    return {
        "result": delivery.result.model_dump(mode="json"),
        "agent": delivery.agent,
        "continued_from": delivery.continued_from,
    }


def _skipped(call: _Call, records: list[SendIntent | None], plan: TurnPlan) -> tuple[dict[str, Any], ...]:
    skipped: list[dict[str, Any]] = []
    for index in plan.skipped:
        record = records[index]
        if record is None:
            continue
        skipped.append(
            {
                "message_id": call.turns[index][0],
                "status": record.status,
                "may_have_taken_effect": record.status != "not_delivered",
                "started_at": record.started_iso,
            }
        )
    return tuple(skipped)


def _with_skipped(delivery: _Delivery, call: _Call, records: list[SendIntent | None], plan: TurnPlan) -> _Delivery:
    skipped = _skipped(call, records, plan)
    return replace(delivery, skipped=skipped) if skipped else delivery


def _replayed(intent: SendIntent, call: _Call, records: list[SendIntent | None], plan: TurnPlan) -> _Delivery:
    record = intent.result or {}
    result = SendMessageResult.model_validate(record.get("result") or {})
    continued = record.get("continued_from")
    delivery = _Delivery(
        result,
        str(record.get("agent") or call.agent),
        continued if isinstance(continued, str) else None,
        replayed=True,
    )
    return _with_skipped(delivery, call, records, plan)
