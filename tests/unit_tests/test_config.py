"""Settings are resolved in one place and checked before anything is sent."""

from __future__ import annotations

import logging

import pytest

from osvi_integrations import AsyncOSVIClient, OSVIClient, errors
from osvi_integrations import config as config_module
from osvi_integrations.config import build_config

TOKEN = "abcdEFGH12345678"


def _config(**overrides: object) -> config_module.ClientConfig:
    args: dict[str, object] = {"api_token": TOKEN, "env": {}, **overrides}
    return build_config(**args)  # type: ignore[arg-type]


def test_defaults_and_environment() -> None:
    default = _config()
    assert (default.base_url, default.timeout, default.connect_timeout) == ("https://api.osvi.ai", 60.0, 5.0)
    assert default.max_connections == 100 and default.default_agent_uuid is None
    env = {
        "OSVI_API_TOKEN": f"  {TOKEN}\n",
        "OSVI_BASE_URL": "http://127.0.0.1:9/",
        "OSVI_TIMEOUT": "12.5",
        "OSVI_AGENT_UUID": " agent_x ",
    }
    from_env = build_config(env=env)
    assert from_env.api_token.get_secret_value() == TOKEN
    assert (from_env.base_url, from_env.timeout, from_env.default_agent_uuid) == ("http://127.0.0.1:9", 12.5, "agent_x")
    assert from_env.origin == "http://127.0.0.1:9"
    assert TOKEN not in repr(from_env)
    # Arguments win over the environment.
    assert build_config(api_token=TOKEN, timeout=3, default_agent_uuid="agent_y", env=env).timeout == 3
    assert (
        build_config(api_token=TOKEN, timeout=3, default_agent_uuid="agent_y", env=env).default_agent_uuid == "agent_y"
    )
    assert _config(timeout=2, connect_timeout=9).connect_timeout == 2  # never longer than the whole call


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"api_token": None}, "OSVI_API_TOKEN"),
        ({"api_token": "abc def\n"}, "api_token: contains whitespace"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "http://[::1"}, "base_url"),
        ({"base_url": "http://host:notaport"}, "base_url"),
        ({"base_url": "http://host:99999"}, "base_url"),
        ({"base_url": "https://api.osvi.ai/?region=eu"}, "base_url: must not have a query"),
        ({"base_url": "https://api.osvi.ai/#frag"}, "base_url: must not have a query or a fragment"),
        ({"base_url": "https://user:pw@api.osvi.ai"}, "base_url: must not contain credentials"),
        ({"base_url": "https://"}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "soon"}, "timeout"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1, "retry_policy": config_module.RetryPolicy()}, "max_retries"),
        ({"max_connections": 0}, "max_connections"),
        ({"env": {"OSVI_API_TOKEN": TOKEN, "OSVI_TIMEOUT": "0"}, "api_token": None}, "OSVI_TIMEOUT"),
    ],
)
def test_bad_settings_are_configuration_errors_naming_the_setting(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=field.replace("?", r"\?")) as info:
        _config(**overrides)
    assert isinstance(info.value, errors.NotDeliveredError) and isinstance(info.value, ValueError)
    assert "abc def" not in str(info.value) and "pw" not in str(info.value)


def test_clients_reject_bad_base_urls_at_construction() -> None:
    for url in ("http://[::1", "http://host:notaport", "https://api.osvi.ai?region=eu"):
        with pytest.raises(errors.ConfigurationError):
            OSVIClient(TOKEN, base_url=url)
        with pytest.raises(errors.ConfigurationError):
            AsyncOSVIClient(TOKEN, base_url=url)


def test_plain_http_warning_is_printed_once(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "_warned_plain_http", set())
    caplog.set_level(logging.WARNING, "osvi_integrations")
    for _ in range(3):
        OSVIClient(TOKEN, base_url="http://osvi.internal.example").close()
    _config(base_url="http://127.0.0.1:8765")  # loopback: no warning
    assert [r.getMessage() for r in caplog.records].count(
        "base_url http://osvi.internal.example is plain http: the API token will cross the network unencrypted."
    ) == 1


def test_missing_token_message_tells_a_person_what_to_set() -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        _config(api_token=None)
    assert "set the OSVI_API_TOKEN environment variable" in str(info.value)


def test_clients_take_settings_already_resolved() -> None:
    config = _config(default_agent_uuid="agent_x", timeout=7)
    client = OSVIClient(config=config)
    assert client.config is config and client.default_agent_uuid == "agent_x"
    client.close()
    with pytest.raises(errors.ConfigurationError, match="config: pass either"):
        AsyncOSVIClient(TOKEN, config=config)
