"""Every LangChain tool's arguments go through OpenAI strict mode, Gemini and Anthropic unchanged, and
what a strict model sends (every argument, null for the ones it leaves out; `input_fields` as entries)
is what the core takes."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest


# The model providers' own converters are development tools: the release check's floor runs go without them.
# (Looked up, not imported: they load when a check runs, not in every worker that collects this module.)
def _installed(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


for _needed in ("langchain_core", "openai", "agents", "langchain_anthropic", "langchain_google_genai", "google.genai"):
    if not _installed(_needed):
        pytest.skip(f"{_needed} (a dev tool) is not installed", allow_module_level=True)

from langchain_core.tools import BaseTool  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from osvi_integrations import InvalidRequestError  # noqa: E402
from osvi_integrations.langchain import OSVIToolkit  # noqa: E402
from osvi_integrations.protocol import CREATE_SESSION, OPERATIONS  # noqa: E402
from osvi_integrations.protocol.tool_schema import ToolArguments, portable_schema  # noqa: E402
from osvi_integrations.types import CreateSessionParams, InputField  # noqa: E402

from ..schema_conversions import assert_every_provider_takes, openai_strict_problems  # noqa: E402

TOKEN = "token-for-tests"
TOOLS = OSVIToolkit(api_key=TOKEN, agent_uuid="agent_a", customer_id="c", include_operator_tools=True).get_tools()


def test_there_is_a_tool_per_operation() -> None:
    assert [tool.name for tool in TOOLS] == [f"osvi_{op.name}" for op in OPERATIONS]


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_every_provider_takes_the_tool_unchanged(tool: BaseTool) -> None:
    model = tool.tool_call_schema
    assert isinstance(model, type) and issubclass(model, ToolArguments)
    schema = model.model_json_schema()
    assert_every_provider_takes(tool, schema)
    from openai.lib._pydantic import to_strict_json_schema

    # The openai SDK's own strict conversion (what `client.chat.completions.parse(tools=[...])` sends).
    assert to_strict_json_schema(model) == schema


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_operation_has_a_portable_schema(operation: Any) -> None:
    """The MCP tools' schemas come from these (tests/integration_tests/mcp/test_tool_schemas.py lists them)."""
    assert openai_strict_problems(portable_schema(operation.params.model_json_schema())) == []


def test_the_old_open_object_is_what_strict_mode_refused() -> None:
    """The check is not vacuous: an open object (what `input_fields` was) and the keywords the converters
    let through are caught."""
    open_object = {
        "type": "object",
        "properties": {"input_fields": {"anyOf": [{"type": "object", "additionalProperties": True}, {"type": "null"}]}},
        "required": ["input_fields"],
        "additionalProperties": False,
    }
    assert any("additionalProperties" in p for p in openai_strict_problems(open_object))
    raw = CreateSessionParams.model_json_schema()
    problems = " ".join(openai_strict_problems(raw))
    assert "examples" in problems and "minLength" in problems and "every property must be required" in problems
    with pytest.raises(ValueError, match="free-form keys"):
        portable_schema(open_object)


def test_input_fields_are_entries_to_the_model_and_an_object_on_the_wire() -> None:
    tool = next(t for t in TOOLS if t.name == "osvi_create_session")
    schema = tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    entries = schema["properties"]["input_fields"]["anyOf"][0]
    assert entries["type"] == "array" and entries["items"]["required"] == ["name", "value"]
    strict_call = {
        "input_fields": [
            {"name": "first_name", "value": "Alex"},
            {"name": "plan", "value": '"gold"'},
            {"name": "orders", "value": "[48213, 48214]"},
            {"name": "address", "value": '{"city": "Oslo"}'},
            {"name": "vip", "value": "true"},
            {"name": "zip", "value": "02134"},  # not JSON (a leading zero): stays text
            {"name": "note", "value": "NaN"},  # Python's json would read a float; the API's JSON would not
        ],
        "context": None,
    }
    args = tool.args_schema.model_validate(strict_call)  # type: ignore[union-attr]
    params = CREATE_SESSION.validate({"agent_uuid": "agent_a", "customer_id": "c", **dict(args)})
    assert params.input_fields == {
        "first_name": "Alex",
        "plan": "gold",
        "orders": [48213, 48214],
        "address": {"city": "Oslo"},
        "vip": True,
        "zip": "02134",
        "note": "NaN",
    }
    body = params.model_dump(mode="json", exclude_none=True)
    assert body["input_fields"]["orders"] == [48213, 48214] and "context" not in body


@pytest.mark.parametrize(
    "given",
    [
        {"first_name": "Alex", "nested": {"a": [1, None]}},  # the Python API's dict, any JSON values
        [InputField(name="first_name", value="Alex"), {"name": "nested", "value": '{"a": [1, null]}'}],
    ],
    ids=["dict", "entries"],
)
def test_the_core_takes_a_dict_or_entries(given: Any) -> None:
    params = CREATE_SESSION.validate({"agent_uuid": "agent_a", "customer_id": "c", "input_fields": given})
    if isinstance(given, dict):
        assert params.input_fields == given
    else:
        assert params.input_fields == {"first_name": "Alex", "nested": {"a": [1, None]}}


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ([{"name": "a"}], 'entry 1 must be an object with exactly "name" and "value".'),
        ([{"name": "a", "value": "1", "extra": 2}], 'entry 1 must be an object with exactly "name" and "value".'),
        (["first_name=Alex"], 'entry 1 must be an object with exactly "name" and "value".'),
        ([{"name": " a", "value": "1"}], "entry 1 needs a name: a non-blank string without surrounding spaces."),
        ([{"name": "a", "value": "1"}, {"name": "a", "value": "2"}], "the name 'a' is given twice."),
        ("first_name=Alex", 'must be a list of {"name", "value"} entries (or an object), got a string.'),
        (42, 'must be a list of {"name", "value"} entries (or an object), got a number.'),
    ],
)
def test_bad_entries_are_refused_in_words(given: Any, problem: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        CREATE_SESSION.validate({"agent_uuid": "agent_a", "customer_id": "c", "input_fields": given})
    assert info.value.field == "input_fields" and str(info.value).endswith(problem), str(info.value)


def test_a_strict_model_may_send_null_for_every_optional_argument() -> None:
    for tool in TOOLS:
        model = tool.args_schema
        assert isinstance(model, type) and issubclass(model, BaseModel)
        schema = model.model_json_schema()
        optional = [name for name, field in model.model_fields.items() if not field.is_required()]
        for name in optional:
            assert {"type": "null"} in schema["properties"][name]["anyOf"]
        given = {name: None if name in optional else "some text" for name in model.model_fields}
        assert model.model_validate(given).model_dump() == given  # null means "not given": the default


# -- portable_schema itself ------------------------------------------------------------------------


def test_portable_schema_writes_out_references_and_makes_optional_arguments_nullable() -> None:
    raw: dict[str, Any] = {
        "$defs": {"Entry": {"title": "Entry", "type": "object", "properties": {"k": {"type": "string"}}}},
        "title": "Params",
        "type": "object",
        "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/$defs/Entry"}, "description": "Some entries."},
            "kind": {"const": "refund", "type": "string"},
            "note": {"type": "string", "minLength": 1, "default": "x", "examples": ["y"], "description": "A note."},
        },
        "required": ["kind"],
    }
    before = repr(raw)
    assert portable_schema(raw) == {
        "type": "object",
        "properties": {
            "entries": {
                "anyOf": [
                    {
                        "type": "array",
                        "description": "Some entries.",
                        "items": {
                            "type": "object",
                            "properties": {"k": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                            "required": ["k"],
                            "additionalProperties": False,
                        },
                    },
                    {"type": "null"},
                ]
            },
            "kind": {"type": "string", "enum": ["refund"]},
            "note": {"anyOf": [{"type": "string", "description": "A note."}, {"type": "null"}]},
        },
        "required": ["entries", "kind", "note"],
        "additionalProperties": False,
    }
    assert repr(raw) == before  # the model's own schema is left as it was


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}}, "'format'"),
        (
            {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"},
            "recursive",
        ),
        ({"type": "string"}, "must be an object"),
    ],
)
def test_portable_schema_refuses_what_it_cannot_state(schema: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        portable_schema(schema)
