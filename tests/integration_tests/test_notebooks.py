"""The example notebooks run top to bottom against the embedded sandbox, and what they show is what they
were saved with: a notebook whose saved output no longer matches what it produces fails here (refresh it
with `python examples/notebooks.py`). Run ids, timestamps and ports are left out of the comparison; a
chart is compared by the data it carries, not by its pixels."""

from __future__ import annotations

import base64
import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

from osvi_integrations.sandbox import SANDBOX_API_TOKEN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _load_runner() -> ModuleType:
    """examples/notebooks.py, the runner that saved the outputs (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("example_notebooks", EXAMPLES / "notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
NOTEBOOKS: list[Path] = runner.NOTEBOOKS


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]


def texts(notebook: Any) -> str:
    """Every text the notebook's outputs hold (streams, results, chart data), for a look for secrets."""
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
            parts.append(str(output.get("metadata", {})))
    return "\n".join(parts)


def test_there_is_a_notebook_per_surface() -> None:
    assert {path.name for path in NOTEBOOKS} >= {
        "core_client.ipynb",
        "langchain.ipynb",
        "mcp.ipynb",
        "conversation_timeline.ipynb",
        "langgraph_handoff.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_saved_with_the_outputs_of_one_clean_run(path: Path) -> None:
    notebook = read(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run top to bottom, once"
    assert sum(bool(cell.outputs) for cell in code) >= len(code) // 2, "saved with its outputs"
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert SANDBOX_API_TOKEN not in texts(notebook)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_fresh_run_shows_what_was_saved(path: Path) -> None:
    saved = read(path)
    fresh = runner.execute(path)
    assert [cell.source for cell in fresh.cells] == [cell.source for cell in saved.cells]
    for number, (now, then) in enumerate(zip(runner.substance(fresh), runner.substance(saved), strict=True), 1):
        assert now == then, f"code cell {number} of {path.name} shows something else now: refresh the notebook"
    assert SANDBOX_API_TOKEN not in texts(fresh)


def test_the_comparison_sees_a_changed_output_and_ignores_run_ids() -> None:
    """Not vacuous: a changed reply fails the comparison; another session id or port does not."""
    saved = read(EXAMPLES / "core_client.ipynb")
    baseline = runner.substance(saved)

    def changed(old: str, new: str) -> Any:
        edited = copy.deepcopy(saved)
        for cell in edited.cells:
            for output in cell.get("outputs", []):
                if output.output_type == "stream" and old in output.text:
                    output.text = output.text.replace(old, new)
                    return edited
        raise AssertionError(f"{old!r} is in no saved output")

    assert runner.substance(changed("mode=support", "mode=ai")) != baseline
    session_line = next(
        line for line in texts(saved).splitlines() if line.startswith("Session ") and "-" in line.split()[1]
    )
    other_id = "00000000-0000-4000-8000-000000000000"
    assert runner.substance(changed(session_line.split()[1], other_id)) == baseline


def test_the_chart_carries_its_data() -> None:
    notebook = read(EXAMPLES / "conversation_timeline.ipynb")
    charts = [
        output for cell in notebook.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    ]
    assert len(charts) == 1
    (chart,) = charts
    assert base64.b64decode(chart.data["image/png"]).startswith(PNG_MAGIC)
    data = chart.metadata[runner.CHART_DATA]
    events = data["events"]
    assert {event["who"] for event in events} == {"customer", "agent", "operator"}
    # The spans are the runs of events in support mode / with help requested, as drawn.
    assert [i for start, end in data["support"] for i in range(start, end + 1)] == [
        i for i, event in enumerate(events) if event["mode"] == "support"
    ]
    assert [i for start, end in data["help_requested"] for i in range(start, end + 1)] == [
        i for i, event in enumerate(events) if event["help_requested"]
    ]
    # While a human has the conversation, the agent says nothing.
    for start, end in data["support"]:
        assert all(events[i]["who"] != "agent" for i in range(start, end + 1))
