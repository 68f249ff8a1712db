"""Every Python block in the README and docs runs as written against the sandbox.

The blocks of one file run in order in one namespace (later blocks may use names defined earlier),
with the environment the README tells readers to set: the sandbox's URL and token, and the
support agent as the default agent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from osvi_integrations.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        monkeypatch.setenv("OSVI_BASE_URL", server.base_url)
        monkeypatch.setenv("OSVI_API_TOKEN", server.api_token)
        monkeypatch.setenv("OSVI_AGENT_UUID", "agent_sandbox_support")
        yield server


def test_the_docs_have_python_blocks() -> None:
    assert len(_blocks(ROOT / "README.md")) >= 3


@pytest.mark.parametrize("path", [p for p in DOCS if _blocks(p)], ids=lambda p: p.name)
def test_every_python_block_runs(path: Path, sandbox_env: SandboxServer) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(_blocks(path), start=1):
        code = compile(block, f"{path.name} block {number}", "exec")
        try:
            exec(code, namespace)
        except Exception as error:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{path.name} block {number} failed: {type(error).__name__}: {error}\n{block}")
