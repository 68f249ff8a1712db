"""The tools are generated from `protocol.OPERATIONS`: names, descriptions, argument schemas, error
wording and results all come from the core. Checked here without network (httpx.MockTransport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel

from osvi_integrations import ConfigurationError, InvalidRequestError, OSVIClient, OSVIError
from osvi_integrations.langchain import OSVISendMessageInput, OSVISendMessageTool, OSVITool, OSVIToolkit
from osvi_integrations.protocol import (
    OPERATIONS,
    SEND_MESSAGE,
    TAKEOVER_SESSION,
    Operation,
    describe_error,
    result_text,
)
from osvi_integrations.protocol.tool_schema import portable_schema

from .standard_params import TOOL_EXAMPLES

TOKEN = "fake-token-123456"
BASE_URL = "https://fake.osvi.test"
SESSION = "4718a326-417b-4dda-90d0-21fd65a11cb8"

SESSION_RECORD = {
    "id": SESSION,
    "customer_id": "+15550100",
    "mode": "support",
    "help_requested": True,
    "status": "active",
    "active_human": "ana@example.com",
}
#: A successful answer per operation, in the API's own shape.
ANSWERS: dict[str, Any] = {
    "send_message": {
        "success": True,
        "data": {"session_id": SESSION, "reply": "Hi!", "state": "default", "mode": "ai", "help_requested": False},
    },
    "create_session": {"success": True, "data": {**SESSION_RECORD, "mode": "ai", "help_requested": False}},
    "get_active_session": {"success": True, "data": SESSION_RECORD},
    "list_active_sessions": {"success": True, "data": {"agent_a": SESSION_RECORD}},
    "inject_context": {"success": True, "data": {"session_id": SESSION, "context": ["Earlier call: wants a refund."]}},
    "list_active_agents": [{"agent_id": "agent_a", "name": "Support", "status": "active"}],
    "takeover_session": {
        "success": True,
        "data": {"session_id": SESSION, "command": "takeover", "state": "ok", "active_human": "ana@example.com"},
    },
    "tell_agent": {
        "success": True,
        "data": {"session_id": SESSION, "command": "tell", "state": "ok", "reply": "Sure."},
    },
    "whisper_to_agent": {"success": True, "data": {"session_id": SESSION, "command": "whisper", "state": "ok"}},
    "hand_back_to_agent": {"success": True, "data": {"session_id": SESSION, "command": "end", "state": "ok"}},
    "close_session": {"success": True, "data": {"session_id": SESSION, "command": "close", "state": "ok"}},
    "send_operator_message": {"success": True, "data": {"session_id": SESSION, "command": None, "state": "ok"}},
}


class Canned:
    """Answers every request with one response; records what was sent. The look-up a customer-bound
    tool makes before acting on a named session (the customer's active sessions) is answered with the
    customer's session, and not recorded."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        owner_check = request.url.path == "/v1/chat/session/active" and "agent_uuid" not in request.url.params
        if owner_check and self.body is not ANSWERS["list_active_sessions"]:
            return httpx.Response(200, json=ANSWERS["list_active_sessions"])
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)

    def tool(self, operation: Operation[Any, Any], **kwargs: Any) -> OSVITool:
        params: dict[str, Any] = {
            "operation": operation,
            "agent_uuid": "agent_a",
            "customer_id": "+15550100",
            "api_key": TOKEN,
            "base_url": BASE_URL,
            "max_retries": 0,
            "http_client": httpx.Client(transport=httpx.MockTransport(self)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self)),
            **kwargs,
        }
        return OSVITool(**params)

    def core_error(self, operation: Operation[Any, Any], **arguments: Any) -> OSVIError:
        """The error the core client raises for the same answer: what the tool must describe."""
        http = httpx.Client(transport=httpx.MockTransport(self))
        with (
            OSVIClient(TOKEN, base_url=BASE_URL, max_retries=0, http_client=http) as client,
            pytest.raises(OSVIError) as info,
        ):
            client.call(operation, **arguments)
        return info.value


def call(operation: Operation[Any, Any], **args: Any) -> ToolCall:
    return ToolCall(name=f"osvi_{operation.name}", args=args, id="call-1", type="tool_call")


def _app_fields(operation: Operation[Any, Any]) -> set[str]:
    return set(operation.params.model_fields) & {"agent_uuid", "customer_id"}


# -- generated from the operations ----------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_name_description_and_arguments_are_the_operations(operation: Operation[Any, Any]) -> None:
    tool = OSVITool(operation=operation.name, agent_uuid="agent_a", customer_id="c", api_key=TOKEN)
    assert tool.name == f"osvi_{operation.name}"
    assert tool.description == operation.description
    schema = tool.tool_call_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    llm_sees = schema.model_json_schema()
    core = portable_schema(operation.params.model_json_schema())
    # The core's words in the portable form (tests/unit_tests/test_tool_schemas.py checks the providers).
    expected = {name: prop for name, prop in core["properties"].items() if name not in _app_fields(operation)}
    assert llm_sees["properties"] == expected
    assert llm_sees["required"] == list(expected)


def test_the_llm_never_chooses_the_agent_or_the_customer() -> None:
    for tool in OSVIToolkit(api_key=TOKEN, include_operator_tools=True).get_tools():
        assert not {"agent_uuid", "customer_id"} & set(tool.tool_call_schema.model_json_schema().get("properties", {}))  # type: ignore[union-attr]


def test_toolkit_offers_operator_tools_only_when_asked() -> None:
    default = OSVIToolkit(agent_uuid="agent_a", api_key=TOKEN).get_tools()
    everything = OSVIToolkit(agent_uuid="agent_a", api_key=TOKEN, include_operator_tools=True).get_tools()
    assert [t.name for t in default] == [f"osvi_{op.name}" for op in OPERATIONS if not op.operator]
    assert [t.name for t in everything] == [f"osvi_{op.name}" for op in OPERATIONS]
    assert {"osvi_takeover_session", "osvi_close_session"} <= {t.name for t in everything} - {t.name for t in default}
    send = everything[0]
    assert isinstance(send, OSVISendMessageTool) and send.operation is SEND_MESSAGE
    assert all(isinstance(t, OSVITool) and t.agent_uuid == "agent_a" for t in everything)


def test_send_message_tool_keeps_its_class_and_input_model() -> None:
    tool = OSVISendMessageTool(agent_uuid="agent_a", customer_id="c", api_key=TOKEN)
    assert (tool.name, tool.args_schema) == ("osvi_send_message", OSVISendMessageInput)
    assert set(OSVISendMessageInput.model_fields) == {"content", "session_id"}


def test_unknown_operation_and_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown OSVI operation 'send_mesage'"):
        OSVITool(operation="send_mesage")
    with pytest.raises(ValueError, match=r"does not take 'agent_uid' \(did you mean 'agent_uuid'\?\)"):
        OSVISendMessageTool(agent_uid="agent_a")  # type: ignore[call-arg]


# -- results and errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
async def test_content_is_the_summary_and_the_artifact_the_result(operation: Operation[Any, Any]) -> None:
    canned = Canned(200, ANSWERS[operation.name])
    tool = canned.tool(operation)
    for message in (
        tool.invoke(call(operation, **TOOL_EXAMPLES[operation.name])),
        await tool.ainvoke(call(operation, **TOOL_EXAMPLES[operation.name])),
    ):
        assert isinstance(message, ToolMessage) and message.status == "success"
        assert isinstance(message.artifact, operation.result)
        assert message.content == result_text(message.artifact)
        assert message.artifact.summary() in message.content
    sent = canned.requests[0]
    if operation.method == "POST" and "agent_uuid" in operation.params.model_fields:
        assert b'"agent_uuid":"agent_a"' in sent.content and b'"customer_id":"+15550100"' in sent.content


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (422, {"success": False, "error": "agent_archived"}),
        (502, {"success": False, "error": "Python engine returned 500", "upstream_body": {"state": "error"}}),
        (502, {"success": False, "error": "x", "upstream_body": {"state": "rejected", "reason": "tell_not_allowed"}}),
        (404, {"success": False, "error": "session_not_found"}),
        (401, {"success": False, "error": "invalid_api_token"}),
    ],
    ids=["archived", "engine-error", "rejected", "no-session", "bad-token"],
)
@pytest.mark.parametrize("operation", [SEND_MESSAGE, TAKEOVER_SESSION], ids=lambda op: op.name)
def test_errors_are_worded_by_the_core(operation: Operation[Any, Any], status: int, body: Any) -> None:
    canned = Canned(status, body)
    example = TOOL_EXAMPLES[operation.name]
    message = canned.tool(operation).invoke(call(operation, **example))
    expected = describe_error(canned.core_error(operation, agent_uuid="agent_a", customer_id="c", **example), operation)
    if "agent_uuid" not in operation.params.model_fields:
        expected = describe_error(canned.core_error(operation, **example), operation)
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert message.content == expected
    assert TOKEN not in str(message.content)


@pytest.mark.parametrize(
    ("args", "field", "problem"),
    [
        ({"content": "   "}, "content", "must not be empty or blank."),
        ({"content": 42}, "content", "must be a string, got a number."),
        ({"content": "Hi", "agent_uuid": "agent_x"}, "agent_uuid", "is not an argument of this call."),
        ({"content": "Hi", "session_id": " s-1"}, "session_id", "must not have leading or trailing whitespace."),
        ({}, "content", "is required."),
    ],
)
async def test_invalid_arguments_are_worded_by_the_core_and_nothing_is_sent(
    args: dict[str, Any], field: str, problem: str
) -> None:
    canned = Canned(200, ANSWERS["send_message"])
    tool = canned.tool(SEND_MESSAGE)
    for message in (tool.invoke(call(SEND_MESSAGE, **args)), await tool.ainvoke(call(SEND_MESSAGE, **args))):
        assert isinstance(message, ToolMessage) and message.status == "error"
        assert message.content == describe_error(InvalidRequestError(field, problem), SEND_MESSAGE)
    assert canned.requests == []


async def test_arguments_are_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangChain's check of the arguments model and the client's of the params model were two passes over
    the same values; the tool makes one: the operation's params, with the application's agent and customer."""
    passes: list[str] = []
    params_validator = SEND_MESSAGE._params_validator

    class Counting:
        def validate_python(self, value: Any) -> Any:
            passes.append("params")
            return params_validator.validate_python(value)

    def model_validate(cls: type[BaseModel], value: Any, **kwargs: Any) -> BaseModel:
        passes.append("arguments")
        return BaseModel.model_validate.__func__(cls, value, **kwargs)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setitem(SEND_MESSAGE.__dict__, "_params_validator", Counting())
    monkeypatch.setattr(OSVISendMessageInput, "model_validate", classmethod(model_validate))
    canned = Canned(200, ANSWERS["send_message"])
    tool = canned.tool(SEND_MESSAGE)
    for message in (
        tool.invoke(call(SEND_MESSAGE, content="Hi")),
        await tool.ainvoke(call(SEND_MESSAGE, content="Hi")),
    ):
        assert isinstance(message, ToolMessage) and message.status == "success"
    assert passes == ["params", "params"]
    assert len(canned.requests) == 2 and b'"customer_id":"+15550100"' in canned.requests[0].content


@pytest.mark.parametrize(
    ("settings", "args", "expected"),
    [
        # What the LLM gave is named first, before the application's own mistakes.
        ({"customer_id": None}, {"content": " "}, InvalidRequestError("content", "must not be empty or blank.")),
        ({"customer_id": " c"}, {"content": 42}, InvalidRequestError("content", "must be a string, got a number.")),
        (
            {"customer_id": " c"},
            {"content": "Hi"},
            InvalidRequestError("customer_id", "must not have leading or trailing whitespace."),
        ),
        (
            {"agent_uuid": ".."},
            {"content": "Hi"},
            InvalidRequestError("agent_uuid", "'..' is not an id: it would leave its place in the request path."),
        ),
    ],
    ids=["llm-before-missing-customer", "llm-before-bad-customer", "bad-customer", "bad-agent"],
)
async def test_one_check_reports_what_the_two_did(
    settings: dict[str, Any], args: dict[str, Any], expected: InvalidRequestError
) -> None:
    canned = Canned(200, ANSWERS["send_message"])
    tool = canned.tool(SEND_MESSAGE, **settings)
    for message in (tool.invoke(call(SEND_MESSAGE, **args)), await tool.ainvoke(call(SEND_MESSAGE, **args))):
        assert isinstance(message, ToolMessage) and message.status == "error"
        assert message.content == describe_error(expected, SEND_MESSAGE)
    assert canned.requests == []


# -- who decides agent and customer ---------------------------------------------------------------


def test_run_config_wins_over_the_tool_fields() -> None:
    canned = Canned(200, ANSWERS["send_message"])
    tool = canned.tool(SEND_MESSAGE)
    config: RunnableConfig = {"configurable": {"osvi_customer_id": "per-run", "osvi_agent_uuid": "agent_run"}}
    tool.invoke(call(SEND_MESSAGE, content="Hi"), config=config)
    tool.invoke(call(SEND_MESSAGE, content="Hi"))
    sent = [r.content for r in canned.requests]
    assert b'"customer_id":"per-run"' in sent[0] and b'"agent_uuid":"agent_run"' in sent[0]
    assert b'"customer_id":"+15550100"' in sent[1] and b'"agent_uuid":"agent_a"' in sent[1]


@pytest.mark.parametrize(
    ("missing", "expected"),
    [({"customer_id": None}, "osvi_customer_id"), ({"agent_uuid": None}, "OSVI_AGENT_UUID")],
)
def test_missing_agent_or_customer_is_a_programming_error(missing: dict[str, Any], expected: str) -> None:
    canned = Canned(200, ANSWERS["send_message"])
    with pytest.raises(ValueError, match=expected):
        canned.tool(SEND_MESSAGE, **missing).invoke(call(SEND_MESSAGE, content="Hi"))
    assert canned.requests == []


def test_the_default_agent_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSVI_AGENT_UUID", "agent_env")
    canned = Canned(200, ANSWERS["send_message"])
    canned.tool(SEND_MESSAGE, agent_uuid=None).invoke(call(SEND_MESSAGE, content="Hi"))
    assert b'"agent_uuid":"agent_env"' in canned.requests[0].content


def test_a_missing_token_is_raised_not_told_to_the_llm() -> None:
    canned = Canned(200, ANSWERS["send_message"])
    with pytest.raises(ConfigurationError, match="OSVI_API_TOKEN"):
        canned.tool(SEND_MESSAGE, api_key=None).invoke(call(SEND_MESSAGE, content="Hi"))


def test_tools_without_app_arguments_need_neither() -> None:
    canned = Canned(200, ANSWERS["takeover_session"])
    tool = canned.tool(TAKEOVER_SESSION, agent_uuid=None, customer_id=None)
    assert tool.invoke(call(TAKEOVER_SESSION, session_id=SESSION)).status == "success"
