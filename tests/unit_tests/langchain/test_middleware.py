"""What the escalation gate looks at, without a graph or a network."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from osvi_integrations import SendMessageResult, Session, SupportCommandResult
from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware, _action, find_escalations

RESULT = SendMessageResult(
    session_id="s-1", reply="A colleague joins.", state="default", mode="ai", help_requested=True
)
TAKEN = SendMessageResult(session_id="s-1", reply=None, state="default", mode="support", help_requested=False)


def tool_message(artifact: Any, name: str = "osvi_send_message", call_id: str = "c-1") -> ToolMessage:
    return ToolMessage("summary", name=name, tool_call_id=call_id, artifact=artifact)


@pytest.mark.parametrize("artifact", [RESULT, RESULT.model_dump()], ids=["model", "checkpointed-dict"])
def test_help_requested_is_found_in_a_model_or_a_dict(artifact: Any) -> None:
    (found,) = find_escalations([HumanMessage("x"), tool_message(artifact)])
    assert found == {
        "reason": "help_requested",
        "tool": "osvi_send_message",
        "tool_call_id": "c-1",
        "session_id": "s-1",
        "mode": "ai",
        "help_requested": True,
        "summary": "summary",
    }


def test_a_takeover_wins_over_help_requested_and_sessions_count_too() -> None:
    both = TAKEN.model_copy(update={"help_requested": True})
    session = Session(id="s-2", customer_id="c", mode="support", help_requested=False, status="active")
    found = find_escalations([tool_message(both), tool_message(session, "osvi_get_active_session", "c-2")])
    assert [(f["reason"], f["session_id"]) for f in found] == [("takeover", "s-1"), ("takeover", "s-2")]


@pytest.mark.parametrize(
    "messages",
    [
        [tool_message(RESULT), AIMessage("already answered")],  # not the latest tool results
        [tool_message(RESULT, name="weather")],  # not an OSVI tool
        [tool_message(None)],  # an error result has no artifact
        [tool_message(SendMessageResult(session_id="s", reply="hi", state="d", mode="ai", help_requested=False))],
        [tool_message(SupportCommandResult(session_id="s", command="takeover"), "osvi_takeover_session")],
        [],
    ],
    ids=["old", "other-tool", "no-artifact", "calm", "operator-command", "empty"],
)
def test_nothing_to_escalate(messages: list[BaseMessage]) -> None:
    assert find_escalations(messages) == []


def test_switches_and_custom_tool_names() -> None:
    messages: list[BaseMessage] = [tool_message(RESULT, name="relay"), tool_message(TAKEN, name="relay", call_id="c-2")]
    assert find_escalations(messages) == []
    assert [f["reason"] for f in find_escalations(messages, ["relay"])] == ["help_requested", "takeover"]
    assert [f["reason"] for f in find_escalations(messages, ["relay"], on_help_requested=False)] == ["takeover"]
    assert [f["reason"] for f in find_escalations(messages, ["relay"], on_takeover=False)] == ["help_requested"]
    gate = OSVIEscalationMiddleware(tool_names=["relay"], on_takeover=False)
    assert gate.tool_names == frozenset({"relay"}) and not gate.on_takeover


@pytest.mark.parametrize(("value", "action"), [("continue", "continue"), ({"action": "end"}, "end")])
def test_resume_values(value: object, action: str) -> None:
    assert _action(value) == action


@pytest.mark.parametrize("value", ["approve", None, {"type": "accept"}, "later"])
def test_other_resume_values_name_no_action(value: object) -> None:
    assert _action(value) is None
