"""What the published package promises beyond its API: a library's logging manners, and a README that works
as the PyPI page. (`./run release` checks the built artifacts themselves: docs/releasing.md.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_logs_nothing_to_stderr_unless_the_application_configures_logging() -> None:
    """Without the NullHandler, Python's last-resort handler prints a library's warnings to stderr."""
    code = (
        "import logging, osvi_integrations\n"
        "logging.getLogger('osvi_integrations').warning('a warning the application did not ask to see')\n"
        "logging.getLogger('osvi_integrations.mcp').error('nor this')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr == ""
    configured = subprocess.run(
        [sys.executable, "-c", "import logging; logging.basicConfig()\n" + code],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "a warning the application did not ask to see" in configured.stderr  # propagation still works


def _repository() -> str:
    urls: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    return urls["Repository"]


def test_the_readme_links_work_on_pypi() -> None:
    """PyPI shows README.md with no repository around it: relative links would 404 there."""
    readme = (ROOT / "README.md").read_text()
    repository = _repository()
    raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert len(targets) >= 10
    for target in targets:
        assert re.match(r"https?://", target) or target.startswith("#"), f"relative link {target}"
        for prefix in (f"{repository}/blob/main/", raw):
            if target.startswith(prefix):
                assert (ROOT / target.removeprefix(prefix).partition("#")[0]).exists(), target


def test_the_readme_carries_the_mcp_registry_name() -> None:
    """The MCP registry proves the PyPI package is the server's by this line in its description."""
    name = json.loads((ROOT / "server.json").read_text())["name"]
    assert f"mcp-name: {name}" in (ROOT / "README.md").read_text()


def test_every_extra_is_in_all() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    published = set(extras) - {"all", "bench"}  # bench: only for `./run bench`
    assert extras["all"] == [f"osvi-integrations[{','.join(sorted(published, key=list(extras).index))}]"]
