"""`OSVIEscalationMiddleware`: pauses a `langchain.agents.create_agent` graph for a person when an
OSVI tool result shows that the agent asked for a human (`help_requested`) or that a human has taken
over (`mode` "support"), and resumes WITHOUT sending the customer's message again.

Why `before_model`: LangGraph resumes an interrupted graph by running the interrupted node again
from its start. Interrupting inside the tool call (`wrap_tool_call`, after the tool returned) would
run the tool node again on resume; only the tool call's send record (see `ledger`) would then keep the
customer's message from being sent a second time. The tool node's result is checkpointed when it
finishes (durability "sync"/"async"); the next node, `before_model`, sees its ToolMessage and is the one
that pauses. Re-running it on resume repeats only a look at the state. `after_model` would be too
late: the LLM would already have answered the tool result.

Needs `langchain` (for `create_agent`): `pip install "osvi-integrations[agents]"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

try:
    from langchain.agents.middleware import AgentMiddleware, AgentState, hook_config
except ImportError as _missing:  # pragma: no cover - exercised only without langchain installed
    raise ImportError(
        "OSVIEscalationMiddleware needs langchain (create_agent and its middleware): "
        'pip install "osvi-integrations[agents]"'
    ) from _missing
from langchain_core.messages import BaseMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel

from ..protocol import OPERATIONS
from .results import tool_result
from .tools import tool_name

EscalationReason = Literal["help_requested", "takeover"]
#: What the person decides: "continue" lets the LLM go on with the tool result; "end" ends the run
#: here, without an LLM turn (e.g. a human now answers the customer).
HandoffAction = Literal["continue", "end"]


class OSVIEscalation(TypedDict):
    """One OSVI tool result that needs a person."""

    reason: EscalationReason
    tool: str
    tool_call_id: str
    session_id: str | None
    mode: str | None
    help_requested: bool
    #: The tool message's content: what the LLM would read.
    summary: str


class OSVIEscalationRequest(TypedDict):
    """The interrupt's value (`result["__interrupt__"][0].value`)."""

    type: Literal["osvi_escalation"]
    escalations: list[OSVIEscalation]
    #: Set when the graph was resumed with a value it cannot use: what to resume with instead.
    problem: NotRequired[str]


def bounded_repr(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _fields(message: ToolMessage) -> Mapping[str, Any] | None:
    """The result's fields, whether the artifact is the result model or the dict a checkpoint made of it."""
    result = tool_result(message)  # typed again, when a checkpoint made a dict of it
    artifact = result if result is not None else message.artifact
    if isinstance(artifact, BaseModel):  # also a custom tool's own model (`tool_names`)
        return artifact.model_dump()
    return artifact if isinstance(artifact, Mapping) else None


def find_escalations(
    messages: Sequence[BaseMessage],
    tool_names: Iterable[str] | None = None,
    *,
    on_help_requested: bool = True,
    on_takeover: bool = True,
) -> list[OSVIEscalation]:
    """The escalations among the latest tool results (the ToolMessages at the end of `messages`).

    Only those: older results were already seen, so each result pauses a graph at most once."""
    names = frozenset(tool_names) if tool_names is not None else frozenset(tool_name(op) for op in OPERATIONS)
    found: list[OSVIEscalation] = []
    trailing: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        trailing.append(message)
    for message in reversed(trailing):
        fields = _fields(message) if message.name in names else None
        if fields is None:
            continue
        mode = fields.get("mode")
        help_requested = fields.get("help_requested") is True
        reason: EscalationReason
        if on_takeover and mode == "support":
            reason = "takeover"
        elif on_help_requested and help_requested:
            reason = "help_requested"
        else:
            continue
        session = fields.get("session_id", fields.get("id"))
        found.append(
            OSVIEscalation(
                reason=reason,
                tool=str(message.name),
                tool_call_id=message.tool_call_id,
                session_id=session if isinstance(session, str) else None,
                mode=mode if isinstance(mode, str) else None,
                help_requested=help_requested,
                summary=message.text,
            )
        )
    return found


def _action(decision: object) -> HandoffAction | None:
    """The action a resume value names, or None when it names none."""
    value = decision.get("action") if isinstance(decision, Mapping) else decision
    if value == "continue" or value == "end":
        return value
    return None


class OSVIEscalationMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Pauses a `create_agent` graph when an OSVI tool result needs a person; resumes without resending.

    Setup:
        Needs `langchain` for `create_agent`, and a checkpointer (interrupts are saved there).

        ```bash
        pip install "osvi-integrations[agents]"
        ```

    Key init args:
        tool_names: Iterable[str] | None
            The OSVI tools to watch; default: every generated tool name (`osvi_...`).
        on_help_requested: bool
            Pause when the agent asked for a human (default True).
        on_takeover: bool
            Pause when a human has taken over, `mode` "support" (default True).

    Instantiate:
        ```python
        from langchain.agents import create_agent
        from langgraph.checkpoint.memory import InMemorySaver

        from osvi_integrations.langchain import OSVIToolkit
        from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware

        tools = OSVIToolkit(agent_uuid="agent_...").get_tools()
        agent = create_agent(llm, tools, middleware=[OSVIEscalationMiddleware()], checkpointer=InMemorySaver())
        ```

    Invoke:
        ```python
        result = agent.invoke({"messages": [("user", "I want a human")]}, config)
        request = result["__interrupt__"][0].value  # {"type": "osvi_escalation", "escalations": [...]}
        ```

    Resume:
        After the person acted (e.g. `OSVIClient.support.takeover(session_id)`), resume with
        `Command(resume="continue")` (the LLM reads the tool result and goes on) or
        `Command(resume="end")` (the run ends here, with no LLM turn). Nothing is sent again. Any
        other value is answered with a new interrupt whose `problem` says what to resume with, so a
        thread never gets stuck on a mistyped answer.

    Takeover and escalation:
        Each escalation names its `reason` ("help_requested" or "takeover"), `session_id`, `mode`,
        the tool and its call id, and the summary the LLM would read. Only the newest tool results
        are looked at, so one result pauses the graph once.
    """

    def __init__(
        self,
        *,
        tool_names: Iterable[str] | None = None,
        on_help_requested: bool = True,
        on_takeover: bool = True,
    ) -> None:
        super().__init__()
        self.tool_names: frozenset[str] = (
            frozenset(tool_names) if tool_names is not None else frozenset(tool_name(op) for op in OPERATIONS)
        )
        self.on_help_requested = on_help_requested
        self.on_takeover = on_takeover

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self._gate(state)

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        return self._gate(state)

    def _gate(self, state: AgentState[Any]) -> dict[str, Any] | None:
        # Runs again from here on resume: everything before interrupt() only reads the state.
        escalations = find_escalations(
            state["messages"],
            self.tool_names,
            on_help_requested=self.on_help_requested,
            on_takeover=self.on_takeover,
        )
        if not escalations:
            return None
        request = OSVIEscalationRequest(type="osvi_escalation", escalations=escalations)
        while True:
            # A resume value it cannot use is answered with a new interrupt saying why, never an error:
            # LangGraph keeps every resume value of a node, so raising would replay the bad one forever.
            decision = interrupt(request)
            action = _action(decision)
            if action is not None:
                return {"jump_to": "end"} if action == "end" else None
            request = OSVIEscalationRequest(
                type="osvi_escalation",
                escalations=escalations,
                problem=(
                    f"Resume with 'continue' or 'end' (or {{'action': ...}}); got {bounded_repr(decision)}. "
                    "Nothing was sent; the escalation is still waiting."
                ),
            )
