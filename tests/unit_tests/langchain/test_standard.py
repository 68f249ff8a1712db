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
from osvi_integrations.sandbox import SUPPORT_AGENT

from .standard_params import TOOL_EXAMPLES, NoToolsFlags, camel

_UNIT_BASE_URL = "http://127.0.0.1:9"  # never contacted: unit suites make no calls (and sockets are off)


def test_every_operation_has_an_example() -> None:
    assert set(TOOL_EXAMPLES) == {operation.name for operation in OPERATIONS}


class TestChatOSVIUnit(NoToolsFlags, ChatModelUnitTests):
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


for _operation in OPERATIONS:
    _name = f"Test{camel(_operation.name)}ToolUnit"
    globals()[_name] = type(_name, (_OSVIToolUnitSuite,), {"operation": _operation, "__module__": __name__})
