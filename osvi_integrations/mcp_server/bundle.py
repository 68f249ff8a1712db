"""Install artifacts, generated from the code: the Claude Desktop extension (an MCPB bundle) and the MCP
registry's `server.json`. Their tool lists are the server's own (`operation_tools`), never written by hand.

    python -m osvi_integrations.mcp_server.bundle                    # dist/osvi-mcp-<version>.mcpb
    python -m osvi_integrations.mcp_server.bundle --server-json server.json

The bundle uses the MCPB "uv" server type: it carries this package's source and a pyproject.toml
listing its dependencies, which uv installs on the user's machine (no Python setup needed there).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..config import AGENT_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, TIMEOUT_ENV, TOKEN_ENV
from ..types import AGENT_ID_EXAMPLE
from .server import SERVER_TITLE, prompts
from .settings import DEFAULT_TIMEOUT, OPERATOR_TOOLS_ENV, ServerSettings
from .tools import operation_tools

DISTRIBUTION = "osvi-integrations"
BUNDLE_NAME = "osvi-mcp"
#: The server's name in the MCP registry: reverse DNS of osvi.ai (publishing needs DNS verification).
REGISTRY_NAME = "ai.osvi/osvi-mcp"
REGISTRY_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
MANIFEST_VERSION = "0.4"  # the first with the "uv" server type
ENTRY_POINT = "server/main.py"
#: At most 100 characters (the registry's limit).
DESCRIPTION = "Hand customer conversations to OSVI AI chat agents; bring in a human operator when they escalate."
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Left out of the bundle: its dependencies are not the mcp extra's, and the server never imports it.
_NOT_BUNDLED = frozenset({"langchain", "__pycache__"})

_LAUNCHER = '''\
"""Entry point of the OSVI MCP bundle: the osvi-mcp server over stdio, from the package next to this file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from osvi_integrations.mcp_server import main  # noqa: E402

main()
'''


@dataclass(frozen=True)
class Setting:
    """One setting a person gives at install time: a Claude Desktop extension field and an environment variable."""

    key: str
    env: str
    title: str
    description: str
    kind: str = "string"  # string, number or boolean (MCPB user_config types)
    default: str | float | bool | None = None
    required: bool = False
    secret: bool = False


SETTINGS = (
    Setting(
        "api_token",
        TOKEN_ENV,
        "OSVI API token",
        "Your OSVI API token (OSVI dashboard: Settings -> API).",
        required=True,
        secret=True,
    ),
    Setting(
        "default_agent",
        AGENT_ENV,
        "Default agent",
        f"The agent to talk to when a request names none, e.g. {AGENT_ID_EXAMPLE}. Leave empty to always name one.",
        default="",
    ),
    Setting(
        "base_url",
        BASE_URL_ENV,
        "OSVI API base URL",
        "Change only for another OSVI region or a test server.",
        default=DEFAULT_BASE_URL,
    ),
    Setting(
        "operator_tools",
        OPERATOR_TOOLS_ENV,
        "Operator tools",
        "Also offer the operator tools: take a conversation over, write to the customer, guide the agent, hand "
        "back, close.",
        kind="boolean",
        default=False,
    ),
    Setting(
        "timeout",
        TIMEOUT_ENV,
        "Call timeout (seconds)",
        "How long one OSVI call may take. Claude Desktop gives up on a tool after 60 seconds.",
        kind="number",
        default=DEFAULT_TIMEOUT,
    ),
)


def _listing_settings() -> ServerSettings:
    """Settings for listing what the server offers; nothing is sent anywhere with them."""
    return ServerSettings.build(api_token="listing-only", base_url=DEFAULT_BASE_URL, operator_tools=True, env={})


def advertised_tools() -> list[dict[str, str]]:
    """Every tool the server can offer (operator tools included), as the server lists them."""
    return [{"name": tool.name, "description": tool.description} for tool in operation_tools(_listing_settings())]


def advertised_prompts() -> list[str]:
    return [prompt.name for prompt in prompts(_listing_settings())]


def manifest() -> dict[str, Any]:
    """The MCPB manifest (manifest.json) of the Claude Desktop extension."""
    user_config: dict[str, Any] = {}
    for setting in SETTINGS:
        option: dict[str, Any] = {
            "type": setting.kind,
            "title": setting.title,
            "description": setting.description,
            "required": setting.required,
        }
        if setting.default is not None:
            option["default"] = setting.default
        if setting.secret:
            option["sensitive"] = True  # masked in the settings UI, kept in the system keychain
        if setting.kind == "number":
            option["min"] = 1
        user_config[setting.key] = option
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": BUNDLE_NAME,
        "display_name": SERVER_TITLE,
        "version": __version__,
        "description": DESCRIPTION,
        "long_description": (
            "Relay a customer's messages to an OSVI AI chat agent, start a session with what the agent should know, "
            "and see at once when a human operator has taken over or the agent asks for one. The operator tools "
            "(takeover, operator messages, whispers, hand-back, close) are off unless enabled in the settings."
        ),
        "author": {"name": "osvi-integrations contributors"},
        "license": "MIT",
        "keywords": ["osvi", "customer support", "chat agent", "escalation", "human handoff"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", ENTRY_POINT],
                "env": {setting.env: f"${{user_config.{setting.key}}}" for setting in SETTINGS},
            },
        },
        "tools": advertised_tools(),
        "prompts_generated": True,
        "user_config": user_config,
        "compatibility": {"platforms": ["darwin", "linux", "win32"], "runtimes": {"python": _requires_python()}},
    }


def server_json() -> dict[str, Any]:
    """The MCP registry entry (server.json): the PyPI package, run with uvx, configured by environment."""
    variables: list[dict[str, Any]] = []
    for setting in SETTINGS:
        variable: dict[str, Any] = {
            "name": setting.env,
            "description": setting.description,
            "isRequired": setting.required,
            "isSecret": setting.secret,
            "format": setting.kind,
        }
        if setting.default not in (None, ""):
            variable["default"] = _as_text(setting.default)
        variables.append(variable)
    return {
        "$schema": REGISTRY_SCHEMA,
        "name": REGISTRY_NAME,
        "description": DESCRIPTION,
        "version": __version__,
        "packages": [
            {
                "registryType": "pypi",
                "identifier": DISTRIBUTION,
                "version": __version__,
                "runtimeHint": "uvx",
                # The server needs the mcp extra; `uvx --from 'osvi-integrations[mcp]==V' osvi-integrations`.
                "runtimeArguments": [
                    {"type": "named", "name": "--from", "value": f"{DISTRIBUTION}[mcp]=={__version__}"}
                ],
                "transport": {"type": "stdio"},
                "environmentVariables": variables,
            }
        ],
        "_meta": {
            "io.modelcontextprotocol.registry/publisher-provided": {
                "tools": [tool["name"] for tool in advertised_tools()],
                "prompts": advertised_prompts(),
            }
        },
    }


def _as_text(value: str | float | bool) -> str:
    """A default as an environment variable holds it ("false", "50")."""
    if isinstance(value, bool):
        return json.dumps(value)
    return f"{value:g}" if isinstance(value, float) else value


def _requirements() -> tuple[str, list[str]]:
    """(requires-python, the dependencies of the mcp extra) of the installed distribution."""
    metadata = importlib.metadata.metadata(DISTRIBUTION)
    requirements = []
    for requirement in importlib.metadata.requires(DISTRIBUTION) or []:
        spec, _, marker = requirement.partition(";")
        if not marker.strip() or re.fullmatch(r"""extra\s*==\s*["']mcp["']""", marker.strip()):
            requirements.append(spec.strip())
    return metadata["Requires-Python"] or ">=3.11", sorted(set(requirements))


def _requires_python() -> str:
    return _requirements()[0]


def _pyproject() -> str:
    requires_python, dependencies = _requirements()
    lines = [
        "# Generated by osvi_integrations.mcp_server.bundle: the dependencies uv installs for the bundle.",
        "[project]",
        f'name = "{BUNDLE_NAME}-bundle"',
        f'version = "{__version__}"',
        f'requires-python = "{requires_python}"',
        "dependencies = [",
        *(f"    {json.dumps(dependency)}," for dependency in dependencies),
        "]",
        "",
        "[tool.uv]",
        "package = false  # the package's source is in server/, next to the entry point",
        "",
    ]
    return "\n".join(lines)


def build_bundle(out_dir: Path) -> Path:
    """Writes the bundle's directory (out_dir/osvi-mcp/) and its .mcpb archive; returns the archive's path."""
    root = out_dir / BUNDLE_NAME
    if root.exists():
        shutil.rmtree(root)
    (root / "server").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(_pyproject(), encoding="utf-8")
    (root / ENTRY_POINT).write_text(_LAUNCHER, encoding="utf-8")
    shutil.copytree(
        _PACKAGE_DIR,
        root / "server" / _PACKAGE_DIR.name,
        ignore=lambda _, names: [n for n in names if n in _NOT_BUNDLED or n.endswith(".pyc")],
    )
    archive = out_dir / f"{BUNDLE_NAME}-{__version__}.mcpb"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            # A fixed timestamp: the same source gives the same archive (and checksum).
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zipped.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return archive


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m osvi_integrations.mcp_server.bundle",
        description="Build the Claude Desktop extension (.mcpb) of the OSVI MCP server, or write its server.json.",
    )
    parser.add_argument("--out", type=Path, default=Path("dist"), help="output directory (default: dist)")
    parser.add_argument("--server-json", type=Path, help="write the MCP registry's server.json here instead")
    args = parser.parse_args(argv)
    if args.server_json is not None:
        args.server_json.write_text(json.dumps(server_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.server_json}", file=sys.stderr)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    archive = build_bundle(args.out)
    print(f"built {archive} (install: double-click it, or Claude Desktop > Settings > Extensions)", file=sys.stderr)


if __name__ == "__main__":
    main()
