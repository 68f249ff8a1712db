"""LangChain's standard test suites for ChatOSVI and OSVISendMessageTool.

The integration suites run against the session sandbox. Their `chat_model_params` /
`tool_constructor_params` are properties, so an autouse fixture records the sandbox on
the test instance first; each model gets its own customer so no state bleeds between tests.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ChatModelIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, ToolsUnitTests
from syrupy.assertion import SnapshotAssertion

from osvi_integrations.langchain import ChatOSVI, OSVISendMessageTool
from osvi_integrations.sandbox import ORDERS_AGENT, SUPPORT_AGENT, SandboxServer

_UNIT_BASE_URL = "http://127.0.0.1:9"  # never contacted: unit suites make no calls


def _new_customer() -> str:
    return f"std-{uuid.uuid4().hex[:12]}"


class _NoToolsFlags:
    """What an OSVI agent does not do: it takes text and answers text, configured in OSVI."""

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_tool_choice(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_video_inputs(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # the API reports no token usage

    @property
    def supports_model_override(self) -> bool:
        return True  # `model=` per call selects another agent

    @property
    def model_override_value(self) -> str | None:
        return ORDERS_AGENT


class TestChatOSVIUnit(_NoToolsFlags, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOSVI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # Fixed values: `test_serdes` compares against a stored snapshot.
        return {"model": SUPPORT_AGENT, "customer_id": "+15550100", "base_url": _UNIT_BASE_URL}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OSVI_API_TOKEN": "env-token-123456", "OSVI_BASE_URL": _UNIT_BASE_URL},
            {"model": SUPPORT_AGENT, "customer_id": "+15550100"},
            {"api_key": "env-token-123456", "base_url": _UNIT_BASE_URL, "agent_uuid": SUPPORT_AGENT},
        )

    @pytest.mark.xfail(
        reason=(
            "load(allowed_objects='all') admits only classes listed in langchain_core.load.mapping; "
            "a third-party class round-trips with allowed_objects=[ChatOSVI] (test_chat_models.py). "
            "The snapshot comparison before the load does run and must pass."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)


# test_double_messages_conversation sends SystemMessages, which ChatOSVI ignores with a
# warning (asserted in test_chat_models.py); the suite forbids overriding its tests.
@pytest.mark.filterwarnings("ignore:ChatOSVI ignores system messages:UserWarning")
class TestChatOSVIIntegration(_NoToolsFlags, ChatModelIntegrationTests):
    _sandbox: SandboxServer

    @pytest.fixture(autouse=True)
    def _use_sandbox(self, shared_sandbox: SandboxServer) -> None:
        self._sandbox = shared_sandbox

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOSVI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": SUPPORT_AGENT,
            "customer_id": _new_customer(),
            "api_key": self._sandbox.api_token,
            "base_url": self._sandbox.base_url,
        }


class TestOSVISendMessageToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return OSVISendMessageTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"agent_uuid": SUPPORT_AGENT, "customer_id": "+15550100", "api_key": "unit-token-12345"}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"content": "Where is my order?"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OSVI_API_TOKEN": "env-token-123456", "OSVI_BASE_URL": _UNIT_BASE_URL},
            {"agent_uuid": SUPPORT_AGENT},
            {"api_key": "env-token-123456", "base_url": _UNIT_BASE_URL},
        )


class TestOSVISendMessageToolIntegration(ToolsIntegrationTests):
    _sandbox: SandboxServer

    @pytest.fixture(autouse=True)
    def _use_sandbox(self, shared_sandbox: SandboxServer) -> None:
        self._sandbox = shared_sandbox

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return OSVISendMessageTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "agent_uuid": SUPPORT_AGENT,
            "customer_id": _new_customer(),
            "api_key": self._sandbox.api_token,
            "base_url": self._sandbox.base_url,
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"content": "Where is my order?"}
