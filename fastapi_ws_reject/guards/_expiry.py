"""Expiry and re-validation: an accepted socket is closed when its credential expires or its check starts refusing.

A guard's value may carry `expires_at` (an aware `datetime` or a Unix time): `Authenticated.expires_at` for
the credential guards, or any object a `ws_guard` check returns. A guard with `revalidate=` seconds runs its
check again while the socket is open, on a copy of the handshake's scope (its headers, query and cookies).

Each socket that needs it gets one `_Expiry` on the socket's watch (`_watching.SocketWatch`), which every
placement starts and stops the same way (a route's dependency, `all_of` / `any_of`, the middleware): an
`asyncio` timer handle for the expiry, one per re-validating guard, and a task only while a close or a
re-validation is running. A socket whose guards set neither has nothing scheduled. A re-validation that
does not answer within its period is an error, which `on_error` decides like any other.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from starlette.requests import HTTPConnection
from starlette.types import Scope
from starlette.websockets import WebSocket

from .._arguments import check_seconds
from .._events import _logged
from .._pipeline.watching import _KEY as _WATCH_KEY
from .._pipeline.watching import SocketWatch, socket_watch
from .._rejection import WebSocketRejection

if TYPE_CHECKING:  # only for annotations: nothing here is injected by FastAPI
    from ._base import _GuardBase

_logger = logging.getLogger("fastapi_ws_reject")

OnError = Literal["keep", "close"]
#: a guard's check as a placement runs it again while the socket lives
Recheck = Callable[[HTTPConnection], Awaitable[Any]]
ON_ERROR: tuple[OnError, ...] = ("keep", "close")


class ExpiryOptions(TypedDict, total=False):
    """What a guard does after accept, the keyword arguments every guard that can watch a socket takes."""

    revalidate: float | None
    """Seconds between re-runs of the check while the socket is open (None: checked at the handshake only)."""
    on_error: OnError
    """A re-validation that raises (not a refusal) is logged, then "keep"s the socket or "close"s it with 1011."""
    expiry_rejection: WebSocketRejection | None
    """The close of a socket whose value's `expires_at` has come (default 4401 "credential expired")."""


def expiry_options(given: Mapping[str, Any], where: str) -> tuple[float | None, OnError, WebSocketRejection | None]:
    """`revalidate`, `on_error` and `expiry_rejection` from `given`; a keyword `ExpiryOptions` lacks is the
    `TypeError` Python would raise for it."""
    for name in given:
        if name not in ExpiryOptions.__optional_keys__:
            raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")
    return given.get("revalidate"), given.get("on_error", "keep"), given.get("expiry_rejection")


#: the close of a socket whose credential expired: 4401 "credential expired"
EXPIRY_REJECTION = WebSocketRejection(401, "credential expired")
#: the close of a socket whose re-validation raised, with `on_error="close"`: 1011 (RFC 6455 section 7.4.1)
ERROR_REJECTION = WebSocketRejection(500, close_code=1011, reason="re-validation failed")
REVALIDATION_ERROR_LOG = "Re-validation of websocket %s by %s raised %s; %s the socket"  # path, guard, type, action
#: the keys of a mapping value (a decoded JWT's claims, a session dict) read for its expiry, in this order
EXPIRY_KEYS = ("expires_at", "exp")
EXPIRED = "credential expired"
# How often a timer that fell due before the endpoint accepted looks again: the close waits for the accept.
_ACCEPT_POLL = 0.05
_KEY = "fastapi_ws_reject.expiry"
# What the library keeps in a handshake's scope for the socket while it lives: its watch, its expiry.
_SOCKET_STATE = (_WATCH_KEY, _KEY)


def remaining(websocket: WebSocket) -> float | None:
    """Seconds until this socket's scheduled expiry close, or None when none is scheduled.

    ```python
    await websocket.send_json({"expires_in": remaining(websocket)})
    ```
    """
    expiry: _Expiry | None = websocket.scope.get(_KEY)
    if expiry is None or expiry.handle is None:
        return None
    return max(0.0, expiry.handle.when() - expiry.watch.loop.time())


def extend(websocket: WebSocket, expires_at: datetime | float | None) -> None:
    """Move this socket's expiry close to `expires_at` (an aware `datetime` or a Unix time; None: never).

    For a refreshed credential the endpoint received and verified itself (with the guard's verifier):

    ```python
    token = await websocket.receive_text()
    if (session := await verify_jwt(token)) is not None:
        extend(websocket, session.expires_at)
    ```

    A time already past closes the socket now, with the guard's expiry close (default 4401). Works on any
    socket of a FastAPI websocket route while its endpoint runs, with or without a guard that set an expiry.
    """
    expires = unix_time(expires_at)
    expiry: _Expiry | None = websocket.scope.get(_KEY)
    if expiry is None:
        if expires is None:
            return
        expiry = _expiry_of(websocket, EXPIRY_REJECTION, "extend")
    expiry.expire_at(expires, replace=True)


def check_revalidate(revalidate: object) -> float | None:
    if revalidate is None:
        return None
    return check_seconds("revalidate", revalidate)


def check_on_error(on_error: object) -> OnError:
    if on_error not in ON_ERROR:
        raise ValueError(
            f"on_error must be 'keep' (log and keep the socket) or 'close' (log and close with 1011), got {on_error!r}."
        )
    return on_error


def unix_time(expires_at: object) -> float | None:
    """`expires_at` as a Unix time: an aware `datetime`, an int or float, or None."""
    if expires_at is None:
        return None
    if isinstance(expires_at, datetime):
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError(
                f"expires_at must be an aware datetime, got the naive {expires_at!r}; "
                "give it a timezone: datetime.now(timezone.utc) + timedelta(...)."
            )
        return expires_at.timestamp()
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)) or math.isnan(expires_at):
        raise TypeError(
            f"expires_at must be an aware datetime, a Unix time (int or float) or None, got {expires_at!r}."
        )
    return float(expires_at)


def expires_at_of(value: Any) -> Any:
    """When a guard's value expires, as it holds it: its `expires_at` attribute, or in a mapping (the claims a
    JWT decoder returns) its `expires_at` or `exp` key; None when it has none."""
    if isinstance(value, Mapping):
        claims: Mapping[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return next((claims[key] for key in EXPIRY_KEYS if key in claims), None)
    return getattr(value, "expires_at", None)


def expiry_of(value: Any) -> float | None:
    """The Unix time a guard's value expires at (see `expires_at_of`), or None."""
    return unix_time(expires_at_of(value))


def has_expired(expires_at: object) -> bool:
    expires = unix_time(expires_at)
    return expires is not None and expires <= time.time()


def watch_after_handshake(
    guard: _GuardBase[Any], connection: HTTPConnection, value: Any, recheck: Recheck | None = None
) -> None:
    """What every placement runs once a guard's check passed: refuse an expiry already past, else schedule the
    socket's expiry close and the guard's re-validation (`recheck`, the check as this placement ran it: on a
    route, behind the app's override of it); nothing at all when neither is set."""
    expires = expiry_of(value)
    if expires is None and guard.revalidate is None:
        return
    if expires is not None and expires <= time.time():
        guard.refuse(connection, EXPIRED)
    # The handshake's data as it was, without the socket's watch and expiry (the middleware, a check before
    # FastAPI's solving or the guard before this one put them in the scope already): the copy is the argument
    # of each re-validation, which an idle worker thread keeps after a sync check, and must not keep them.
    handshake = HTTPConnection(_handshake_only(connection.scope)) if guard.revalidate is not None else None
    expiry = _expiry_of(connection, guard.expiry_rejection, guard.name)
    if expires is not None:
        app = connection.scope.get("app")  # the app running the guard hears its close, whichever app serves then
        expiry.expire_at(expires, replace=False, rejection=guard.expiry_rejection, guard=guard.name, app=app)
    if guard.revalidate is not None and handshake is not None:
        assert recheck is not None, f"{guard.name} re-validates, so its placement must say how to run its check"
        expiry.revalidate(guard, recheck, handshake, guard.revalidate)


def _handshake_only(scope: Scope) -> Scope:
    return {key: value for key, value in scope.items() if key not in _SOCKET_STATE}


def _expiry_of(connection: HTTPConnection, rejection: WebSocketRejection, guard: str) -> _Expiry:
    expiry: _Expiry | None = connection.scope.get(_KEY)
    if expiry is None:
        watch = socket_watch(connection)
        expiry = connection.scope[_KEY] = _Expiry(watch, rejection, guard, connection.scope.get("app"))
        watch.on_stop(expiry.stop)
    return expiry


@dataclass(frozen=True)
class _Revalidation:
    """One guard's re-validation of one socket: how to run its check, on the handshake's data, how often."""

    guard: _GuardBase[Any]
    recheck: Recheck
    connection: HTTPConnection
    every: float
    index: int  # of its timer in `_Expiry.checks`


class _Expiry:
    """One socket's expiry close and re-validations, on its watch."""

    __slots__ = ("watch", "rejection", "guard", "app", "handle", "checks")

    def __init__(self, watch: SocketWatch, rejection: WebSocketRejection, guard: str, app: object) -> None:
        self.watch = watch
        # The expiry close, the guard it is reported as, and the app (`scope["app"]`) that ran that guard.
        self.rejection, self.guard, self.app = rejection, guard, app
        self.handle: asyncio.TimerHandle | None = None
        self.checks: list[asyncio.TimerHandle] | None = None

    def expire_at(
        self,
        expires: float | None,
        *,
        replace: bool,
        rejection: WebSocketRejection | None = None,
        guard: str = "",
        app: object = None,
    ) -> None:
        # Several guards: the earliest expiry closes, with its guard's close; `extend` replaces it.
        if expires is None:
            if self.handle is not None:
                self.handle.cancel()
                self.handle = None
            return
        loop = self.watch.loop
        when = loop.time() + (expires - time.time())
        if self.handle is not None:
            if not replace and self.handle.when() <= when:
                return
            self.handle.cancel()
        if rejection is not None:
            self.rejection, self.guard, self.app = rejection, guard, app
        self.handle = loop.call_at(when, self._expire)

    def _expire(self) -> None:
        watch = self.watch
        if not watch.accepted and not watch.ended:
            self.handle = watch.loop.call_later(_ACCEPT_POLL, self._expire)
            return
        self.handle = None
        watch.close_soon(self.rejection._refusal(self.guard, EXPIRED), self.app)

    def revalidate(self, guard: _GuardBase[Any], recheck: Recheck, connection: HTTPConnection, every: float) -> None:
        if self.checks is None:
            self.checks = []
        check = _Revalidation(guard, recheck, connection, every, len(self.checks))
        self.checks.append(self.watch.loop.call_later(every, self._start_check, check))

    def _start_check(self, check: _Revalidation) -> None:
        self.watch.spawn(self._check(check))

    async def _check(self, check: _Revalidation) -> None:
        guard, connection, every = check.guard, check.connection, check.every
        watch = self.watch
        app = connection.scope.get("app")  # the handshake's copy: the app that ran the guard
        if watch.open:
            try:
                # A check that hangs would leave its ban unenforced: unless the guard times it itself, one period
                # is as long as it may take.
                deadline = None if guard.timeout is not None else every
                value = await asyncio.wait_for(check.recheck(connection), deadline)
                if has_expired(expiry_of(value)):
                    guard.refuse(connection, EXPIRED, guard.expiry_rejection)
            except WebSocketRejection as refusal:
                # The close is a task of its own, and the refusal loses its traceback: what a server or an idle
                # worker thread keeps of a cancelled task or a sync check's exception then holds no watch.
                watch.close_soon(refusal.with_traceback(None), app)
                return
            except Exception as exc:  # not hidden: logged, then `on_error` decides, as documented
                exc.with_traceback(None)
                closing = guard.on_error == "close"
                # The path is the client's, the class name the verifier's (made at run time, it may hold anything),
                # the guard's name its check's: each escaped and cut as the rejection's line cuts them. The
                # exception's message is never logged: it may hold the credential.
                path, kind = _logged(connection.scope.get("path", "")), _logged(type(exc).__name__)
                action = "closing" if closing else "keeping"
                _logger.warning(REVALIDATION_ERROR_LOG, path, _logged(guard.name), kind, action)
                if closing:
                    watch.close_soon(ERROR_REJECTION._refusal(guard.name, type(exc).__name__), app)
                    return
        elif watch.accepted or watch.ended:
            return
        assert self.checks is not None
        self.checks[check.index] = watch.loop.call_later(every, self._start_check, check)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        for handle in self.checks or ():
            handle.cancel()
        self.watch.scope.pop(_KEY, None)
