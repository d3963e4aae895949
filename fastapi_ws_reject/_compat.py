"""The one module that knows FastAPI and Starlette names outside their public API.

`tests/unit/test_compat.py` pins each one, so an upstream change fails one test that says what moved.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack
from typing import Any

from fastapi.dependencies.models import Dependant as Dependant
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

#: the handlers `FastAPI()` registers itself: a user's own handler is any other one
FASTAPI_DEFAULT_HANDLERS: frozenset[Any] = frozenset(
    {http_exception_handler, request_validation_exception_handler, websocket_request_validation_exception_handler}
)

# The exit stack FastAPI enters a websocket route's dependencies with yield into: `fastapi_inner_astack` from
# FastAPI 0.118 (set by its `websocket_session`), `fastapi_astack` before (set by `get_websocket_app`).
DEPENDENCY_STACK_KEYS = ("fastapi_inner_astack", "fastapi_astack")


def dependency_exit_stack(scope: Scope) -> AsyncExitStack:
    """The exit stack of this handshake's dependencies, unwound after the endpoint and after any error."""
    for key in DEPENDENCY_STACK_KEYS:
        stack: AsyncExitStack | None = scope.get(key)
        if isinstance(stack, AsyncExitStack):
            return stack
    raise RuntimeError(
        f"FastAPI keeps its dependency exit stack under none of {DEPENDENCY_STACK_KEYS} in this version; "
        "fastapi-ws-reject cannot answer rejections here. Please report the FastAPI version."
    )


def websocket_channels(websocket: WebSocket) -> tuple[Receive, Send]:
    """The server's `receive` and `send` a Starlette `WebSocket` wraps (`_receive`, `_send` in every version)."""
    return websocket._receive, websocket._send  # pyright: ignore[reportPrivateUsage]


def set_websocket_channels(websocket: WebSocket, receive: Receive, send: Send) -> None:
    """Put `receive` and `send` between a Starlette `WebSocket` and its server, keeping its state checks."""
    websocket._receive, websocket._send = receive, send  # pyright: ignore[reportPrivateUsage]


def effective_routes(routes: Sequence[Any]) -> Iterator[Any]:
    """Routes as they are served: an included router that FastAPI keeps lazily (`_IncludedRouter`, from 0.133)
    gives the copies of its routes it serves, with the include's prefix and dependencies; others are as they are."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            yield route
            continue
        for context in contexts():
            served = getattr(context, "starlette_route", None)
            yield served if served is not None else context.original_route


def dependants(dependant: Dependant | None) -> Iterator[Dependant]:
    """A route's dependant and every sub-dependant, depth first (`Dependant.dependencies`)."""
    if dependant is None:
        return
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def dependency_calls(dependant: Dependant) -> list[Any]:
    """What a route's dependant depends on directly, in the order FastAPI solves them: the route's
    `dependencies=[...]` (an include's first), then the endpoint's `Depends` parameters."""
    return [sub.call for sub in dependant.dependencies]


def middleware_arguments(middleware: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments an `app.add_middleware(...)` entry was given: `args`/`kwargs` from Starlette 0.35,
    `options` before."""
    return tuple(getattr(middleware, "args", ())), dict(
        getattr(middleware, "kwargs", None) or getattr(middleware, "options", {})
    )


def is_async_callable(obj: Any) -> bool:
    """Whether FastAPI awaits `obj` when it calls it: a coroutine function, or an instance whose class has an
    `async def __call__`. Not `starlette._utils.is_async_callable`, which says yes for such a class itself,
    which FastAPI calls to build an instance."""
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(type(obj).__call__)


# FastAPI's own telemetry (0.165+), `FastAPI(telemetry=...)`: while it traces a connection, the scope holds its
# `_RequestTelemetry` under this key, with the connection's server span (`span`, None when not tracing) and the
# selected route's template, mount prefixes included (`route`). The app keeps its `TelemetryConfig` as `_telemetry`.
FASTAPI_TELEMETRY_KEY = "fastapi.telemetry"


def fastapi_connection_span(scope: Scope) -> Any:
    """The server span FastAPI's telemetry opened for this connection, or None (no such telemetry, or not tracing)."""
    return getattr(scope.get(FASTAPI_TELEMETRY_KEY), "span", None)


def fastapi_route(scope: Scope) -> str | None:
    """The route template FastAPI's telemetry names this connection by (`http.route`), or None."""
    route = getattr(scope.get(FASTAPI_TELEMETRY_KEY), "route", None)
    return route if isinstance(route, str) else None


def fastapi_meter_provider(app: object) -> tuple[Any, bool]:
    """The meter provider `app`'s `FastAPI(telemetry=...)` names (None: the global one), and whether its metrics are
    on (`"metrics": False` turns them off); (None, True) for an app without FastAPI's telemetry."""
    config = getattr(app, "_telemetry", None)
    if not isinstance(config, dict):
        return None, True
    settings: dict[str, Any] = config  # pyright: ignore[reportUnknownVariableType]
    return settings.get("meter_provider"), settings.get("metrics", True) is not False
