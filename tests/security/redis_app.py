"""An app whose limits live in the Redis at $REDIS_URL, so that several server processes share them."""

import os

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.guards import ConnectionLimitGuard, MessageLimitGuard, RateLimitGuard
from fastapi_ws_reject.redis_backend import from_url

backend = from_url(
    os.environ["REDIS_URL"],
    prefix=os.environ["REDIS_PREFIX"],
    lease_ttl=1.0,
    timeout=0.3,
    on_failure=os.environ.get("REDIS_ON_FAILURE", "open"),  # type: ignore[arg-type]
)
router = RejectingRouter()


@router.websocket(
    "/hold", dependencies=[Depends(ConnectionLimitGuard(2, key=lambda websocket: "all", backend=backend))]
)
async def hold(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("holding")
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


@router.websocket(
    "/rate", dependencies=[Depends(RateLimitGuard(3, per=60, key=lambda websocket: "all", backend=backend))]
)
async def rate(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


@router.websocket(
    "/messages",
    dependencies=[
        Depends(MessageLimitGuard(5, per=60, key=lambda websocket: websocket.query_params["user"], backend=backend))
    ],
)
async def messages(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


app = FastAPI()
app.include_router(router)
