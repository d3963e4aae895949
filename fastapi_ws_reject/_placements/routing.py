"""`RejectingWebSocketRoute` and `RejectingRouter`: routes that send rejections raised anywhere in them.

FastAPI copies a router's websocket routes into plain `APIWebSocketRoute`s when it is included (FastAPI
0.165 even when the parent is a `RejectingRouter`), keeping the path, name, dependencies and endpoint.
So the behaviour rides on the endpoint (`_endpoint.AnsweringEndpoint`), the same in the original route and in
every copy: it answers what the endpoint, its parameters and the route's `dependencies=[...]` raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import params
from fastapi.routing import APIRouter, APIWebSocketRoute
from fastapi.types import DecoratedCallable
from pydantic import BaseModel
from starlette.routing import get_name
from starlette.types import ASGIApp, Receive, Scope, Send

from .._arguments import check_policy
from .._compat import dependency_calls
from .._pipeline.answering import refuse
from .._rejection import WebSocketRejection
from ..guards._base import Guard
from ..policy import Policy
from .early_guards import guards_first, leading_guards
from .endpoint import AnsweringEndpoint, Declared, answered, answering_of, declared, solved_call

_logger = logging.getLogger("fastapi_ws_reject")

APP_DEPENDENCIES_SKIPPED = WebSocketRejection(500, {"detail": "Internal Server Error"})
APP_DEPENDENCIES_SKIPPED_LOG = (
    "Refused websocket %s: the app's dependencies=[...] (%s) do not run on this route, which is served as built or "
    "through a mounted router; FastAPI adds them only when a route is included. Include the router with "
    "app.include_router(router), or give the route the app's dependencies (RejectingRouter(dependencies=...)); "
    "for guards on every handshake, use WebSocketGuardMiddleware."
)


class RejectingWebSocketRoute(APIWebSocketRoute):
    """A FastAPI websocket route that answers a rejection raised in it (guard, dependency or endpoint).

    ```python
    app.router.routes.append(RejectingWebSocketRoute("/ws", endpoint, policy="auto"))
    ```

    `RejectingRouter` builds these for its websocket routes; use one directly to add a single route.
    Before `accept()`: the HTTP response (or accept-then-close, as `policy` says); after it: a close frame.
    `HTTPException`, validation errors and `WebSocketException` are converted the way FastAPI answers them
    over HTTP. Its `endpoint` is the answering wrapper (`endpoint.__wrapped__` is yours).

    Served as built (not copied by `include_router`), it checks its leading guards before FastAPI solves
    its dependencies, unless the app overrides one: a refusal then costs about what the middleware's does.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[params.Depends] | None = None,
        dependency_overrides_provider: Any | None = None,
        policy: Policy = "http",
    ) -> None:
        # A RejectingRouter's route, included in another: it keeps its policy.
        answering = answering_of(endpoint) or AnsweringEndpoint(endpoint, check_policy(policy) or "http")
        self.policy: Policy = answering.policy
        super().__init__(
            path,
            answering.route_endpoint,
            name=get_name(answering.endpoint) if name is None else name,
            dependencies=answered(dependencies or ()),
            dependency_overrides_provider=dependency_overrides_provider,
        )
        #: the leading guards checked before FastAPI solves this route's dependencies, when it is served as built
        self.early_guards: tuple[Guard[Any], ...] = leading_guards(self.dependant)
        if self.early_guards:
            self.app: ASGIApp = guards_first(self.app, self.early_guards, dependency_overrides_provider, self.policy)
        self._solved = frozenset(id(solved_call(call)) for call in dependency_calls(self.dependant))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        skipped = self._skipped_app_dependencies(scope)
        if skipped:
            _logger.error(APP_DEPENDENCIES_SKIPPED_LOG, self.path_format, ", ".join(skipped))
            await refuse(scope, send, APP_DEPENDENCIES_SKIPPED, self.policy)
            return
        await super().handle(scope, receive, send)

    def _skipped_app_dependencies(self, scope: Scope) -> list[str]:
        """The app's own `dependencies=[...]` this route does not solve: it was not included, so FastAPI never
        added them, and a guard there (an app-wide `IPGuard`) would be bypassed. Failing closed says so."""
        app_dependencies = getattr(getattr(scope.get("app"), "router", None), "dependencies", None)
        if not app_dependencies:
            return []
        return [
            getattr(d.dependency, "__name__", type(d.dependency).__name__)
            for d in app_dependencies
            if id(d.dependency) not in self._solved
        ]


class RejectingRouter(APIRouter):
    """An `APIRouter` whose websocket routes answer the rejections raised in them, also once included elsewhere.

    ```python
    router = RejectingRouter()

    @router.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str):
        if room not in ROOMS:
            raise HTTPException(404, "no such room")
        await websocket.accept()
    ```

    `policy` ("http", "close" or "auto") is how its routes send a rejection before accept. A route's
    `rejections=` (what the endpoint raises itself), `receives=` and `sends=` (pydantic models of its
    messages) go into the app's AsyncAPI document (`fastapi_ws_reject.asyncapi`).

    Its routes are `RejectingWebSocketRoute`s while the router is served as built or mounted. Including it
    (`app.include_router(router)`) copies each into a plain `APIWebSocketRoute` (FastAPI 0.165 does so even when
    the parent is a `RejectingRouter`); what rides along is the endpoint, which answers the rejections, and the
    route's dependencies, which that endpoint answers too, under the router's `policy`. Only the fast refusal
    (leading guards checked before FastAPI solves the dependencies) is `RejectingWebSocketRoute`'s own: a copy
    refuses the same handshakes with the same answers, once FastAPI calls the guards.
    """

    def __init__(self, *args: Any, policy: Policy = "http", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy: Policy = check_policy(policy) or "http"

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[params.Depends] | None = None,
        rejections: Iterable[WebSocketRejection] | None = None,
        receives: type[BaseModel] | None = None,
        sends: type[BaseModel] | None = None,
    ) -> None:
        declares = declared(rejections, receives, sends)
        super().add_api_websocket_route(path, endpoint, name, dependencies=dependencies)
        plain = self.routes[-1]
        assert isinstance(plain, APIWebSocketRoute)
        answering = answering_of(endpoint)
        if answering is None:
            answering = AnsweringEndpoint(endpoint, self.policy, declared=declares)
        elif declares != Declared():
            answering = answering.declaring(declares)
        self.routes[-1] = RejectingWebSocketRoute(
            plain.path,
            answering.route_endpoint,
            name=plain.name,
            dependencies=plain.dependencies,
            dependency_overrides_provider=self.dependency_overrides_provider,
        )

    def websocket(
        self,
        path: str,
        name: str | None = None,
        *,
        dependencies: Sequence[params.Depends] | None = None,
        rejections: Iterable[WebSocketRejection] | None = None,
        receives: type[BaseModel] | None = None,
        sends: type[BaseModel] | None = None,
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """`APIRouter.websocket`, plus what the route declares for the AsyncAPI document."""

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_websocket_route(
                path, func, name, dependencies=dependencies, rejections=rejections, receives=receives, sends=sends
            )
            return func

        return decorator
