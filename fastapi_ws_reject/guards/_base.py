"""`Guard` and `HoldingGuard`: the two kinds of guard, usable through `Depends`, `all_of` / `any_of` and the
middleware."""

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeGuard, TypeVar, cast

from fastapi import WebSocket
from starlette.requests import HTTPConnection

from .._arguments import check_policy
from .._pipeline.answering import answer_from_here
from .._rejection import WebSocketRejection
from ..policy import Policy
from ._expiry import (
    EXPIRY_REJECTION,
    ExpiryOptions,
    OnError,
    check_on_error,
    check_revalidate,
    expiry_options,
    watch_after_handshake,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

T = TypeVar("T")

#: where a route that checked its leading guards before FastAPI's solving leaves their values for this
#: handshake, each taken (and the key removed with the last) when FastAPI calls the guard
CHECKED_KEY = "fastapi_ws_reject.checked"
#: what `checked_value` gives when no value was left for the guard
UNCHECKED: Any = object()


class _GuardBase(Generic[T]):
    #: what the guard needs: True for the connection only, so every placement (`Depends`, `all_of` / `any_of`,
    #: the middleware, a route's check before FastAPI's solving) can run it; False when FastAPI must solve
    #: parameters for it (a subclass whose own `__call__` takes them, unless it says otherwise)
    connection_only: bool = True
    #: the answer when the check fails; `make_rejection()` gives each guard's default
    rejection: WebSocketRejection
    #: how that answer is sent before accept ("http", "close", "auto"); None leaves it to the route or app
    policy: Policy | None
    #: seconds the check may take before the guard answers `timeout_rejection` (None: the guard sets no limit;
    #: a re-validation then may take one `revalidate` period)
    timeout: float | None = None
    #: seconds between re-runs of the check while the socket is open (None: checked at the handshake only)
    revalidate: float | None = None
    #: a re-validation that raises (not a refusal) is logged, then "keep"s the socket or "close"s it with 1011
    on_error: OnError = "keep"
    #: the close of an accepted socket whose value's `expires_at` has come (default 4401 "credential expired")
    expiry_rejection: WebSocketRejection = EXPIRY_REJECTION

    def __init__(
        self,
        *,
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
        **expiry: "Unpack[ExpiryOptions]",
    ) -> None:
        if rejection is not None and not isinstance(rejection, WebSocketRejection):
            raise TypeError(f"rejection must be a WebSocketRejection, got {type(rejection).__name__}.")
        self.rejection = rejection if rejection is not None else self.make_rejection()
        self.policy = check_policy(policy)
        self.configure_expiry(**expiry)

    def configure_expiry(self, **expiry: "Unpack[ExpiryOptions]") -> None:
        """Set `revalidate`, `on_error` and `expiry_rejection`, checked as `__init__` checks them."""
        revalidate, on_error, expiry_rejection = expiry_options(expiry, type(self).__name__)
        if expiry_rejection is not None and not isinstance(expiry_rejection, WebSocketRejection):
            raise TypeError(f"expiry_rejection must be a WebSocketRejection, got {type(expiry_rejection).__name__}.")
        if revalidate is not None and isinstance(self, HoldingGuard):
            raise TypeError(f"revalidate= re-runs a check; {self.name} holds a slot while the socket lives instead.")
        self.revalidate = check_revalidate(revalidate)
        self.on_error = check_on_error(on_error)
        self.expiry_rejection = expiry_rejection or EXPIRY_REJECTION

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__call__" in vars(cls) and "connection_only" not in vars(cls):
            cls.connection_only = False  # its own `__call__` takes what FastAPI solves

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def reads_cookies(self) -> bool:
        """Whether the guard reads cookies (a cookie credential): never beside an `OriginGuard` that allows "*"."""
        return False

    def make_rejection(self) -> WebSocketRejection:
        """The rejection used when none is given: 403 unless the guard says otherwise."""
        return WebSocketRejection(403)

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        """Every answer this guard can send before accept, for documentation (`fastapi_ws_reject.asyncapi`)."""
        return (self.rejection,)

    @property
    def limits_messages(self) -> bool:
        """Whether the guard counts the messages of the sockets it lets in (`MessageLimitGuard`)."""
        return False

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

    A value with an `expires_at` (aware `datetime` or Unix time) closes the accepted socket then, with
    `expiry_rejection` (default 4401 "credential expired"); `revalidate=` seconds re-runs `check` on the
    handshake's data while the socket is open and closes it with the refusal (see `guards._expiry`).

    ```python
    class BetaTesters(Guard[str]):
        async def check(self, connection: HTTPConnection) -> str:
            user = connection.headers.get("x-user", "")
            if user not in BETA:
                self.refuse(connection, "not a beta tester")
            return user
    ```
    """

    connection_only = True  # its `__call__` takes the connection only

    async def __call__(self, websocket: WebSocket) -> T:
        answer_from_here(websocket)
        value = checked_value(self, websocket)
        if value is UNCHECKED:
            value = await self._admit(websocket, on_route=True)
        return value

    async def _admit(self, connection: HTTPConnection, *, on_route: bool = False) -> T:
        """The guard's value for this handshake, and what every placement does with it: an expiry already past
        refuses, an expiry to come or `revalidate=` watches the socket. `on_route`: as FastAPI's call checks."""
        value = await (self._check_on_route(connection) if on_route else self.check(connection))
        watch_after_handshake(self, connection, value, self._recheck_on_route if on_route else self.check)
        return value

    async def _recheck_on_route(self, connection: HTTPConnection) -> T:
        """A re-validation of a guard FastAPI called: what `_check_on_route` checks."""
        return await self._check_on_route(connection)

    async def _check_on_route(self, connection: HTTPConnection) -> T:
        """What FastAPI's call of the guard checks: `check` (a `ws_guard` puts an override of its check first)."""
        return await self.check(connection)

    @abstractmethod
    async def check(self, connection: HTTPConnection) -> T:
        """The guard's value for this handshake; calls `refuse` when the handshake must be rejected."""


class HoldingGuard(_GuardBase[T], ABC):
    """A guard that keeps something while the socket lives (a connection slot), given back however it ends.

    ```python
    class OneSocketPerDevice(HoldingGuard[str]):
        @contextlib.asynccontextmanager
        async def hold(self, connection: HTTPConnection) -> AsyncIterator[str]:
            device = connection.query_params.get("device", "")
            if device in CONNECTED:
                self.refuse(connection, "device already connected")
            CONNECTED.add(device)
            try:
                yield device
            finally:
                CONNECTED.discard(device)
    ```

    Implement `hold(connection)`, an async context manager that yields the value or calls `refuse`;
    its exit runs when the socket's handshake or session is over. `Depends(guard)` uses it as a
    dependency with `yield`.
    """

    connection_only = True  # its `__call__` takes the connection only

    async def __call__(self, websocket: WebSocket) -> AsyncIterator[T]:
        answer_from_here(websocket)
        async with hold(self, websocket) as value:
            yield value

    @abstractmethod
    def hold(self, connection: HTTPConnection) -> contextlib.AbstractAsyncContextManager[T]:
        """Yield the guard's value for this socket's lifetime; call `refuse` to reject the handshake."""


AnyGuard = Guard[Any] | HoldingGuard[Any]


def hold(
    guard: AnyGuard, connection: HTTPConnection, *, on_route: bool = False, watched: bool = True
) -> contextlib.AbstractAsyncContextManager[Any]:
    """Either kind of guard as a context manager, admitted as every placement admits it (an expiry watched,
    unless not `watched`): the way `Depends`, composition and the middleware use them."""
    if isinstance(guard, HoldingGuard):
        return _held(guard, connection, watched)
    return _checked(guard, connection, on_route, watched)


@contextlib.asynccontextmanager
async def _held(guard: HoldingGuard[Any], connection: HTTPConnection, watched: bool) -> AsyncGenerator[Any, None]:
    async with guard.hold(connection) as value:
        if watched:
            watch_after_handshake(guard, connection, value)
        yield value


@contextlib.asynccontextmanager
async def _checked(
    guard: Guard[Any], connection: HTTPConnection, on_route: bool, watched: bool
) -> AsyncGenerator[Any, None]:
    yield await _admitted(guard, connection, on_route=on_route, watched=watched)


async def _admitted(guard: Guard[T], connection: HTTPConnection, *, on_route: bool = False, watched: bool = True) -> T:
    """`guard`'s value for this handshake: admitted as every placement admits it, or, unless `watched`, only checked."""
    return await (guard._admit(connection, on_route=on_route) if watched else guard.check(connection))


def checked_value(guard: Guard[T], websocket: WebSocket) -> T:
    """The value a route left for `guard` when it checked it before FastAPI's solving (taken once), or UNCHECKED."""
    checked: dict[Guard[Any], Any] | None = websocket.scope.get(CHECKED_KEY)
    if checked is None or guard not in checked:
        return cast(T, UNCHECKED)
    value = checked.pop(guard)
    if not checked:
        del websocket.scope[CHECKED_KEY]
    return cast(T, value)


def is_guard(value: object) -> TypeGuard[AnyGuard]:
    return isinstance(value, (Guard, HoldingGuard))
