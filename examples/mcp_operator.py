"""An operator's assistant on the MCP server: start a session with context, notice the escalation, take
the conversation over, answer the customer, guide the agent, hand back, close. Uses the operator tools,
which the server offers only when started with `--operator-tools` (or OSVI_MCP_OPERATOR_TOOLS=1).

Uses the embedded sandbox (`--sandbox`), so no OSVI account is needed:

    .venv/bin/python examples/mcp_operator.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import TextContent

SERVER = Path(__file__).resolve().parents[1] / "mcp_server.py"
CUSTOMER = "+15553334444"


class Assistant:
    """Calls tools and prints what the model would read (the text block)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
        print(f"--- {tool}{' [tool error]' if result.is_error else ''}\n{text}")
        return result.structured_content or {}


async def main() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER), "--sandbox", "--operator-tools"])
    async with Client(params) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        print("tools:", ", ".join(names))
        assistant = Assistant(client)

        await assistant.call("list_active_agents")
        session = await assistant.call(
            "create_session",
            customer_id=CUSTOMER,
            input_fields={"first_name": "Alex"},
            context=["Called this morning: parcel 20417 arrived damaged, wants a replacement."],
        )
        session_id = session["id"]

        reply = await assistant.call("send_message", customer_id=CUSTOMER, content="I need to speak to a human.")
        if reply["needs_human"]:
            print("=> escalation: the operator decides to take over")
            await assistant.call("get_active_session", customer_id=CUSTOMER)
            await assistant.call("takeover_session", session_id=session_id, message="Hi Alex, this is Sam.")
            during = await assistant.call("send_message", customer_id=CUSTOMER, content="Hi Sam!")
            assert during["human_has_taken_over"] and during["reply"] is None
            # The agent may not act on its own while a human is in charge: the engine refuses, nothing is applied.
            await assistant.call("tell_agent", session_id=session_id, message="Apologise for the delay.")
            await assistant.call("send_operator_message", session_id=session_id, message="A replacement ships today.")
            await assistant.call(
                "whisper_to_agent", session_id=session_id, message="A replacement for 20417 ships today."
            )
            await assistant.call("hand_back_to_agent", session_id=session_id)
        after = await assistant.call("send_message", customer_id=CUSTOMER, content="Thanks, that's all.")
        assert after["human_has_taken_over"] is False
        await assistant.call("close_session", session_id=session_id)


if __name__ == "__main__":
    anyio.run(main)
