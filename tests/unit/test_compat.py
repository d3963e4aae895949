"""Pins for every FastAPI and Starlette name outside their public API (all in `_compat.py`): when one moves,
the test named after it fails and says what moved."""

from contextlib import AsyncExitStack

import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.routing import APIWebSocketRoute
from starlette.testclient import TestClient

from fastapi_ws_reject._compat import (
    DEPENDENCY_STACK_KEYS,
    FASTAPI_DEFAULT_HANDLERS,
    dependency_exit_stack,
    effective_routes,
)


def test_fastapi_registers_exactly_the_default_handlers_we_skip() -> None:
    registered = set(FastAPI().exception_handlers.values())
    assert registered == FASTAPI_DEFAULT_HANDLERS, (
        "FastAPI() now registers other default exception handlers; update FASTAPI_DEFAULT_HANDLERS in _compat.py "
        "so that a user's own handler is still told apart from FastAPI's."
    )


def test_a_websocket_route_finds_its_dependency_exit_stack() -> None:
    found: list[str] = []
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        keys = [key for key in DEPENDENCY_STACK_KEYS if isinstance(websocket.scope.get(key), AsyncExitStack)]
        found.extend(keys)
        assert isinstance(dependency_exit_stack(websocket.scope), AsyncExitStack)
        await websocket.accept()
        await websocket.close()

    with TestClient(app).websocket_connect("/ws"):
        pass
    assert found, f"FastAPI keeps a websocket route's dependency exit stack under none of {DEPENDENCY_STACK_KEYS}."


def test_a_missing_exit_stack_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="Please report the FastAPI version"):
        dependency_exit_stack({"type": "websocket"})


def test_effective_routes_list_an_included_websocket_route_with_its_prefix() -> None:
    router = APIRouter(prefix="/stream")

    @router.websocket("/{job_id}")
    async def stream(websocket: WebSocket, job_id: str) -> None:
        pass  # pragma: no cover

    app = FastAPI()
    app.include_router(router, prefix="/v1")
    paths = [route.path for route in effective_routes(app.routes) if isinstance(route, APIWebSocketRoute)]
    assert paths == ["/v1/stream/{job_id}"], (
        "FastAPI no longer lists an included router's websocket routes as effective_routes in _compat.py reads them."
    )
