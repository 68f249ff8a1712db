"""LangChain's standard unit suites: ChatOSVI, and every tool generated from `protocol.OPERATIONS`.

One tool suite per operation is generated below, so an operation added to the core gets its suite
(and must get an example in `TOOL_EXAMPLES`, or `test_every_operation_has_an_example` fails).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ChatModelUnitTests, ToolsUnitTests
from syrupy.assertion import SnapshotAssertion

from osvi_integrations.langchain import ChatOSVI, OSVISendMessageTool, OSVITool
from osvi_integrations.protocol import OPERATIONS, SEND_MESSAGE, Operation
from osvi_integrations.sandbox import ORDERS_AGENT, SUPPORT_AGENT

_UNIT_BASE_URL = "http://127.0.0.1:9"  # never contacted: unit suites make no calls (and sockets are off)
_SESSION = "4718a326-417b-4dda-90d0-21fd65a11cb8"

#: What an LLM would pass each tool (the application's agent and customer are not arguments).
TOOL_EXAMPLES: dict[str, dict[str, Any]] = {
    "send_message": {"content": "Where is my order?"},
    "create_session": {"input_fields": {"first_name": "Alex"}, "context": ["Called yesterday about a late parcel."]},
    "get_active_session": {},
    "list_active_sessions": {},
    "inject_context": {"session_id": _SESSION, "context": "Earlier call: wants a refund."},
    "list_active_agents": {},
    "takeover_session": {"session_id": _SESSION, "message": "Hi, this is Ana from support."},
    "tell_agent": {"session_id": _SESSION, "message": "Offer express shipping."},
    "whisper_to_agent": {"session_id": _SESSION, "message": "The customer is a VIP."},
    "hand_back_to_agent": {"session_id": _SESSION},
    "close_session": {"session_id": _SESSION},
    "send_operator_message": {"session_id": _SESSION, "message": "Your parcel leaves today."},
}


def test_every_operation_has_an_example() -> None:
    assert set(TOOL_EXAMPLES) == {operation.name for operation in OPERATIONS}


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
            "a third-party class round-trips with allowed_objects=[ChatOSVI] (see test_chat_models.py). "
            "The snapshot comparison before the load does run and must pass."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)


class _OSVIToolUnitSuite(ToolsUnitTests):
    operation: Operation[Any, Any]

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return OSVISendMessageTool if self.operation is SEND_MESSAGE else OSVITool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "operation": self.operation.name,
            "agent_uuid": SUPPORT_AGENT,
            "customer_id": "+15550100",
            "api_key": "unit-token-12345",
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return TOOL_EXAMPLES[self.operation.name]

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OSVI_API_TOKEN": "env-token-123456", "OSVI_BASE_URL": _UNIT_BASE_URL},
            {"operation": self.operation.name, "agent_uuid": SUPPORT_AGENT},
            {"api_key": "env-token-123456", "base_url": _UNIT_BASE_URL, "name": f"osvi_{self.operation.name}"},
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


for _operation in OPERATIONS:
    _name = f"Test{_camel(_operation.name)}ToolUnit"
    globals()[_name] = type(_name, (_OSVIToolUnitSuite,), {"operation": _operation, "__module__": __name__})
