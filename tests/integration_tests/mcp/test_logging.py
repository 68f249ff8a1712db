"""Embedding the server leaves the host program's logging alone (MCPServer's constructor would otherwise
call `logging.basicConfig(INFO)`); only the `osvi-mcp` command line configures logging."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from .conftest import server_env

# A fresh interpreter: pytest's own handlers on the root logger would hide a basicConfig call.
EMBEDDING_PROGRAM = textwrap.dedent(
    """
    import json, logging
    import anyio
    from mcp import Client
    from osvi_integrations.mcp_server import ServerSettings, create_server
    from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

    def snapshot():
        root = logging.getLogger()
        return {"level": root.level, "handlers": [type(h).__name__ for h in root.handlers]}

    before = snapshot()
    with SandboxServer() as sandbox:
        settings = ServerSettings.build(
            api_token=sandbox.api_token, base_url=sandbox.base_url, default_agent_uuid=SUPPORT_AGENT, env={}
        )
        server = create_server(settings)
        after_create = snapshot()

        async def call():
            async with Client(server) as client:
                ok = await client.call_tool("send_message", {"content": "hi", "customer_id": "+1555"})
                bad = await client.call_tool("send_message", {"content": "hi"})
                return ok.is_error, bad.is_error

        errors = anyio.run(call)
    print(json.dumps({"before": before, "after_create": after_create, "after_calls": snapshot(), "errors": errors}))
    """
)


def test_create_server_and_tool_calls_leave_the_root_logger_untouched() -> None:
    done = subprocess.run(
        [sys.executable, "-c", EMBEDDING_PROGRAM], env=server_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    untouched = {"level": 30, "handlers": []}  # the stdlib default: WARNING, no handler
    assert report["before"] == report["after_create"] == report["after_calls"] == untouched
    assert report["errors"] == [False, True]
    assert done.stderr == ""  # nothing logged to the terminal by an INFO handler the host never asked for
