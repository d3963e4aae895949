"""An AsyncAPI document for the websocket routes, with every answer a handshake can get: GET /asyncapi."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, WebSocket
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection
from fastapi_ws_reject.asyncapi import add_asyncapi
from fastapi_ws_reject.guards import (
    Authenticated,
    BearerTokenGuard,
    OriginGuard,
    RateLimitGuard,
    SecuritySchemeGuard,
    constant_time_lookup,
)


class ChatMessage(BaseModel):
    text: str


class ChatEvent(BaseModel):
    author: str
    message: ChatMessage


bearer = BearerTokenGuard(constant_time_lookup({"s3cret": "alice"}), sources=("header", "subprotocol"))
service_key = SecuritySchemeGuard(APIKeyHeader(name="X-Service-Key"))
ROOMS = {"lobby", "ops"}


def no_such_room() -> WebSocketRejection:
    # A fresh exception each time it is raised: a shared instance would keep every traceback it was raised with.
    return WebSocketRejection(404, {"detail": "no such room"})


rooms = RejectingRouter()


@rooms.websocket("/rooms/{room}", rejections=[no_such_room()], receives=ChatMessage, sends=ChatEvent)
async def chat_room(
    websocket: WebSocket,
    room: str,
    auth: Annotated[Authenticated[str], Depends(bearer)],
    client_version: Annotated[int, Header(description="The client's protocol version.")] = 1,
) -> None:
    if room not in ROOMS:
        raise no_such_room()
    await websocket.accept(subprotocol=auth.subprotocol)
    message = ChatMessage.model_validate(await websocket.receive_json())
    await websocket.send_json(ChatEvent(author=auth.principal, message=message).model_dump())
    await websocket.close()


@rooms.websocket("/status/{shard}")
async def shard_status(websocket: WebSocket, shard: int, verbose: bool = False) -> None:
    if shard > 3:
        raise HTTPException(404, "no such shard")
    await websocket.accept()
    await websocket.send_json({"shard": shard, "healthy": True, "verbose": verbose})
    await websocket.close()


internal = APIRouter(prefix="/internal", dependencies=[Depends(service_key)])


@internal.websocket("/metrics")
async def metrics(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"sockets": 0})
    await websocket.close()


app = FastAPI(title="Chat sockets", version="1.0.0")
app.add_middleware(
    WebSocketGuardMiddleware,
    guards=[OriginGuard(["https://chat.example.com"], allow_missing=True)],
    include=["/ws/*"],
    not_found=True,
)
app.include_router(rooms, prefix="/ws", dependencies=[Depends(RateLimitGuard(10, per=60))])
app.include_router(internal)
add_asyncapi(app)


@app.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()
