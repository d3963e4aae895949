"""`WebSocketGuardMiddleware`: guards applied to websocket handshakes before routing, the fast app-wide path."""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from .._arguments import check_policy
from .._pipeline.answering import refuse
from .._pipeline.watching import start_watch
from .._rejection import WebSocketRejection
from ..guards._base import AnyGuard, Guard, HoldingGuard, hold
from ..guards._composition import all_of
from ..policy import Policy

NOT_FOUND = WebSocketRejection(404, {"detail": "Not Found"})
_NOTHING = "(?!)"


class WebSocketGuardMiddleware:
    """Run `guards` on every websocket handshake whose path matches `include` and not `exclude`.

    ```python
    app.add_middleware(
        WebSocketGuardMiddleware,
        guards=[OriginGuard(["https://app.example.com"], allow_missing=False), RateLimitGuard(20, per=60)],
        include=["/ws/*"],
        not_found=True,
    )
    ```

    Patterns are shell-style (`fnmatch`: `*` also crosses `/`) and match the path the app's routes see, without
    `root_path` (`uvicorn --root-path`, or the prefix of a `Mount`). A refused handshake gets the guard's
    rejection, as on a `RejectingRouter` route (or the fallback close where the server lacks the denial
    extension); HTTP requests pass untouched. A `ConnectionLimitGuard` holds its slot until the app returns.
    With `not_found=True`, a websocket path that matches no route of the app is answered 404, where
    Starlette would close it (a misleading 403); the guards run first, so a refused client learns nothing
    about which paths exist, and 404 probes count toward a `RateLimitGuard`. `policy` ("http", "close", "auto") is
    how refusals are sent.
    """

    def __init__(
        self,
        app: ASGIApp,
        guards: Iterable[AnyGuard] = (),
        *,
        include: Iterable[str] = ("*",),
        exclude: Iterable[str] = (),
        not_found: bool = False,
        policy: Policy = "http",
    ) -> None:
        guards = tuple(guards)
        if not guards and not not_found:
            raise ValueError("WebSocketGuardMiddleware without guards or not_found=True does nothing; give a guard.")
        self.app = app
        composed = all_of(*guards) if guards else None  # which also refuses guards that need a route
        # One guard is run as itself: `all_of` would only add a layer to every handshake.
        self.guard: AnyGuard | None = guards[0] if len(guards) == 1 else composed
        self.guards = guards
        self.include: re.Pattern[str] = _patterns("include", include)
        self.exclude: re.Pattern[str] = _patterns("exclude", exclude)
        self.everywhere: bool = self.include.pattern == fnmatch.translate("*") and self.exclude.pattern == _NOTHING
        self.not_found = not_found
        self.policy: Policy = check_policy(policy) or "http"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not self._applies(route_path(scope)):
            await self.app(scope, receive, send)
            return
        watch = start_watch(scope, receive, send)
        try:
            if isinstance(self.guard, HoldingGuard):
                async with contextlib.AsyncExitStack() as held:
                    if await self._admits(scope, receive, send, held):
                        await watch.serve(self.app)
            elif await self._admits(scope, receive, send, None):
                await watch.serve(self.app)
        finally:
            watch.stop()

    async def _admits(self, scope: Scope, receive: Receive, send: Send, held: contextlib.AsyncExitStack | None) -> bool:
        """Whether the handshake may go on to the app: the guards pass (a holding guard entered on `held`, held
        until the app returns), then its path is routed; a refusal is answered here."""
        try:
            if isinstance(self.guard, Guard):
                await self.guard._admit(HTTPConnection(scope))
            elif self.guard is not None and held is not None:
                await held.enter_async_context(hold(self.guard, WebSocket(scope, receive, send)))
        except WebSocketRejection as refusal:
            await refuse(scope, send, refusal, self.policy)
            return False
        # After the guards, so that a refused client cannot probe which paths exist, and 404 probes count toward
        # a RateLimitGuard like any other handshake.
        if self.not_found and not _routed(scope):
            await refuse(scope, send, NOT_FOUND, self.policy)
            return False
        return True

    def _applies(self, path: str) -> bool:
        return self.everywhere or (bool(self.include.match(path)) and not self.exclude.match(path))


def route_path(scope: Scope) -> str:
    """The path the app's routes match: `path` without `root_path` (a `--root-path` or a `Mount`), as Starlette
    routes it. Matching the full path would let `include=["/ws/*"]` miss `/api/ws/x` that routing serves."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and (len(path) == len(root_path) or path[len(root_path)] == "/"):
        return path[len(root_path) :]
    return path


def _patterns(name: str, patterns: Iterable[str]) -> re.Pattern[str]:
    if isinstance(patterns, str):
        raise TypeError(f"{name} must be a list of path patterns, not a string; write [{patterns!r}].")
    translated = [fnmatch.translate(pattern) for pattern in patterns]
    return re.compile("|".join(translated) if translated else _NOTHING)


def _routed(scope: Scope) -> bool:
    routes = getattr(scope.get("app"), "routes", None)
    if routes is None:
        return True  # not a Starlette app: we cannot tell, so we do not refuse
    return any(route.matches(scope)[0] is not Match.NONE for route in routes)
