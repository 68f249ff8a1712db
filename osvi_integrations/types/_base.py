"""Building blocks shared by every request and result model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


def _no_surrounding_space(value: str) -> str:
    # An id with stray spaces would silently address another customer or session.
    if value != value.strip():
        raise ValueError("must not have leading or trailing whitespace")
    return value


#: Ids that HTTP libraries collapse as dot segments ("/session/../support" becomes "/support"): an id
#: must stay one path segment, so these are refused wherever an id is taken, not only in paths.
DOT_SEGMENTS = frozenset({".", ".."})


def _one_segment(value: str) -> str:
    if value in DOT_SEGMENTS:
        raise ValueError(f"{value!r} is not an id: it would leave its place in the request path")
    # CR, LF, NUL and other control characters: never part of an id, and the classic way out of a header
    # or a log line. Percent-encoding would carry them, but no id legitimately holds them.
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise ValueError(f"must not contain control or invisible characters (found U+{ord(bad):04X})")
    return value


# Strings are strict: pydantic refuses a lone surrogate (what an LLM's JSON "\ud83d" decodes to), which
# UTF-8 cannot carry, so the caller hears "nothing was sent" instead of an encoding crash.
#: Free text sent as is (a message, a context entry): non-blank.
Text = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
#: An identifier: non-blank, without surrounding whitespace, printable, never a dot segment.
Identifier = Annotated[
    str, AfterValidator(_not_blank), AfterValidator(_no_surrounding_space), AfterValidator(_one_segment)
]

AGENT_ID_EXAMPLE = "agent_IsZ3Q6Sf_60Eh26XQMGbz-R_og"
SESSION_ID_EXAMPLE = "4718a326-417b-4dda-90d0-21fd65a11cb8"

AgentId = Annotated[
    Identifier,
    Field(
        min_length=1,
        description=(
            "The OSVI agent's id, as listed by the active-agents call; it looks like "
            f"'{AGENT_ID_EXAMPLE}' (not a UUID)."
        ),
        examples=[AGENT_ID_EXAMPLE],
    ),
]
CustomerId = Annotated[
    Identifier,
    Field(
        min_length=1,
        description=(
            "Your stable identifier for the customer, e.g. a phone number or CRM id. OSVI keeps at most "
            "one active session per agent and customer."
        ),
        examples=["+15551112222"],
    ),
]
SessionId = Annotated[
    Identifier,
    Field(
        min_length=1,
        description="Session id (a UUID) from an earlier result.",
        examples=[SESSION_ID_EXAMPLE],
    ),
]

#: `ai`: the agent answers by itself; `support`: a human operator has taken over.
#: Typed as "known values or a newer one": a value added by OSVI later must not lose a delivered reply.
SessionMode = Literal["ai", "support"]
#: `dormant` means the session has gone quiet for a while.
SessionStatus = Literal["active", "dormant", "closed"]


class RequestModel(BaseModel):
    """Arguments of one operation. Unknown arguments are refused, so a typo never goes unnoticed."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class ResultModel(BaseModel):
    """A typed API result. Fields OSVI adds later are kept (`extra="allow"`), not dropped."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow", frozen=True, defer_build=True)


class HandoffFlags:
    """What a session's `mode` and `help_requested` mean for the caller (results and conversations)."""

    if TYPE_CHECKING:
        mode: str | None
        help_requested: bool

    @property
    def human_has_taken_over(self) -> bool:
        """A human operator is handling the session; the agent will not auto-reply."""
        return self.mode == "support"

    @property
    def needs_human(self) -> bool:
        """A human is involved or has been asked for: hand the conversation to a person."""
        return self.help_requested or self.human_has_taken_over
