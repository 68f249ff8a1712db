"""The OAuth scopes of the MCP server, derived from the operation table (`Operation.effect`,
`Operation.operator`), never listed by hand: an operator command needs `osvi:operate`, any other call that
changes a conversation `osvi:send`, a read `osvi:read`."""

from __future__ import annotations

from typing import Any

from ..protocol import Operation

#: Read conversations, sessions and agents (the read-only tools, the resources, completions).
READ_SCOPE = "osvi:read"
#: Start sessions and send a customer's messages and context to the agent (the non-operator writes).
SEND_SCOPE = "osvi:send"
#: Act as the business's human operator: take over, write as operator, hand back, close (the operator tools).
OPERATE_SCOPE = "osvi:operate"
SCOPES = (READ_SCOPE, SEND_SCOPE, OPERATE_SCOPE)


def operation_scope(operation: Operation[Any, Any]) -> str:
    """The scope a caller needs for `operation`: from its operator flag and its effect."""
    if operation.operator:
        return OPERATE_SCOPE
    return READ_SCOPE if operation.read_only else SEND_SCOPE
