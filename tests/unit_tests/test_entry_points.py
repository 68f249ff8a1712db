"""The console scripts without their extra: one line naming the extra to install, exit status 1, no traceback.

Each script runs in a child Python where the extra's modules cannot be imported (`sys.modules[name] = None`
makes `import name` raise ModuleNotFoundError, as an absent distribution does). `./run release` checks the
same from the built wheel with only the core installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import pytest

SCRIPTS = {
    # script: (function in osvi_integrations._entry_points, a module of its extra, the extra)
    "osvi-mcp": ("mcp", "uvicorn", "mcp"),
    "osvi-integrations": ("mcp_as_distribution", "mcp", "mcp"),
    "osvi-sandbox": ("sandbox", "uvicorn", "sandbox"),
    "osvi-demo": ("demo", "starlette", "sandbox"),
}


def _run_without(module: str, function: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"sys.modules[{module!r}] = None\n"
        f"sys.argv = ['x', *{list(args)!r}]\n"
        f"from osvi_integrations._entry_points import {function}\n"
        f"{function}()\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("args", [("--help",), ()])
def test_a_script_without_its_extra_names_the_extra(script: str, args: tuple[str, ...]) -> None:
    function, module, extra = SCRIPTS[script]
    done = _run_without(module, function, *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and done.stdout == ""
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith(f"{script}: needs the '{extra}' extra")
    assert f'pip install "osvi-integrations[{extra}]"' in lines[0] and repr(module) in lines[0]


def test_a_missing_module_of_the_package_itself_is_not_blamed_on_an_extra() -> None:
    """A broken install (one of our own modules missing) keeps its traceback: no extra would fix it."""
    done = _run_without("osvi_integrations.mcp_server.cli", "mcp", "--help")
    assert done.returncode == 1 and "Traceback" in done.stderr and "needs the" not in done.stderr


def test_the_scripts_are_the_launchers() -> None:
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    for script, (function, _, _) in SCRIPTS.items():
        assert scripts.get(script) == f"osvi_integrations._entry_points:{function}"


def test_with_its_extra_a_script_runs_its_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv = ['osvi-sandbox', '--help']\n"
         "from osvi_integrations._entry_points import sandbox; sandbox()"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "usage: osvi-sandbox" in done.stdout


def test_the_mcp_server_names_load_with_their_module_and_type_checkers_see_the_same() -> None:
    """`osvi_integrations.mcp_server` loads each name on first use (`_EXPORTS`); its `TYPE_CHECKING` imports,
    `_EXPORTS` and `__all__` name the same things, and each name is the object its module defines."""
    pytest.importorskip("mcp", reason="mcp (the mcp extra) is not installed")
    import ast
    import importlib
    from pathlib import Path

    import osvi_integrations.mcp_server as package

    tree = ast.parse(Path(package.__file__ or "").read_text(encoding="utf-8"))
    for_type_checkers = {
        alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    exports = package._EXPORTS
    assert for_type_checkers == exports and set(package.__all__) == set(exports)
    for name, module in exports.items():
        assert getattr(package, name) is getattr(importlib.import_module(f"{package.__name__}.{module}"), name)
    assert set(package.__all__) <= set(dir(package))


def test_a_configuration_error_is_reported_before_the_mcp_sdk_loads() -> None:
    pytest.importorskip("mcp", reason="mcp (the mcp extra) is not installed")
    code = (
        "import sys\n"
        "from osvi_integrations.mcp_server import main\n"
        "try:\n"
        "    main([])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, sorted({m.partition('.')[0] for m in sys.modules} & {'mcp', 'uvicorn', 'starlette'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.strip() == "2 []", done.stdout + done.stderr
    assert "Set OSVI_API_TOKEN" in done.stderr
