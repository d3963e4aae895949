"""The app the end-to-end tests serve: every layout of tests.support.apps behind one real server.

- `/...`: a RejectingRouter included into a plain FastAPI app
- `/v1/...`: the same, included with a prefix and an include-level `ws_guard` (token=good)
- `/nested/...`: RejectingRouter inside a plain APIRouter inside the app
- `/app-wide/...`: a plain app with `add_rejection_handlers`, mounted
- `/built/...`: `/...` with the RejectingRouter's routes added as built (guards checked before FastAPI's solving)
- `/faults/...`: a 4 MB rejection, and one sent 0.3 s after accept
- `/no-answer`: returns without accepting or rejecting
- `/noext/...`: `/...` as a server without the WebSocket Denial Response extension would run it
"""

import asyncio

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, add_rejection_handlers, ws_guard
from tests.support.apps import build_routes, token_user

routes = RejectingRouter()
build_routes(routes)

fastapi_app = FastAPI()
fastapi_app.include_router(routes)
fastapi_app.include_router(routes, prefix="/v1", dependencies=[Depends(ws_guard(token_user, status_code=401))])

built = RejectingRouter(prefix="/built")
build_routes(built)
fastapi_app.router.routes.extend(built.routes)

outer = APIRouter()
outer.include_router(routes, prefix="/inner")
fastapi_app.include_router(outer, prefix="/nested")

app_wide = FastAPI()
add_rejection_handlers(app_wide)
build_routes(app_wide.router)
fastapi_app.mount("/app-wide", app_wide)


faults = RejectingRouter()


@faults.websocket("/big-rejection")
async def big_rejection(websocket: WebSocket) -> None:
    raise WebSocketRejection(413, b"x" * 4_000_000)


@faults.websocket("/slow-late")
async def slow_late(websocket: WebSocket) -> None:
    await websocket.accept()
    await asyncio.sleep(0.3)
    raise WebSocketRejection(404, "too late to hear this")


fastapi_app.include_router(faults, prefix="/faults")


@fastapi_app.websocket("/no-answer")
async def no_answer(websocket: WebSocket) -> None:
    """Neither accepts nor rejects: an app bug that uvicorn rightly logs."""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket" and scope["path"].startswith("/noext/"):
        extensions = {k: v for k, v in (scope.get("extensions") or {}).items() if k != "websocket.http.response"}
        scope = {**scope, "path": scope["path"][len("/noext") :], "extensions": extensions}
    await fastapi_app(scope, receive, send)
