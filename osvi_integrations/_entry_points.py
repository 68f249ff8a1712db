"""The console scripts (`[project.scripts]`): each loads its command only when run, so that with an extra
missing the command says in one line which extra to install and exits with status 1, instead of a traceback.

`pip install osvi-integrations` installs every script but only the core; `osvi-mcp` needs the `mcp` extra,
`osvi-sandbox` and `osvi-demo` the `sandbox` extra (the demo runs against the embedded sandbox).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType

DISTRIBUTION = "osvi-integrations"


def _load(command: str, module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing == "osvi_integrations":
            raise  # our own module missing is a broken install, not a missing extra: keep the traceback
        requirement = f"{DISTRIBUTION}[{extra}]"
        sys.exit(
            f"{command}: needs the {extra!r} extra (module {missing!r} is not installed): "
            f'pip install "{requirement}"   (or: uvx --from "{requirement}" {command})'
        )


def _run(command: str, module: str, extra: str) -> None:
    main: Callable[[], None] = _load(command, module, extra).main
    main()


def mcp() -> None:
    """`osvi-mcp`: the MCP server."""
    _run("osvi-mcp", "osvi_integrations.mcp_server.cli", "mcp")


def mcp_as_distribution() -> None:
    """`osvi-integrations`: the MCP server under the distribution's name, which the MCP registry runs."""
    _run("osvi-integrations", "osvi_integrations.mcp_server.cli", "mcp")


def sandbox() -> None:
    """`osvi-sandbox`: the local OSVI-compatible sandbox."""
    _run("osvi-sandbox", "osvi_integrations.sandbox.server", "sandbox")


def demo() -> None:
    """`osvi-demo`: the end-to-end demo against the embedded sandbox."""
    _run("osvi-demo", "osvi_integrations.demo", "sandbox")
