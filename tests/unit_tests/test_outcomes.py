"""What an answer means (issue 16, findings 6 to 8): decided once by `ERROR_TABLE`, from the operation,
the status, then the body; the README's error table is that table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from osvi_integrations import errors
from osvi_integrations.protocol import (
    LIST_ACTIVE_AGENTS,
    OPERATIONS,
    SEND_MESSAGE,
    TAKEOVER_SESSION,
    Operation,
    RawResponse,
    error_table_markdown,
    parse_retry_after,
)
from osvi_integrations.retry import RetryPolicy

SECRET = SecretStr("tok-0123456789")
README = Path(__file__).resolve().parents[2] / "README.md"
CODES = ["agent_not_found", "agent_archived", "agent_inactive", "session_not_found", "session_closed", None, "weird"]


def parse_error(operation: Operation[Any, Any], status: int, body: Any) -> errors.OSVIError:
    response = RawResponse(status, {}, json.dumps(body).encode())
    with pytest.raises(errors.OSVIError) as info:
        operation.parse(response, secret=SECRET)
    return info.value


def test_the_readme_error_table_is_the_protocol_table() -> None:
    if not README.exists():
        pytest.skip("no README next to the tests (the release check runs a copy of them)")
    text = README.read_text()
    found = re.search(r"<!-- error-table:[^>]*-->\n(.*?)\n<!-- /error-table -->", text, re.S)
    assert found is not None, "the README has lost its error-table markers"
    assert found.group(1) == error_table_markdown()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
@given(status=st.integers(500, 599).filter(lambda s: s != 503), code=st.sampled_from(CODES))
def test_a_5xx_may_have_taken_effect_whatever_code_it_names(
    operation: Operation[Any, Any], status: int, code: str | None
) -> None:
    error = parse_error(operation, status, {"success": False, "error": code})
    assert isinstance(error, errors.ServerError)
    assert not isinstance(error, errors.NotDeliveredError)
    assert error.may_have_taken_effect is True
    assert error.code == code


def test_a_rejected_upstream_is_not_applied_only_for_a_support_command() -> None:
    body = {"success": False, "error": "x", "upstream_body": {"state": "rejected", "reason": "r"}}
    message = parse_error(SEND_MESSAGE, 502, body)
    assert type(message) is errors.EngineError and message.may_have_taken_effect is True
    command = parse_error(TAKEOVER_SESSION, 502, body)
    assert isinstance(command, errors.SupportCommandRejectedError) and command.may_have_taken_effect is False


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
@given(status=st.integers(200, 299), code=st.sampled_from(CODES))
def test_a_2xx_that_says_it_failed_is_rejected(operation: Operation[Any, Any], status: int, code: str | None) -> None:
    error = parse_error(operation, status, {"success": False, "error": code})
    assert isinstance(error, errors.RejectedError) and error.may_have_taken_effect is False


def test_a_list_of_agents_that_says_it_failed_is_rejected() -> None:
    error = parse_error(LIST_ACTIVE_AGENTS, 200, {"success": False, "error": "agent_inactive"})
    assert isinstance(error, errors.AgentInactiveError)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "session_not_found", errors.SessionNotFoundError),
        (422, "session_closed", errors.SessionClosedError),
        (409, "session_closed", errors.SessionClosedError),
        (404, None, errors.SessionNotFoundError),
        (418, None, errors.RejectedError),
        (302, None, errors.RedirectError),
    ],
)
def test_4xx_codes_refine_the_class(status: int, code: str | None, cls: type[errors.OSVIError]) -> None:
    error = parse_error(SEND_MESSAGE, status, {"success": False, "error": code})
    assert type(error) is cls and error.may_have_taken_effect is False


@pytest.mark.parametrize("value", ["1e400", "inf", "1e300"])
def test_an_endless_retry_after_is_raised_at_once(value: str) -> None:
    wait = parse_retry_after(value)
    assert wait is not None and wait > 1e299
    error = errors.RateLimitError("slow down", status_code=429, retry_after=wait)
    assert RetryPolicy().delay_before_retry(error, 0) is None


def test_an_unreadable_retry_after_is_none() -> None:
    assert parse_retry_after("nan") is None and parse_retry_after("soon") is None
