"""`RejectingWebSocketRoute` and `RejectingRouter`: routes that send rejections raised anywhere in them.

FastAPI copies a router's websocket routes into plain `APIWebSocketRoute`s when it is included (FastAPI
0.165 even when the parent is a `RejectingRouter`), keeping the path, name, dependencies and endpoint.
So the behaviour rides on the endpoint: a wrapper that answers what the endpoint and its parameters raise,
the same in the original route and in every copy, with nothing added to `route.dependencies`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, WebSocket, params
from fastapi.routing import APIRouter, APIWebSocketRoute
from fastapi.types import DecoratedCallable
from pydantic import BaseModel
from starlette.types import ASGIApp

from ._answering import POLICY_ATTRIBUTE, answer, answer_rejections
from ._asyncapi_declared import declare
from ._callables import is_async_callable
from ._conversion import CONVERTED_EXCEPTIONS
from ._early_guards import answers_itself, guards_first, leading_guards
from .guards.base import Guard
from .policy import Policy, check_policy
from .rejection import WebSocketRejection

_ANSWERS = "_fastapi_ws_reject_answers"
_WEBSOCKET = "_fastapi_ws_reject_websocket"
_ANSWERS_DEPENDENCY = Annotated[None, Depends(answer_rejections)]


def rejecting_endpoint(endpoint: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    """`endpoint`, answering every rejection raised in it or in its parameters with `policy`.

    An endpoint with parameters besides its `WebSocket` gets a first, hidden dependency that answers
    where FastAPI unwinds (so validation errors and its dependencies' rejections are answered, and its
    dependencies with `yield` see the exception first); one with none, or only guards that answer their
    own refusals, is answered by a plain `except`.
    """
    if getattr(endpoint, POLICY_ATTRIBUTE, None) is not None:
        return endpoint  # already a rejecting endpoint: it keeps its router's policy
    if not (is_async_callable(endpoint) or inspect.iscoroutinefunction(inspect.unwrap(endpoint))):
        # What FastAPI awaits: an `async def`, an object with one as `__call__`, or a decorator around one.
        raise TypeError(f"Websocket endpoints must be `async def`; {endpoint!r} is not.")
    signature = inspect.signature(endpoint, eval_str=True)
    keyword_only = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()]
    websocket_names = [p.name for p in keyword_only if p.annotation is WebSocket]
    hidden: list[inspect.Parameter] = []
    if not all(p.annotation is WebSocket or answers_itself(p) for p in keyword_only):
        rejecting = _answering_by_dependency(endpoint)
        hidden.append(inspect.Parameter(_ANSWERS, inspect.Parameter.KEYWORD_ONLY, annotation=_ANSWERS_DEPENDENCY))
    elif websocket_names:  # FastAPI injects the WebSocket into one parameter only: share the endpoint's
        rejecting = _answering_by_except(endpoint, policy, websocket_names[0], keep=True)
    else:
        rejecting = _answering_by_except(endpoint, policy, _WEBSOCKET, keep=False)
        hidden.append(inspect.Parameter(_WEBSOCKET, inspect.Parameter.KEYWORD_ONLY, annotation=WebSocket))
    rejecting.__signature__ = signature.replace(parameters=[*hidden, *keyword_only])  # type: ignore[attr-defined]
    setattr(rejecting, POLICY_ATTRIBUTE, policy)
    return rejecting


def _answering_by_dependency(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def endpoint_answering_rejections(**values: Any) -> Any:
        del values[_ANSWERS]
        return await endpoint(**values)

    return endpoint_answering_rejections


def _answering_by_except(endpoint: Callable[..., Any], policy: Policy, name: str, keep: bool) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def endpoint_answering_rejections(**values: Any) -> Any:
        websocket = values[name] if keep else values.pop(name)
        try:
            return await endpoint(**values)
        except CONVERTED_EXCEPTIONS as exc:
            await answer(websocket, exc, policy)
            return None

    return endpoint_answering_rejections


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
        self.policy: Policy = check_policy(policy) or "http"
        super().__init__(
            path,
            rejecting_endpoint(endpoint, self.policy),
            name=name,
            dependencies=dependencies,
            dependency_overrides_provider=dependency_overrides_provider,
        )
        #: the leading guards checked before FastAPI solves this route's dependencies, when it is served as built
        self.early_guards: tuple[Guard[Any], ...] = leading_guards(self.dependant)
        if self.early_guards:
            policy = getattr(self.endpoint, POLICY_ATTRIBUTE, self.policy)
            self.app: ASGIApp = guards_first(self.app, self.early_guards, dependency_overrides_provider, policy)


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

    `policy` ("http", "close" or "auto") is how its routes send a rejection before accept. A route's
    `rejections=` (what the endpoint raises itself), `receives=` and `sends=` (pydantic models of its
    messages) go into the app's AsyncAPI document (`fastapi_ws_reject.asyncapi`).
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
        super().add_api_websocket_route(path, endpoint, name, dependencies=dependencies)
        plain = self.routes[-1]
        assert isinstance(plain, APIWebSocketRoute)
        self.routes[-1] = RejectingWebSocketRoute(
            plain.path,
            endpoint,
            name=plain.name,
            dependencies=plain.dependencies,
            dependency_overrides_provider=self.dependency_overrides_provider,
            policy=getattr(endpoint, POLICY_ATTRIBUTE, None) or self.policy,
        )
        rejecting = self.routes[-1]
        assert isinstance(rejecting, RejectingWebSocketRoute)
        declare(rejecting.endpoint, rejections, receives, sends)

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
