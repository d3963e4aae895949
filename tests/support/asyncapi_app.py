"""The app the AsyncAPI tests document: guards in every place a route gets them, with declared messages."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, WebSocket
from pydantic import BaseModel

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection, reject_unless
from fastapi_ws_reject.guards import (
    BearerTokenGuard,
    OriginGuard,
    RateLimitGuard,
    SubprotocolGuard,
    constant_time_lookup,
)

TOKENS = constant_time_lookup({"s3cret": "alice"})


class Note(BaseModel):
    text: str


class Reply(BaseModel):
    note: Note
    by: str


def guarded_app() -> FastAPI:
    """Guards in every place a route gets them: middleware, include, router, route, endpoint, decorator."""
    rooms = RejectingRouter(dependencies=[Depends(SubprotocolGuard(["chat.v1", "bearer"]))])
    bearer = BearerTokenGuard(TOKENS, sources=("header", "subprotocol"))
    no_room = WebSocketRejection(404, {"detail": "no such room"})

    @rooms.websocket("/rooms/{room}", rejections=[no_room], receives=Note, sends=Reply)
    async def room(
        websocket: WebSocket,
        room: str,
        auth: Annotated[Any, Depends(bearer)],
        client_version: Annotated[int, Header(description="protocol version")] = 1,
    ) -> None:
        if room != "lobby":
            raise no_room
        await websocket.accept(subprotocol="chat.v1")
        await websocket.close()

    @rooms.websocket("/shards/{shard}")
    @reject_unless(lambda: False, status_code=451, body="not here")
    async def shard(websocket: WebSocket, shard: int) -> None:
        await websocket.accept()

    app = FastAPI()
    app.add_middleware(
        WebSocketGuardMiddleware,
        guards=[OriginGuard(["https://chat.example.com"], allow_missing=True)],
        include=["/ws/*"],
        not_found=True,
    )
    app.include_router(rooms, prefix="/ws", dependencies=[Depends(RateLimitGuard(1, per=60))])

    @app.websocket("/open")
    async def open_socket(websocket: WebSocket) -> None:
        await websocket.accept()

    return app
