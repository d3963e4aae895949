"""Issue 21, row 12: `RejectingRouter` accepts the endpoints `APIRouter` accepts, and answers their rejections."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.testing import assert_rejected


class Room:
    """An endpoint object: `async def __call__`."""

    async def __call__(self, websocket: WebSocket, room: str) -> None:
        if room != "lobby":
            raise HTTPException(404, "no such room")
        await websocket.accept()
        await websocket.close()


def logged(endpoint: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A plain `def` decorator that returns the endpoint's coroutine."""

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Awaitable[None]:
        return endpoint(*args, **kwargs)

    return wrapper


@logged
async def decorated(websocket: WebSocket, room: str) -> None:
    await Room()(websocket, room)


def served(endpoint: Any) -> TestClient:
    router = RejectingRouter()
    router.add_api_websocket_route("/rooms/{room}", endpoint)
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_an_endpoint_object_with_an_async_call_is_accepted_and_answered() -> None:
    client = served(Room())
    assert_rejected(client, "/rooms/attic", status_code=404, json={"detail": "no such room"})
    with client.websocket_connect("/rooms/lobby") as websocket:
        assert websocket.receive()["type"] == "websocket.close"


def test_an_endpoint_behind_a_plain_decorator_is_accepted_and_answered() -> None:
    client = served(decorated)
    assert_rejected(client, "/rooms/attic", status_code=404, json={"detail": "no such room"})
    with client.websocket_connect("/rooms/lobby") as websocket:
        assert websocket.receive()["type"] == "websocket.close"
