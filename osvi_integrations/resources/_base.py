from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ..protocol import Operation

ResultT = TypeVar("ResultT", bound=BaseModel)


class SyncInvoker(Protocol):
    def invoke(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT: ...


class AsyncInvoker(Protocol):
    async def invoke(self, operation: Operation[Any, ResultT], /, **arguments: Any) -> ResultT: ...


class SyncResource:
    def __init__(self, client: SyncInvoker) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncInvoker) -> None:
        self._client = client
