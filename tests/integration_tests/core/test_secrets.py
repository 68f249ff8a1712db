"""The API token never shows up in reprs, error texts, tracebacks or logs (even at DEBUG)."""

from __future__ import annotations

import logging
import traceback

import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, errors
from osvi_integrations.sandbox import FAULTY_AGENT, SUPPORT_AGENT, SandboxServer

WRONG_TOKEN = "Wr0ngT0kenXYZ789"


def _everything_printable(error: BaseException) -> str:
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error)), repr(error.args)]
    )


def test_token_absent_from_logs_errors_and_reprs_at_debug_level(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    texts: list[str] = []
    with OSVIClient(sandbox.api_token, base_url=sandbox.base_url) as client:
        texts += [repr(client), str(client), repr(client.send_message(SUPPORT_AGENT, "+1555", "hi"))]
        with pytest.raises(errors.EngineError) as engine_error:
            client.send_message(FAULTY_AGENT, "+1555", "hi")
        texts.append(_everything_printable(engine_error.value))
    with OSVIClient(WRONG_TOKEN, base_url=sandbox.base_url) as wrong, pytest.raises(errors.AuthenticationError) as auth:
        wrong.send_message(SUPPORT_AGENT, "+1555", "hi")
    texts += [repr(wrong), _everything_printable(auth.value)]
    assert caplog.records, "DEBUG logging captured nothing: the check would be vacuous"
    texts.append(caplog.text)
    for text in texts:
        assert sandbox.api_token not in text
        assert WRONG_TOKEN not in text


async def test_connection_errors_do_not_leak_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with AsyncOSVIClient(WRONG_TOKEN, base_url="http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(errors.APIConnectionError) as info:
            await client.send_message(SUPPORT_AGENT, "+1555", "hi")
    assert info.value.may_have_taken_effect is False
    assert WRONG_TOKEN not in _everything_printable(info.value) + caplog.text


def test_invalid_token_message_names_the_problem_not_the_token() -> None:
    bad = "abc def\x00ghi"
    with pytest.raises(errors.ConfigurationError) as info:
        OSVIClient(bad)
    assert "api_token" in str(info.value)
    assert bad not in _everything_printable(info.value)


def test_missing_token_is_a_clear_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="OSVI_API_TOKEN"):
        OSVIClient()
