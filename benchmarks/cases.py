"""The apps every benchmark measures, built once at import (the wire benchmark serves them by name).

Rejecting cases answer 403 with an empty body before accept, the same bytes as the raw floor (FastAPI's own
`HTTPException` sends its JSON body, as FastAPI does); accepting cases accept and close. No case's request
carries `x-client` or `Origin`, so every guard refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, WebSocket
from starlette.requests import HTTPConnection
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import (
    Guard,
    RejectingRouter,
    WebSocketGuardMiddleware,
    WebSocketRejection,
    add_rejection_handlers,
    reject_unless,
    ws_guard,
)
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors

quiet_uvicorn_denial_errors()  # the wire benchmark's server would otherwise log an error per denial

CLIENTS = frozenset({"alice", "bob"})
FORBIDDEN = WebSocketRejection(403)  # 403, no body: what the raw floor sends


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: a raw ASGI app that denies every handshake."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
    await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})


async def deny_at_once(websocket: WebSocket) -> None:
    """A route's endpoint that denies without looking: what FastAPI's app and routing cost before any route."""
    await raw(websocket.scope, websocket.receive, websocket.send)


class KnownClient(Guard[str]):
    """A user-written guard: the `x-client` header names a known client."""

    async def check(self, connection: HTTPConnection) -> str:
        client = connection.headers.get("x-client", "")
        if client not in CLIENTS:
            self.refuse(connection, "unknown client")
        return client


async def known_client(websocket: WebSocket) -> bool:
    """A check that takes only the connection."""
    return websocket.headers.get("x-client", "") in CLIENTS


async def known_client_header(x_client: str = Header("")) -> bool:
    """A check with a FastAPI parameter, which FastAPI solves."""
    return x_client in CLIENTS


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


def _route_with(dependency: Any) -> Callable[[RejectingRouter], None]:
    def register(router: RejectingRouter) -> None:
        router.add_api_websocket_route("/ws", never_runs, dependencies=[Depends(dependency)])

    return register


def _reject_unless_route(router: RejectingRouter) -> None:
    router.add_api_websocket_route("/ws", reject_unless(known_client, rejection=FORBIDDEN)(never_runs))


def _accept_route(router: RejectingRouter) -> None:
    router.add_api_websocket_route("/ws", accept_and_close)


_guard = _route_with(KnownClient(rejection=FORBIDDEN))
_check = _route_with(ws_guard(known_client, rejection=FORBIDDEN))
_header_check = _route_with(ws_guard(known_client_header, rejection=FORBIDDEN))

route_floor = FastAPI()
route_floor.router.routes.append(WebSocketRoute("/ws", deny_at_once))
native = plain_app(never_runs, dependency=forbid)
native_included = plain_app(never_runs, dependency=forbid, include=True)
guard_included = rejecting_app(_guard, include=True)
guard_built = rejecting_app(_guard, include=False)
check_included = rejecting_app(_check, include=True)
check_built = rejecting_app(_check, include=False)
header_check_included = rejecting_app(_header_check, include=True)
header_check_built = rejecting_app(_header_check, include=False)
decorator_included = rejecting_app(_reject_unless_route, include=True)
decorator_built = rejecting_app(_reject_unless_route, include=False)
handlers = plain_app(never_runs, dependency=forbid, handlers=True)
# The middleware as the outermost layer: a refused handshake never reaches FastAPI.
middleware = WebSocketGuardMiddleware(
    plain_app(accept_and_close),
    guards=[OriginGuard(["https://app.example.com"], allow_missing=False, rejection=FORBIDDEN)],
)
accept_plain = plain_app(accept_and_close)
accept_plain_included = plain_app(accept_and_close, include=True)
accept_rejecting_included = rejecting_app(_accept_route, include=True)
accept_rejecting_built = rejecting_app(_accept_route, include=False)

DENIED, ACCEPTED = "denied", "accepted"
FLOOR, NATIVE, PLAIN_ACCEPT = "a", "b", "p"
# label -> (attribute of this module, what the handshake must end in). A label's first word is its key:
# `a` is the floor, `b` FastAPI's own rejection, `p` FastAPI's own accept path; `2` rows are the routes as
# built (`app.router.routes.extend(router.routes)`, or the route on the app itself for FastAPI's rows).
CASES: dict[str, tuple[str, str]] = {
    "a  raw ASGI denial (the floor)": ("raw", DENIED),
    "a2 Starlette route on a FastAPI app, denying at once": ("route_floor", DENIED),
    "b  FastAPI HTTPException, APIRouter included": ("native_included", DENIED),
    "b2 FastAPI HTTPException, route on the app": ("native", DENIED),
    "g  Guard subclass, RejectingRouter included": ("guard_included", DENIED),
    "g2 Guard subclass, routes as built": ("guard_built", DENIED),
    "c  ws_guard(check(websocket)), included": ("check_included", DENIED),
    "c2 ws_guard(check(websocket)), as built": ("check_built", DENIED),
    "h  ws_guard(check(x_client=Header())), included": ("header_check_included", DENIED),
    "h2 ws_guard(check(x_client=Header())), as built": ("header_check_built", DENIED),
    "d  @reject_unless(check(websocket)), included": ("decorator_included", DENIED),
    "d2 @reject_unless(check(websocket)), as built": ("decorator_built", DENIED),
    "e  add_rejection_handlers + HTTPException": ("handlers", DENIED),
    "f  WebSocketGuardMiddleware (OriginGuard)": ("middleware", DENIED),
    "p  accept+close, APIRouter included": ("accept_plain_included", ACCEPTED),
    "p2 accept+close, route on the app": ("accept_plain", ACCEPTED),
    "q  accept+close, RejectingRouter included": ("accept_rejecting_included", ACCEPTED),
    "q2 accept+close, RejectingRouter as built": ("accept_rejecting_built", ACCEPTED),
}


def key(label: str) -> str:
    """A case's key: the first word of its label (`a`, `b2`, `q`...)."""
    return label.split()[0]
