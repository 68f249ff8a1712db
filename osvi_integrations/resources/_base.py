from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ..protocol import Operation

ResultT = TypeVar("ResultT", bound=BaseModel)


class SyncCaller(Protocol):
    def call(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT: ...


class AsyncCaller(Protocol):
    async def call(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT: ...


class SyncResource:
    def __init__(self, client: SyncCaller) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncCaller) -> None:
        self._client = client
