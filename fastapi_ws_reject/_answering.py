"""Answering what a websocket route raised: the user's own exception handler first, then the library.

A route's rejections are answered where FastAPI unwinds its dependencies: `answer_rejections` is a cheap
dependency that puts a callback on that exit stack, so the handshake's own `WebSocket` answers, the
user's dependencies with `yield` see the exception as in plain FastAPI, and nothing in the app changes.
"""

from __future__ import annotations

import functools
from types import TracebackType
from typing import Any

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import Scope, Send
from starlette.websockets import WebSocketState

from ._callables import is_async_callable
from ._compat import FASTAPI_DEFAULT_HANDLERS, dependency_exit_stack
from ._conversion import CONVERTED_EXCEPTIONS, as_rejection
from ._sending import send_rejection
from .policy import Policy
from .rejection import WebSocketRejection

#: marks the endpoints and handlers the library made, with the policy they answer with
POLICY_ATTRIBUTE = "fastapi_ws_reject_policy"


async def answer_rejections(websocket: WebSocket) -> None:
    """A dependency: rejections raised after it in this handshake are answered when FastAPI unwinds.

    On a `RejectingRouter` route it answers every converted exception; elsewhere (a guard on a plain route)
    only `WebSocketRejection`, and the app's handlers see the rest as in plain FastAPI.
    """
    answer_from_here(websocket)


def answer_from_here(websocket: WebSocket) -> None:
    """What `answer_rejections` does, for a guard that FastAPI is calling now (no dependency to solve).

    Two callbacks on one handshake do no harm: the innermost answers, and the others then see no exception.
    """
    dependency_exit_stack(websocket.scope).push_async_exit(functools.partial(_answer_on_exit, websocket))


async def _answer_on_exit(
    websocket: WebSocket, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
) -> bool:
    route_policy = route_rejection_policy(websocket)
    answered = CONVERTED_EXCEPTIONS if route_policy is not None else (WebSocketRejection,)
    if not isinstance(exc, answered):
        return False
    await answer(websocket, exc, route_policy)
    return True


def route_rejection_policy(websocket: WebSocket) -> Policy | None:
    """The `RejectingRouter` policy of the route serving this handshake, or None for a plain route."""
    endpoint = getattr(websocket.scope.get("route"), "endpoint", None)
    return getattr(endpoint, POLICY_ATTRIBUTE, None)


async def answer(websocket: WebSocket, exc: Exception, policy: Policy | None = None) -> None:
    """Let the user's handler for `exc` answer; if it sent nothing, send `exc` as a rejection."""
    handler = user_handler(websocket.scope.get("app"), exc)
    if handler is not None:
        state = websocket.application_state
        await call_handler(handler, websocket, exc)
        if websocket.application_state is not state:
            return
    policy = policy or app_rejection_policy(websocket.scope.get("app")) or "http"
    await send_rejection(websocket.scope, websocket.send, as_rejection(exc), websocket.application_state, policy)


async def refuse(scope: Scope, send: Send, rejection: WebSocketRejection, policy: Policy) -> None:
    """Refuse a handshake from a wrapper of the app (the middleware), before any route: no handler to ask."""
    await send_rejection(scope, send, rejection, WebSocketState.CONNECTING, policy)


async def call_handler(handler: Any, conn: HTTPConnection, exc: Exception) -> Any:
    """Call an exception handler as Starlette does: awaited, or in the threadpool when it is sync."""
    if is_async_callable(handler):
        return await handler(conn, exc)
    return await run_in_threadpool(handler, conn, exc)


def user_handler(app: Any, exc: Exception) -> Any:
    """The handler the user registered on `app` for `exc` (or a base class of it), as Starlette looks it up."""
    handlers: dict[Any, Any] = getattr(app, "exception_handlers", None) or {}
    for exc_class in type(exc).__mro__:
        handler = handlers.get(exc_class)
        if handler is not None:
            handler = getattr(handler, "user_handler", handler)  # the library's own wraps the user's
            return None if handler in FASTAPI_DEFAULT_HANDLERS else handler
    return None


def app_rejection_policy(app: Any) -> Policy | None:
    handlers: dict[Any, Any] = getattr(app, "exception_handlers", None) or {}
    return getattr(handlers.get(WebSocketRejection), POLICY_ATTRIBUTE, None)
