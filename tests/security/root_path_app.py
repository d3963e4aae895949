"""An app guarded on `/ws/*`, served under `--root-path /api` by the end-to-end attack tests."""

from fastapi import FastAPI, WebSocket

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import OriginGuard

app = FastAPI()


@app.websocket("/ws/{room}")
async def room(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    await websocket.close()


app.add_middleware(
    WebSocketGuardMiddleware, guards=[OriginGuard(["https://app.example.com"], allow_missing=False)], include=["/ws/*"]
)
