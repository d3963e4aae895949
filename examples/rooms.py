"""The classic case: a room the user may not enter answers 404 before the upgrade, with a JSON body."""

from fastapi import FastAPI, HTTPException, WebSocket

from fastapi_ws_reject import RejectingRouter

ROOM_MEMBERS = {"lobby": {"alice", "bob"}, "ops": {"alice"}}

router = RejectingRouter()


@router.websocket("/rooms/{room}")
async def join_room(websocket: WebSocket, room: str, user: str) -> None:
    if user not in ROOM_MEMBERS.get(room, set()):
        raise HTTPException(status_code=404, detail=f"no room {room!r} for {user}")
    await websocket.accept()
    await websocket.send_text(f"welcome to {room}, {user}")
    await websocket.close()


app = FastAPI()
app.include_router(router)
