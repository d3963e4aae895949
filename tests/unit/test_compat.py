"""Pins for every FastAPI and Starlette name outside their public API (all in `_compat.py`): when one moves,
the test named after it fails and says what moved."""

import asyncio
import functools
from contextlib import AsyncExitStack
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.routing import APIWebSocketRoute
from starlette.testclient import TestClient

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject._compat import (
    DEPENDENCY_STACK_KEYS,
    FASTAPI_DEFAULT_HANDLERS,
    dependants,
    dependency_calls,
    dependency_exit_stack,
    effective_routes,
    is_async_callable,
    middleware_arguments,
    set_websocket_channels,
    websocket_channels,
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


def test_dependants_walk_a_routes_sub_dependencies_with_their_parameters() -> None:
    async def inner(token: str) -> str:
        return token  # pragma: no cover

    async def outer(value: Annotated[str, Depends(inner)]) -> str:
        return value  # pragma: no cover

    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, value: Annotated[str, Depends(outer)]) -> None:
        pass  # pragma: no cover

    (route,) = [route for route in app.routes if isinstance(route, APIWebSocketRoute)]
    walked = list(dependants(route.dependant))
    assert [dependant.call for dependant in walked][1:] == [outer, inner], "Dependant.dependencies moved."
    assert [field.alias for field in walked[-1].query_params] == ["token"], "Dependant.query_params moved."


def test_dependency_calls_are_in_fastapis_solving_order() -> None:
    calls: list[str] = []

    def record(name: str) -> Any:
        async def dependency() -> None:
            calls.append(name)

        dependency.__name__ = name
        return dependency

    include, route, parameter = record("include"), record("route"), record("parameter")
    router = APIRouter()

    @router.websocket("/ws", dependencies=[Depends(route)])
    async def ws(websocket: WebSocket, value: Annotated[None, Depends(parameter)]) -> None:
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.include_router(router, dependencies=[Depends(include)])
    with TestClient(app).websocket_connect("/ws"):
        pass
    (served,) = [r for r in effective_routes(app.routes) if isinstance(r, APIWebSocketRoute)]
    assert (
        [call.__name__ for call in dependency_calls(served.dependant)] == calls == ["include", "route", "parameter"]
    ), "FastAPI no longer solves a route's dependencies in the order Dependant.dependencies lists them."


def test_middleware_arguments_are_read_back_as_given() -> None:
    app = FastAPI()
    app.add_middleware(WebSocketGuardMiddleware, not_found=True, include=["/ws/*"])
    (middleware,) = app.user_middleware
    assert middleware_arguments(middleware) == ((), {"not_found": True, "include": ["/ws/*"]}), (
        "Starlette's Middleware no longer keeps add_middleware's arguments as args/kwargs (or options)."
    )


def test_a_websockets_channels_are_the_servers_and_can_be_replaced() -> None:
    async def receive() -> dict[str, str]:
        return {"type": "websocket.connect"}

    async def send(message: object) -> None:
        sent.append(message)

    async def other_send(message: object) -> None:
        sent.append(("through the watch", message))

    sent: list[object] = []
    websocket = WebSocket({"type": "websocket", "path": "/", "headers": []}, receive, send)
    assert websocket_channels(websocket) == (receive, send), (
        "Starlette's WebSocket no longer keeps the server's receive and send as _receive and _send."
    )
    set_websocket_channels(websocket, receive, other_send)
    asyncio.run(websocket.send({"type": "websocket.accept"}))
    assert sent == [("through the watch", {"type": "websocket.accept"})], (
        "Starlette's WebSocket.send no longer sends through _send."
    )


def test_is_async_callable_tells_what_fastapi_awaits() -> None:
    """A class with `async def __call__` is called to build an instance, not awaited (Starlette's private helper
    says otherwise)."""

    class Endpoint:
        async def __call__(self) -> None:
            pass  # pragma: no cover

    async def coroutine_function() -> None:
        pass  # pragma: no cover

    def plain() -> None:
        pass  # pragma: no cover

    assert is_async_callable(coroutine_function) and is_async_callable(Endpoint())
    assert is_async_callable(functools.partial(coroutine_function))
    assert not is_async_callable(plain) and not is_async_callable(Endpoint)
