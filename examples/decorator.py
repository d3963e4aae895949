"""`@reject_unless` on an endpoint: refuse foreign origins with 403, keep the endpoint's own parameters."""

from fastapi import FastAPI, Header, WebSocket

from fastapi_ws_reject import RejectingRouter, reject_unless

TRUSTED_ORIGINS = {"https://chat.example.com"}


def trusted_origin(origin: str | None = Header(default=None)) -> bool:
    return origin in TRUSTED_ORIGINS


router = RejectingRouter()


@router.websocket("/feed/{topic}")
@reject_unless(trusted_origin, status_code=403, body="origin not allowed")
async def feed(websocket: WebSocket, topic: str) -> None:
    await websocket.accept()
    await websocket.send_text(f"subscribed to {topic}")
    await websocket.close()


app = FastAPI()
app.include_router(router)
