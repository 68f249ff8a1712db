"""The test suite's wall time against the suite the performance issue timed. Called by benchmark.py.

The suite at ISSUE_REV (when the target was set) is exported from git and run as it was; the same
tests today are those with the same file name, test name and parameters (the suite has since moved
into unit_tests/ and integration_tests/, and grown). Both sides run the matched tests only, each the
way its `./run tests` ran pytest (today: two xdist workers), in this virtualenv, wall time from
spawning pytest to its exit.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, git_export

#: The last commit before the performance issue was filed: its suite is "today's wall time".
ISSUE_REV = "a039fbf"


def _pytest(cwd: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _collect(cwd: Path, *args: str) -> list[str]:
    done = _pytest(cwd, "--collect-only", "-q", *args)
    return [line.strip() for line in done.stdout.splitlines() if "::" in line]


def _same_test(node_id: str) -> str:
    """A test's identity across the move: file name (not folder), then class, test name and parameters."""
    path, _, rest = node_id.partition("::")
    return f"{path.rsplit('/', 1)[-1]}::{rest}"


def _timed(cwd: Path, ids: list[str], *args: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = _pytest(cwd, "-q", *args, *ids)
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    return {"wall_s": seconds, "summary": lines[-1] if lines else done.stderr.strip()[-300:], "exit": done.returncode}


def export(workdir: Path) -> Path | None:
    """ISSUE_REV's whole tree, next to a link to the shared contract as in a checkout."""
    target = workdir / "suite" / "osvi-integrations"
    if git_export(ISSUE_REV, target) is not None:
        return None
    shared = ROOT.parent / "shared"
    if shared.exists():
        (target.parent / "shared").symlink_to(shared)
    return target


def run(workdir: Path) -> dict[str, Any]:
    then_root = export(workdir)
    if then_root is None:
        return {"skipped": f"git archive {ISSUE_REV} failed"}
    then_ids = _collect(then_root, "-p", "no:xdist")
    now_by_identity = {_same_test(node): node for node in _collect(ROOT, "-n", "0")}
    pairs = [(node, now_by_identity[_same_test(node)]) for node in then_ids if _same_test(node) in now_by_identity]
    # Then first, now second, both warm (the first run of either pays for imports the other then finds cached).
    _timed(then_root, [then for then, _ in pairs[:1]], "-p", "no:xdist")
    then = _timed(then_root, [then for then, _ in pairs], "-p", "no:xdist")
    now = _timed(ROOT, [now for _, now in pairs])
    return {
        "issue_rev": ISSUE_REV,
        "tests_then": len(then_ids),
        "matched": len(pairs),
        "then": then,
        "now": now,
        "ratio": now["wall_s"] / then["wall_s"],
    }
