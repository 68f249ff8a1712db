"""What each kind of program loads: sync-only code never loads asyncio or aiohttp, and the libraries come
in when first needed (a fresh interpreter each, since the test session has everything loaded)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def loaded_after(code: str) -> dict[str, bool]:
    program = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        names = ("asyncio", "aiohttp", "httpx2", "uvicorn", "rich", "websockets")
        print(json.dumps({name: name in sys.modules for name in names}))
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_import_loads_no_http_library_and_no_asyncio() -> None:
    assert not any(loaded_after("import osvi_integrations").values())


def test_a_sync_client_loads_httpx2_and_not_asyncio() -> None:
    loaded = loaded_after(
        """
        import osvi_integrations
        osvi_integrations.OSVIClient("t", base_url="http://127.0.0.1:9").close()
        osvi_integrations.OSVIClient("t", base_url="http://127.0.0.1:9").conversation("agent_x", "+1555")
        """
    )
    assert loaded["httpx2"] and not loaded["asyncio"] and not loaded["aiohttp"]


def test_an_async_client_loads_aiohttp_when_it_first_sends() -> None:
    built = loaded_after(
        """
        import osvi_integrations
        osvi_integrations.AsyncOSVIClient("t", base_url="http://127.0.0.1:9")
        """
    )
    assert not built["aiohttp"]
    sent = loaded_after(
        """
        import asyncio, osvi_integrations

        async def main():
            async with osvi_integrations.AsyncOSVIClient("t", base_url="http://127.0.0.1:9", max_retries=0) as c:
                try:
                    await c.send_message("agent_x", "+1555", "hi")
                except osvi_integrations.ConnectError:
                    pass

        asyncio.run(main())
        """
    )
    assert sent["aiohttp"]


def test_an_mcp_server_answers_tools_list_before_loading_aiohttp() -> None:
    """Its client is built at start-up; aiohttp comes with the first tool call. Nor does building the
    server load rich (the SDK's logging set-up, skipped) or the sandbox a websocket library."""
    loaded = loaded_after(
        """
        import anyio
        from mcp import Client
        from osvi_integrations.mcp_server import ServerSettings, create_server
        from osvi_integrations.sandbox import SandboxServer

        async def main():
            server = create_server(ServerSettings.build(api_token="t", base_url="http://127.0.0.1:9", env={}))
            async with Client(server, mode="legacy") as client:
                assert (await client.list_tools()).tools

        with SandboxServer():
            anyio.run(main)
        """
    )
    assert not loaded["aiohttp"] and not loaded["rich"] and not loaded["websockets"]
