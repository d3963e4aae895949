"""`Guard` and `HoldingGuard`: the two kinds of guard, usable through `Depends`, `all_of` / `any_of` and the
middleware."""

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Generic, NoReturn, TypeVar

from fastapi import WebSocket
from starlette.requests import HTTPConnection

from .._answering import answer_from_here
from ..policy import Policy, check_policy
from ..rejection import WebSocketRejection

T = TypeVar("T")


class _GuardBase(Generic[T]):
    #: the answer when the check fails; `make_rejection()` gives each guard's default
    rejection: WebSocketRejection
    #: how that answer is sent before accept ("http", "close", "auto"); None leaves it to the route or app
    policy: Policy | None

    def __init__(self, *, rejection: WebSocketRejection | None = None, policy: Policy | None = None) -> None:
        if rejection is not None and not isinstance(rejection, WebSocketRejection):
            raise TypeError(f"rejection must be a WebSocketRejection, got {type(rejection).__name__}.")
        self.rejection = rejection if rejection is not None else self.make_rejection()
        self.policy = check_policy(policy)

    @property
    def name(self) -> str:
        return type(self).__name__

    def make_rejection(self) -> WebSocketRejection:
        """The rejection used when none is given: 403 unless the guard says otherwise."""
        return WebSocketRejection(403)

    def refuse(self, connection: HTTPConnection, detail: str, rejection: WebSocketRejection | None = None) -> NoReturn:
        """Reject this handshake with `rejection` (default: the guard's); `detail` is logged, so no secrets."""
        raise (rejection or self.rejection)._refusal(self.name, detail, self.policy)

    def __repr__(self) -> str:
        return f"{self.name}(status_code={self.rejection.status_code})"


class Guard(_GuardBase[T], ABC):
    """A check configured once: `Depends(guard)` gives the endpoint its value, or rejects the handshake.

    Through `Depends`, a guard answers its own refusal on any websocket route, a plain one included.

    Implement one method, `check(connection)`: return the useful value (a principal, an origin, a
    subprotocol) or call `self.refuse(connection, detail)`. `rejection=` and `policy=` are taken by
    `__init__`; override `make_rejection()` for a different default answer than 403.

    ```python
    class BetaTesters(Guard[str]):
        async def check(self, connection: HTTPConnection) -> str:
            user = connection.headers.get("x-user", "")
            if user not in BETA:
                self.refuse(connection, "not a beta tester")
            return user
    ```
    """

    async def __call__(self, websocket: WebSocket) -> T:
        answer_from_here(websocket)
        return await self.check(websocket)

    @abstractmethod
    async def check(self, connection: HTTPConnection) -> T:
        """The guard's value for this handshake; calls `refuse` when the handshake must be rejected."""


class HoldingGuard(_GuardBase[T], ABC):
    """A guard that keeps something while the socket lives (a connection slot), given back however it ends.

    Implement `hold(connection)`, an async context manager that yields the value or calls `refuse`;
    its exit runs when the socket's handshake or session is over. `Depends(guard)` uses it as a
    dependency with `yield`.
    """

    async def __call__(self, websocket: WebSocket) -> AsyncIterator[T]:
        answer_from_here(websocket)
        async with self.hold(websocket) as value:
            yield value

    @abstractmethod
    def hold(self, connection: HTTPConnection) -> contextlib.AbstractAsyncContextManager[T]:
        """Yield the guard's value for this socket's lifetime; call `refuse` to reject the handshake."""


AnyGuard = Guard[Any] | HoldingGuard[Any]


def hold(guard: AnyGuard, connection: HTTPConnection) -> contextlib.AbstractAsyncContextManager[Any]:
    """Either kind of guard as a context manager: the way composition and the middleware use them."""
    if isinstance(guard, HoldingGuard):
        return guard.hold(connection)
    return _checked(guard, connection)


@contextlib.asynccontextmanager
async def _checked(guard: Guard[Any], connection: HTTPConnection) -> AsyncIterator[Any]:
    yield await guard.check(connection)


def is_guard(value: object) -> bool:
    return isinstance(value, (Guard, HoldingGuard))
