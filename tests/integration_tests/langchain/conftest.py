"""Each test starts without shared connection pools, so pool and connection counts are its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osvi_integrations.langchain._connection import close_all_shared_clients


@pytest.fixture(autouse=True)
def _fresh_shared_pools() -> Iterator[None]:
    close_all_shared_clients()
    yield
    close_all_shared_clients()
