"""What a model reads of a result is one text on every surface: the LangChain tool's content
(`protocol.result_text`) is the MCP text block, and it names the session, its mode and escalation."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("mcp", reason="the MCP side of the comparison needs the mcp extra")

from osvi_integrations.mcp_server.tools import output_model, structured_content, text_block
from osvi_integrations.protocol import OPERATIONS, Operation, result_text
from osvi_integrations.types import SendMessageResult, Session, SupportCommandResult

SESSION = {"id": "s-1", "customer_id": "c", "mode": "support", "help_requested": True, "status": "active"}
EXAMPLES: dict[str, Any] = {
    "SendMessageResult": {"session_id": "s-1", "reply": "Hi", "state": "d", "mode": "ai", "help_requested": True},
    "Session": SESSION,
    "ActiveSessions": {"sessions": {"agent_a": SESSION}},
    "InjectContextResult": {"session_id": "s-1", "context": ["x"]},
    "ActiveAgents": {"agents": [{"agent_id": "agent_a", "name": "A", "status": "active"}]},
    "SupportCommandResult": {"session_id": "s-1", "command": "takeover", "state": "ok", "added_later": 3},
}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_langchain_content_is_the_mcp_text_block(operation: Operation[Any, Any]) -> None:
    result = operation.result.model_validate(EXAMPLES[operation.result.__name__])
    assert result_text(result) == text_block(structured_content(output_model(operation.result), result))


@pytest.mark.parametrize("result_type", [SendMessageResult, Session, SupportCommandResult])
def test_the_text_alone_names_the_session_and_its_state(result_type: type[Any]) -> None:
    text = result_text(result_type.model_validate(EXAMPLES[result_type.__name__]))
    assert "s-1" in text
    if result_type is not SupportCommandResult:
        assert "mode: " in text and "help_requested: true" in text
