"""What the benchmark's sections share: a process's CPU and memory from /proc, and a past revision from git."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far, in ns (/proc/<pid>/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    return total


def rss_kb(pid: int | str = "self") -> float:
    """Resident memory of `pid` (default: this process) in KB; NaN when /proc does not say."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return float("nan")


def git_export(rev: str, target: Path, *paths: str) -> str | None:
    """Extracts `rev` of this repository (only `paths`, when given) into `target`; None, or why it failed."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *paths], capture_output=True, timeout=60)
    if archive.returncode != 0:
        return f"git archive {rev} failed: {archive.stderr.decode(errors='replace').strip()[-200:]}"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return None
