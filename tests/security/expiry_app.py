"""Expiry and re-validation on a real server: a token that expires, a room that closes, and what is left scheduled."""

import asyncio
import gc
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, ws_guard
from fastapi_ws_reject._pipeline.watching import SocketWatch
from fastapi_ws_reject.guards import Authenticated, BearerTokenGuard

CLOSED_ROOMS: set[str] = set()


@dataclass(frozen=True)
class Session:
    user: str
    expires_at: float


def verify(token: str) -> Session:
    return Session("alice", float(token))  # the token is its own expiry, as a Unix time


def room_open(websocket: WebSocket) -> str:
    room = websocket.query_params.get("room", "")
    if room in CLOSED_ROOMS:
        raise WebSocketRejection(403, "room closed")
    return room


bearer = BearerTokenGuard(verify, sources=("query",))
router = RejectingRouter()


async def talk(websocket: WebSocket, greeting: str) -> None:
    await websocket.accept()
    await websocket.send_text(greeting)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


@router.websocket("/expiring")
async def expiring(websocket: WebSocket, auth: Annotated[Authenticated[Session], Depends(bearer)]) -> None:
    await talk(websocket, f"hello {auth.principal.user}")


@router.websocket("/rooms")
async def rooms(websocket: WebSocket, room: Annotated[str, Depends(ws_guard(room_open, revalidate=0.1))]) -> None:
    await talk(websocket, f"in {room}")


app = FastAPI()
app.include_router(router)


@app.get("/close-room/{room}")
async def close_room(room: str) -> str:
    CLOSED_ROOMS.add(room)
    return room


@app.get("/scheduled")
async def scheduled() -> dict[str, int]:
    """What is still scheduled in this process: the sockets' watches (a timer not cancelled keeps its watch
    alive until it fires) and the running tasks."""
    gc.collect()
    watches = sum(isinstance(thing, SocketWatch) for thing in gc.get_objects())
    return {"watches": watches, "tasks": len(asyncio.all_tasks())}
