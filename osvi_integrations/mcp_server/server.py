"""The MCP server: tools generated from the operation table, read-only resources, two prompts.

Built on `MCPServer`'s public API (tools, resources, prompts, completions, middleware, lifespan) except
in three places where the SDK (2.3) has no public extension point, stated here once:

1. Tools run on their raw arguments: `tools.OperationTool` overrides `Tool.run` (with a `FuncMetadata`
   that only carries the advertised output schema), so the core validates and words a bad argument
   ("Invalid argument ... Nothing was sent.") instead of the SDK's pydantic dump. `MCPServer.add_tool`
   derives the schema and validation from a Python signature, which would state each tool twice.
2. `MCPServer()` calls the SDK's `configure_logging` (`logging.basicConfig` plus a rich console, about
   15 ms): `_host_logging_untouched` keeps it from touching an embedding program's logging and skips it.
3. `logging/setLevel` is registered on the low-level server (`_lowlevel_server.add_request_handler`),
   which the SDK's own guidance points to: `MCPServer` has no decorator for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from mcp.server.caching import CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver import server as _sdk_server_module
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    ListToolsResult,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
    TextContent,
)
from pydantic import TypeAdapter

from .._version import __version__
from ..client import AsyncOSVIClient
from ..errors import InvalidRequestError, NotFoundError, OSVIError
from ..protocol import (
    CLOSE_SESSION,
    CREATE_SESSION,
    GET_ACTIVE_SESSION,
    HAND_BACK_TO_AGENT,
    INJECT_CONTEXT,
    LIST_ACTIVE_AGENTS,
    LIST_ACTIVE_SESSIONS,
    OPERATIONS,
    OPERATOR_OPERATIONS,
    SEND_MESSAGE,
    SEND_OPERATOR_MESSAGE,
    TAKEOVER_SESSION,
    TELL_AGENT,
    WHISPER_TO_AGENT,
    Operation,
    describe_error,
)
from ..types import AgentId, CustomerId
from .icons import SERVER_ICONS
from .oauth import caller_token
from .scopes import operation_scope
from .session_log import set_log_level
from .settings import ServerSettings
from .tools import AGENT_FIELD, AppState, operation_tools, output_model, structured_content

SERVER_NAME = "osvi"
SERVER_TITLE = "OSVI customer conversations"
WEBSITE_URL = "https://osvi.ai"
AGENTS_URI = "osvi://agents"
SESSIONS_URI = "osvi://customers/{customer_id}/sessions"
SESSION_URI = "osvi://customers/{customer_id}/sessions/{agent_uuid}"
HAND_OVER_PROMPT = "hand_over_to_agent"
ESCALATION_PROMPT = "handle_escalation"

logger: logging.Logger = logging.getLogger("osvi_integrations.mcp")
_AGENT_DOC: str = TypeAdapter(AgentId).json_schema()["description"]
# The SDK module whose `configure_logging` the constructor calls (not part of its exported API).
_sdk_server: Any = _sdk_server_module
# The lifespan state of the request being served, for the static resource, whose read() gets no Context.
_current_state: ContextVar[AppState] = ContextVar("osvi_mcp_state")
# The HTTP request being served (None on stdio), for the completion handler, whose arguments carry no context.
_current_request: ContextVar[object | None] = ContextVar("osvi_mcp_request", default=None)
#: At most this many completion values (the MCP limit is 100).
MAX_COMPLETIONS = 100
_TOOL_SCOPES = {op.name: operation_scope(op) for op in OPERATIONS}
_SETTINGS: weakref.WeakKeyDictionary[MCPServer[Any], ServerSettings] = weakref.WeakKeyDictionary()


def create_server(settings: ServerSettings | None = None) -> MCPServer[AppState]:
    """The MCP server for `settings` (default: `ServerSettings.build()`, from the environment). One
    `AsyncOSVIClient` lives for each lifespan of the server (a stdio run, an HTTP app's lifetime).

    Does not touch the host program's logging: only the `osvi-mcp` command line configures logging."""
    settings = settings or ServerSettings.build()

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncOSVIClient(config=settings.osvi) as client:
            yield AppState(client=client, settings=settings)

    with _host_logging_untouched():
        server: MCPServer[AppState] = MCPServer(
            SERVER_NAME,
            title=SERVER_TITLE,
            instructions=instructions(settings),
            version=__version__,
            lifespan=lifespan,
            website_url=WEBSITE_URL,
            icons=list(SERVER_ICONS),
            tools=list(operation_tools(settings)),
            middleware=[_bind_state, _scoped_tools],
            # 2026-07-28 lets clients cache `tools/list`. Its answer depends on the caller's token, so it is
            # private, and immediately stale: after a step-up (a new token), the client must list again.
            cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
        )
    _add_resources(server)
    for prompt in prompts(settings):
        server.add_prompt(prompt)
    server.completion()(complete)  # type: ignore[no-untyped-call]  # the SDK leaves the decorator unannotated
    # `logging/setLevel` (protocol versions up to 2025-11-25; 2026-07-28 asks per request in `_meta`). MCPServer
    # has no decorator for it: the SDK's guidance is the low-level server's `add_request_handler`.
    lowlevel: Any = getattr(server, "_lowlevel_server")  # noqa: B009
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, _set_level)
    _SETTINGS[server] = settings
    return server


def settings_of(server: MCPServer[Any]) -> ServerSettings | None:
    """The settings `create_server` built `server` with (None for a server built otherwise)."""
    return _SETTINGS.get(server)


@contextlib.contextmanager
def _host_logging_untouched() -> Iterator[None]:
    """MCPServer's constructor calls `logging.basicConfig(INFO)` (mcp.server.mcpserver.utilities.logging),
    which would add a handler to an embedding program's root logger and raise its level. basicConfig does
    nothing while the root logger has a handler, so one is there for the constructor's duration.

    That call also imports rich and builds a console for a handler basicConfig then drops (~15 ms at
    every start): while the SDK module names it, it is skipped for the constructor's duration too."""
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    sdk_setup = getattr(_sdk_server, "configure_logging", None)
    if sdk_setup is not None:
        _sdk_server.configure_logging = _no_logging_setup
    try:
        yield
    finally:
        if sdk_setup is not None:
            _sdk_server.configure_logging = sdk_setup
        if placeholder is not None:
            root.removeHandler(placeholder)


def _no_logging_setup(level: str = "INFO") -> None:
    """Stands in for the SDK's logging set-up while this server is built (see `_host_logging_untouched`)."""


async def _bind_state(ctx: ServerRequestContext[AppState, Any], call_next: CallNext) -> HandlerResult:
    token = _current_state.set(ctx.lifespan_context)
    request = _current_request.set(ctx.request)
    try:
        return await call_next(ctx)
    finally:
        _current_request.reset(request)
        _current_state.reset(token)


async def _scoped_tools(ctx: ServerRequestContext[AppState, Any], call_next: CallNext) -> HandlerResult:
    """With OAuth, a caller sees only the tools its token's scopes allow (`tools/list`), and a call beyond
    them fails here too (the HTTP layer answers it with 403 first). Without a token (stdio, an in-process
    client, the static bearer token alone) nothing is filtered."""
    token = caller_token(ctx.request)
    if token is None:
        return await call_next(ctx)
    granted = set(token.scopes)
    if ctx.method == "tools/call" and isinstance(ctx.params, Mapping):
        needed = _TOOL_SCOPES.get(str(ctx.params.get("name")))
        if needed is not None and needed not in granted:
            text = f"This call needs the scope {needed}, which your access token was not granted."
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
    result = await call_next(ctx)
    if ctx.method != "tools/list":
        return result
    # The handler's result reaches middleware as the model or as its wire dict.
    if isinstance(result, ListToolsResult):
        allowed = [tool for tool in result.tools if _TOOL_SCOPES.get(tool.name) in granted]
        return result.model_copy(update={"tools": allowed})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        tools = [t for t in result["tools"] if isinstance(t, dict) and _TOOL_SCOPES.get(t.get("name", "")) in granted]
        return {**result, "tools": tools}
    return result


async def _set_level(ctx: ServerRequestContext[AppState, Any], params: SetLevelRequestParams) -> EmptyResult:
    set_log_level(ctx.session, params.level)
    return EmptyResult()


# -- completions -----------------------------------------------------------------------------------------


async def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion:
    """Agent ids (from the active agents) for `agent_uuid` of the two prompts and the session template.
    Anything else, or a caller without `osvi:read`, gets an empty list (never an error)."""
    known = (isinstance(ref, PromptReference) and ref.name in (HAND_OVER_PROMPT, ESCALATION_PROMPT)) or (
        isinstance(ref, ResourceTemplateReference) and ref.uri == SESSION_URI
    )
    if not known or argument.name != AGENT_FIELD:
        return Completion(values=[], total=0, has_more=False)
    token = caller_token(_current_request.get())
    if token is not None and _TOOL_SCOPES[LIST_ACTIVE_AGENTS.name] not in token.scopes:
        return Completion(values=[], total=0, has_more=False)
    try:
        agents = await _current_state.get().client.call(LIST_ACTIVE_AGENTS)
    except OSVIError as error:
        logger.info("completion: active agents not listed: %r", error)
        return Completion(values=[], total=0, has_more=False)
    typed = argument.value.strip().lower()
    matches = [a.agent_id for a in agents.agents if a.agent_id.lower().startswith(typed)]
    return Completion(values=matches[:MAX_COMPLETIONS], total=len(matches), has_more=len(matches) > MAX_COMPLETIONS)


def instructions(settings: ServerSettings) -> str:
    """The server's MCP instructions, naming the tools from the table."""
    lines = [
        "This server connects you to OSVI AI chat agents that answer a business's customers.",
        f"Relay a customer's message with `{SEND_MESSAGE.name}` and pass the agent's reply on. Every result says "
        "plainly whether a human operator has taken over (then stop replying to that customer yourself) or the "
        "agent asked for a human (an escalation): read `human_has_taken_over` and `needs_human`.",
        "A failed call says whether it may already have taken effect; if it may have, do not repeat it: check "
        f"the session with `{GET_ACTIVE_SESSION.name}` first.",
    ]
    agent = settings.default_agent_uuid
    if agent is not None:
        lines.append(f"Default agent: {agent} (used when a call gives no agent_uuid).")
    else:
        lines.append(f"There is no default agent: pass agent_uuid (`{LIST_ACTIVE_AGENTS.name}` lists them).")
    if settings.operator_tools:
        names = ", ".join(f"`{op.name}`" for op in OPERATOR_OPERATIONS)
        lines.append(
            f"Operator tools are enabled ({names}): they act as the business's human operator, so use them only "
            "when the person you work for decides to."
        )
    return "\n".join(lines)


# -- resources -------------------------------------------------------------------------------------------


def _add_resources(server: MCPServer[AppState]) -> None:
    """The read-only operations as resources; content is the tool's structured output, as JSON."""

    async def active_agents() -> str:
        return await _read(LIST_ACTIVE_AGENTS, _current_state.get())

    server.add_resource(
        FunctionResource(
            uri=AGENTS_URI,
            name=LIST_ACTIVE_AGENTS.name,
            title=LIST_ACTIVE_AGENTS.title,
            description=LIST_ACTIVE_AGENTS.description,
            mime_type="application/json",
            fn=active_agents,
        )
    )

    async def active_sessions(customer_id: str, ctx: Context[AppState, Any]) -> str:
        return await _read(LIST_ACTIVE_SESSIONS, ctx.request_context.lifespan_context, customer_id=customer_id)

    async def active_session(customer_id: str, agent_uuid: str, ctx: Context[AppState, Any]) -> str:
        state = ctx.request_context.lifespan_context
        return await _read(GET_ACTIVE_SESSION, state, customer_id=customer_id, agent_uuid=agent_uuid)

    for uri, operation, fn in (
        (SESSIONS_URI, LIST_ACTIVE_SESSIONS, active_sessions),
        (SESSION_URI, GET_ACTIVE_SESSION, active_session),
    ):
        server.resource(
            uri,
            name=operation.name,
            title=operation.title,
            description=operation.description,
            mime_type="application/json",
        )(fn)


async def _read(operation: Operation[Any, Any], state: AppState, **arguments: str) -> str:
    try:
        result = await state.client.call(operation, **arguments)
    except (InvalidRequestError, NotFoundError) as error:
        raise ResourceNotFoundError(describe_error(error, operation)) from None
    except OSVIError as error:
        raise ResourceError(describe_error(error, operation)) from None
    model = output_model(operation.result)
    return model.model_validate(structured_content(model, result)).model_dump_json(indent=2)


# -- prompts ---------------------------------------------------------------------------------------------


def prompts(settings: ServerSettings) -> list[Prompt]:
    """Prompts for the two common jobs. Without a default agent, `agent_uuid` is a required argument."""
    default_agent = settings.default_agent_uuid

    def agent_words(agent_uuid: str | None) -> tuple[str, str]:
        """(how the text names the agent, the agent argument for the tool calls)."""
        if agent_uuid is not None:
            return f"the OSVI agent {agent_uuid}", f", {AGENT_FIELD} {_quoted(agent_uuid)}"
        return f"this server's default OSVI agent ({default_agent})", ""

    def hand_over_to_agent(
        customer_id: CustomerId, context: str, agent_uuid: AgentId | None = None, first_message: str | None = None
    ) -> str:
        agent, agent_arg = agent_words(agent_uuid)
        first = (
            f"Then send the customer's message {_quoted(first_message)} with `{SEND_MESSAGE.name}` (customer_id "
            f"{_quoted(customer_id)}{agent_arg}) and give the customer the agent's reply."
            if first_message
            else f"Then relay each message the customer sends with `{SEND_MESSAGE.name}` and pass each reply on."
        )
        return (
            f"Hand the conversation with customer {customer_id} over to {agent}, with what it should know first.\n"
            f"1. Call `{CREATE_SESSION.name}` with customer_id {_quoted(customer_id)}{agent_arg} and context "
            f"{_quoted([context])}. "
            f"It starts a fresh session and closes the one this customer may have with the agent; to keep an "
            f"ongoing conversation instead, find it with `{GET_ACTIVE_SESSION.name}` and add the note with "
            f"`{INJECT_CONTEXT.name}`.\n"
            f"2. {first}\n"
            "3. After every result: once a human operator has taken over, stop replying to the customer yourself; "
            f"when the agent asks for a human, tell the customer a person will join and follow the "
            f"`{ESCALATION_PROMPT}` prompt."
        )

    def handle_escalation(customer_id: CustomerId, agent_uuid: AgentId | None = None) -> str:
        agent, agent_arg = agent_words(agent_uuid)
        steps = [
            f"The conversation between customer {customer_id} and {agent} needs a human.",
            f"1. Read the session with `{GET_ACTIVE_SESSION.name}` (customer_id {_quoted(customer_id)}{agent_arg}): "
            "its mode, help_requested, operator and context.",
            "2. Tell the person you work for, in a few lines, what the customer needs and what has happened.",
        ]
        if settings.operator_tools:
            steps.append(
                "3. Then do what that person decides, with the session's id: take the conversation over with "
                f"`{TAKEOVER_SESSION.name}` and write to the customer with `{SEND_OPERATOR_MESSAGE.name}`, then "
                f"hand it back with `{HAND_BACK_TO_AGENT.name}`; or guide the agent without taking over, with "
                f"`{WHISPER_TO_AGENT.name}` or `{TELL_AGENT.name}`. `{CLOSE_SESSION.name}` cannot be undone: "
                "only on their explicit request."
            )
        else:
            steps.append(
                "3. This server offers no operator tools, so pass the session id and your summary to the people "
                "who handle escalations; until one of them takes over, tell the customer a person will join."
            )
        return "\n".join(steps)

    built = [
        Prompt.from_function(
            hand_over_to_agent,
            name=HAND_OVER_PROMPT,
            title="Hand a conversation to an OSVI agent",
            description=(
                f"Start the customer's session with an OSVI agent, handing over what it should know "
                f"(`{CREATE_SESSION.name}` with context), then relay the conversation."
            ),
        ),
        Prompt.from_function(
            handle_escalation,
            name=ESCALATION_PROMPT,
            title="Handle an escalation",
            description="Review a conversation whose agent asked for a human, and bring a human operator in.",
        ),
    ]
    for prompt in built:
        for argument in prompt.arguments or ():
            if argument.name == "context":
                argument.description = "What the agent should know first, e.g. a recap of an earlier phone call."
            elif argument.name == "first_message":
                argument.description = "The customer's first message, to send once the session is started."
            elif argument.name == AGENT_FIELD:
                argument.description = _AGENT_DOC  # lost in the schema of the optional argument
                argument.required = default_agent is None  # nothing to fall back on
    return built


def _quoted(value: object) -> str:
    """A value as JSON, as the model should pass it to a tool (quotes inside a message stay intact)."""
    return json.dumps(value, ensure_ascii=False)
