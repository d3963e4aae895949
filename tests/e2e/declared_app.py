"""Rejects each handshake with the rejection described in its `spec` query parameter (base64 JSON)."""

import base64
import json
from typing import Any

from fastapi import FastAPI, WebSocket

from fastapi_ws_reject import RejectingRouter, WebSocketRejection

router = RejectingRouter()


def encode_spec(spec: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(spec).encode()).decode()


def decode_rejection(spec: str) -> WebSocketRejection:
    data = json.loads(base64.urlsafe_b64decode(spec))
    body = base64.b64decode(data["body"]) if data["kind"] == "bytes" else data["body"]
    return WebSocketRejection(data["status"], body, headers=data["headers"], reason=data.get("reason"))


@router.websocket("/declared")
async def declared(websocket: WebSocket, spec: str) -> None:
    raise decode_rejection(spec)


@router.websocket("/declared-late")
async def declared_late(websocket: WebSocket, spec: str) -> None:
    await websocket.accept()
    raise decode_rejection(spec)


app = FastAPI()
app.include_router(router)
