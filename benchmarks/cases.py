"""The apps every benchmark measures, built once at import (the wire benchmark serves them by name).

Rejecting cases answer 403 before accept; accepting cases accept and close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, add_rejection_handlers, reject_unless, ws_guard
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors

quiet_uvicorn_denial_errors()  # the wire benchmark's server would otherwise log an error per denial


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: a raw ASGI app that denies every handshake."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
    await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})


async def deny() -> None:
    return None


async def forbid() -> None:
    raise HTTPException(403)


async def accept_and_close(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def never_runs(websocket: WebSocket) -> None:
    raise AssertionError("the endpoint of a rejected handshake ran")


def rejecting_app(register: Callable[[RejectingRouter], None], include: bool) -> FastAPI:
    """A FastAPI app serving a RejectingRouter route: via include_router, or the route objects as built."""
    router = RejectingRouter()
    register(router)
    app = FastAPI()
    if include:
        app.include_router(router)
    else:
        app.router.routes.extend(router.routes)
    return app


def plain_app(
    endpoint: Callable[..., Any],
    *,
    dependency: Callable[..., Any] | None = None,
    handlers: bool = False,
    include: bool = False,
) -> FastAPI:
    """A plain FastAPI app: the route on the app itself, or on an APIRouter passed to include_router."""
    app = FastAPI()
    if handlers:
        add_rejection_handlers(app)
    router = APIRouter() if include else app.router
    router.add_api_websocket_route("/ws", endpoint, dependencies=[Depends(dependency)] if dependency else None)
    if include:
        app.include_router(router)
    return app


def _guard_route(router: RejectingRouter) -> None:
    router.add_api_websocket_route("/ws", never_runs, dependencies=[Depends(ws_guard(deny, status_code=403))])


def _reject_unless_route(router: RejectingRouter) -> None:
    router.add_api_websocket_route("/ws", reject_unless(deny, status_code=403)(never_runs))


def _accept_route(router: RejectingRouter) -> None:
    router.add_api_websocket_route("/ws", accept_and_close)


native = plain_app(never_runs, dependency=forbid)
native_included = plain_app(never_runs, dependency=forbid, include=True)
guard_included = rejecting_app(_guard_route, include=True)
guard_extended = rejecting_app(_guard_route, include=False)
decorator_included = rejecting_app(_reject_unless_route, include=True)
decorator_extended = rejecting_app(_reject_unless_route, include=False)
handlers = plain_app(never_runs, dependency=forbid, handlers=True)
# The middleware as the outermost layer: a refused handshake never reaches FastAPI.
middleware = WebSocketGuardMiddleware(
    plain_app(accept_and_close), guards=[OriginGuard(["https://app.example.com"], allow_missing=False)]
)
accept_plain = plain_app(accept_and_close)
accept_plain_included = plain_app(accept_and_close, include=True)
accept_rejecting_included = rejecting_app(_accept_route, include=True)
accept_rejecting_extended = rejecting_app(_accept_route, include=False)

DENIED, ACCEPTED = "denied", "accepted"
# label -> (attribute of this module, what the handshake must end in)
CASES: dict[str, tuple[str, str]] = {
    "a  raw ASGI denial (floor)": ("raw", DENIED),
    "b  FastAPI HTTPException (native)": ("native", DENIED),
    "b2 FastAPI HTTPException, APIRouter included": ("native_included", DENIED),
    "c  ws_guard, include_router": ("guard_included", DENIED),
    "c2 ws_guard, routes extended": ("guard_extended", DENIED),
    "d  reject_unless, include_router": ("decorator_included", DENIED),
    "d2 reject_unless, routes extended": ("decorator_extended", DENIED),
    "e  add_rejection_handlers + HTTPException": ("handlers", DENIED),
    "f  WebSocketGuardMiddleware (OriginGuard)": ("middleware", DENIED),
    "p  accept+close, FastAPI": ("accept_plain", ACCEPTED),
    "p2 accept+close, APIRouter included": ("accept_plain_included", ACCEPTED),
    "q  accept+close, RejectingRouter include_router": ("accept_rejecting_included", ACCEPTED),
    "q2 accept+close, RejectingRouter extended": ("accept_rejecting_extended", ACCEPTED),
}
