"""`Guard`: the base of the built-in guards, usable through FastAPI's `Depends` and by the middleware."""

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Generic, NoReturn, TypeVar

from fastapi import WebSocket
from starlette.requests import HTTPConnection

from ..events import POLICY_KEY, REFUSAL_KEY
from ..handlers import track
from ..policy import Policy
from ..rejection import WebSocketRejection

T = TypeVar("T")


class Guard(ABC, Generic[T]):
    """A check configured once: `Depends(guard)` gives the endpoint its value, or rejects the handshake.

    Subclasses implement `check(connection)`, which returns the useful value (a principal, an origin,
    a subprotocol) or calls `self.refuse(...)`. `hold(connection)` is what the middleware and
    composition use; a guard that keeps something for the socket's lifetime (a connection slot)
    overrides it to release that when the socket ends.
    """

    #: the answer when the check fails; each guard documents its default
    rejection: WebSocketRejection
    #: how that answer is sent before accept ("http", "close", "auto"); None leaves it to the route or app
    policy: Policy | None = None

    @property
    def name(self) -> str:
        return type(self).__name__

    async def __call__(self, websocket: WebSocket) -> T:
        return await self.check(websocket)

    @abstractmethod
    async def check(self, connection: HTTPConnection) -> T:
        """The guard's value for this handshake; calls `refuse` when the handshake must be rejected."""

    @contextlib.asynccontextmanager
    async def hold(self, connection: HTTPConnection) -> AsyncIterator[T]:
        yield await self.check(connection)

    def refuse(self, connection: HTTPConnection, detail: str, rejection: WebSocketRejection | None = None) -> NoReturn:
        """Reject this handshake; `detail` is logged (never put a secret in it)."""
        connection.scope[REFUSAL_KEY] = (self.name, detail)
        if self.policy is not None:
            connection.scope[POLICY_KEY] = self.policy
        if isinstance(connection, WebSocket):
            track(connection)
        raise rejection or self.rejection


def checks_by_raising(check: Any) -> bool:
    """Guards reject by raising; their values need not be truthy (an allowed missing Origin is None)."""
    return isinstance(check, Guard)
