"""One set of websocket routes, served in every way a user can wire a RejectingRouter into an app."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, WebSocket, WebSocketException
from starlette.requests import HTTPConnection

from fastapi_ws_reject import Guard, RejectingRouter, WebSocketRejection, add_rejection_handlers, ws_guard

ROOT = Path(__file__).resolve().parents[2]


async def token_user(token: str | None = None) -> str | None:
    return {"good": "alice"}.get(token or "")


class Member(Guard[str]):
    """Members only, named by the `x-member` header; counts its checks."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(401, "members only", headers={"WWW-Authenticate": 'Member realm="rooms"'})

    async def check(self, connection: HTTPConnection) -> str:
        self.checks += 1
        member = connection.headers.get("x-member", "")
        if member not in ("alice", "bob"):
            self.refuse(connection, "not a member")
        return member


def build_routes(router: APIRouter, member: Member | None = None) -> None:
    member = member or Member()

    @router.websocket("/members", dependencies=[Depends(member)])
    async def members(websocket: WebSocket, name: Annotated[str, Depends(member)]) -> None:
        await websocket.accept()
        await websocket.send_text(name)
        await websocket.close()

    @router.websocket("/rooms/{room}")
    async def rooms(websocket: WebSocket, room: str) -> None:
        if room != "lobby":
            raise HTTPException(404, f"no room {room}", headers={"X-Room": room})
        await websocket.accept()
        await websocket.send_text("welcome")
        await websocket.close()

    @router.websocket("/rejection")
    async def rejection(websocket: WebSocket) -> None:
        raise WebSocketRejection(429, {"detail": "slow down"}, headers={"Retry-After": "30"})

    @router.websocket("/late")
    async def late(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        raise WebSocketRejection(404, "room closed")

    @router.websocket("/late-http")
    async def late_http(websocket: WebSocket) -> None:
        await websocket.accept()
        raise HTTPException(403, "é" * 100)

    @router.websocket("/validated/{number}")
    async def validated(websocket: WebSocket, number: int, x_version: Annotated[int, Header()]) -> None:
        await websocket.accept()
        await websocket.close()

    @router.websocket("/ws-exception")
    async def ws_exception(websocket: WebSocket) -> None:
        raise WebSocketException(code=4404, reason="no such thing")

    @router.websocket("/ws-exception-policy")
    async def ws_exception_policy(websocket: WebSocket) -> None:
        raise WebSocketException(code=1008, reason="policy")

    @router.websocket("/guarded")
    async def guarded(
        websocket: WebSocket, user: Annotated[str, Depends(ws_guard(token_user, status_code=401))]
    ) -> None:
        await websocket.accept()
        await websocket.send_text(user)
        await websocket.close()

    @router.websocket("/boom")
    async def boom(websocket: WebSocket) -> None:
        raise RuntimeError("internal detail")

    @router.websocket("/slow-rejection")
    async def slow_rejection(websocket: WebSocket) -> None:
        await asyncio.sleep(0.3)
        raise WebSocketRejection(403, "too late to hear this")

    @router.websocket("/boom-late")
    async def boom_late(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RuntimeError("internal detail")

    @router.websocket("/closed-then-rejected")
    async def closed_then_rejected(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(1000)
        raise WebSocketRejection(410, "gone")


def _included(**include: object) -> FastAPI:
    router = RejectingRouter()
    build_routes(router)
    app = FastAPI()
    app.include_router(router, **include)  # type: ignore[arg-type]
    return app


def _nested(parent: APIRouter) -> FastAPI:
    child = RejectingRouter()
    build_routes(child)
    parent.include_router(child)
    app = FastAPI()
    app.include_router(parent, prefix="/api")
    return app


def _app_wide() -> FastAPI:
    app = FastAPI()
    add_rejection_handlers(app)
    build_routes(app.router)
    return app


def _mounted_router() -> FastAPI:
    router = RejectingRouter()
    build_routes(router)
    app = FastAPI()
    app.mount("/api", router)
    return app


def _as_built() -> FastAPI:
    router = RejectingRouter(prefix="/api")
    build_routes(router)
    app = FastAPI()
    app.router.routes.extend(router.routes)
    return app


# name -> (builder, path prefix)
LAYOUTS: dict[str, tuple[Callable[[], FastAPI], str]] = {
    "include": (_included, ""),
    "include-prefix": (lambda: _included(prefix="/api"), "/api"),
    "nested-in-rejecting-router": (lambda: _nested(RejectingRouter()), "/api"),
    "nested-in-plain-router": (lambda: _nested(APIRouter()), "/api"),
    "add_rejection_handlers": (_app_wide, ""),
    "mounted-router": (_mounted_router, "/api"),
    "routes-as-built": (_as_built, "/api"),
}


def starlette_routes_the_segment(segment: str) -> bool:
    """Whether this Starlette serves `/{segment}/x` through `Mount("/{tenant}")` at all. Starlette 0.38 (FastAPI
    0.115's) compiles the mounted root path as a regular expression: a segment holding `(` or `\\` is a 404 or a
    `re.error` there, so no request with it ever reaches an app mounted that way."""
    import re

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.testclient import TestClient

    inner = Starlette(routes=[Route("/x", lambda request: PlainTextResponse("reached"))])
    try:
        response = TestClient(Starlette(routes=[Mount("/{tenant}", app=inner)])).get(f"/{segment}/x")
    except re.error:
        return False
    return response.text == "reached"
