"""What an API operation is: one definition holds its HTTP shape, models, effect and wording."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlencode

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError, create_model
from pydantic_core import PydanticSerializationError

from ..errors import InvalidRequestError, MalformedResponseError, NotFoundError
from ..types import DOT_SEGMENTS
from ._wire import (
    NOT_JSON,
    PreparedRequest,
    RawResponse,
    SecretHeaders,
    bound,
    decode_json,
    encode_json,
    text,
)
from .outcomes import error_from_response

ParamsT = TypeVar("ParamsT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


class Effect(enum.Enum):
    """What a call does, which decides its retry rule and its tool annotations."""

    #: Changes nothing: safe to retry after any failure.
    READ = "read"
    #: Adds to a conversation (a message, a command): never repeated once it may have taken effect.
    WRITE = "write"
    #: Like WRITE, and cannot be undone (closing a session).
    DESTRUCTIVE = "destructive"


@dataclass(frozen=True, kw_only=True)
class Operation(Generic[ParamsT, ResultT]):
    """One API operation, defined once. The clients execute it; the LangChain and MCP tools are
    generated from it (name, title, description, input schema, annotations, result wording)."""

    #: snake_case, unique: `client.call(op)` runs it, the MCP tool has this name and the LangChain tool
    #: this name after `osvi_`. Its resource method is this name without the resource's noun
    #: (`client.sessions.create` runs `create_session`, `client.support.hand_back` runs
    #: `hand_back_to_agent`); only the wire keeps the API's words (`fixed_body`: the `end` command).
    name: str
    title: str
    #: What an AI agent reads: when to use it and what the result means.
    description: str
    method: Literal["GET", "POST"]
    #: Path template; `{name}` placeholders are filled from the params of that name.
    path: str
    params: type[ParamsT]
    result: type[ResultT]
    effect: Effect
    #: Operator tools (support commands) are only offered to agents on explicit opt-in.
    operator: bool = False
    #: Fields added to every request body (a support command's `command`).
    fixed_body: Mapping[str, str] = field(default_factory=dict)
    #: The API's `data` is not an object: it is wrapped as `{result_field: data}` to make the result model.
    result_field: str | None = None
    #: The response is the bare value, without the `{"success", "data"}` envelope.
    enveloped: bool = True
    #: The class of a 404 that carries no more precise error code.
    not_found: type[NotFoundError] = NotFoundError
    #: What could be duplicated if the call were repeated after it took effect ("the message").
    subject: str = "the request"

    # An operation is a constant: copies are the operation itself, and a pickle names it.
    def __copy__(self) -> Operation[ParamsT, ResultT]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Operation[ParamsT, ResultT]:
        return self

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled by name: unpickling gives the table's operation (`protocol.OPERATIONS`)."""
        return (operation_named, (self.name,))

    @property
    def read_only(self) -> bool:
        return self.effect is Effect.READ

    @cached_property
    def _path_fields(self) -> tuple[str, ...]:
        return tuple(name for name in self.params.model_fields if "{" + name + "}" in self.path)

    @cached_property
    def _data_adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.result)

    @cached_property
    def _params_validator(self) -> Any:
        """The params model's compiled validator, called without `model_validate`'s Python wrapper
        (a third of the validation's cost for a small model). A deferred model builds it here, once."""
        self.params.model_rebuild()
        return self.params.__pydantic_validator__

    @cached_property
    def acts_on_a_named_session(self) -> bool:
        """Whether the caller names the session (`session_id`) without naming its customer: the API then
        acts on whichever session that is. A caller bound to one customer checks the session first
        (`check_session_owner`). `send_message` names its customer, and OSVI refuses another's session."""
        fields = self.params.model_fields
        return "session_id" in fields and "customer_id" not in fields

    @cached_property
    def takes_agent(self) -> bool:
        """Whether the params have an `agent_uuid` (which a client fills from its default agent)."""
        return "agent_uuid" in self.params.model_fields

    # -- request ---------------------------------------------------------------------------------

    def validate(self, arguments: Mapping[str, Any]) -> ParamsT:
        """Checks caller arguments; a problem raises `InvalidRequestError` naming the field."""
        try:
            # A dict is validated as is (pydantic does not change it): no copy on the hot path.
            params: ParamsT = self._params_validator.validate_python(
                arguments if type(arguments) is dict else dict(arguments)
            )
            return params
        except ValidationError as exc:
            raise invalid_request(exc) from None

    @cached_property
    def _body_is_params(self) -> bool:
        """A POST whose body is exactly its params (no path fields, no fixed fields)."""
        return self.method == "POST" and not self._path_fields and not self.fixed_body

    @cached_property
    def _envelope_adapter(self) -> TypeAdapter[Any] | None:
        """`{"success": true, "data": <result>}`, validated straight from the bytes (the happy path)."""
        if not self.enveloped or self.result_field is not None:
            return None
        envelope = create_model(
            f"{self.result.__name__}Envelope", success=(Literal[True], ...), data=(self.result, ...)
        )
        return TypeAdapter(envelope)

    @cached_property
    def _envelope_validator(self) -> Any:
        """The envelope's compiled validator (without the adapter's Python wrapper), or None. The happy path
        reads a 2xx in one step with it: 4 us of a 63 us send over a mock transport (measured, 6%); any
        other answer takes the full reading in `parse`, which names the problem."""
        adapter = self._envelope_adapter
        return None if adapter is None else adapter.validator

    def build(
        self,
        base_url: str,
        headers: Mapping[str, str],
        params: ParamsT,
        *,
        json_headers: Mapping[str, str] | None = None,
    ) -> PreparedRequest:
        """The request for `params` to `base_url` (the API root, already checked). A request with a body
        carries `json_headers`, by default `headers` with the JSON content type (`with_json_content_type`),
        which a client builds once."""
        if self._body_is_params:
            content = _direct_json(params)
            if content is not None:
                if json_headers is None:
                    json_headers = with_json_content_type(headers)
                return PreparedRequest(self.name, self.method, base_url + self.path, json_headers, content)
        try:
            values = params.model_dump(mode="json", exclude_none=True)
        except PydanticSerializationError as exc:
            raise InvalidRequestError(_first_field(params), f"cannot be sent as JSON ({exc}).") from None
        path = self.path
        for name in self._path_fields:
            path = path.replace("{" + name + "}", path_segment(name, values.pop(name)))
        url = base_url + path
        if self.method == "GET":
            if values:
                url += "?" + urlencode(values)
            return PreparedRequest(self.name, self.method, url, headers, None)
        body = {**values, **self.fixed_body}
        try:
            content = encode_json(body)
        except UnicodeEncodeError:
            bad = next(name for name, value in body.items() if not _encodes(value))
            raise InvalidRequestError(
                bad, "contains an unpaired UTF-16 surrogate (a broken emoji or text encoding)."
            ) from None
        if json_headers is None:
            json_headers = with_json_content_type(headers)
        return PreparedRequest(self.name, self.method, url, json_headers, content)

    # -- response --------------------------------------------------------------------------------

    def parse(self, response: RawResponse, *, secret: SecretStr) -> ResultT:
        """The typed result of a 2xx, or raises the typed error."""
        status = response.status_code
        if not 200 <= status < 300:
            raise error_from_response(response, secret=secret, not_found=self.not_found, support_command=self.operator)
        envelope = self._envelope_validator
        if envelope is not None:
            try:
                fast: ResultT = envelope.validate_json(response.content).data
            except ValueError:  # not the happy shape: the full reading below names the problem
                pass
            else:
                return fast
        payload = decode_json(response.content)
        if isinstance(payload, dict) and payload.get("success") is False:
            # A 2xx that says it did not succeed: refused (bare answers like list_active_agents too).
            raise error_from_response(
                response, secret=secret, not_found=self.not_found, support_command=self.operator, payload=payload
            )
        if self.enveloped:
            if not isinstance(payload, dict) or "data" not in payload:
                raise self._malformed(response, "expected a JSON object with 'data'")
            data = payload["data"]
        elif payload is NOT_JSON:
            raise self._malformed(response, "the body is not JSON")
        else:
            data = payload
        if self.result_field is not None:
            data = {self.result_field: data}
        try:
            result: ResultT = self._data_adapter.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
            raise self._malformed(response, f"it does not match the documented shape ({problems})") from None
        return result

    def _malformed(self, response: RawResponse, problem: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"OSVI's answer could not be read: {bound(problem)}.",
            status_code=response.status_code,
            body=text(response.content),  # at most 500 bytes already
            may_have_taken_effect=not self.read_only,
        )


def operation_named(name: str) -> Operation[Any, Any]:
    """The operation of `protocol.OPERATIONS` called `name`."""
    from .operations import OPERATIONS  # the table imports this module

    for operation in OPERATIONS:
        if operation.name == name:
            return operation
    raise ValueError(f"unknown OSVI operation {name!r}; known: {', '.join(op.name for op in OPERATIONS)}.")


def check_session_owner(
    sessions: Mapping[str, Any], session_id: object, customer_id: str, agent_uuid: str | None
) -> None:
    """Raises `InvalidRequestError` (nothing is sent) unless `session_id` is one of the customer's active
    sessions (`sessions`: the customer's active sessions keyed by agent, as `list_active_sessions` reads
    them), with `agent_uuid` when one is bound. What a tool bound to one customer checks before it acts
    on a session the model named."""
    for agent, session in sessions.items():
        if getattr(session, "id", None) == session_id and (agent_uuid is None or agent == agent_uuid):
            return
    # The customer id (often a phone number) is not repeated: this text reaches models and traces.
    whose = "the customer this call acts for" + (f" with agent {agent_uuid!r}" if agent_uuid else "")
    raise InvalidRequestError(
        "session_id",
        f"is not an active session of {whose}: it acts only for that customer. Nothing was sent.",
    )


def path_segment(field_name: str, value: object) -> str:
    """`value` as exactly one path segment: every byte outside the unreserved set percent-encoded, and
    never a dot segment, which HTTP clients collapse ("/session/../support" is "/support"). The params
    models refuse such ids already; this is the last check before an id becomes part of a URL."""
    segment = quote(str(value), safe="")
    if segment in DOT_SEGMENTS or not segment:
        raise InvalidRequestError(field_name, f"{value!r} is not an id: it would leave its place in the request path.")
    return segment


def with_json_content_type(headers: Mapping[str, str]) -> SecretHeaders:
    """`headers` plus the JSON content type: what every request with a body carries."""
    return SecretHeaders({**headers, "Content-Type": "application/json"})


def _direct_json(params: BaseModel) -> bytes | None:
    """`params` as JSON in one step (what `model_dump` + `encode_json` give, without the dict in
    between); None when it cannot be, so that the full path reports the problem the usual way."""
    try:
        return params.__pydantic_serializer__.to_json(params, exclude_none=True)
    except (PydanticSerializationError, ValueError):
        return None


def _encodes(value: Any) -> bool:
    try:
        encode_json({"v": value})
    except UnicodeEncodeError:
        return False
    return True


def _first_field(params: BaseModel) -> str:
    """The field that cannot be dumped as JSON."""
    for name in type(params).model_fields:
        try:
            params.model_dump(mode="json", include={name})
        except PydanticSerializationError:
            return name
    return "arguments"


def invalid_request(exc: ValidationError) -> InvalidRequestError:
    """The first problem of a validation error, naming its field the way the caller spelled it."""
    first = exc.errors()[0]
    field_name = ".".join(str(part) for part in first["loc"]) or "arguments"
    kind = first["type"]
    if kind == "extra_forbidden":
        problem = "is not an argument of this call."
    elif kind == "missing":
        problem = "is required."
    elif kind == "string_too_short":
        problem = "must not be empty or blank."
    elif kind == "string_unicode":
        problem = "contains an unpaired UTF-16 surrogate (a broken emoji or text encoding)."
    elif kind in _EXPECTED:
        problem = f"must be {_EXPECTED[kind]}, got {_json_type(first.get('input'))}."
    else:
        problem = str(first["msg"]).removeprefix("Value error, ")
        problem = problem[0].lower() + problem[1:] if problem else problem
        problem = problem if problem.endswith(".") else problem + "."
    return InvalidRequestError(field_name, problem)


_EXPECTED = {
    "string_type": "a string",
    "dict_type": "an object",
    "list_type": "a list",
    "bool_type": "true or false",
    "int_type": "a whole number",
}


def _json_type(value: object) -> str:
    """The JSON name of a value's type, as the caller (often an LLM writing JSON) sees it."""
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
