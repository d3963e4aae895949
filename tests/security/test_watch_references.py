"""What a socket's watch keeps once its handshake ended (issue 21): nothing of the connection, and nothing keeps it.

anyio's worker threads keep the arguments of the last function they ran until they run another (anyio 4.6, in
FastAPI 0.115's venv; up to 10 s idle before they exit). A sync check or dependency runs in one: whatever its
argument holds outlives the handshake. A route's watch gives its `WebSocket` back the server's channels when it
stops (9c17c21). A watch that a wrapper of the app starts (`start_watch`: the middleware, a route's guards
checked before FastAPI's solving) is the app's channels themselves, so the app's `WebSocket` holds it: once its
handshake ended, it lets go of the scope and of the server's channels. And a re-validation's copy of the
handshake, the argument of its sync check, held the watch (and the socket's expiry, which holds the watch) when
the scope had them at the copy: a watch started by the middleware or before FastAPI's solving, or by the guard
before it on a route.
"""

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, ws_guard
from fastapi_ws_reject._pipeline.watching import _KEY as WATCH_KEY
from fastapi_ws_reject._pipeline.watching import SocketWatch, start_watch
from fastapi_ws_reject.guards import all_of

CHECKS: list[float] = []


@dataclass
class Session:
    expires_at: float


def session(connection: HTTPConnection) -> Session:
    """A sync check: anyio runs it in a worker thread, which keeps its argument."""
    CHECKS.append(time.monotonic())
    return Session(time.time() + 3600)


async def serve(websocket: WebSocket) -> None:
    assert isinstance(websocket.scope.get(WATCH_KEY), SocketWatch)
    await websocket.accept()
    await websocket.send_text("in")
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


def watches() -> list[SocketWatch]:
    """The watches alive in the process (`SocketWatch` has slots and no `__weakref__`: ten thousand sockets)."""
    gc.collect()
    return [thing for thing in gc.get_objects() if isinstance(thing, SocketWatch)]


@pytest.fixture(autouse=True)
def fresh() -> None:
    CHECKS.clear()


def in_the_middleware(guard: Any) -> FastAPI:
    app = FastAPI()
    app.websocket("/ws")(serve)
    app.add_middleware(WebSocketGuardMiddleware, guards=[guard])
    return app


def in_the_middleware_after_another(guard: Any) -> FastAPI:
    """A second guard: the first one's expiry is in the scope when the second one's handshake is copied."""
    app = FastAPI()
    app.websocket("/ws")(serve)
    app.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(session), guard])
    return app


def served_as_built(guard: Any) -> FastAPI:
    """The route's leading guard checked before FastAPI's solving (`start_watch` too)."""
    router = RejectingRouter()
    router.websocket("/ws", dependencies=[Depends(guard)])(serve)
    app = FastAPI()
    app.router.routes.extend(router.routes)
    return app


def on_the_route(guard: Any) -> FastAPI:
    """The route's own watch (9c17c21)."""
    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await serve(websocket)

    app = FastAPI()
    app.include_router(router)
    return app


def on_the_route_after_another(guard: Any) -> FastAPI:
    """The first guard of `all_of` starts the route's watch before the second one's handshake is copied."""
    return on_the_route(all_of(ws_guard(session), guard))


PLACES = [in_the_middleware, in_the_middleware_after_another, served_as_built, on_the_route, on_the_route_after_another]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("revalidate", [None, 0.02], ids=["expiry", "revalidated"])
def test_a_watch_is_collectable_once_its_handshake_ended(
    place: Callable[[Any], FastAPI], revalidate: float | None
) -> None:
    app = place(ws_guard(session, revalidate=revalidate))
    before = {id(watch) for watch in watches()}  # alive (an earlier test's, in an idle thread): ids not reused
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_text() == "in"
            deadline = time.monotonic() + 5
            while revalidate is not None and len(CHECKS) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)  # re-validated in the threadpool, twice
        deadline = time.monotonic() + 2
        while (kept := [watch for watch in watches() if id(watch) not in before]) and time.monotonic() < deadline:
            kept.clear()
            time.sleep(0.01)  # the app's task ends just after the client left
        try:
            holders = [type(referrer).__name__ for watch in kept for referrer in gc.get_referrers(watch)]
            assert holders == [type([]).__name__] * len(kept)  # `kept` only
        finally:
            kept.clear()


def connection_held_by(watch: SocketWatch) -> list[str]:
    """What `watch` holds of the connection: the handshake's scope, the server's (the test client's) channels."""
    return [
        type(referent).__name__
        for referent in gc.get_referents(watch)
        if (isinstance(referent, dict) and referent.get("type") == "websocket")
        or type(getattr(referent, "__self__", None)).__name__ == "WebSocketTestSession"
    ]


def test_a_watch_an_endpoints_websocket_outlives_holds_nothing_of_the_connection() -> None:
    # The middleware's watch is what the app got as its channels: a route's sync dependency that takes the
    # `WebSocket` leaves it, with the watch's bound `receive` and `send`, in an idle worker thread. The watch is
    # kept (with anyio 4.6; anyio 4.16 keeps nothing), but it holds none of the connection: not the scope, not
    # the server's channels and all they hold (the server's connection, its buffers).
    def sync_dependency(websocket: WebSocket) -> None:
        CHECKS.append(time.monotonic())

    app = FastAPI()
    app.websocket("/ws", dependencies=[Depends(sync_dependency)])(serve)
    app.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(session, revalidate=3600)])
    before = {id(watch) for watch in watches()}
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_text() == "in"
        time.sleep(0.1)  # the app's task ends just after the client left
        kept = [watch for watch in watches() if id(watch) not in before]
        try:
            assert [connection_held_by(watch) for watch in kept] == [[]] * len(kept)
        finally:
            kept.clear()


def test_a_stopped_watch_answers_as_a_closed_connection() -> None:
    async def stopped() -> tuple[Any, BaseException | None]:
        async def receive() -> Any:  # pragma: no cover - the server's channels are gone
            raise AssertionError("received from the server after the handshake ended")

        async def send(message: Any) -> None:  # pragma: no cover
            raise AssertionError("sent to the server after the handshake ended")

        scope: dict[str, Any] = {"type": "websocket", "path": "/ws"}
        watch = start_watch(scope, receive, send)
        watch.accepted = True
        watch.stop()
        assert scope == {"type": "websocket", "path": "/ws"} and watch.scope == {} and not watch.open
        try:
            await watch.send({"type": "websocket.send", "text": "late"})
        except OSError as error:
            return await watch.receive(), error
        return await watch.receive(), None

    received, error = asyncio.run(stopped())
    assert received == {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    assert isinstance(error, OSError)
