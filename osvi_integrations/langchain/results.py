"""Typed tool results across LangGraph checkpoints.

A tool's artifact is the operation's typed result (`SendMessageResult`, `Session`...). A checkpointer
stores a `ToolMessage` through LangChain's own serialization, which turns the artifact into a plain
dict whatever the msgpack allowlist says (measured with LangGraph 1.2 on strict and default
serializers). So the one documented way to read a result, fresh or restored, is `tool_result(message)`:
the typed result of an OSVI tool message, rebuilt from the dict when a checkpoint made one of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic import BaseModel, ValidationError

from ..protocol import OPERATIONS
from .tools import tool_name

_RESULT_BY_TOOL: dict[str, type[BaseModel]] = {tool_name(op): op.result for op in OPERATIONS}


def tool_result(message: ToolMessage) -> BaseModel | None:
    """The typed result of an OSVI tool message (None for another tool's message or an error). Works on
    a message fresh from the tool and on one a checkpoint turned into a dict."""
    result_type = _RESULT_BY_TOOL.get(str(message.name))
    artifact: Any = message.artifact
    if result_type is None or artifact is None or message.status == "error":
        return None
    if isinstance(artifact, result_type):
        return artifact
    if isinstance(artifact, BaseModel):
        artifact = artifact.model_dump()
    if not isinstance(artifact, Mapping):
        return None
    try:
        return result_type.model_validate(dict(artifact))
    except ValidationError:
        return None
