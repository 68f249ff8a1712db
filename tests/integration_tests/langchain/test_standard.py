"""LangChain's standard integration suites against the sandbox: ChatOSVI, and EVERY generated tool.

The tool suites assert a successful result (an artifact), so each operation really works end to end.
Each test gets a fresh customer and, where the operation needs one, a live session prepared through
the public client (taken over first for the operator's message, which needs a human in charge).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ChatModelIntegrationTests, ToolsIntegrationTests

from osvi_integrations import OSVIClient
from osvi_integrations.langchain import ChatOSVI, OSVISendMessageTool, OSVITool
from osvi_integrations.protocol import GET_ACTIVE_SESSION, OPERATIONS, SEND_MESSAGE, SEND_OPERATOR_MESSAGE, Operation
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer
from tests.unit_tests.langchain.standard_params import SESSION, TOOL_EXAMPLES, NoToolsFlags, camel


def _new_customer() -> str:
    return f"std-{uuid.uuid4().hex[:12]}"


# test_double_messages_conversation sends SystemMessages, which ChatOSVI ignores with a
# warning (asserted in the unit tests); the suite forbids overriding its tests.
@pytest.mark.filterwarnings("ignore:ChatOSVI ignores system messages:UserWarning")
class TestChatOSVIIntegration(NoToolsFlags, ChatModelIntegrationTests):
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


class _OSVIToolIntegrationSuite(ToolsIntegrationTests):
    operation: ClassVar[Operation[Any, Any]]
    _sandbox: SandboxServer
    _customer: str
    _session: str | None

    @pytest.fixture(autouse=True)
    def _prepare(self, sandbox: SandboxServer) -> None:
        self._sandbox, self._customer, self._session = sandbox, _new_customer(), None
        params = self.operation.params.model_fields
        if "session_id" not in params and self.operation is not GET_ACTIVE_SESSION:
            return
        with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
            self._session = client.send_message(SUPPORT_AGENT, self._customer, "Hello").session_id
            if self.operation is SEND_OPERATOR_MESSAGE:
                client.support.takeover(self._session)

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return OSVISendMessageTool if self.operation is SEND_MESSAGE else OSVITool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "operation": self.operation.name,
            "agent_uuid": SUPPORT_AGENT,
            "customer_id": self._customer,
            "api_key": self._sandbox.api_token,
            "base_url": self._sandbox.base_url,
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        example = dict(TOOL_EXAMPLES[self.operation.name])
        if example.get("session_id") == SESSION:
            example["session_id"] = self._session
        return example


for _operation in OPERATIONS:
    _name = f"Test{camel(_operation.name)}ToolIntegration"
    globals()[_name] = type(_name, (_OSVIToolIntegrationSuite,), {"operation": _operation, "__module__": __name__})
