"""An `api` fixture: plain httpx against the sandbox, every answer validated against chat_v1.openapi.yaml."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from osvi_integrations.sandbox import SandboxServer

from ... import loopback
from ._contract import documented_key, documented_statuses, validate

SANDBOX_TOKEN = object()  # stands for "the sandbox's own token" in Api.call


class Api:
    """Calls one operation of the contract and validates the answer against the schema of its status."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=10, verify=loopback.TLS)
        self.reached: dict[tuple[str, str], set[str]] = defaultdict(set)

    def call(
        self,
        method: str,
        path: str,
        *,
        session_id: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        token: object = SANDBOX_TOKEN,
    ) -> tuple[int, Any]:
        headers = {}
        if token is SANDBOX_TOKEN:
            headers["API-Token"] = self.server.api_token
        elif isinstance(token, str):
            headers["API-Token"] = token
        url = path if session_id is None else path.replace("{id}", session_id)
        response = self.http.request(method, url, json=json, params=params, headers=headers)
        body = validate(response, path, method)
        self.reached[(path, method)].add(documented_key(path, method, response.status_code))
        return response.status_code, body

    def assert_every_documented_status_reached(self, path: str, method: str) -> None:
        assert self.reached[(path, method)] == documented_statuses(path, method)


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    client = Api(sandbox)
    with client.http:
        yield client
