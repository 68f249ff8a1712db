"""Builders and probes shared by the LangChain integration tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from osvi_integrations.langchain import ChatOSVI, OSVITool
from osvi_integrations.protocol import Operation
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer
from tests.conftest import FAST_RETRIES


def make_model(sandbox: SandboxServer, **kwargs: Any) -> ChatOSVI:
    params: dict[str, Any] = {
        "agent_uuid": SUPPORT_AGENT,
        "api_key": sandbox.api_token,
        "base_url": sandbox.base_url,
        "retry_policy": FAST_RETRIES,
        **kwargs,
    }
    return ChatOSVI(**params)


def make_tool(sandbox: SandboxServer, operation: Operation[Any, Any] | str, **kwargs: Any) -> OSVITool:
    params: dict[str, Any] = {
        "operation": operation,
        "api_key": sandbox.api_token,
        "base_url": sandbox.base_url,
        "retry_policy": FAST_RETRIES,
        **kwargs,
    }
    return OSVITool(**params)


class CaptureStart(BaseCallbackHandler):
    """Records what tracers receive when a chat model starts."""

    def __init__(self) -> None:
        self.serialized: list[dict[str, Any]] = []
        self.invocation_params: list[dict[str, Any]] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.serialized.append(serialized)
        self.invocation_params.append(kwargs["invocation_params"])


class ToolCallingFake(GenericFakeChatModel):
    """langchain_core's scripted fake chat model, accepting tools as a tool-calling LLM would."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self


def send(content: str, call_id: str) -> AIMessage:
    """What an LLM writes to relay a customer's words to the OSVI agent."""
    return AIMessage("", tool_calls=[ToolCall(name="osvi_send_message", args={"content": content}, id=call_id)])
