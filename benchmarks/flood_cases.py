"""The apps the flood benchmark serves by name: an echo endpoint at /ws, and four ways to refuse a stranger.

A legitimate client sends `x-client: alice`, is accepted, sends one text message, gets it back and the close.
The flood sends no `x-client`: each case refuses it with 403, except `rate_limited`, which refuses it with 429
because it comes from 127.0.0.1 and goes over the limit there, while the legitimate clients (127.0.0.2) do not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from starlette.types import Receive, Scope, Send

from benchmarks.cases import CLIENTS, FORBIDDEN, KnownClient
from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware
from fastapi_ws_reject.guards import RateLimitGuard
from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors

quiet_uvicorn_denial_errors()  # the server would otherwise log an error per denial

# Handshakes per address per second that `rate_limited` lets through: twice the benchmark's default rate,
# so the legitimate clients stay well under it and the flood is over it within its first milliseconds.
RATE_LIMIT = 100


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        return  # a flood connection the rate limit let through: wrk sends no frame, only its next request
    await websocket.close()


async def known_client_or_403(websocket: WebSocket) -> None:
    """Plain FastAPI's way: a dependency that raises. The same check as `KnownClient`."""
    if websocket.headers.get("x-client", "") not in CLIENTS:
        raise HTTPException(403)


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: a raw ASGI app doing the same (refuse strangers with 403, echo for the others), no framework."""
    if scope["type"] != "websocket":
        return
    await receive()
    if (b"x-client", b"alice") not in scope["headers"]:
        await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
        await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "websocket.accept"})
    message = await receive()
    if message["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message.get("text")})
        await send({"type": "websocket.close", "code": 1000})


def _included(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


def _native() -> FastAPI:
    router = APIRouter()
    router.add_api_websocket_route("/ws", echo, dependencies=[Depends(known_client_or_403)])
    return _included(router)


def _guarded(include: bool) -> FastAPI:
    router = RejectingRouter()
    router.add_api_websocket_route("/ws", echo, dependencies=[Depends(KnownClient(rejection=FORBIDDEN))])
    if include:
        return _included(router)
    app = FastAPI()
    app.router.routes.extend(router.routes)
    return app


def _plain() -> FastAPI:
    app = FastAPI()
    app.add_api_websocket_route("/ws", echo)
    return app


native = _native()
guard_included = _guarded(include=True)
guard_built = _guarded(include=False)
# The middleware as the outermost ASGI app: a refused handshake never reaches FastAPI.
middleware = WebSocketGuardMiddleware(_plain(), guards=[KnownClient(rejection=FORBIDDEN)])
rate_limited = WebSocketGuardMiddleware(_plain(), guards=[RateLimitGuard(RATE_LIMIT, per=1)])

# label -> (attribute of this module, the status the flood must get). A label's first word is its key.
CASES: dict[str, tuple[str, int]] = {
    "r  raw ASGI app (the floor)": ("raw", 403),
    "a  FastAPI HTTPException": ("native", 403),
    "b  Guard, RejectingRouter included": ("guard_included", 403),
    "b2 Guard, routes as built": ("guard_built", 403),
    "c  WebSocketGuardMiddleware": ("middleware", 403),
    "d  RateLimitGuard per address (middleware)": ("rate_limited", 429),
}
