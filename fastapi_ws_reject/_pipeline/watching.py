"""Watching a socket that was let in: the library's own close of it, and what the endpoint sees after that.

Every placement watches a socket the same way. A `SocketWatch` stands between the app and the server for one
handshake: it sees what the app sends (has it accepted, has it ended), closes the socket when a guard says so
(an expiry, a re-validation, a lost connection slot), and from then on gives the endpoint what a client's
close would: its next `receive` is a `websocket.disconnect` with the library's code, even while the client keeps
sending (a client that ignores the close frame must not keep the endpoint busy), a `send` raises
`WebSocketDisconnect` with that code, and its own close is a no-op. The timers and tasks scheduled for the socket
stop with the handshake, however it ends.

A route's dependency puts the watch between its `WebSocket` and the server (through `_compat`), and FastAPI's
dependency exit stack stops it; the middleware wraps the app's `receive` and `send` itself and stops it when the
app returns. The watch lives in the handshake's scope only while the handshake lasts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .._compat import dependency_exit_stack, set_websocket_channels, websocket_channels
from .._rejection import WebSocketRejection
from .sending import close_accepted

_KEY = "fastapi_ws_reject.watch"

#: decides on each message a client sends: True gives it to the endpoint; False drops it (or, when it closed the
#: socket, gives the endpoint the close)
MessageFilter = Callable[[Message], Awaitable[bool]]


class SocketWatch:
    """One handshake's channels, its close by the library, and the work scheduled for it."""

    # Slots, and the containers made only when needed: ten thousand open sockets hold ten thousand of these.
    __slots__ = (
        "scope",
        "loop",
        "server_receive",
        "server_send",
        "accepted",
        "ended",
        "closing",
        "_closed",
        "tasks",
        "stops",
        "filters",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope: Scope = scope
        self.loop = asyncio.get_running_loop()
        self.server_receive: Receive = receive
        self.server_send: Send = send
        self.accepted = False  # the app sent `websocket.accept`
        self.ended = False  # the app closed the socket or answered with a response
        self.closing: WebSocketRejection | None = None  # the library's close, once sent
        self._closed: asyncio.Future[None] | None = None
        self.tasks: set[asyncio.Task[None]] | None = None
        self.stops: list[Callable[[], object]] | None = None
        self.filters: tuple[MessageFilter, ...] = ()

    @property
    def armed(self) -> bool:
        """Something may close the socket from outside the endpoint (a timer, a task), or sees its messages."""
        return bool(self.stops or self.tasks or self.filters)

    @property
    def open(self) -> bool:
        """Accepted, and closed by nobody yet."""
        return self.accepted and not self.ended and self.closing is None

    async def receive(self) -> Message:
        while True:
            message = await self._receive()
            if message["type"] != "websocket.receive" or await self._admitted(message):
                return message
            if self.closing is not None:
                return self._disconnect(self.closing)

    async def _admitted(self, message: Message) -> bool:
        for admit in self.filters:
            if not await admit(message):
                return False
        return True

    async def _receive(self) -> Message:
        # Wait on the server and on the library's close only when something outside the endpoint may close the
        # socket meanwhile (a timer, a task): a message filter closes it from inside this call.
        if self.closing is None and self.accepted and (self.stops or self.tasks):
            if self._closed is None:
                self._closed = self.loop.create_future()
            receiving = asyncio.ensure_future(self.server_receive())
            try:
                await asyncio.wait((receiving, self._closed), return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not receiving.done():
                    receiving.cancel()
            if not receiving.cancelled() and self.closing is None:
                return receiving.result()
        if self.closing is not None:
            return self._disconnect(self.closing)
        return await self.server_receive()

    @staticmethod
    def _disconnect(closing: WebSocketRejection) -> Message:
        return {"type": "websocket.disconnect", "code": closing.close_code, "reason": closing.reason}

    def filter_messages(self, admit: MessageFilter) -> None:
        """Run `admit` on each message the client sends, before the endpoint gets it (a message limit)."""
        self.filters = (*self.filters, admit)

    async def send(self, message: Message) -> None:
        if self.closing is not None:
            if message["type"] == "websocket.close":
                return  # the library closed it already: closing again is what the endpoint meant
            raise WebSocketDisconnect(self.closing.close_code, self.closing.reason)
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
        elif kind in ("websocket.close", "websocket.http.response.start"):
            self.ended = True
        await self.server_send(message)

    async def close(self, rejection: WebSocketRejection, app: object = None) -> None:
        """Close the open socket with `rejection`'s close code and reason, once; nothing if it is not open.

        `app` is the app whose guard closes it (Starlette's `scope["app"]` when the guard ran), and whose
        listeners hear the close: an app mounted in the guard's has set `scope["app"]` to itself since. None: the
        app serving the socket now (a middleware wrapped around the app by hand runs its guards outside any app).
        """
        if not self.open:
            return
        self.closing = rejection
        scope = self.scope if app is None or self.scope.get("app") is app else {**self.scope, "app": app}
        try:
            await close_accepted(scope, self.server_send, rejection)
        finally:
            # Only now stop waiting on the server: granian drops a connection whose receive is cancelled before
            # the close frame went out.
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(None)

    async def serve(self, app: ASGIApp) -> None:
        """Run `app` for this handshake: through the watch when something may close the socket from outside the
        endpoint, else on the server's own channels (the watch stops, and no message pays for it)."""
        if self.armed:
            await app(self.scope, self.receive, self.send)
        else:
            scope, receive, send = self.scope, self.server_receive, self.server_send
            self.stop()
            await app(scope, receive, send)

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` as a task of this socket's, cancelled when the handshake ends."""
        task = self.loop.create_task(work)
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def close_soon(self, rejection: WebSocketRejection, app: object = None) -> None:
        """`close` from a timer or a callback: in a task of this socket's."""
        self.spawn(self.close(rejection, app))

    def on_stop(self, stop: Callable[[], object]) -> None:
        """Call `stop` when the handshake ends (a timer's `cancel`)."""
        if self.stops is None:
            self.stops = []
        self.stops.append(stop)

    def stop(self) -> None:
        """The handshake ended: nothing scheduled for it may run, the scope forgets the watch, and the watch lets
        go of the scope and of the server's channels. The app's `WebSocket` may outlive the handshake with the
        watch's `receive` and `send` (an idle worker thread keeps the arguments of the last sync function it ran):
        the watch it keeps then holds nothing of the connection, and answers as a closed connection."""
        stops, self.stops = self.stops, None
        for stop in stops or ():
            stop()
        for task in list(self.tasks or ()):
            task.cancel()
        if self.scope.get(_KEY) is self:
            del self.scope[_KEY]
        self.ended = True  # nothing left for the library to close
        self.filters = ()
        self.scope, self.server_receive, self.server_send = {}, _ended_receive, _ended_send


def socket_watch(connection: HTTPConnection) -> SocketWatch:
    """The watch of the handshake `connection` belongs to: the one its placement started, else a route's, started
    on first use: put between the route's `WebSocket` and the server, and stopped when FastAPI unwinds the
    handshake's dependencies."""
    watch: SocketWatch | None = connection.scope.get(_KEY)
    if watch is not None:
        return watch
    if not isinstance(connection, WebSocket):
        raise RuntimeError(
            "A guard that watches the socket (an expiry, revalidate=, a lease) ran where no socket is watched; "
            "run it through Depends, all_of / any_of or WebSocketGuardMiddleware."
        )
    watch = connection.scope[_KEY] = SocketWatch(connection.scope, *websocket_channels(connection))
    # Started by the endpoint itself (`extend`), it may come after the accept: take the state so far.
    watch.accepted = connection.application_state is not WebSocketState.CONNECTING
    watch.ended = connection.application_state in (WebSocketState.DISCONNECTED, WebSocketState.RESPONSE)
    set_websocket_channels(connection, watch.receive, watch.send)
    dependency_exit_stack(connection.scope).callback(_unwatch, connection, watch)
    return watch


def _unwatch(websocket: WebSocket, watch: SocketWatch) -> None:
    receive, send = watch.server_receive, watch.server_send
    watch.stop()
    # The `WebSocket` may outlive its handshake (an idle worker thread keeps the arguments of the last sync check
    # it ran): give it back the server's channels, so that it holds no watch.
    set_websocket_channels(websocket, receive, send)


def start_watch(scope: Scope, receive: Receive, send: Send) -> SocketWatch:
    """A watch for a handshake served by a wrapper of the app (the middleware, a route's check before FastAPI's
    solving): in the scope while the guards run and the app serves it; the wrapper stops it."""
    watch = scope[_KEY] = SocketWatch(scope, receive, send)
    return watch


async def _ended_receive() -> Message:
    """What a stopped watch receives: the connection is over, as a server says once the client went away."""
    return {"type": "websocket.disconnect", "code": 1006, "reason": ""}


async def _ended_send(message: Message) -> None:
    """What a stopped watch sends: nothing; ASGI's error for a closed connection (Starlette makes it a
    `WebSocketDisconnect`)."""
    raise OSError("the handshake this socket's watch served has ended")
