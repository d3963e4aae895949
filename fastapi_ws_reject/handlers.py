"""App-wide rejections: exception handlers that send a rejection, and what they need to know.

A handler must know whether the socket was already accepted, and the connection object Starlette gives
it is a fresh one that does not. So every handshake that may be rejected this way carries, under
`CONNECTION_KEY` in its scope, an object whose `application_state` is true: the endpoint's own
`WebSocket` (put there by `track`) or a `_Handshake` that watches the messages sent (put there by
`_HandshakeTracker`, which `add_rejection_handlers` installs).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from ._callables import is_async_callable
from ._conversion import CONVERTED_EXCEPTIONS, as_rejection
from ._sending import send_rejection
from .events import ROUTE_POLICY_KEY
from .policy import Policy, check_policy

CONNECTION_KEY = "fastapi_ws_reject.connection"

Handler = Any  # Starlette's handler type differs between versions; the handlers below fit every one.


class _HasState(Protocol):
    application_state: WebSocketState


def add_rejection_handlers(app: FastAPI, *, policy: Policy = "http") -> None:
    """Make every websocket route of `app` send rejections the way `RejectingRouter` routes do.

    ```python
    app = FastAPI()
    add_rejection_handlers(app)
    ```

    Call it once, before the app starts and after your own `add_exception_handler` calls.
    `HTTPException`, validation errors and `WebSocketException` raised on websocket routes become
    HTTP responses before accept and close frames after it; HTTP routes keep the handlers they had.
    `policy` ("http", "close" or "auto") is how a rejection before accept is sent, unless the route says.
    """
    install_handlers(app.exception_handlers, check_policy(policy) or "http")
    app.add_middleware(_HandshakeTracker)


def track(websocket: WebSocket, policy: Policy | None = None) -> None:
    """Let the app's exception handlers reject this handshake (for routes FastAPI copied on include)."""
    scope = websocket.scope
    if policy is not None:
        scope[ROUTE_POLICY_KEY] = policy
    if CONNECTION_KEY in scope or getattr(scope.get("route"), "sends_rejections", False):
        return
    scope[CONNECTION_KEY] = websocket
    handlers = scope.get("starlette.exception_handlers")
    if handlers is not None:
        install_handlers(handlers[0])


def install_handlers(exception_handlers: dict[Any, Handler], policy: Policy = "http") -> None:
    if getattr(exception_handlers.get(CONVERTED_EXCEPTIONS[0]), "rejects_websockets", False):
        return
    # A handler the user keyed on a subclass (say fastapi.HTTPException) is found first, so wrap it too.
    registered = [key for key in exception_handlers if isinstance(key, type) and issubclass(key, CONVERTED_EXCEPTIONS)]
    for exc_class in {*CONVERTED_EXCEPTIONS, *registered}:
        exception_handlers[exc_class] = _rejecting_handler(exception_handlers.get(exc_class), policy)


def _rejecting_handler(previous: Handler | None, policy: Policy) -> Handler:
    async def reject(conn: HTTPConnection, exc: Exception) -> Any:
        connection: _HasState | None = conn.scope.get(CONNECTION_KEY)
        if connection is not None and isinstance(conn, WebSocket):
            route_policy = conn.scope.get(ROUTE_POLICY_KEY, policy)
            await send_rejection(conn.scope, conn.send, as_rejection(exc), connection.application_state, route_policy)
            return None
        if previous is None:
            raise exc
        if is_async_callable(previous):
            return await previous(conn, exc)
        return await run_in_threadpool(previous, conn, exc)

    reject.rejects_websockets = True  # type: ignore[attr-defined]
    return reject


class _Handshake:
    __slots__ = ("application_state",)

    def __init__(self) -> None:
        self.application_state = WebSocketState.CONNECTING

    def observe(self, message: Message) -> None:
        message_type = message["type"]
        if message_type == "websocket.accept":
            self.application_state = WebSocketState.CONNECTED
        elif message_type == "websocket.close":
            self.application_state = WebSocketState.DISCONNECTED
        elif message_type == "websocket.http.response.start":
            self.application_state = WebSocketState.RESPONSE


class _HandshakeTracker:
    """Pure ASGI middleware: records in the scope how far each websocket handshake went."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        handshake = _Handshake()
        scope[CONNECTION_KEY] = handshake

        async def tracked_send(message: Message) -> None:
            handshake.observe(message)
            await send(message)

        await self.app(scope, receive, tracked_send)
