"""Node.js tools the MCP tests drive (the MCP Inspector's CLI, the conformance suite): each installed once
from npm into a cache folder the test workers share, and run with `node` directly (no `npx` resolution on
every call). Tests skip, saying why, without Node.js, npm or a reachable registry."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def node_major(node: str) -> int:
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.match(r"v(\d+)", done.stdout.strip())
    return int(match.group(1)) if match else 0


def npm_installed(what: str, folder: Path, packages: list[str], needed: list[Path]) -> Path:
    """`packages` installed into `folder` (once: the workers share it under a lock) so that every path of
    `needed` (relative to `folder`) exists; returns `folder`."""
    if not all((folder / path).exists() for path in needed) and shutil.which("npm") is None:
        pytest.skip(f"npm is not installed: {what} cannot be installed")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".install-lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker installs, the others wait
        if not all((folder / path).exists() for path in needed):
            npm = shutil.which("npm")
            assert npm is not None
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), *packages],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0 or not all((folder / path).exists() for path in needed):
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                pytest.skip(f"{what} could not be installed from npm (offline?): {last}")
    return folder


def cache_folder(name: str, variable: str) -> Path:
    """~/.cache/`name`, or the folder the environment variable `variable` names."""
    return Path(os.environ.get(variable) or Path.home() / ".cache" / name)
