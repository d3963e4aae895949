"""`add_rejection_handlers`: a plain FastAPI app whose `@app.websocket` routes all reject properly."""

from fastapi import FastAPI, HTTPException, WebSocket

from fastapi_ws_reject import WebSocketRejection, add_rejection_handlers

app = FastAPI()
add_rejection_handlers(app)

OPEN_SOCKETS: dict[str, int] = {}
LIMIT = 2


@app.websocket("/items/{item_id}")
async def item_updates(websocket: WebSocket, item_id: int) -> None:
    if item_id != 1:
        raise HTTPException(status_code=404, detail="item not found")
    await websocket.accept()
    await websocket.send_text("item 1 is up to date")
    # Once accepted, a rejection becomes a close frame: 4000 + status, with the reason.
    raise WebSocketRejection(409, "item 1 was deleted")


@app.websocket("/busy")
async def busy(websocket: WebSocket) -> None:
    raise WebSocketRejection(429, {"detail": "too many sockets"}, headers={"Retry-After": "30"})
