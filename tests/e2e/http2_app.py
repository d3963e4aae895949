"""The app hypercorn serves over TLS and HTTP/2 (RFC 8441) in tests/e2e/test_http2.py and the browser's h2 test.

The routes of tests.support.apps (404 with a header and JSON, 429 with Retry-After, 422, accept, a rejection
after accept), and:
- `/origin`: `OriginGuard` allowing only https://allowed.example (403 for any other page)
- `/bearer`: `BearerTokenGuard` (401 with `WWW-Authenticate: Bearer`), token "s3cret"
- `/close-policy`: a refusal sent as accept-then-close (`policy="close"`): 4403 "not here"
- `/expiring?seconds=N`: a credential that expires N seconds after the handshake (4401 "credential expired")
- `/version`: accepts and sends the scope's `http_version` (what the socket rode on)
- `/page`: a page whose script opens `/version`, `/rooms/attic`, `/origin` and `/close-policy` and keeps what it saw in
  `window.results`
"""

import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket
from fastapi.responses import HTMLResponse
from starlette.requests import HTTPConnection

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, ws_guard
from fastapi_ws_reject.guards import BearerTokenGuard, OriginGuard, constant_time_lookup
from tests.support.apps import build_routes

router = RejectingRouter()
build_routes(router)
origin = OriginGuard(["https://allowed.example"], allow_missing=False)
bearer = BearerTokenGuard(constant_time_lookup({"s3cret": "ann"}))


async def greet(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.scope.get("http_version", ""))
    await websocket.close()


router.add_api_websocket_route("/version", greet)
router.add_api_websocket_route("/origin", greet, dependencies=[Depends(origin)])
router.add_api_websocket_route("/bearer", greet, dependencies=[Depends(bearer)])
router.add_api_websocket_route(
    "/close-policy",
    greet,
    dependencies=[Depends(ws_guard(lambda: False, rejection=WebSocketRejection(403, "not here"), policy="close"))],
)


def session(connection: HTTPConnection) -> dict[str, Any]:
    return {"user": "ann", "exp": time.time() + float(connection.query_params.get("seconds", "1"))}


@router.websocket("/expiring")
async def expiring(websocket: WebSocket, user: Annotated[Any, Depends(ws_guard(session))]) -> None:
    await websocket.accept()
    await websocket.send_text("in")
    while True:
        await websocket.receive_text()


app = FastAPI()
app.include_router(router)

PAGE = """<!doctype html><meta charset="utf-8"><title>h2</title><script>
window.results = {};
for (const path of ["/version", "/rooms/attic", "/origin", "/close-policy"]) {
  const socket = new WebSocket(`wss://${location.host}${path}`);
  const seen = {opened: false, texts: []};
  socket.onopen = () => { seen.opened = true; };
  socket.onmessage = (event) => { seen.texts.push(event.data); };
  socket.onclose = (event) => { seen.code = event.code; seen.reason = event.reason; window.results[path] = seen; };
}
</script>"""


@app.get("/page")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)
