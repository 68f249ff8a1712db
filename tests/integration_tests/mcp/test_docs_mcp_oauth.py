"""docs/mcp-oauth.md matches the code: its scope table is the derivation from the operation table, the
variables it names are the ones the settings read, its command line parses, its audit record example has
the fields of a real record."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from osvi_integrations.mcp_server import settings as settings_module
from osvi_integrations.mcp_server.audit import audit_record
from osvi_integrations.mcp_server.cli import _parser
from osvi_integrations.mcp_server.scopes import SCOPES, operation_scope
from osvi_integrations.protocol import OPERATIONS, SEND_MESSAGE

DOC = (Path(__file__).resolve().parents[3] / "docs" / "mcp-oauth.md").read_text(encoding="utf-8")


def test_the_scope_table_is_the_derivation_from_the_operation_table() -> None:
    table = DOC[DOC.index("| scope ") : DOC.index("A tool's scope")]
    rows = re.findall(r"^\| `([\w:]+)`\s*\|[^|]*\|\s*(.+?)\s*\|$", table, re.M)
    assert [scope for scope, _ in rows] == list(SCOPES)
    for scope, tools in rows:
        assert re.findall(r"`(\w+)`", tools) == [op.name for op in OPERATIONS if operation_scope(op) == scope]


def test_every_variable_named_is_one_the_settings_read() -> None:
    read = {value for name, value in vars(settings_module).items() if name.endswith("_ENV")}
    named = set(re.findall(r"\bOSVI_MCP_[A-Z_]+\b", DOC))
    assert named and named <= read
    oauth = {value for value in read if "OAUTH" in value or value == settings_module.RESOURCE_URL_ENV}
    assert oauth <= named, "every OAuth setting is documented"


def test_the_command_lines_parse() -> None:
    blocks = re.findall(r"^```bash\n(.*?)^```", DOC, re.S | re.M)
    assert blocks
    for block in blocks:
        words = shlex.split(block.replace("\\\n", " "))
        _parser().parse_args(words[words.index("osvi-mcp") + 1 :])
    for flag in re.findall(r"`(--[a-z-]+)`", DOC):
        assert flag in _parser()._option_string_actions, flag


@pytest.mark.parametrize("outcome", ["ok", "error"])
def test_the_audit_example_has_the_fields_of_a_record(outcome: str) -> None:
    example = json.loads(re.findall(r"^```json\n(.*?)^```", DOC, re.S | re.M)[0])
    record = audit_record(
        SEND_MESSAGE,
        request=None,
        arguments={"customer_id": "+1555", "content": "never logged"},
        default_agent="agent_x",
        started=0.0,
        outcome=outcome,
        error=None,
        may_have_taken_effect=True,
    )
    assert list(example) == list(record)
    assert "never logged" not in json.dumps(record)
