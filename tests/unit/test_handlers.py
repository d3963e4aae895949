from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import WebSocketRejection, add_rejection_handlers

Deny = Callable[..., Any]


def test_http_routes_keep_fastapi_handlers() -> None:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "teapot")

    response = TestClient(app).get("/teapot")
    assert (response.status_code, response.json()) == (418, {"detail": "teapot"})


def test_a_sync_handler_registered_before_still_serves_http(deny: Deny) -> None:
    app = FastAPI()

    def plain_text(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("custom", status_code=400)

    app.add_exception_handler(HTTPException, plain_text)
    add_rejection_handlers(app)

    @app.get("/bad")
    async def bad() -> None:
        raise HTTPException(400)

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        raise HTTPException(404, "still converted")

    client = TestClient(app)
    assert client.get("/bad").text == "custom"
    assert deny(client, "/ws").json() == {"detail": "still converted"}


def test_a_rejection_raised_on_an_http_route_is_not_swallowed() -> None:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.get("/wrong")
    async def wrong() -> None:
        raise WebSocketRejection(404)

    with pytest.raises(WebSocketRejection):
        TestClient(app).get("/wrong")


def test_nothing_follows_a_close_the_app_sent_itself() -> None:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(1001)
        raise WebSocketRejection(410)

    with TestClient(app).websocket_connect("/ws") as websocket, pytest.raises(WebSocketDisconnect) as closed:
        websocket.receive_text()
    assert closed.value.code == 1001


def test_nothing_follows_a_denial_the_app_sent_itself(deny: Deny) -> None:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("own answer", status_code=409))
        raise WebSocketRejection(410)

    denial = deny(TestClient(app), "/ws")
    assert (denial.status_code, denial.content) == (409, b"own answer")
