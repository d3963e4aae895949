"""Guards on a real server: the middleware before routing, a connection limit to shut down under, and a
route guard checked before FastAPI's solving (routes as built) beside the same route included."""

import asyncio
import random
from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection

from fastapi_ws_reject import Guard, RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection
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


class Named(Guard[str]):
    """Anyone who names themselves in `x-name`, after a short wait (so handshakes interleave)."""

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(401, "name yourself", headers={"WWW-Authenticate": 'Name realm="wire"'})

    async def check(self, connection: HTTPConnection) -> str:
        await asyncio.sleep(random.uniform(0, 0.02))
        name = connection.headers.get("x-name", "")
        if not name:
            self.refuse(connection, "no name")
        return name


named = Named()
early = RejectingRouter(prefix="/early", dependencies=[Depends(named)])


@early.websocket("/whoami")
async def whoami(websocket: WebSocket, name: Annotated[str, Depends(named)]) -> None:
    await websocket.accept()
    await websocket.send_text(name)
    await websocket.close()


included = RejectingRouter(prefix="/included", dependencies=[Depends(named)])
included.add_api_websocket_route("/whoami", whoami)

app = FastAPI()
app.include_router(router)
app.include_router(included)
app.router.routes.extend(early.routes)  # served as built: the guard is checked before FastAPI's solving
app.add_middleware(
    WebSocketGuardMiddleware,
    guards=[OriginGuard(["https://app.example.com"], allow_missing=False)],
    include=["/guarded/*"],
    not_found=True,
)


@app.get("/health")
async def health() -> str:
    return "ok"
