"""Apps that serve a guard in each placement that watches a socket after accept, with an endpoint that records
what it takes (`SEEN`): the texts a client sent, then the close code that ended it."""

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, ws_guard
from fastapi_ws_reject.guards import ConnectionLimitGuard, all_of, any_of

Placement = Callable[[Any], FastAPI]


def depends(guard: Any) -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await serve_until_closed(websocket)

    app = FastAPI()
    app.include_router(router)
    return app


def served_as_built(guard: Any) -> FastAPI:
    """The route's leading guard checked before FastAPI's solving."""
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(guard)])
    async def endpoint(websocket: WebSocket) -> None:
        await serve_until_closed(websocket)

    app = FastAPI()
    app.router.routes.extend(router.routes)
    return app


def behind_an_override_of_its_check(guard: Any) -> FastAPI:
    """The app overrides a stand-in check with the guard's own: the override decides, and re-decides."""

    async def stand_in(websocket: WebSocket) -> bool:
        return True

    app = depends(ws_guard(stand_in, revalidate=guard.revalidate, on_error=guard.on_error))
    app.dependency_overrides[stand_in] = guard.call
    return app


def in_all_of(guard: Any) -> FastAPI:
    return depends(all_of(ws_guard(lambda: True), guard))


def beside_a_connection_limit(guard: Any) -> FastAPI:
    return depends(all_of(guard, ConnectionLimitGuard(5)))


def in_any_of(guard: Any) -> FastAPI:
    return depends(any_of(ws_guard(lambda: False), guard))


def middleware(guard: Any) -> FastAPI:
    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        await serve_until_closed(websocket)

    app.add_middleware(WebSocketGuardMiddleware, guards=[guard])
    return app


def middleware_with_two_guards(guard: Any) -> FastAPI:
    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        await serve_until_closed(websocket)

    app.add_middleware(WebSocketGuardMiddleware, guards=[ConnectionLimitGuard(5), guard])
    return app


PLACEMENTS = [
    depends,
    served_as_built,
    behind_an_override_of_its_check,
    in_all_of,
    beside_a_connection_limit,
    in_any_of,
    middleware,
    middleware_with_two_guards,
]
#: what the endpoint of each test app saw after it accepted: the texts it took, then how it ended
SEEN: list[Any] = []


async def serve_until_closed(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("in")
    try:
        while True:
            SEEN.append(await websocket.receive_text())
    except WebSocketDisconnect as disconnect:
        SEEN.append(disconnect.code)


def seen_once_ended(within: float = 5.0) -> list[Any]:
    """`SEEN` once the library's close ended the endpoint (its last entry is a close code): an older TestClient
    hands the close to the client before the endpoint has taken it."""
    return seen_when(lambda: bool(SEEN) and isinstance(SEEN[-1], int), within)


def seen_after(texts: int, within: float = 5.0) -> list[Any]:
    """`SEEN` once the endpoint took `texts` messages: wait for it before the client closes, since a TestClient
    leaving its `with` may stop the endpoint before it took what was sent."""
    return seen_when(lambda: len(SEEN) >= texts, within)


def seen_when(done: Callable[[], bool], within: float) -> list[Any]:
    deadline = time.monotonic() + within
    while not done() and time.monotonic() < deadline:
        time.sleep(0.005)
    return SEEN
