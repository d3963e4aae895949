import asyncio
import logging

import pytest
from fastapi import FastAPI, WebSocket
from starlette.types import Message

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, add_rejection_handlers


def handshake_scope(path: str) -> dict[str, object]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }


async def gone(message: Message) -> None:
    raise OSError("client went away")


async def connect() -> Message:
    return {"type": "websocket.connect"}


def build(app_wide: bool) -> FastAPI:
    app = FastAPI()
    router = app.router if app_wide else RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        raise WebSocketRejection(404, "gone")

    if app_wide:
        add_rejection_handlers(app)
    else:
        app.include_router(router)  # type: ignore[arg-type]
    return app


@pytest.mark.parametrize("app_wide", [False, True])
def test_client_gone_while_rejecting_raises_nothing_and_logs_at_debug(
    app_wide: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = build(app_wide)
    with caplog.at_level(logging.DEBUG, logger="fastapi_ws_reject"):
        for _ in range(2):
            asyncio.run(app(handshake_scope("/ws"), connect, gone))
    assert caplog.records
    assert {record.levelno for record in caplog.records} == {logging.DEBUG}
