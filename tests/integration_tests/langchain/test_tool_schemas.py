"""What a model in OpenAI's strict mode sends the LangChain tools (every argument given, null for the ones it
leaves out, `input_fields` as name/value entries) reaches the sandbox as the API expects, over real HTTP."""

from __future__ import annotations

import jsonschema
from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

from osvi_integrations import Session
from osvi_integrations.langchain import OSVIToolkit
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer
from tests.conftest import FAST_RETRIES


def test_strict_arguments_start_a_session_with_its_input_fields(sandbox: SandboxServer, customer_id: str) -> None:
    toolkit = OSVIToolkit(
        agent_uuid=SUPPORT_AGENT,
        customer_id=customer_id,
        api_key=SecretStr(sandbox.api_token),
        base_url=sandbox.base_url,
        retry_policy=FAST_RETRIES,
    )
    tools = {tool.name: tool for tool in toolkit.get_tools()}
    start = {
        "input_fields": [
            {"name": "first_name", "value": "Alex"},
            {"name": "plan", "value": "gold"},
            {"name": "orders", "value": "[48213, 48214]"},
        ],
        "context": None,
    }
    send = {"content": "Hello!", "session_id": None}
    for name, arguments in (("osvi_create_session", start), ("osvi_send_message", send)):
        strict = convert_to_openai_tool(tools[name], strict=True)["function"]["parameters"]
        jsonschema.validate(arguments, strict)  # what strict decoding can produce

    started = tools["osvi_create_session"].invoke(
        ToolCall(name="osvi_create_session", args=start, id="1", type="tool_call")
    )
    replied = tools["osvi_send_message"].invoke(ToolCall(name="osvi_send_message", args=send, id="2", type="tool_call"))
    assert isinstance(started, ToolMessage) and isinstance(replied, ToolMessage)
    assert started.status == "success" and replied.status == "success", (started.content, replied.content)
    session = started.artifact
    assert isinstance(session, Session)
    expected = {"first_name": "Alex", "plan": "gold", "orders": [48213, 48214]}
    assert session.metadata.input_fields == expected
    assert sandbox.engine.sessions[session.id].input_fields == expected  # the API received the object
    assert replied.artifact.session_id == session.id  # null session_id: the customer's active session
    assert replied.artifact.reply == "Hello Alex! I'm the OSVI sandbox assistant. How can I help you today?"
