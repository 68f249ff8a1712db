"""`ChatOSVI`: an OSVI chat agent behind LangChain's chat model interface.

An OSVI agent is stateful: it keeps the conversation (and its prompt) server-side, per
customer and session. So each call sends only the customer's newest turn, never the
history, and responses are not cached by default.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr

from ..types import SendMessageResult
from ._connection import OSVIConnection

_PROVIDER = "osvi"
_CALL_KWARGS = frozenset({"customer_id", "session_id", "model", "agent_uuid"})
_NO_TOOLS = (
    "OSVI agents do not take client-side tools or output schemas: their behaviour is configured in OSVI. "
    "To let another LLM talk to an OSVI agent, give it `osvi_integrations.langchain.OSVISendMessageTool`."
)


class _Turn(NamedTuple):
    """What the input says about this call: the customer's newest words and the thread's session."""

    content: str
    history_session_id: str | None
    saw_system: bool


class ChatOSVI(OSVIConnection, BaseChatModel):
    """Chat with an OSVI agent as one customer.

    ```python
    from osvi_integrations.langchain import ChatOSVI

    model = ChatOSVI(agent_uuid="...", customer_id="+15550100")  # token from OSVI_API_TOKEN
    reply = model.invoke("Where is my order?")
    reply.content, reply.response_metadata["mode"], reply.response_metadata["help_requested"]
    ```

    Only the trailing human turn (the `HumanMessage`s after the last `AIMessage`) is sent;
    the agent remembers the rest. System messages are ignored (with a warning): the agent's
    prompt lives in OSVI. Per call you may pass `customer_id=`, `session_id=` and
    `model=` / `agent_uuid=`; the instance itself is never changed by a call, so one model
    can serve many customers concurrently.

    The session is, in order: the `session_id` call argument, the `session_id` in the
    `response_metadata` of the latest `AIMessage` that has one, the `session_id` field,
    and otherwise the customer's active session (resolved by OSVI).

    While a human operator has taken over, the agent does not reply: the message has
    empty content and `response_metadata["mode"] == "support"`. That is not an error.
    Errors are the core's typed exceptions (`AgentNotFoundError`, `RateLimitError`...).
    """

    agent_uuid: str = Field(validation_alias=AliasChoices("agent_uuid", "model"))
    """UUID of the OSVI agent (also accepted as `model`)."""

    customer_id: str | None = None
    """The customer this model speaks for (e.g. a phone number); may be given per call instead."""

    session_id: str | None = None
    """Session to continue; by default the customer's active session with the agent."""

    cache: BaseCache | bool | None = Field(default=False, exclude=True)
    """Off: a stateful agent's answer to the same words differs per turn, and a cached answer
    would also mean the message never reached the agent."""

    _warned_system: bool = PrivateAttr(default=False)

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

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        # Traced as invocation params: never include the token.
        return {
            "agent_uuid": self.agent_uuid,
            "customer_id": self.customer_id,
            "session_id": self.session_id,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=_PROVIDER, ls_model_name=self._agent_for_call(kwargs), ls_model_type="chat"
        )
        if stop:
            params["ls_stop"] = stop
        return params

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

    # -- calls -----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result, agent = self._send(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=_message(result, agent))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result, agent = await self._asend(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=_message(result, agent))])

    # The API answers in one piece: "streaming" yields that answer as a single, final chunk.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        result, agent = self._send(messages, kwargs)
        chunk = _chunk(result, agent)
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
        result, agent = await self._asend(messages, kwargs)
        chunk = _chunk(result, agent)
        if run_manager is not None:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    # -- helpers ---------------------------------------------------------------------------

    def _agent_for_call(self, kwargs: Mapping[str, Any]) -> str:
        for key in ("agent_uuid", "model"):
            value = kwargs.get(key)
            if isinstance(value, str) and value:
                return value
        return self.agent_uuid

    def _send(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> tuple[SendMessageResult, str]:
        """Sends this call's customer turn; returns the result and the agent it went to."""
        agent, customer, session, content = self._request(messages, kwargs)
        return self._get_client().send_message(agent, customer, content, session_id=session), agent

    async def _asend(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> tuple[SendMessageResult, str]:
        agent, customer, session, content = self._request(messages, kwargs)
        return await self._get_async_client().send_message(agent, customer, content, session_id=session), agent

    def _request(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
        """(agent, customer, session, content) for one call; reads, never writes, the instance's fields."""
        unknown = set(kwargs) - _CALL_KWARGS
        if unknown:
            raise TypeError(
                f"ChatOSVI got unexpected call arguments {sorted(unknown)}; "
                f"it accepts {sorted(_CALL_KWARGS)} (agent settings such as temperature live in OSVI)."
            )
        customer = kwargs.get("customer_id") or self.customer_id
        if not customer:
            raise ValueError("ChatOSVI needs a customer_id: set it on the model or pass customer_id=... per call.")
        turn = _customer_turn(messages)
        if turn.saw_system and not self._warned_system:
            self._warned_system = True
            warnings.warn(
                "ChatOSVI ignores system messages: the agent's prompt is configured in OSVI.",
                UserWarning,
                stacklevel=2,
            )
        session = kwargs.get("session_id") or turn.history_session_id or self.session_id
        return self._agent_for_call(kwargs), customer, session, turn.content


def _customer_turn(messages: Sequence[BaseMessage]) -> _Turn:
    last_ai = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
    parts: list[str] = []
    for message in messages[last_ai + 1 :]:
        if isinstance(message, HumanMessage):
            parts.append(_text(message))
        elif not isinstance(message, SystemMessage):
            raise ValueError(
                f"ChatOSVI sends customer messages only; got a {message.type!r} message after the last AI message."
            )
    if not parts:
        raise ValueError(
            "ChatOSVI needs a customer turn: end the input with one or more HumanMessages (after the last AIMessage)."
        )
    history_session = next(
        (
            m.response_metadata["session_id"]
            for m in reversed(messages[: last_ai + 1])
            if isinstance(m, AIMessage) and isinstance(m.response_metadata.get("session_id"), str)
        ),
        None,
    )
    saw_system = any(isinstance(m, SystemMessage) for m in messages)
    return _Turn("\n\n".join(parts), history_session, saw_system)


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


def _metadata(result: SendMessageResult, agent_uuid: str) -> dict[str, Any]:
    return {
        "session_id": result.session_id,
        "state": result.state,
        "mode": result.mode,
        "help_requested": result.help_requested,
        "model_name": agent_uuid,
        "model_provider": _PROVIDER,
    }


def _message(result: SendMessageResult, agent_uuid: str) -> AIMessage:
    # reply is None while a human operator has taken over: empty content, mode "support" says why.
    return AIMessage(content=result.reply or "", response_metadata=_metadata(result, agent_uuid))


def _chunk(result: SendMessageResult, agent_uuid: str) -> ChatGenerationChunk:
    position: Literal["last"] = "last"
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=result.reply or "", response_metadata=_metadata(result, agent_uuid), chunk_position=position
        )
    )
