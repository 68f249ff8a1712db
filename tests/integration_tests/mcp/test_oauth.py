"""The streamable HTTP server as an OAuth 2.1 resource server, against a real authorization server started
here (authlib, `oauth_provider.py`): discovery, tokens checked against the JWKS, scopes per caller, step-up,
audit records; the `mcp` SDK's own OAuth client end to end. Real uvicorn and werkzeug on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_types import PromptReference
from pydantic import AnyUrl

from osvi_integrations.mcp_server import (
    AUDIT_LOGGER,
    HAND_OVER_PROMPT,
    OPERATE_SCOPE,
    READ_SCOPE,
    SEND_SCOPE,
    HttpSettings,
    OAuthSettings,
    create_http_app,
    create_server,
    operation_scope,
)
from osvi_integrations.protocol import OPERATIONS
from osvi_integrations.sandbox import SUPPORT_AGENT, SandboxServer

from ... import loopback
from .conftest import checked, settings_for
from .oauth_provider import INTROSPECTION_CLIENT, STRANGER, USER, Provider, rsa_key, running_provider
from .test_http import PUBLIC_NAME, SESSION_TIMEOUT, RoundRobin, cli_server, free_port, running

STATIC = "static-bearer-for-oauth-tests-0123456789"
_JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
READ_TOOLS = {op.name for op in OPERATIONS if operation_scope(op) == READ_SCOPE}
SEND_TOOLS = {op.name for op in OPERATIONS if operation_scope(op) == SEND_SCOPE}
OPERATE_TOOLS = {op.name for op in OPERATIONS if operation_scope(op) == OPERATE_SCOPE}


@pytest.fixture
def provider() -> Iterator[Provider]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with running_provider() as running_op:
        yield running_op


class Served:
    def __init__(self, url: str, provider: Provider) -> None:
        self.url = url
        self.provider = provider
        self.origin = url.removesuffix("/mcp")

    def token(self, scope: str = f"{READ_SCOPE} {SEND_SCOPE}", **overrides: Any) -> str:
        return self.provider.mint(self.url, scope, **overrides)


def _serve(sandbox: SandboxServer, provider: Provider, *, stateless: bool = False, **oauth: Any) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    settings = OAuthSettings.build(issuer=provider.issuer, resource_url=url, jwks_refresh_cooldown=0, env={}, **oauth)
    http = HttpSettings(host="127.0.0.1", port=port, bearer_token=STATIC, stateless=stateless, oauth=settings)
    server = create_server(settings_for(sandbox, operator_tools=True))
    with running(create_http_app(server, http), port):
        yield Served(url, provider)


@pytest.fixture(params=[False, True], ids=["stateful", "stateless"])
def served(sandbox: SandboxServer, provider: Provider, request: pytest.FixtureRequest) -> Iterator[Served]:
    yield from _serve(sandbox, provider, stateless=bool(request.param))


@asynccontextmanager
async def session(url: str, token: str, *, mode: str = "legacy") -> AsyncIterator[Client]:
    with anyio.fail_after(SESSION_TIMEOUT):
        async with (
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {token}"}, timeout=SESSION_TIMEOUT, verify=loopback.TLS
            ) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            yield client


def post(url: str, body: dict[str, Any], token: str | None, **params: str) -> httpx.Response:
    headers = dict(_JSON_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return loopback.post(url, json=body, headers=headers, params=params, timeout=SESSION_TIMEOUT)


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- discovery -------------------------------------------------------------------------------------------


def test_protected_resource_metadata_names_the_issuer_and_the_scopes(served: Served) -> None:
    response = loopback.get(f"{served.origin}/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == served.url
    assert metadata["authorization_servers"] == [served.provider.issuer]
    assert metadata["scopes_supported"] == [READ_SCOPE, SEND_SCOPE, OPERATE_SCOPE]
    assert metadata["bearer_methods_supported"] == ["header"]


def test_without_a_token_401_points_at_the_resource_metadata(served: Served) -> None:
    response = post(served.url, _INITIALIZE, None)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{served.origin}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert f'scope="{READ_SCOPE} {SEND_SCOPE}"' in challenge  # what a client asks for first (MCP scope selection)


def test_operator_scope_is_not_advertised_without_operator_tools(sandbox: SandboxServer, provider: Provider) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    oauth = OAuthSettings.build(issuer=provider.issuer, resource_url=url, env={})
    server = create_server(settings_for(sandbox))
    with running(create_http_app(server, HttpSettings(port=port, oauth=oauth)), port):  # as create_server was told
        metadata = loopback.get(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["scopes_supported"] == [READ_SCOPE, SEND_SCOPE]


# -- tokens ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_valid_token_sees_and_calls_the_tools_of_its_scopes(
    served: Served, customer_id: str, mode: str
) -> None:
    async with session(served.url, served.token(), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == READ_TOOLS | SEND_TOOLS
        sent = checked(
            await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id}),
            tools["send_message"],
        )
    assert sent["session_id"]


async def test_a_read_only_token_sees_only_the_read_tools(served: Served) -> None:
    async with session(served.url, served.token(READ_SCOPE)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == READ_TOOLS


async def test_the_operator_scope_alone_sees_only_the_operator_tools(served: Served) -> None:
    async with session(served.url, served.token(OPERATE_SCOPE)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == OPERATE_TOOLS


def _expired(s: Served) -> str:
    return s.token(exp=s.provider.claims(s.url)["iat"] - 120)  # beyond the 30 s leeway


def _not_yet_valid(s: Served) -> str:
    return s.token(nbf=s.provider.claims(s.url)["iat"] + 600)


def _alg_none(s: Served) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": s.provider.signing_key[0]}
    payload = s.provider.claims(s.url)
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."


def _hs256_with_the_public_key(s: Served) -> str:
    """The classic key-confusion attack: HMAC with the published public key as the secret."""
    kid, key = s.provider.signing_key
    secret = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
    payload = _b64(json.dumps(s.provider.claims(s.url)).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tampered(s: Served) -> str:
    header, _, signature = s.token(READ_SCOPE).split(".")
    widened = _b64(json.dumps(s.provider.claims(s.url, f"{READ_SCOPE} {SEND_SCOPE} {OPERATE_SCOPE}")).encode())
    return f"{header}.{widened}.{signature}"


def _unknown_kid(s: Served) -> str:
    return s.token(key=rsa_key(STRANGER), kid="not-published")


def _published_kid_foreign_key(s: Served) -> str:
    return s.token(key=rsa_key(STRANGER))


BAD_TOKENS = {
    "expired": _expired,
    "not_yet_valid": _not_yet_valid,
    "wrong_audience": lambda s: s.token(aud="http://127.0.0.1:1/mcp"),
    "wrong_issuer": lambda s: s.token(iss="http://127.0.0.1:1"),
    "no_audience": lambda s: s.token(aud=None),
    "no_expiry": lambda s: s.token(exp=None),
    "alg_none": _alg_none,
    "hs256_signed_with_the_public_key": _hs256_with_the_public_key,
    "tampered_signature": _tampered,
    "unknown_kid": _unknown_kid,
    "signed_by_another_key": _published_kid_foreign_key,
    "not_a_jwt_without_introspection": lambda s: "opaque-token-without-introspection",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_refused_with_401(served: Served, case: str) -> None:
    token = BAD_TOKENS[case](served)
    response = post(served.url, _INITIALIZE, token)
    assert response.status_code == 401, response.text
    assert "resource_metadata=" in response.headers["WWW-Authenticate"]
    assert token not in response.text


def test_the_same_claims_well_signed_are_accepted(served: Served) -> None:
    """The control for the cases above: only what each case changes makes the difference."""
    response = post(served.url, _INITIALIZE, served.token())
    assert response.status_code == 200, response.text


def test_a_token_in_the_query_string_is_refused(served: Served) -> None:
    token = served.token()
    for header_token in (None, token):  # refused even next to a valid header
        response = post(served.url, _INITIALIZE, header_token, access_token=token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
        assert token not in response.text


def test_a_rotated_key_is_fetched_once_on_its_unknown_kid(served: Served) -> None:
    provider = served.provider
    assert post(served.url, _INITIALIZE, served.token()).status_code == 200
    fetches = provider.jwks_fetches
    assert post(served.url, _INITIALIZE, served.token()).status_code == 200
    assert provider.jwks_fetches == fetches, "the key set is cached"
    provider.rotate_key()
    assert post(served.url, _INITIALIZE, served.token()).status_code == 200
    assert provider.jwks_fetches == fetches + 1


def test_the_static_bearer_token_still_works_beside_oauth(served: Served) -> None:
    response = post(served.url, _INITIALIZE, STATIC)
    assert response.status_code == 200, response.text


# -- scopes: step-up -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "body", "needed"),
    [
        (READ_SCOPE, _call("send_message", {"content": "hi", "customer_id": "+15550001"}), SEND_SCOPE),
        (f"{READ_SCOPE} {SEND_SCOPE}", _call("close_session", {"session_id": "s-1"}), OPERATE_SCOPE),
        (
            SEND_SCOPE,
            {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "osvi://agents"}},
            READ_SCOPE,
        ),
    ],
    ids=["send_needs_send", "close_needs_operate", "resource_needs_read"],
)
def test_a_call_beyond_the_tokens_scopes_gets_403_insufficient_scope(
    served: Served, sandbox: SandboxServer, scope: str, body: dict[str, Any], needed: str
) -> None:
    response = post(served.url, body, served.token(scope))
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and f'scope="{needed}"' in challenge
    assert "resource_metadata=" in challenge
    assert sandbox.engine.processed == [], "nothing reached OSVI"


# -- audit -----------------------------------------------------------------------------------------------


async def test_a_write_call_leaves_one_audit_record_without_text_or_token(
    served: Served, customer_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = served.token()
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    async with session(served.url, token) as client:
        await client.call_tool("list_active_agents", {})
        await client.call_tool("send_message", {"content": "secret words", "customer_id": customer_id})
        await client.call_tool("send_message", {"content": "secret words", "customer_id": ""})  # refused: invalid
    records = [r for r in caplog.records if r.name == AUDIT_LOGGER]
    assert len(records) == 2, "one per write call, none for the read"
    ok, refused = (json.loads(r.getMessage()) for r in records)
    assert ok == records[0].__dict__["audit"]
    assert ok["operation"] == "send_message" and ok["effect"] == "write"
    assert ok["subject"] == USER and ok["client_id"] == "test-client" and ok["issuer"] == served.provider.issuer
    assert ok["customer"] == customer_id and ok["session"] and ok["agent"]
    assert ok["outcome"] == "ok" and ok["may_have_taken_effect"] is True and ok["error"] is None
    assert refused["outcome"] == "error" and refused["may_have_taken_effect"] is False
    for record in records:
        assert "secret words" not in record.getMessage() and token not in record.getMessage()


# -- introspection ---------------------------------------------------------------------------------------


@pytest.fixture
def introspected(sandbox: SandboxServer, provider: Provider) -> Iterator[Served]:
    client_id, secret = INTROSPECTION_CLIENT
    yield from _serve(sandbox, provider, introspection_client_id=client_id, introspection_client_secret=secret)


async def test_an_opaque_token_is_checked_by_introspection(introspected: Served) -> None:
    provider = introspected.provider
    async with session(introspected.url, provider.mint_opaque(introspected.url, READ_SCOPE)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == READ_TOOLS
    for token in (
        "never-issued-opaque-token",
        provider.mint_opaque(introspected.url, READ_SCOPE, expires_in=-60),
        provider.mint_opaque("http://127.0.0.1:1/mcp", READ_SCOPE),
    ):
        assert post(introspected.url, _INITIALIZE, token).status_code == 401


# -- the SDK's OAuth client, end to end ------------------------------------------------------------------


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """Stands in for the user's browser: follows the authorization URL (the user is logged in and
    consents) and hands the redirect's code back to the client."""

    def __init__(self) -> None:
        self.result: AuthorizationCodeResult | None = None
        self.authorizations: list[dict[str, list[str]]] = []

    async def redirect(self, authorization_url: str) -> None:
        self.authorizations.append(parse_qs(urlsplit(authorization_url).query))
        async with httpx2.AsyncClient(verify=loopback.TLS) as http:
            response = await http.get(authorization_url)
        assert response.status_code == 302, response.text
        params = parse_qs(urlsplit(response.headers["location"]).query)
        self.result = AuthorizationCodeResult(code=params["code"][0], state=params.get("state", [None])[0])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_oauth_client_discovers_registers_authorizes_and_steps_up(
    served: Served, customer_id: str, mode: str
) -> None:
    browser = Browser()
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=served.url,
        client_metadata=OAuthClientMetadata(
            client_name="osvi tests",
            redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )
    served.provider.consent = {READ_SCOPE}  # the user first grants reading only
    with anyio.fail_after(SESSION_TIMEOUT):
        async with (
            httpx2.AsyncClient(auth=auth, timeout=SESSION_TIMEOUT, verify=loopback.TLS) as http,
            Client(streamable_http_client(served.url, http_client=http), mode=mode) as client,
        ):
            assert {t.name for t in (await client.list_tools()).tools} == READ_TOOLS
            served.provider.consent = {READ_SCOPE, SEND_SCOPE}  # then consents to what the step-up asks
            result = await client.call_tool("send_message", {"content": "hello", "customer_id": customer_id})
            assert not result.is_error
            assert {t.name for t in (await client.list_tools()).tools} == READ_TOOLS | SEND_TOOLS
    first, step_up = browser.authorizations
    assert first["code_challenge_method"] == ["S256"] and first["resource"] == [served.url]
    # Least privilege by default: the 401 asks for reading and sending; operating only by a step-up of its own.
    assert first["scope"] == [f"{READ_SCOPE} {SEND_SCOPE}"]
    assert set(step_up["scope"][0].split()) == {READ_SCOPE, SEND_SCOPE}
    assert storage.client is not None and storage.tokens is not None
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["aud"] == served.url and claims["sub"] == USER


# -- the command line: stateless replicas, each checking tokens on its own -----------------------------


class TLSTerminatingRoundRobin(RoundRobin):
    """The load balancer of `test_http`, also terminating TLS: clients use https://PUBLIC_NAME, replicas http."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http")
        return await super().handle_async_request(request)


def test_stateless_oauth_replicas_from_the_command_line(
    sandbox: SandboxServer, provider: Provider, customer_id: str, tmp_path: Path
) -> None:
    """Two `osvi-mcp --stateless --oauth-issuer ... --resource-url ...` processes behind one name: each checks
    the token against the issuer's JWKS by itself, and each writes its audit records to its own file."""
    resource = f"https://{PUBLIC_NAME}/mcp"
    env = {
        "OSVI_API_TOKEN": sandbox.api_token,
        "OSVI_BASE_URL": sandbox.base_url,
        "OSVI_AGENT_UUID": SUPPORT_AGENT,
    }
    oauth = ["--stateless", "--oauth-issuer", provider.issuer, "--resource-url", resource]
    logs = [tmp_path / "audit-1.jsonl", tmp_path / "audit-2.jsonl"]
    token = provider.mint(resource, f"{READ_SCOPE} {SEND_SCOPE}")
    with (
        cli_server(*oauth, "--audit-log", str(logs[0]), **env) as (first, _),
        cli_server(*oauth, "--audit-log", str(logs[1]), **env) as (second, _),
    ):
        assert post(first, _INITIALIZE, None).status_code == 401
        balancer = TLSTerminatingRoundRobin([first, second])

        async def conversation() -> tuple[set[str], list[bool]]:
            with anyio.fail_after(SESSION_TIMEOUT):
                async with (
                    httpx2.AsyncClient(
                        headers={"Authorization": f"Bearer {token}"}, transport=balancer, timeout=SESSION_TIMEOUT
                    ) as http,
                    Client(streamable_http_client(resource, http_client=http)) as client,
                ):
                    names = {t.name for t in (await client.list_tools()).tools}
                    errors = []
                    for text in ("hello", "Where is my order?", "thanks"):
                        result = await client.call_tool("send_message", {"content": text, "customer_id": customer_id})
                        errors.append(result.is_error)
                    return names, errors

        names, errors = anyio.run(conversation)
    assert names == READ_TOOLS | SEND_TOOLS and errors == [False, False, False]
    assert set(balancer.served) == {0, 1}
    records = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert len(records) == 3 and all(log.read_text() for log in logs), "each replica wrote the calls it served"
    assert {(r["operation"], r["subject"], r["customer"], r["outcome"]) for r in records} == {
        ("send_message", USER, customer_id, "ok")
    }
    assert not any("order" in log.read_text() or token in log.read_text() for log in logs)


async def test_an_identity_providers_own_scope_names_entra_style(sandbox: SandboxServer, provider: Provider) -> None:
    """Entra: clients ask for `api://<app>/Name`, tokens carry `scp` without the prefix."""
    names = {READ_SCOPE: "Osvi.Read", SEND_SCOPE: "Osvi.Send", OPERATE_SCOPE: "Osvi.Operate"}
    for served in _serve(sandbox, provider, scope_prefix="api://osvi-mcp/", scope_names=names):
        metadata = loopback.get(f"{served.origin}/.well-known/oauth-protected-resource/mcp").json()
        assert metadata["scopes_supported"] == [f"api://osvi-mcp/{n}" for n in names.values()]
        token = served.token(scope=None, scp="Osvi.Read")
        async with session(served.url, token) as client:
            assert {t.name for t in (await client.list_tools()).tools} == READ_TOOLS
        refused = post(served.url, _call("send_message", {"content": "hi", "customer_id": "+15550002"}), token)
        assert refused.status_code == 403
        assert 'scope="api://osvi-mcp/Osvi.Send"' in refused.headers["WWW-Authenticate"]


async def test_agent_completions_need_the_read_scope(served: Served) -> None:
    ref = PromptReference(name=HAND_OVER_PROMPT)
    async with session(served.url, served.token(READ_SCOPE)) as client:
        assert SUPPORT_AGENT in (await client.complete(ref, {"name": "agent_uuid", "value": ""})).completion.values
    async with session(served.url, served.token(SEND_SCOPE)) as client:
        assert (await client.complete(ref, {"name": "agent_uuid", "value": ""})).completion.values == []


def test_a_stateful_session_answers_only_the_person_who_opened_it(sandbox: SandboxServer, provider: Provider) -> None:
    """The SDK ties an MCP session to the token's (client, issuer, subject): another person's valid token
    with the same session id is answered as if the session did not exist."""
    for served in _serve(sandbox, provider):
        opened = post(served.url, _INITIALIZE, served.token())
        session_id = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        headers = {**_JSON_HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
        for token, status in ((served.token(sub="bob@example.test"), 404), (served.token(), 200)):
            response = loopback.post(
                served.url, json=listing, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=30
            )
            assert response.status_code == status, response.text
