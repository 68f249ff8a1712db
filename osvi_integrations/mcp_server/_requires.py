"""Checked before the MCP server's modules load: with the `mcp` extra missing, importing the package (also
`python -m osvi_integrations.mcp_server`) fails with one line naming the extra, and the console scripts
(`_entry_points`) print that line alone."""

from __future__ import annotations

from importlib.util import find_spec

for _module in ("uvicorn", "starlette", "mcp"):  # looked up, not imported: start-up stays as it was
    if find_spec(_module) is None:  # pragma: no cover - exercised by the release check's core-only install
        raise ModuleNotFoundError(
            f"osvi_integrations.mcp_server needs the 'mcp' extra (module {_module!r} is not installed): "
            'pip install "osvi-integrations[mcp]"',
            name=_module,
        )
