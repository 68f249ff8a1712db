"""What each LLM provider's tool converter makes of a tool's input schema, and the checks that it took the
schema unchanged: OpenAI strict mode (the `openai` SDK, openai-agents, LangChain `strict=True`), Gemini
function declarations (langchain-google-genai and google-genai's own converter) and Anthropic tools.

"Unchanged" means each converter returns the schema as it was given (OpenAI's and Anthropic's) or, for
Gemini, whose declarations are not JSON Schema, a declaration with the same meaning: the same
properties, types, nullability, required lists, items and descriptions. On top of the converters, the
schema is checked against OpenAI's documented strict subset, which the converters do not enforce (they
pass `examples` or `minLength`, which the API refuses in strict mode).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

# The providers' SDKs load when a check first runs (about 2 s of imports): every test worker collects this
# module, few run its checks.
if TYPE_CHECKING:
    from google.genai import types as genai

#: OpenAI Structured Outputs, "Supported schemas": the keywords strict mode accepts.
OPENAI_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "title",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "$ref",
        "$defs",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
#: OpenAI: at most 10 levels of object nesting.
OPENAI_MAX_NESTING = 10
#: Function names OpenAI, Anthropic and Gemini all accept.
TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def openai_strict_problems(schema: Mapping[str, Any]) -> list[str]:
    """What OpenAI's documented strict-mode rules find wrong with `schema` (empty: nothing)."""
    problems: list[str] = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("the root must be an object, not a union")
    _check_node(schema, "$", 0, problems)
    return problems


def _check_node(node: Mapping[str, Any], path: str, depth: int, problems: list[str]) -> None:
    unknown = set(node) - OPENAI_STRICT_KEYWORDS
    if unknown:
        problems.append(f"{path}: keywords strict mode refuses: {sorted(unknown)}")
    if not {"type", "anyOf", "$ref", "enum", "const"} & set(node):
        problems.append(f"{path}: no type")
    if node.get("type") == "object":
        depth += 1
        if depth > OPENAI_MAX_NESTING:
            problems.append(f"{path}: nested deeper than {OPENAI_MAX_NESTING} objects")
        properties = node.get("properties", {})
        if node.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        if list(node.get("required", [])) != list(properties):
            problems.append(f"{path}: every property must be required (optional ones nullable)")
        for name, prop in properties.items():
            _check_node(prop, f"{path}.{name}", depth, problems)
    if "items" in node:
        _check_node(node["items"], f"{path}[]", depth, problems)
    for number, option in enumerate(node.get("anyOf", ())):
        _check_node(option, f"{path}|{number}", depth, problems)


def function_tool(name: str, description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The tool as an OpenAI-style function definition (what LangChain converters take as a dict)."""
    return {"name": name, "description": description, "parameters": copy.deepcopy(dict(schema))}


def assert_every_provider_takes(tool: BaseTool | Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """`tool` (a LangChain tool, or a function definition whose parameters are `schema`) goes through every
    converter unchanged. `schema` is the input schema the tool advertises."""
    name = tool.name if isinstance(tool, BaseTool) else str(tool["name"])
    assert TOOL_NAME.match(name), name
    assert openai_strict_problems(schema) == [], openai_strict_problems(schema)
    # LangChain gives a tool model's root description to the function; a function definition keeps its own.
    expected = {k: v for k, v in schema.items() if k != "description"} if isinstance(tool, BaseTool) else schema

    from agents.strict_schema import ensure_strict_json_schema
    from google.genai import types as genai
    from langchain_anthropic.chat_models import convert_to_anthropic_tool

    # OpenAI: openai-agents (its MCP path refuses open objects too), LangChain's strict conversion.
    assert ensure_strict_json_schema(copy.deepcopy(dict(schema)), _reject_open_objects=True) == schema
    given = tool if isinstance(tool, BaseTool) else copy.deepcopy(dict(tool))
    strict = convert_to_openai_tool(given, strict=True)["function"]
    plain = convert_to_openai_tool(given)["function"]
    assert strict["strict"] is True and strict["parameters"] == plain["parameters"] == expected

    # Anthropic: the input_schema is the parameters as they are.
    anthropic = convert_to_anthropic_tool(given)
    assert anthropic["name"] == name and anthropic["input_schema"] == expected

    # Gemini: langchain-google-genai's declaration, and google-genai's converter refusing any unsupported field.
    # (A root description is the function's, not the parameters'.)
    parameters = {k: v for k, v in schema.items() if k != "description"}
    declaration = _gemini_declaration(given)
    assert declaration.name == name
    if parameters["properties"]:  # (without arguments, langchain-google-genai declares no parameters)
        assert declaration.parameters is not None
        assert gemini_meaning(declaration.parameters) == json_meaning(parameters)
    native = genai.Schema.from_json_schema(
        json_schema=genai.JSONSchema(**copy.deepcopy(parameters)),
        api_option="GEMINI_API",
        raise_error_on_unsupported_field=True,
    )
    assert gemini_meaning(native) == json_meaning(parameters)


class _Ignored(logging.Filter):
    """langchain-google-genai logs each `additionalProperties` it leaves out: Gemini's declarations have no
    such keyword, and its objects take no unknown keys anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'additionalProperties' is not supported" not in record.getMessage()


def _gemini_declaration(tool: BaseTool | dict[str, Any]) -> genai.FunctionDeclaration:
    from langchain_google_genai._function_utils import convert_to_genai_function_declarations

    logger = logging.getLogger("langchain_google_genai._function_utils")
    quiet = _Ignored()
    logger.addFilter(quiet)
    try:
        converted = convert_to_genai_function_declarations([copy.deepcopy(tool) if isinstance(tool, dict) else tool])
    finally:
        logger.removeFilter(quiet)
    assert len(converted) == 1 and converted[0].function_declarations
    (declaration,) = converted[0].function_declarations
    return declaration


def json_meaning(schema: Mapping[str, Any]) -> dict[str, Any]:
    """What a JSON schema node says, in the terms Gemini declarations use (type, nullable, ...)."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    assert len(options) == 1, f"one non-null type expected: {schema}"
    (base,) = options
    meaning: dict[str, Any] = {
        "type": base["type"],
        "nullable": "anyOf" in schema and len(schema["anyOf"]) == 2,
        "description": schema.get("description", base.get("description")),
    }
    if "properties" in base:
        meaning["properties"] = {name: json_meaning(prop) for name, prop in base["properties"].items()}
        meaning["required"] = list(base["required"])
    if "items" in base:
        meaning["items"] = json_meaning(base["items"])
    if "enum" in base:
        meaning["enum"] = list(base["enum"])
    return meaning


def gemini_meaning(schema: genai.Schema) -> dict[str, Any]:
    """The same reading of a Gemini `Schema` (nullable written either way it may be)."""
    from google.genai import types as genai

    nullable = bool(schema.nullable)
    if schema.any_of:
        options = [o for o in schema.any_of if o.type != genai.Type.NULL]
        nullable = nullable or len(options) < len(schema.any_of)
        assert len(options) == 1, schema
        base = options[0]
        description = schema.description or base.description
    else:
        base, description = schema, schema.description
    assert base.type is not None
    meaning: dict[str, Any] = {"type": base.type.value.lower(), "nullable": nullable, "description": description}
    if base.properties is not None:
        meaning["properties"] = {name: gemini_meaning(prop) for name, prop in base.properties.items()}
        meaning["required"] = list(base.required or [])
    if base.items is not None:
        meaning["items"] = gemini_meaning(base.items)
    if base.enum is not None:
        meaning["enum"] = list(base.enum)
    return meaning
