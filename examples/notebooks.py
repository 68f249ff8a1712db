"""Runs the example notebooks top to bottom against the embedded sandbox and saves their outputs, so they
read well where notebooks are rendered (GitHub, nbviewer, an IDE).

    .venv/bin/python examples/notebooks.py                      # every notebook
    .venv/bin/python examples/notebooks.py core_client.ipynb    # one

Run it after a change that alters what a notebook prints: `tests/integration_tests/test_notebooks.py`
runs each notebook the same way and fails when a saved output no longer matches what it produces (the
comparison leaves out what changes on every run: session ids, timestamps, ports).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: Where a chart keeps its data, in its display's metadata: the tests compare this, not pixels.
CHART_DATA = "osvi_chart_data"
CELL_TIMEOUT = 120

_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"0x[0-9a-f]{6,}"), "0x<address>"),
    (re.compile(r'"duration_ms": \d+'), '"duration_ms": <ms>'),  # the MCP server's audit records
]


def execute(path: Path) -> Any:
    """The notebook at `path`, run top to bottom (in the examples folder, without OSVI_* variables: against
    the embedded sandbox). Raises `nbclient.exceptions.CellExecutionError` when a cell fails."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSVI_")}
    with tempfile.TemporaryDirectory(prefix="osvi-kernel-") as folder:
        # ipc: the kernel opens no network port
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(folder) / "kernel"))
        client = NotebookClient(
            notebook, km=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(EXAMPLES)}}
        )
        client.execute(env=env, cleanup_kc=True)  # the kernel stops here, not when this process exits
    return notebook


def normalised(text: str) -> str:
    """`text` without what changes on every run."""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def substance(notebook: Any) -> list[list[dict[str, Any]]]:
    """What each code cell shows, as compared between runs: text outputs normalised, a chart by its data
    (and that there is a PNG), errors by their name."""
    cells: list[list[dict[str, Any]]] = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        shown: list[dict[str, Any]] = []
        for output in cell.outputs:
            kind = output.output_type
            if kind == "stream":
                # A kernel flushes a stream in chunks that depend on timing: consecutive chunks are one text.
                if shown and shown[-1].get("stream") == output.name:
                    shown[-1]["text"] += output.text
                else:
                    shown.append({"stream": output.name, "text": output.text})
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                item: dict[str, Any] = {"kind": kind}
                if "image/png" in data:
                    item["png"] = True
                    item["chart"] = _normalised_json(output.get("metadata", {}).get(CHART_DATA))
                else:
                    item["text"] = normalised(data.get("text/plain", ""))
                shown.append(item)
            elif kind == "error":
                shown.append({"error": output.ename})
        for item in shown:
            if "stream" in item:
                item["text"] = normalised(item["text"])
        cells.append(shown)
    return cells


def _normalised_json(value: Any) -> Any:
    if isinstance(value, str):
        return normalised(value)
    if isinstance(value, list):
        return [_normalised_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalised_json(v) for k, v in value.items()}
    return value


def refresh(path: Path) -> float:
    """Runs the notebook and saves it with its outputs; returns the seconds it took."""
    started = time.monotonic()
    notebook = execute(path)
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("notebooks", nargs="*", help="notebook file names (default: every one in examples/)")
    args = parser.parse_args(argv)
    paths = [EXAMPLES / name for name in args.notebooks] or NOTEBOOKS
    for path in paths:
        print(f"{path.name}: {refresh(path):.1f} s")


if __name__ == "__main__":
    main()
