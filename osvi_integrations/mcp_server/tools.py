"""MCP tools generated from `protocol.OPERATIONS`: one tool per operation, nothing restated.

Name, title and description are the operation's; the input schema is its params model's JSON schema in
the portable form every LLM provider's tool format takes (`protocol.tool_schema`);
the output schema is its result model plus three plain-language fields (see `output_model`); the
annotations follow its effect; an error reads as `protocol.describe_error` words it. Each tool checks
its raw arguments through the core (`operation.validate`, inside `client.call`), so a bad argument
comes back as "Invalid argument ... Nothing was sent." instead of a pydantic dump with a link.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..client import AsyncOSVIClient
from ..errors import OSVIError
from ..protocol import FLAG_FIELDS, Effect, Operation, describe_error, offered_operations, with_fields_line
from ..protocol.tool_schema import nullable, portable_schema
from .audit import audit_record, emit
from .icons import SERVER_ICONS
from .session_log import send_log
from .settings import ServerSettings

T = TypeVar("T")

logger: logging.Logger = logging.getLogger("osvi_integrations.mcp")

#: The argument the core fills from the default agent (`OSVI_AGENT_UUID`) when it is omitted.
AGENT_FIELD = "agent_uuid"
SUMMARY_FIELD = "summary"
_SUMMARY_DOC = (
    "The result in plain words, the same text as the text block: the reply (if any) and, stated plainly, "
    "a human operator's takeover or an escalation."
)
_OUTPUT_MODELS: dict[type[BaseModel], type[BaseModel]] = {}
_FIELD_NAMES: dict[type[BaseModel], tuple[str, ...]] = {}


@dataclass(frozen=True)
class AppState:
    """Lifespan state shared by every request: one OSVI client (one connection pool) per server lifespan."""

    client: AsyncOSVIClient
    settings: ServerSettings


class OperationTool(Tool):
    """A tool generated from one `Operation`. It runs on its raw arguments (no SDK-side validation), so the
    core checks them and words any problem; it always returns a complete `CallToolResult`."""

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> CallToolResult:
        result: CallToolResult = await self.fn(arguments, context)
        return result


def operation_tools(settings: ServerSettings) -> list[OperationTool]:
    """The tools to offer, in `OPERATIONS` order: operator tools only with the explicit opt-in."""
    return [operation_tool(op, settings) for op in offered_operations(operator_tools=settings.operator_tools)]


def operation_tool(operation: Operation[Any, Any], settings: ServerSettings) -> OperationTool:
    output = output_model(operation.result)
    schema = input_schema(operation, settings.default_agent_uuid)

    async def call(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
        return await call_operation(operation, output, schema, arguments, ctx)

    return OperationTool(
        fn=call,
        name=operation.name,
        title=operation.title,
        description=operation.description,
        parameters=schema,
        # The SDK's metadata only carries the advertised output schema here: OperationTool.run does the rest.
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=output_schema(output)),
        is_async=True,
        annotations=tool_annotations(operation),
        icons=list(SERVER_ICONS),
        context_kwarg=None,
    )


def tool_annotations(operation: Operation[Any, Any]) -> ToolAnnotations:
    """Honest hints from the operation's effect. Every call reaches OSVI, a system outside this server."""
    return ToolAnnotations(
        title=operation.title,
        read_only_hint=operation.read_only,
        destructive_hint=operation.effect is Effect.DESTRUCTIVE,
        # A repeated write adds a second message, note or command.
        idempotent_hint=operation.read_only,
        open_world_hint=True,
    )


# -- schemas -------------------------------------------------------------------------------------------


def input_schema(operation: Operation[Any, Any], default_agent: str | None) -> dict[str, Any]:
    """The params model's JSON schema in the portable form (`protocol.tool_schema`) that OpenAI strict
    mode, Gemini and Anthropic take unchanged: every argument listed as required, the optional ones
    nullable (null means "not given"). With a default agent, `agent_uuid` may be null (the core fills it)."""
    schema = portable_schema(operation.params.model_json_schema())
    properties: dict[str, Any] = schema["properties"]
    if default_agent is not None and AGENT_FIELD in properties:
        agent = properties[AGENT_FIELD]
        described = (
            f"{agent.get('description', '')} Null (or left out) uses this server's default agent {default_agent!r}."
        )
        properties[AGENT_FIELD] = nullable({**agent, "description": described.strip()})
    return schema


def output_model(result: type[BaseModel]) -> type[BaseModel]:
    """The result model as an MCP client receives it: its own fields, plus `human_has_taken_over` and
    `needs_human` where the model defines them, plus `summary` (the plain text). Clients that hand the
    model only the structured content (Claude Code) then still give it the plain statements."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in result.model_fields.items()}
    if SUMMARY_FIELD in fields:
        raise TypeError(f"{result.__name__} has a field named {SUMMARY_FIELD!r}, which the MCP output adds.")
    for flag in FLAG_FIELDS:
        prop = getattr(result, flag, None)
        if isinstance(prop, property):
            fields[flag] = (bool, Field(description=inspect.getdoc(prop)))
    fields[SUMMARY_FIELD] = (str, Field(description=_SUMMARY_DOC))
    if result in _OUTPUT_MODELS:
        return _OUTPUT_MODELS[result]
    model: type[BaseModel] = create_model(
        result.__name__,
        __config__=ConfigDict(extra="allow"),  # like the result models: fields OSVI adds later are kept
        __doc__=result.__doc__,
        **fields,
    )
    _OUTPUT_MODELS[result] = model
    return model


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def structured_content(model: type[BaseModel], result: BaseModel) -> dict[str, Any]:
    """The result's JSON with the flags and the summary, in the order of the advertised output schema
    (`model`): its fields, then any field OSVI added later. One dump of the result: its values are
    already what the schema describes (the output model has the result model's own fields)."""
    dumped = result.model_dump(mode="json")
    summary: Callable[[], str] = result.summary  # type: ignore[attr-defined]  # every result model has one
    data: dict[str, Any] = {}
    for name in _field_names(model):
        if name == SUMMARY_FIELD:
            data[name] = summary()
        elif name in FLAG_FIELDS:
            data[name] = getattr(result, name)
        else:
            data[name] = dumped[name]
    for name, value in dumped.items():  # fields OSVI added later (a flag or summary of ours wins)
        data.setdefault(name, value)
    return data


def _field_names(model: type[BaseModel]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = tuple(model.model_fields)
    return names


def text_block(structured: Mapping[str, Any]) -> str:
    """What a client that passes on only the text gives the model: the summary, then one line with the
    result's plain fields (session_id, state, mode, help_requested...) so nothing is lost. The same
    text as a LangChain tool's content (`protocol.result_text`)."""
    return with_fields_line(str(structured[SUMMARY_FIELD]), structured)


# -- calling -------------------------------------------------------------------------------------------


async def call_operation(
    operation: Operation[Any, Any],
    output: type[BaseModel],
    schema: Mapping[str, Any],
    arguments: Mapping[str, Any],
    ctx: Context[AppState, Any],
) -> CallToolResult:
    state = ctx.request_context.lifespan_context
    started = time.monotonic()
    try:
        call = state.client.call(operation, **decode_json_arguments(schema, arguments))
        result = await with_progress(ctx, state.settings, operation, call)
        structured = structured_content(output, result)
    except Exception as raised:
        if isinstance(raised, OSVIError):
            logger.info("%s failed: %r", operation.name, raised)
            error = raised
        else:
            logger.exception("%s raised an unexpected exception", operation.name)
            error = OSVIError(
                "this MCP server hit an internal error (details are in its log).",
                may_have_taken_effect=not operation.read_only,
            )
        text = describe_error(error, operation)
        _audit(operation, ctx, arguments, started, error=error)
        await send_log(ctx, "warning", {"tool": operation.name, "error": type(raised).__name__, "message": text})
        return error_result(text)
    _audit(operation, ctx, arguments, started, result=structured)
    return CallToolResult(
        content=[TextContent(type="text", text=text_block(structured))], structured_content=structured
    )


def _audit(
    operation: Operation[Any, Any],
    ctx: Context[AppState, Any],
    arguments: Mapping[str, Any],
    started: float,
    *,
    error: OSVIError | None = None,
    result: Mapping[str, Any] | None = None,
) -> None:
    """One audit record for a write or destructive call (see `audit`); reads leave none."""
    if operation.read_only:
        return
    request_context = ctx.request_context
    emit(
        audit_record(
            operation,
            request=request_context.request,
            arguments=arguments,
            default_agent=request_context.lifespan_context.settings.default_agent_uuid,
            started=started,
            outcome="ok" if error is None else "error",
            error=type(error).__name__ if error is not None else None,
            may_have_taken_effect=True if error is None else error.may_have_taken_effect,
            result=result,
        )
    )


def error_result(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def decode_json_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Objects and lists some clients (Claude Desktop) send as JSON text, decoded for arguments that
    cannot be a string. Anything else is left for the core to check."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    decoded = dict(arguments)
    for name, value in arguments.items():
        prop = properties.get(name)
        if not isinstance(value, str) or prop is None or "string" in _json_types(prop):
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            continue
        if isinstance(parsed, dict | list):
            decoded[name] = parsed
    return decoded


def _json_types(prop: Mapping[str, Any]) -> set[str]:
    kinds = {prop["type"]} if isinstance(prop.get("type"), str) else set(prop.get("type") or ())
    for option in prop.get("anyOf", ()):
        kinds |= _json_types(option)
    return kinds


async def with_progress(
    ctx: Context[AppState, Any], settings: ServerSettings, operation: Operation[Any, Any], call: Awaitable[T]
) -> T:
    """Awaits `call`, sending a progress notification every `progress_interval` seconds. The SDK sends
    them only if the client asked for progress (a `progressToken`; the in-process client passes a
    callback instead, which is why this does not look for the token itself). Clients on the TypeScript
    SDK abandon a request after 60 s without a response, unless progress resets that timer.

    Most calls end before the first notification is due: until then a loop timer is all there is (the
    notifying task starts only when it fires), so a quick call costs no task to create and cancel."""
    total = settings.osvi.timeout
    interval = settings.progress_interval
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    heartbeat: asyncio.Task[None] | None = None

    async def beat() -> None:
        while True:
            elapsed = time.monotonic() - started
            message = f"Waiting for OSVI ({operation.name}): {elapsed:.0f} s so far, at most {total:g} s."
            try:
                await ctx.report_progress(elapsed, total, message)
            except Exception:  # a client gone away must not fail the call itself
                logger.debug("progress notification for %s not sent", operation.name, exc_info=True)
                return
            await asyncio.sleep(interval)

    def start_beating() -> None:
        nonlocal heartbeat
        heartbeat = loop.create_task(beat())

    timer = loop.call_later(interval, start_beating)
    try:
        return await call
    finally:
        timer.cancel()
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
