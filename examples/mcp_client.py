"""Another agent's side of the MCP server: start it over stdio and relay a customer's messages.

Uses the embedded sandbox (`--sandbox`), so no OSVI account is needed:

    .venv/bin/python examples/mcp_client.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, TextContent

SERVER = Path(__file__).resolve().parents[1] / "mcp_server.py"
CUSTOMER = "+15551112222"


def show(label: str, result: CallToolResult) -> dict[str, Any]:
    """Prints what the model would read (the text block) and returns the structured content."""
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    print(f"--- {label}{' [tool error]' if result.is_error else ''}\n{text}")
    return result.structured_content or {}


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER), "--sandbox"])
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        print("tools:", ", ".join(tool.name for tool in tools))

        first = show(
            "customer asks about an order",
            await client.call_tool("send_message", {"content": "Where is my order?", "customer_id": CUSTOMER}),
        )
        # Passing session_id back pins the exact thread (OSVI would also find it from customer_id).
        second = show(
            "customer asks for a human",
            await client.call_tool(
                "send_message",
                {"content": "Can I talk to a real person?", "customer_id": CUSTOMER, "session_id": first["session_id"]},
            ),
        )
        if second.get("human_has_taken_over"):
            print("=> a human operator has taken over: stop auto-replying to this customer")
        elif second.get("needs_human"):
            print("=> the agent escalated: tell the customer a person will join, and alert staff")

        show(
            "unknown agent",
            await client.call_tool(
                "send_message", {"content": "hello", "customer_id": CUSTOMER, "agent_uuid": "agent_does_not_exist"}
            ),
        )
        show("missing argument", await client.call_tool("send_message", {"content": "hello"}))


if __name__ == "__main__":
    anyio.run(main)
