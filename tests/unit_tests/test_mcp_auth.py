"""The MCP server's OAuth settings and scopes, without a network: what is accepted, what is refused, and
how a verified token's claims read (Keycloak, Auth0 and Entra write them differently)."""

from __future__ import annotations

import pytest

for _needed in ("mcp", "jwt"):
    pytest.importorskip(_needed, reason=f"{_needed} (the mcp extra) is not installed")

from osvi_integrations.errors import ConfigurationError  # noqa: E402
from osvi_integrations.mcp_server import (  # noqa: E402
    OPERATE_SCOPE,
    READ_SCOPE,
    SEND_SCOPE,
    HttpSettings,
    OAuthSettings,
    operation_scope,
    transport_security,
)
from osvi_integrations.mcp_server.oauth import access_token_from_claims, needed_scopes  # noqa: E402
from osvi_integrations.protocol import OPERATIONS, Effect  # noqa: E402

ISSUER = "https://id.example.com/realms/support"
RESOURCE = "https://mcp.example.com/mcp"


def test_no_issuer_means_no_oauth() -> None:
    assert OAuthSettings.build(env={}) is None


def test_settings_from_the_environment() -> None:
    settings = OAuthSettings.build(
        env={
            "OSVI_MCP_OAUTH_ISSUER": ISSUER,
            "OSVI_MCP_RESOURCE_URL": RESOURCE,
            "OSVI_MCP_OAUTH_AUDIENCE": "api://osvi-mcp, https://mcp.example.com/mcp",
            "OSVI_MCP_OAUTH_INTROSPECTION_CLIENT_ID": "rs",
            "OSVI_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET": "s3cret-value",
        }
    )
    assert settings is not None
    assert settings.issuer == ISSUER and settings.resource_url == RESOURCE
    assert settings.audiences == ("api://osvi-mcp", RESOURCE)
    assert settings.introspection and "s3cret-value" not in repr(settings)
    assert "none" not in settings.algorithms and not any(a.startswith("HS") for a in settings.algorithms)


def test_the_audience_defaults_to_the_resource_url() -> None:
    settings = OAuthSettings.build(issuer=ISSUER, resource_url=RESOURCE, env={})
    assert settings is not None and settings.audiences == (RESOURCE,)


@pytest.mark.parametrize(
    ("issuer", "resource", "message"),
    [
        (ISSUER, None, "OSVI_MCP_RESOURCE_URL"),
        ("http://id.example.com", RESOURCE, "must use https"),
        (ISSUER, "http://mcp.example.com/mcp", "must use https"),
        (ISSUER, "https://mcp.example.com/mcp?x=1", "no query"),
        ("id.example.com", RESOURCE, "expected an https:// URL"),
    ],
)
def test_unsafe_or_incomplete_oauth_settings_are_refused(issuer: str, resource: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        OAuthSettings.build(issuer=issuer, resource_url=resource, env={})


def test_plain_http_only_on_loopback() -> None:
    assert OAuthSettings.build(issuer="http://127.0.0.1:8080", resource_url="http://localhost:8000/mcp", env={})


def test_oauth_protects_an_exposed_bind_and_names_its_host() -> None:
    env = {"OSVI_MCP_OAUTH_ISSUER": ISSUER, "OSVI_MCP_RESOURCE_URL": RESOURCE}
    settings = HttpSettings.from_env(host="0.0.0.0", port=8000, stateless=True, env=env)
    assert settings.oauth is not None and settings.bearer_token is None
    assert "mcp.example.com" in transport_security(settings).allowed_hosts
    with pytest.raises(ConfigurationError, match="OSVI_MCP_OAUTH_ISSUER"):
        HttpSettings.from_env(host="0.0.0.0", port=8000, stateless=True, env={"OSVI_MCP_ALLOWED_HOSTS": "a"})


def test_each_operations_scope_follows_its_effect_and_operator_flag() -> None:
    for op in OPERATIONS:
        expected = OPERATE_SCOPE if op.operator else READ_SCOPE if op.effect is Effect.READ else SEND_SCOPE
        assert operation_scope(op) == expected
    assert {operation_scope(op) for op in OPERATIONS} == {READ_SCOPE, SEND_SCOPE, OPERATE_SCOPE}
    assert needed_scopes([op for op in OPERATIONS if not op.operator]) == [READ_SCOPE, SEND_SCOPE]
    assert needed_scopes(OPERATIONS) == [READ_SCOPE, SEND_SCOPE, OPERATE_SCOPE]


def test_an_identity_provider_may_name_the_scopes_its_own_way() -> None:
    env = {
        "OSVI_MCP_OAUTH_ISSUER": ISSUER,
        "OSVI_MCP_RESOURCE_URL": RESOURCE,
        "OSVI_MCP_OAUTH_SCOPE_PREFIX": "api://osvi/",
        "OSVI_MCP_OAUTH_SCOPE_NAMES": "osvi:read=Osvi.Read, osvi:operate=Osvi.Operate",
    }
    settings = OAuthSettings.build(env=env)
    assert settings is not None
    assert settings.external_scope(READ_SCOPE) == "api://osvi/Osvi.Read"
    assert settings.external_scope(SEND_SCOPE) == "api://osvi/osvi:send"
    assert [settings.internal_scope(s) for s in ("Osvi.Read", "api://osvi/Osvi.Operate", "openid")] == [
        READ_SCOPE,
        OPERATE_SCOPE,
        "openid",
    ]
    with pytest.raises(ConfigurationError, match="OSVI_MCP_OAUTH_SCOPE_NAMES"):
        OAuthSettings.build(env={**env, "OSVI_MCP_OAUTH_SCOPE_NAMES": "osvi:admin=Admin"})


@pytest.mark.parametrize(
    ("claims", "prefix", "scopes", "client_id"),
    [
        ({"scope": "openid osvi:read osvi:send", "azp": "claude"}, "", ["openid", READ_SCOPE, SEND_SCOPE], "claude"),
        ({"scp": "osvi:read", "appid": "v1-app"}, "", [READ_SCOPE], "v1-app"),
        ({"scp": ["api://osvi/osvi:operate"], "client_id": "c"}, "api://osvi/", [OPERATE_SCOPE], "c"),
        ({}, "", [], "unknown"),
    ],
    ids=["keycloak_auth0", "entra_v1", "prefixed_list", "bare"],
)
def test_claims_read_the_way_each_identity_provider_writes_them(
    claims: dict[str, object], prefix: str, scopes: list[str], client_id: str
) -> None:
    settings = OAuthSettings(issuer=ISSUER, resource_url=RESOURCE, audiences=(RESOURCE,), scope_prefix=prefix)
    token = access_token_from_claims({"iss": ISSUER, "sub": "u-1", "aud": [RESOURCE, "x"], **claims}, settings)
    assert token.scopes == scopes and token.client_id == client_id
    assert token.subject == "u-1" and token.resource == RESOURCE and token.token == ""
