"""The app the end-to-end tests serve: every layout of tests.apps behind one real server.

- `/...`: a RejectingRouter included into a plain FastAPI app
- `/v1/...`: the same, included with a prefix and an include-level `ws_guard` (token=good)
- `/nested/...`: RejectingRouter inside a plain APIRouter inside the app
- `/app-wide/...`: a plain app with `add_rejection_handlers`, mounted
- `/no-answer`: returns without accepting or rejecting
- `/noext/...`: `/...` as a server without the WebSocket Denial Response extension would run it
"""

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import RejectingRouter, add_rejection_handlers, ws_guard
from tests.apps import build_routes, token_user

routes = RejectingRouter()
build_routes(routes)

fastapi_app = FastAPI()
fastapi_app.include_router(routes)
fastapi_app.include_router(routes, prefix="/v1", dependencies=[Depends(ws_guard(token_user, status_code=401))])

outer = APIRouter()
outer.include_router(routes, prefix="/inner")
fastapi_app.include_router(outer, prefix="/nested")

app_wide = FastAPI()
add_rejection_handlers(app_wide)
build_routes(app_wide.router)
fastapi_app.mount("/app-wide", app_wide)


@fastapi_app.websocket("/no-answer")
async def no_answer(websocket: WebSocket) -> None:
    """Neither accepts nor rejects: an app bug that uvicorn rightly logs."""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket" and scope["path"].startswith("/noext/"):
        extensions = {k: v for k, v in (scope.get("extensions") or {}).items() if k != "websocket.http.response"}
        scope = {**scope, "path": scope["path"][len("/noext") :], "extensions": extensions}
    await fastapi_app(scope, receive, send)
