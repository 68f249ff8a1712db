"""Another agent's side of the MCP server: start it over stdio and call `send_customer_message`.

Uses the embedded sandbox (`--sandbox`), so no OSVI account is needed:

    .venv/bin/python examples/mcp_client.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, TextContent

SERVER = Path(__file__).resolve().parents[1] / "mcp_server.py"
TOOL = "send_customer_message"
CUSTOMER = "+15551112222"


def show(label: str, result: CallToolResult) -> None:
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    print(f"--- {label}{' [tool error]' if result.is_error else ''}")
    print(text)
    if result.structured_content is not None:
        print(f"structured: {result.structured_content}")


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER), "--sandbox"])
    async with Client(params) as client:
        tool = (await client.list_tools()).tools[0]
        print(f"tool {tool.name!r}: inputs {sorted(tool.input_schema['properties'])}")

        first = await client.call_tool(TOOL, {"content": "Where is my order?", "customer_id": CUSTOMER})
        show("customer asks about an order", first)
        assert first.structured_content is not None
        session_id = first.structured_content["session_id"]

        # Passing session_id back keeps the exact thread (OSVI would also find it from customer_id).
        second = await client.call_tool(
            TOOL, {"content": "Can I talk to a real person?", "customer_id": CUSTOMER, "session_id": session_id}
        )
        show("customer asks for a human", second)
        result = second.structured_content or {}
        if result.get("mode") == "support":
            print("=> a human operator has taken over: stop auto-replying to this customer")
        elif result.get("help_requested"):
            print("=> the agent escalated: tell the customer a person will join, and alert staff")

        missing = await client.call_tool(
            TOOL, {"content": "hello", "customer_id": CUSTOMER, "agent_uuid": "agent_does_not_exist"}
        )
        show("unknown agent", missing)


if __name__ == "__main__":
    anyio.run(main)
