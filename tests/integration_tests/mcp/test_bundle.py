"""Install artifacts: the Claude Desktop extension (MCPB) and the registry's server.json, generated from the
code. The official `mcpb` CLI validates the bundle where Node is installed; the built bundle runs as a server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from osvi_integrations import __version__
from osvi_integrations.mcp_server import bundle
from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from .conftest import checked

ROOT = Path(__file__).resolve().parents[3]
#: The mcpb CLI version the bundle was checked with (npx fetches it from the npm registry).
MCPB_CLI = "@anthropic-ai/mcpb@2.1.2"
_NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .mcpb archive, built once for the module."""
    return bundle.build_bundle(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def unpacked(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(built) as archive:
        archive.extractall(target)
    return target


def test_the_manifest_lists_the_servers_tools(unpacked: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest == bundle.manifest()
    assert manifest["version"] == __version__ and manifest["manifest_version"] == "0.4"
    assert [t["name"] for t in manifest["tools"]] == [op.name for op in OPERATIONS]
    assert [t["description"] for t in manifest["tools"]] == [op.description for op in OPERATIONS]


def test_the_manifest_asks_for_the_settings_the_server_reads(unpacked: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_text())
    config, env = manifest["user_config"], manifest["server"]["mcp_config"]["env"]
    assert config["api_token"]["sensitive"] is True and config["api_token"]["required"] is True
    assert {"api_token", "default_agent", "base_url", "operator_tools", "timeout"} == set(config)
    assert env == {
        "OSVI_API_TOKEN": "${user_config.api_token}",
        "OSVI_AGENT_UUID": "${user_config.default_agent}",
        "OSVI_BASE_URL": "${user_config.base_url}",
        "OSVI_MCP_OPERATOR_TOOLS": "${user_config.operator_tools}",
        "OSVI_TIMEOUT": "${user_config.timeout}",
    }
    assert config["operator_tools"]["default"] is False and config["timeout"]["default"] < 60


def test_the_bundle_carries_the_package_and_its_dependencies(built: Path, unpacked: Path) -> None:
    names = zipfile.ZipFile(built).namelist()
    assert "manifest.json" in names and "pyproject.toml" in names and bundle.ENTRY_POINT in names
    assert "server/osvi_integrations/mcp_server/tools.py" in names
    assert not any("__pycache__" in n or "/langchain/" in n for n in names)
    pyproject = (unpacked / "pyproject.toml").read_text()
    for dependency in ("httpx", "pydantic", "mcp", "starlette", "uvicorn"):
        assert f'"{dependency}' in pyproject
    assert "langchain" not in pyproject


def test_the_archive_is_reproducible(built: Path, tmp_path: Path) -> None:
    assert bundle.build_bundle(tmp_path).read_bytes() == built.read_bytes()


def npx_mcpb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None or shutil.which("node") is None:
        pytest.skip("Node.js (npx) is not installed: the official mcpb CLI cannot run")
    done = subprocess.run(
        [npx, "--yes", MCPB_CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0 and _NETWORK_ERRORS.search(done.stderr) and "validation" not in done.stdout.lower():
        pytest.skip(f"the npm registry is unreachable: {done.stderr.strip().splitlines()[-1]}")
    return done


def test_the_official_mcpb_cli_validates_the_bundle(built: Path, unpacked: Path, tmp_path: Path) -> None:
    validated = npx_mcpb("validate", str(unpacked / "manifest.json"), cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Manifest schema validation passes" in validated.stdout
    # The CLI's own reading of the archive: it unpacks to the same manifest.
    unpacked_by_cli = tmp_path / "cli"
    assert npx_mcpb("unpack", str(built), str(unpacked_by_cli), cwd=tmp_path).returncode == 0
    assert json.loads((unpacked_by_cli / "manifest.json").read_text()) == bundle.manifest()


def test_the_official_mcpb_cli_rejects_a_broken_manifest(tmp_path: Path) -> None:
    """The validation above can fail: a manifest without its server section does not pass."""
    broken = {k: v for k, v in bundle.manifest().items() if k != "server"}
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    done = npx_mcpb("validate", str(tmp_path / "manifest.json"), cwd=tmp_path)
    assert done.returncode != 0 and "server" in done.stdout


async def test_the_bundled_server_runs_as_claude_desktop_starts_it(
    unpacked: Path, sandbox: SandboxServer, customer_id: str, tmp_path: Path
) -> None:
    """The entry point with the manifest's environment, user settings filled in (uv would provide the
    dependencies; this interpreter already has them). The bundled copy of the package is the one imported."""
    manifest = json.loads((unpacked / "manifest.json").read_text())
    values = {
        "api_token": sandbox.api_token,
        "default_agent": SUPPORT_AGENT,
        "base_url": sandbox.base_url,
        "operator_tools": "true",
        "timeout": "50",
    }
    env = {
        name: re.sub(r"\$\{user_config\.(\w+)\}", lambda m: values[m.group(1)], template)
        for name, template in manifest["server"]["mcp_config"]["env"].items()
    }
    entry = unpacked / manifest["server"]["entry_point"]
    which = subprocess.run(
        [sys.executable, "-c", "import osvi_integrations; print(osvi_integrations.__file__)"],
        cwd=entry.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(which.stdout.strip()).is_relative_to(unpacked)
    params = StdioServerParameters(command=sys.executable, args=[str(entry)], env=env, cwd=str(unpacked))
    with (tmp_path / "stderr").open("w+") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            result = await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
    assert [{"name": t.name, "description": t.description} for t in tools.values()] == manifest["tools"]
    data: dict[str, Any] = checked(result, tools["send_message"])
    assert data["mode"] == "ai" and "sandbox assistant" in data["reply"]


def test_server_json_is_in_sync_with_the_code() -> None:
    """server.json is generated (`python -m osvi_integrations.mcp_server.bundle --server-json server.json`)."""
    committed = json.loads((ROOT / "server.json").read_text())
    assert committed == bundle.server_json(), "regenerate server.json with the command in this test's docstring"
    assert committed["version"] == __version__
    package = committed["packages"][0]
    assert (package["identifier"], package["version"], package["registryType"]) == (
        "osvi-integrations",
        __version__,
        "pypi",
    )
    assert package["runtimeArguments"][0]["value"] == f"osvi-integrations[mcp]=={__version__}"
    assert committed["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["tools"] == [
        op.name for op in OPERATIONS
    ]
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert variables["OSVI_API_TOKEN"]["isSecret"] is True and variables["OSVI_API_TOKEN"]["isRequired"] is True
    assert 1 <= len(committed["description"]) <= 100
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", committed["name"])


def test_the_registry_command_exists() -> None:
    """server.json runs `uvx --from 'osvi-integrations[mcp]==V' osvi-integrations`: that console script exists."""
    import importlib.metadata

    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("osvi-mcp") == "osvi_integrations._entry_points:mcp"
    assert scripts.get("osvi-integrations") == "osvi_integrations._entry_points:mcp_as_distribution"
