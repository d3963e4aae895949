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

from .._compat import FASTAPI_DEFAULT_HANDLERS, dependency_exit_stack, is_async_callable
from .._rejection import WebSocketRejection
from ..policy import Policy
from .conversion import CONVERTED_EXCEPTIONS, as_rejection
from .sending import send_rejection


class Answerer:
    """An endpoint or an exception handler the library made: it answers rejections, with `policy` before accept."""

    policy: Policy


class RejectionHandler(Answerer):
    """The exception handler `add_rejection_handlers` registers: on a websocket, the user's handler it replaced
    (`user_handler`) first, then the rejection, sent with `policy`; on HTTP, the handler it replaced."""

    def __init__(self, previous: Any, policy: Policy) -> None:
        self.previous = previous
        self.user_handler: Any = None if previous in FASTAPI_DEFAULT_HANDLERS else previous
        self.policy = policy

    async def __call__(self, conn: HTTPConnection, exc: Exception) -> Any:
        if isinstance(conn, WebSocket):
            await answer(conn, exc, None)
            return None
        if self.previous is None:
            raise exc
        return await call_handler(self.previous, conn, exc)


def policy_for(rejection: WebSocketRejection, *inherited: Policy | None) -> Policy:
    """How `rejection` is sent before accept, the one order: its own policy (a guard's refusal carries its guard's),
    then the first of `inherited` that is set (the route's, then the app's), else "http"."""
    for policy in (rejection.policy, *inherited):
        if policy is not None:
            return policy
    return "http"


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
    owner = getattr(endpoint, "__self__", None)  # a RejectingRouter endpoint is a method of its AnsweringEndpoint
    return owner.policy if isinstance(owner, Answerer) else None


async def answer(websocket: WebSocket, exc: Exception, policy: Policy | None = None) -> None:
    """Let the user's handler for `exc` answer; if it sent nothing, send `exc` as a rejection."""
    handler = user_handler(websocket.scope.get("app"), exc)
    if handler is not None:
        state = websocket.application_state
        await call_handler(handler, websocket, exc)
        if websocket.application_state is not state:
            return
    rejection = as_rejection(exc)
    policy = policy_for(rejection, policy, app_rejection_policy(websocket.scope.get("app")))
    await send_rejection(websocket.scope, websocket.send, rejection, websocket.application_state, policy)


async def refuse(scope: Scope, send: Send, rejection: WebSocketRejection, policy: Policy) -> None:
    """Refuse a handshake from a wrapper of the app (the middleware), before any route: no handler to ask."""
    await send_rejection(scope, send, rejection, WebSocketState.CONNECTING, policy_for(rejection, policy))


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
            if isinstance(handler, RejectionHandler):  # the library's own wraps the user's
                handler = handler.user_handler
            return None if handler in FASTAPI_DEFAULT_HANDLERS else handler
    return None


def app_rejection_policy(app: Any) -> Policy | None:
    """The policy `add_rejection_handlers` gave `app`, or None when it was not called."""
    handlers: dict[Any, Any] = getattr(app, "exception_handlers", None) or {}
    handler = handlers.get(WebSocketRejection)
    return handler.policy if isinstance(handler, Answerer) else None
