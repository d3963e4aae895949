"""The guards a `RejectingWebSocketRoute` checks before FastAPI solves its dependencies: the fast refusal.

Chosen when the route is built: its leading dependencies that are library guards needing only the
connection (a `Guard` whose `connection_only` says so). FastAPI would call them first anyway, so checking them
earlier changes no order; it skips FastAPI's solving for a refused handshake. A passing guard's value is
left for the guard to take when FastAPI calls it, so the endpoint still gets it and no check runs twice.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeGuard

from fastapi import params
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from .._compat import Dependant, dependency_calls
from .._pipeline.answering import answer, answer_rejections
from .._pipeline.conversion import CONVERTED_EXCEPTIONS
from .._pipeline.watching import start_watch
from ..guards._base import CHECKED_KEY, Guard
from ..guards._checks import CheckGuard
from ..policy import Policy


def leading_guards(dependant: Dependant) -> tuple[Guard[Any], ...]:
    """The guards FastAPI calls first on this route, before anything that needs its dependency solving."""
    guards: list[Guard[Any]] = []
    for call in dependency_calls(dependant):
        if call is answer_rejections:  # the hidden dependency that only arranges answering: nothing to check
            continue
        if not _checks_the_connection_only(call):
            break
        if call not in guards:
            guards.append(call)
    return tuple(guards)


def answers_itself(parameter: inspect.Parameter) -> bool:
    """Whether an endpoint's parameter is `Depends(guard)` on a guard that needs only the connection: nothing
    FastAPI solves for it can fail, and the guard answers its own refusal, so it needs no answering dependency."""
    depends = [parameter.default, *getattr(parameter.annotation, "__metadata__", ())]
    return any(isinstance(d, params.Depends) and _checks_the_connection_only(d.dependency) for d in depends)


def _checks_the_connection_only(call: Any) -> TypeGuard[Guard[Any]]:
    return isinstance(call, Guard) and call.connection_only


def overridden(guards: tuple[Guard[Any], ...], dependency_overrides_provider: Any, scope: Scope) -> bool:
    """Whether the app replaces one of `guards`, or the check of a `ws_guard` among them: then FastAPI solves
    them, and the check's override is found as `CheckGuard` finds it (in the serving app's overrides)."""
    overrides: dict[Any, Any] | None = getattr(dependency_overrides_provider, "dependency_overrides", None)
    if overrides and not overrides.keys().isdisjoint(guards):
        return True
    return any(isinstance(guard, CheckGuard) and guard.check_override(scope) is not None for guard in guards)


def guards_first(
    app: ASGIApp, guards: tuple[Guard[Any], ...], dependency_overrides_provider: Any, policy: Policy
) -> ASGIApp:
    """The route's `app` (FastAPI's solving and endpoint), after `guards` checked the handshake."""

    async def checking_guards_first(scope: Scope, receive: Receive, send: Send) -> None:
        if overridden(guards, dependency_overrides_provider, scope):
            await app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        watch = start_watch(scope, receive, send)
        checked: dict[Guard[Any], Any] = {}
        try:
            try:
                for guard in guards:
                    checked[guard] = await guard._admit(websocket)
            except CONVERTED_EXCEPTIONS as exc:
                await answer(websocket, exc, policy)
                return
            scope[CHECKED_KEY] = checked
            await watch.serve(app)
        finally:
            scope.pop(CHECKED_KEY, None)
            watch.stop()

    return checking_guards_first
