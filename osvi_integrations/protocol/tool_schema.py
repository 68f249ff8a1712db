"""The input schema a tool shows an LLM: one JSON Schema every provider's tool format takes unchanged.

OpenAI's strict mode (`strict: true`; the `openai` SDK, openai-agents' `convert_schemas_to_strict`,
LangChain's `convert_to_openai_tool(strict=True)`), Gemini function declarations and Anthropic tools
agree on a subset of JSON Schema. `portable_schema` turns an operation's params schema into it:

- every object has `additionalProperties: false` and lists every property in `required`;
- a property the caller may leave out is nullable instead (`anyOf [..., {"type": "null"}]`, its
  description on the non-null branch), so a strict model sends null for it, and null means "not
  given" (the params default to None);
- `$ref`s are written out in place (no `$defs`): Gemini's schema form and MCP clients in strict mode
  take no references;
- only the keywords of that subset are kept (`KEPT_KEYWORDS`; `const` becomes a one-value `enum`).
  OpenAI's strict mode refuses `examples`, `minLength` and `maxLength`, and some deployments
  `default`; titles are Python class names (`DROPPED_KEYWORDS`). The descriptions carry the examples;
  the core still checks every argument (a blank string is refused in words an LLM can act on)
  whatever the schema says. Any other keyword raises `ValueError`.

A schema this module returns is a fixed point of each of those converters (the tests check that).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

#: The keywords a portable schema may use: the ones OpenAI's strict mode, Gemini's function
#: declarations and Anthropic's tools all understand.
KEPT_KEYWORDS = frozenset(
    {"type", "description", "properties", "required", "additionalProperties", "items", "anyOf", "enum"}
)
#: Keywords left out: names (`title`), hints the descriptions carry (`examples`, `default`: null is the
#: default) and length limits the core checks and words. Any other keyword raises: a params model that
#: gains one needs a decision, not a silent loss.
DROPPED_KEYWORDS = frozenset({"title", "default", "examples", "minLength", "maxLength", "$defs"})
NULL: dict[str, Any] = {"type": "null"}


def portable_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` (a pydantic model's JSON schema, an object) in the portable form described above. The
    argument is not changed."""
    definitions: Mapping[str, Any] = schema.get("$defs", {})
    result = _portable(schema, definitions, seen=())
    if result.get("type") != "object":
        raise ValueError("a tool's input schema must be an object")
    return result


def accepts_null(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "null" or (isinstance(schema.get("type"), list) and "null" in schema["type"]):
        return True
    return any(accepts_null(option) for option in schema.get("anyOf", ()))


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` that also accepts null (a description stays with the non-null branch)."""
    if accepts_null(schema):
        return dict(schema)
    if set(schema) <= {"anyOf", "description"}:
        union: dict[str, Any] = {**schema, "anyOf": [*schema["anyOf"], NULL]}
        _describe_the_branch(union, union["anyOf"])
        return union
    return {"anyOf": [dict(schema), NULL]}


def _portable(node: Mapping[str, Any], definitions: Mapping[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        if name in seen or name not in definitions:
            raise ValueError(f"cannot write out the reference {node['$ref']!r} (recursive or unknown)")
        # Keywords beside a $ref (a description) describe this use of the definition and win.
        node = {**definitions[name], **{k: v for k, v in node.items() if k != "$ref"}}
        seen = (*seen, name)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "const":  # one allowed value: an enum of one, which every provider takes
            out["enum"] = [value]
            continue
        if key in DROPPED_KEYWORDS:
            continue
        if key not in KEPT_KEYWORDS:
            raise ValueError(f"the keyword {key!r} has no portable form: state it in the description instead")
        if key == "properties":
            out[key] = {name: _portable(prop, definitions, seen) for name, prop in value.items()}
        elif key == "items":
            out[key] = _portable(value, definitions, seen)
        elif key == "anyOf":
            out[key] = [_portable(option, definitions, seen) for option in value]
        elif key == "additionalProperties" and value is not False:
            raise ValueError("an object with free-form keys cannot be stated in a portable schema")
        else:
            out[key] = copy.deepcopy(value)
    if out.get("type") == "object" or "properties" in out:
        properties: dict[str, Any] = out.setdefault("properties", {})
        required = set(node.get("required", ()))
        for name, prop in properties.items():
            if name not in required:
                properties[name] = nullable(prop)
        out["type"] = "object"
        out["required"] = list(properties)
        out["additionalProperties"] = False
    anyof = out.get("anyOf")
    if anyof is not None:
        _describe_the_branch(out, anyof)
    return _ordered(out)


def _describe_the_branch(union: dict[str, Any], options: list[dict[str, Any]]) -> None:
    """A nullable value's one description goes on its non-null branch: Gemini's converters read it there
    (google-genai's drops a description beside `anyOf`, langchain-google-genai's prefers the branch's).
    The field's description wins over its type's ("Session id from an earlier result")."""
    branches = [option for option in options if option.get("type") != "null"]
    description = union.pop("description", None)
    if len(branches) != 1:
        if description is not None:
            union["description"] = description
        return
    (branch,) = branches
    if description is not None:
        branch["description"] = description
    options[options.index(branch)] = _ordered(branch)


_ORDER = ("type", "description", "anyOf", "enum", "items", "properties", "required", "additionalProperties")


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: schema[key] for key in _ORDER if key in schema}


class ToolArguments(BaseModel):
    """Base of the argument models tools give LLMs: unknown arguments are refused, values are not
    coerced, and the JSON schema is `portable_schema`'s (what every provider takes unchanged)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """pydantic's schema (its arguments passed on as given: their defaults differ between pydantic
        2.11 and 2.12), made portable for the validation mode."""
        schema = super().model_json_schema(*args, **kwargs)
        mode = kwargs.get("mode", args[3] if len(args) > 3 else "validation")
        if mode != "validation":
            return schema
        return portable_schema(schema)
