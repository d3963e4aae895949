"""Guards on a real server: the middleware before routing, and a connection limit to shut down under."""

from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware
from fastapi_ws_reject.guards import ConnectionLimitGuard, InMemoryBackend, OriginGuard


class ReportingBackend(InMemoryBackend):
    async def release(self, key: str, lease: object) -> None:
        await super().release(key, lease)  # type: ignore[arg-type]
        print(f"released {key}, {self.open_slots(key)} open", flush=True)


one_socket = ConnectionLimitGuard(1, key=lambda websocket: "everyone", backend=ReportingBackend())
router = RejectingRouter()


@router.websocket("/guarded/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


@router.websocket("/limited")
async def limited(websocket: WebSocket, key: Annotated[str, Depends(one_socket)]) -> None:
    await websocket.accept()
    await websocket.send_text("holding the only slot")
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        print("limited: client gone", flush=True)


app = FastAPI()
app.include_router(router)
app.add_middleware(
    WebSocketGuardMiddleware,
    guards=[OriginGuard(["https://app.example.com"], allow_missing=False)],
    include=["/guarded/*"],
    not_found=True,
)


@app.get("/health")
async def health() -> str:
    return "ok"
