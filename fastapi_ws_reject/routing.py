"""`RejectingWebSocketRoute` and `RejectingRouter`: routes that send rejections raised anywhere in them."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import WebSocket, params
from fastapi.routing import APIRouter, APIWebSocketRoute, get_websocket_app, websocket_session

from ._conversion import CONVERTED_EXCEPTIONS, as_rejection
from ._sending import send_rejection
from .handlers import track
from .policy import Policy, check_policy

SessionApp = Callable[[WebSocket], Awaitable[None]]


@functools.cache
def route_marker(policy: Policy) -> params.Depends:
    """FastAPI copies websocket routes into plain `APIWebSocketRoute`s when a router is included, keeping only
    path, endpoint, name and dependencies. This dependency rides along: on the copy's first handshake it lets
    the app's exception handlers reject, then turns the copy into a `RejectingWebSocketRoute` for the next ones.
    """

    async def rejecting_route_copy(websocket: WebSocket) -> None:
        track(websocket, policy)
        _upgrade(websocket.scope.get("route"), websocket.scope.get("app"))

    rejecting_route_copy.rejection_policy = policy  # type: ignore[attr-defined]
    return params.Depends(dependency=rejecting_route_copy)


def _marker_policy(dependencies: Sequence[params.Depends]) -> Policy | None:
    return next((getattr(d.dependency, "rejection_policy", None) for d in dependencies if _is_marker(d)), None)


def _is_marker(depends: params.Depends) -> bool:
    return hasattr(depends.dependency, "rejection_policy")


class RejectingWebSocketRoute(APIWebSocketRoute):
    """A FastAPI websocket route that answers a rejection raised in it (guard, dependency or endpoint).

    Before `accept()`: the HTTP response (or accept-then-close, as `rejection_policy` says); after it: a
    close frame. `HTTPException`, validation errors and `WebSocketException` are converted the way FastAPI
    answers them over HTTP.
    """

    sends_rejections = True  # read by `track`: this route needs no help from the app's handlers

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[params.Depends] | None = None,
        dependency_overrides_provider: Any | None = None,
        rejection_policy: Policy = "http",
    ) -> None:
        own_dependencies = [depends for depends in dependencies or () if not _is_marker(depends)]
        self.rejection_policy = check_policy(rejection_policy) or "http"
        super().__init__(
            path,
            endpoint,
            name=name,
            dependencies=own_dependencies,
            dependency_overrides_provider=dependency_overrides_provider,
        )
        session_app = get_websocket_app(
            dependant=self.dependant,
            dependency_overrides_provider=dependency_overrides_provider,
            embed_body_fields=self._embed_body_fields,
        )
        self.app = websocket_session(_rejecting(session_app, self.rejection_policy))
        self.dependencies.insert(0, route_marker(self.rejection_policy))


class RejectingRouter(APIRouter):
    """An `APIRouter` whose websocket routes are `RejectingWebSocketRoute`s, also once included elsewhere.

    ```python
    router = RejectingRouter()

    @router.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str):
        if room not in ROOMS:
            raise HTTPException(404, "no such room")
        await websocket.accept()
    ```

    `rejection_policy` ("http", "close" or "auto") is how its routes send a rejection before accept.
    """

    def __init__(self, *args: Any, rejection_policy: Policy = "http", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejection_policy: Policy = check_policy(rejection_policy) or "http"

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[params.Depends] | None = None,
    ) -> None:
        super().add_api_websocket_route(path, endpoint, name, dependencies=dependencies)
        plain = self.routes[-1]
        assert isinstance(plain, APIWebSocketRoute)
        self.routes[-1] = RejectingWebSocketRoute(
            plain.path,
            plain.endpoint,
            name=plain.name,
            dependencies=plain.dependencies,
            dependency_overrides_provider=self.dependency_overrides_provider,
            rejection_policy=_marker_policy(plain.dependencies) or self.rejection_policy,
        )


def _upgrade(route: Any, dependency_overrides_provider: Any) -> None:
    policy = _marker_policy(route.dependencies) if type(route) is APIWebSocketRoute else None
    if policy is not None:
        route.__class__ = RejectingWebSocketRoute
        RejectingWebSocketRoute.__init__(
            route,
            route.path,
            route.endpoint,
            name=route.name,
            dependencies=route.dependencies,
            dependency_overrides_provider=dependency_overrides_provider,
            rejection_policy=policy,
        )


def _rejecting(session_app: SessionApp, policy: Policy) -> SessionApp:
    async def rejecting_app(websocket: WebSocket) -> None:
        try:
            await session_app(websocket)
        except CONVERTED_EXCEPTIONS as exc:
            await send_rejection(
                websocket.scope, websocket.send, as_rejection(exc), websocket.application_state, policy
            )

    return rejecting_app
