"""The app the Redis deployment tests (Cluster, Sentinel) serve: a rate and a connection limit on one backend."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, WebSocket

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.guards import ConnectionLimitGuard, RateLimitGuard
from fastapi_ws_reject.redis_backend import RedisBackend


def limited_app(limits: RedisBackend, *, at_once: int) -> FastAPI:
    """`/rate` (2 a minute) and `/hold` (`at_once` at once), each per user, the user named in the query string;
    the backend is closed when the app stops, in the loop that opened its connections."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await limits.aclose()

    def user(websocket: WebSocket) -> str:
        return websocket.query_params["user"]

    async def accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await websocket.close()

    router = RejectingRouter()
    router.add_api_websocket_route(
        "/rate", accept, dependencies=[Depends(RateLimitGuard(2, per=60, key=user, backend=limits))]
    )
    router.add_api_websocket_route(
        "/hold", accept, dependencies=[Depends(ConnectionLimitGuard(at_once, key=user, backend=limits))]
    )
    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app
