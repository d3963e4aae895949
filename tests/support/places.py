"""A guard served in each of the four places it works: Depends, ws_guard, @reject_unless, the middleware; and
`middleware_app`, two routes and an HTTP route behind a `WebSocketGuardMiddleware` configured by the test."""

import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from fastapi_ws_reject import Guard, RejectingRouter, WebSocketGuardMiddleware, reject_unless, ws_guard

PLACES = ("depends", "ws_guard", "reject_unless", "middleware")


def _shown(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def guarded_app(guard: Guard[Any], place: str, *, subprotocol_from_value: bool = False) -> FastAPI:
    router = RejectingRouter()

    async def answer(websocket: WebSocket, value: Any) -> None:
        subprotocol = getattr(value, "subprotocol", None) if subprotocol_from_value else None
        await websocket.accept(subprotocol=subprotocol)
        await websocket.send_json({"value": _shown(value)})
        await websocket.close()

    if place == "depends":

        @router.websocket("/ws")
        async def with_depends(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
            await answer(websocket, value)

    elif place == "ws_guard":

        @router.websocket("/ws")
        async def with_ws_guard(websocket: WebSocket, value: Annotated[Any, Depends(ws_guard(guard))]) -> None:
            await answer(websocket, value)

    elif place == "reject_unless":

        @router.websocket("/ws")
        @reject_unless(guard)
        async def with_decorator(websocket: WebSocket) -> None:
            await answer(websocket, "ok")

    else:

        @router.websocket("/ws")
        async def behind_middleware(websocket: WebSocket) -> None:
            await answer(websocket, "ok")

    app = FastAPI()
    app.include_router(router)
    if place == "middleware":
        app.add_middleware(WebSocketGuardMiddleware, guards=[guard])
    return app


def client_for(guard: Guard[Any], place: str, **kwargs: Any) -> TestClient:
    return TestClient(with_peer(guarded_app(guard, place, **kwargs)))


def with_peer(app: ASGIApp) -> ASGIApp:
    """Lets a test choose the client address (`x-test-peer`), which TestClient fixes at 'testclient'."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        peer = dict(scope.get("headers", [])).get(b"x-test-peer")
        if peer is not None:
            scope = {**scope, "client": (peer.decode(), 5000)}
        await app(scope, receive, send)

    return wrapped


def value_of(client: TestClient, path: str = "/ws", **kwargs: Any) -> Any:
    with client.websocket_connect(path, **kwargs) as websocket:
        return websocket.receive_json()["value"]


def middleware_app(**options: object) -> FastAPI:
    """`/ws/chat` closes with 4000, `/public` with 4001, `/http` answers \"untouched\"."""
    router = RejectingRouter()

    @router.websocket("/ws/chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4000)

    @router.websocket("/public")
    async def public(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4001)

    app = FastAPI()
    app.include_router(router)

    @app.get("/http")
    async def http_route() -> str:
        return "untouched"

    app.add_middleware(WebSocketGuardMiddleware, **options)  # type: ignore[arg-type]
    return app
