"""Smoke test of an installed wheel, run by release/check.py with the Python of a fresh venv that holds only
the wheel and one extra: what a new user of that extra would try first.

    python release/smoke.py --extras sandbox,mcp --source-root /path/to/checkout

Every console script either works (`--help`) or, without its extra, says in one line which extra to install
(status 1, no traceback); each surface of an installed extra does one real thing over loopback (the demo,
a client call against the sandbox, ChatOSVI, an MCP session over stdio); the surfaces of extras that are
absent fail on import with a message naming their extra. Needs nothing but the venv: stdlib and the package.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DISTRIBUTION = "osvi-integrations"
#: console script -> the extra it needs
SCRIPTS = {"osvi-mcp": "mcp", "osvi-integrations": "mcp", "osvi-sandbox": "sandbox", "osvi-demo": "sandbox"}
#: extra -> the extras it brings (an extra brings itself)
BRINGS = {
    "": set[str](),
    "sandbox": {"sandbox"},
    "langchain": {"langchain"},
    "agents": {"langchain", "agents"},
    "mcp": {"mcp", "sandbox"},  # the mcp extra lists the sandbox's dependencies for `osvi-mcp --sandbox`
    "all": {"sandbox", "langchain", "agents", "mcp"},
}

failures: list[str] = []


def check(what: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception as exc:  # every failure is reported, then the run goes on
        failures.append(f"{what}: {type(exc).__name__}: {exc}")
        print(f"  FAIL {what}: {type(exc).__name__}: {exc}", flush=True)
    else:
        print(f"  ok   {what}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def run(*command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def script_works(path: Path) -> None:
    done = run(str(path), "--help")
    expect(done.returncode == 0 and "usage:" in done.stdout, f"status {done.returncode}: {done.stderr[-500:]}")


def script_names_its_extra(path: Path, extra: str) -> None:
    done = run(str(path), "--help")  # (without arguments the same: tests/unit_tests/test_entry_points.py)
    lines = done.stderr.strip().splitlines()
    expect(done.returncode == 1, f"status {done.returncode}, not 1")
    expect("Traceback" not in done.stderr and len(lines) == 1, f"not one line: {done.stderr[-800:]}")
    expect(f'pip install "{DISTRIBUTION}[{extra}]"' in lines[0], f"does not name the extra: {lines[0]}")


def import_names_its_extra(module: str, extra: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        expect(f"{DISTRIBUTION}[{extra}]" in str(exc), f"the ImportError does not name the extra: {exc}")
    else:
        raise AssertionError(f"{module} imported without the {extra} extra")


def core(source_root: Path) -> None:
    import osvi_integrations
    from osvi_integrations import OSVIClient

    where = Path(osvi_integrations.__file__).resolve()
    expect(source_root not in where.parents, f"imported from the source tree ({where}), not the wheel")
    handlers = logging.getLogger("osvi_integrations").handlers
    expect(any(isinstance(h, logging.NullHandler) for h in handlers), "no NullHandler on the package logger")
    OSVIClient(api_token="0123456789abcdef", base_url="http://127.0.0.1:9").close()


def sandbox_round_trip() -> None:
    from osvi_integrations import AsyncOSVIClient, OSVIClient
    from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

    with SandboxServer() as server:
        with OSVIClient(api_token=server.api_token, base_url=server.base_url) as client:
            result = client.send_message(SUPPORT_AGENT, "+15551112222", "Can I talk to a human please?")
            expect(result.help_requested and result.mode == "ai", f"unexpected result {result!r}")

        async def async_send() -> str | None:
            async with AsyncOSVIClient(api_token=server.api_token, base_url=server.base_url) as client:
                return (await client.send_message(SUPPORT_AGENT, "+15551113333", "Hello")).reply

        expect(bool(asyncio.run(async_send())), "no reply from the async client")


def demo(scripts: Path) -> None:
    done = run(str(scripts / "osvi-demo"), timeout=180)
    expect(done.returncode == 0 and "Done." in done.stdout, f"status {done.returncode}: {done.stderr[-800:]}")


def langchain_model(with_sandbox: bool) -> None:
    from pydantic import SecretStr

    from osvi_integrations.langchain import ChatOSVI, OSVIToolkit

    names = [t.name for t in OSVIToolkit(agent_uuid="agent_x", api_key=SecretStr("0123456789abcdef")).get_tools()]
    expect("osvi_send_message" in names, f"tools: {names}")
    if with_sandbox:
        from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

        with SandboxServer() as server:
            token = SecretStr(server.api_token)
            customer = "+15551114444"
            model = ChatOSVI(agent_uuid=SUPPORT_AGENT, customer_id=customer, api_key=token, base_url=server.base_url)
            reply = model.invoke("Where is my order?")
            expect(bool(reply.content) and reply.response_metadata["mode"] == "ai", f"reply {reply!r}")


def middleware() -> None:
    from osvi_integrations.langchain.middleware import OSVIEscalationMiddleware

    expect("osvi_send_message" in OSVIEscalationMiddleware().tool_names, "middleware watches no send tool")


def mcp_stdio(scripts: Path) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    async def session() -> tuple[list[str], dict[str, Any]]:
        params = StdioServerParameters(command=str(scripts / "osvi-mcp"), args=["--sandbox"])
        async with Client(params) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("send_message", {"content": "Hello", "customer_id": "+15551115555"})
            expect(not result.is_error, f"tool error: {result!r}")
            return tools, result.structured_content or {}

    tools, result = asyncio.run(session())
    expect("send_message" in tools, f"tools: {tools}")
    expect(bool(result.get("reply")) and result.get("mode") == "ai", f"send_message gave {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extras", default="", help="the extras installed, comma-separated (none: the core)")
    parser.add_argument("--source-root", type=Path, required=True, help="the checkout, which must not be imported")
    args = parser.parse_args()
    installed: set[str] = set()
    for extra in filter(None, args.extras.split(",")):
        installed |= BRINGS[extra]
    scripts = Path(sys.executable).parent
    print(f"  smoke: Python {sys.version.split()[0]}, extras {sorted(installed) or 'none'}", flush=True)

    check("import osvi_integrations (from the wheel), NullHandler, a client", lambda: core(args.source_root.resolve()))
    for script, extra in SCRIPTS.items():
        if extra in installed:
            check(f"{script} --help", functools.partial(script_works, scripts / script))
        else:
            named = f"{script} names the {extra!r} extra"
            check(named, functools.partial(script_names_its_extra, scripts / script, extra))
    if "sandbox" in installed:
        check("sandbox: sync and async clients over loopback", sandbox_round_trip)
        check("osvi-demo runs end to end", lambda: demo(scripts))
    else:
        check("import osvi_integrations.sandbox fails", lambda: expect_import_error("osvi_integrations.sandbox"))
    if "langchain" in installed:
        check("langchain: the toolkit, ChatOSVI", lambda: langchain_model("sandbox" in installed))
    else:
        check("osvi_integrations.langchain names its extra", lambda: import_names_its_extra(
            "osvi_integrations.langchain", "langchain"))  # fmt: skip
    if "agents" in installed:
        check("agents: OSVIEscalationMiddleware", middleware)
    elif "langchain" in installed:
        check("the middleware names the agents extra", lambda: import_names_its_extra(
            "osvi_integrations.langchain.middleware", "agents"))  # fmt: skip
    if "mcp" in installed:
        check("mcp: osvi-mcp --sandbox over stdio, tools/list and send_message", lambda: mcp_stdio(scripts))
    else:
        check("import osvi_integrations.mcp_server fails", lambda: expect_import_error("osvi_integrations.mcp_server"))
    if failures:
        sys.exit(f"smoke test failed ({len(failures)}): " + "; ".join(failures))


def expect_import_error(module: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return
    raise AssertionError(f"{module} imported although its extra is not installed")


if __name__ == "__main__":
    main()
