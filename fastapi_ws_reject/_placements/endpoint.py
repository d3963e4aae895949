"""What a `RejectingRouter` route is made of, so that it answers whatever it raises, in every copy of it.

FastAPI copies a router's websocket routes when it is included, keeping the endpoint and the `dependencies`
objects. So the route's policy and what it declares for the AsyncAPI document ride on its endpoint
(`AnsweringEndpoint`), and each of its `dependencies=[Depends(f)]` becomes `Depends(AnsweredDependency)`, which
has FastAPI solve the dependency that answers before `f`: FastAPI solves a route's `dependencies` before the
endpoint's parameters, so a rejection raised there would otherwise find nothing to answer it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, WebSocket, params
from pydantic import BaseModel

from .._compat import is_async_callable
from .._pipeline.answering import Answerer, answer, answer_rejections, app_rejection_policy
from .._pipeline.conversion import CONVERTED_EXCEPTIONS
from .._rejection import WebSocketRejection
from ..guards._base import is_guard
from ..policy import Policy
from .early_guards import answers_itself

logger = logging.getLogger("fastapi_ws_reject")

PREPENDED_WARNING = (
    "Websocket route %s got dependencies=[...] from the router or app it was included in (%s): a rejection they "
    "raise is answered by the app's exception handlers, not by the route. Call add_rejection_handlers(app), or "
    "give the dependencies to the RejectingRouter (RejectingRouter(dependencies=[...]) or the route's own)."
)
_ANSWERS = "_fastapi_ws_reject_answers"
_WEBSOCKET = "_fastapi_ws_reject_websocket"


@dataclass(frozen=True)
class Declared:
    """What a route declares for the AsyncAPI document: `rejections=`, `receives=`, `sends=`."""

    rejections: tuple[WebSocketRejection, ...] = ()
    receives: type[BaseModel] | None = None
    sends: type[BaseModel] | None = None


def declared(
    rejections: Iterable[WebSocketRejection] | None,
    receives: type[BaseModel] | None,
    sends: type[BaseModel] | None,
) -> Declared:
    """What a route declares, checked."""
    if isinstance(rejections, WebSocketRejection):
        raise TypeError("rejections must be a list of WebSocketRejection; write rejections=[WebSocketRejection(...)].")
    found = tuple(rejections or ())
    for rejection in found:
        if not isinstance(rejection, WebSocketRejection):
            raise TypeError(f"rejections must hold WebSocketRejection instances, got {rejection!r}.")
    for name, model in (("receives", receives), ("sends", sends)):
        if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{name} must be a pydantic model class (a BaseModel subclass), got {model!r}.")
    return Declared(found, receives, sends)


class AnsweringEndpoint(Answerer):
    """What a `RejectingRouter` route's endpoint answers with: `policy`, what the route `declared`, the user's
    `endpoint`. The route's endpoint is `route_endpoint`, this object's method under the user's endpoint's name
    and parameters, after hidden ones: a method, so that FastAPI finds the function it reports on as it does for
    a plain endpoint (`route.endpoint.__wrapped__` is the user's), and `answering_of` finds this object from it.

    Parameters that FastAPI solves and that can fail get a first, hidden dependency that answers where FastAPI
    unwinds (so validation errors and its dependencies' rejections are answered, and dependencies with `yield`
    see the exception first); with none, or only guards that answer their own refusals, a plain `except` answers.
    """

    endpoint: Callable[..., Any]
    declared: Declared
    route_endpoint: Callable[..., Any]

    def __init__(self, endpoint: Callable[..., Any], policy: Policy, declared: Declared = Declared()) -> None:
        if not (is_async_callable(endpoint) or inspect.iscoroutinefunction(inspect.unwrap(endpoint))):
            # What FastAPI awaits: an `async def`, an object with one as `__call__`, or a decorator around one.
            raise TypeError(f"Websocket endpoints must be `async def`; {endpoint!r} is not.")
        self.endpoint, self.policy, self.declared = endpoint, policy, declared
        self._warned = False
        signature = inspect.signature(endpoint, eval_str=True)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()]
        self._hidden: set[str] = set()
        self._websocket = next((p.name for p in own if p.annotation is WebSocket), None)
        first: list[inspect.Parameter] = []
        self._by_dependency = not all(p.annotation is WebSocket or answers_itself(p) for p in own)
        if self._by_dependency:
            first.append(inspect.Parameter(_ANSWERS, inspect.Parameter.KEYWORD_ONLY, annotation=_ANSWERS_DEPENDENCY))
            self._hidden.add(_ANSWERS)
        if self._websocket is None:  # FastAPI gives the WebSocket to any parameter so annotated, at no cost
            first.append(inspect.Parameter(_WEBSOCKET, inspect.Parameter.KEYWORD_ONLY, annotation=WebSocket))
            self._hidden.add(_WEBSOCKET)
        self.route_endpoint = _method(self, signature.replace(parameters=[*first, *own]))

    def declaring(self, declares: Declared) -> AnsweringEndpoint:
        """This endpoint with what its route declares for the AsyncAPI document."""
        return AnsweringEndpoint(self.endpoint, self.policy, declares)

    async def answer_handshake(self, values: dict[str, Any]) -> Any:
        websocket: WebSocket = values[self._websocket or _WEBSOCKET]
        self._warn_about_dependencies_outside(websocket)
        for name in self._hidden:
            del values[name]
        if self._by_dependency:
            return await self.endpoint(**values)
        try:
            return await self.endpoint(**values)
        except CONVERTED_EXCEPTIONS as exc:
            await answer(websocket, exc, self.policy)
            return None

    def _warn_about_dependencies_outside(self, websocket: WebSocket) -> None:
        """Say once when this endpoint serves a route that a plain router or app gave `dependencies`: FastAPI
        solves those before anything of the endpoint's, so only the app's handlers can answer them."""
        if self._warned:
            return
        route = websocket.scope.get("route")
        outside = [d for d in getattr(route, "dependencies", ()) if not _answered(d.dependency)]
        if outside and app_rejection_policy(websocket.scope.get("app")) is None:
            self._warned = True
            names = ", ".join(getattr(d.dependency, "__name__", repr(d.dependency)) for d in outside)
            logger.warning(PREPENDED_WARNING, getattr(route, "path", "?"), names)


async def _endpoint(answering: AnsweringEndpoint, /, **values: Any) -> Any:
    return await answering.answer_handshake(values)


def _method(answering: AnsweringEndpoint, signature: inspect.Signature) -> Callable[..., Any]:
    """`_endpoint` bound to `answering`, a fresh function that bears the user's endpoint's name, `__wrapped__`
    and `signature` (after the parameter the method binds)."""
    function = types.FunctionType(_endpoint.__code__, _endpoint.__globals__, closure=_endpoint.__closure__)
    functools.update_wrapper(function, answering.endpoint)
    bound = inspect.Parameter("answering", inspect.Parameter.POSITIONAL_ONLY)
    function.__signature__ = signature.replace(parameters=[bound, *signature.parameters.values()])  # type: ignore[attr-defined]
    return types.MethodType(function, answering)


def answering_of(endpoint: object) -> AnsweringEndpoint | None:
    """The `AnsweringEndpoint` behind a route's endpoint, or None when the library did not make it."""
    owner = getattr(endpoint, "__self__", None)
    return owner if isinstance(owner, AnsweringEndpoint) else None


class AnsweredDependency:
    """A route's `Depends(f)`, solved after the dependency that answers: what `f`, its parameters and its
    sub-dependencies raise is answered by the route. It bears `f`'s name; `depends` is the user's `Depends`,
    whose `f` FastAPI solves as a sub-dependency (so overrides, `yield`, caching and scopes are FastAPI's own).
    No `__wrapped__`: FastAPI would unwrap it to decide how to call it."""

    def __init__(self, depends: params.Depends) -> None:
        self.depends = depends
        call = depends.dependency
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            if hasattr(call, name):
                setattr(self, name, getattr(call, name))
        self.__signature__ = inspect.Signature(
            [
                inspect.Parameter(_ANSWERS, inspect.Parameter.KEYWORD_ONLY, annotation=_ANSWERS_DEPENDENCY),
                inspect.Parameter("value", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Any, depends]),
            ]
        )

    async def __call__(self, **values: Any) -> Any:
        return values["value"]


def answered(dependencies: Sequence[params.Depends]) -> list[params.Depends]:
    """A route's `dependencies`, each solved after the dependency that answers, unless it answers itself (a
    library guard that needs only the connection: it is left as it is, so a route served as built checks it
    before FastAPI's solving) or already does."""
    return [d if _answered(d.dependency) else params.Depends(AnsweredDependency(d)) for d in dependencies]


def solved_call(call: Any) -> Any:
    """What FastAPI solves for a route's dependency: the user's `f` behind an `AnsweredDependency`."""
    return call.depends.dependency if isinstance(call, AnsweredDependency) else call


def _answered(call: Any) -> bool:
    return isinstance(call, AnsweredDependency) or (is_guard(call) and call.connection_only)


_ANSWERS_DEPENDENCY = Annotated[None, Depends(answer_rejections)]


def declared_of(endpoint: object) -> Declared:
    """What the route served by `endpoint` declares: nothing, unless a `RejectingRouter` made it."""
    answering = answering_of(endpoint)
    return answering.declared if answering is not None else Declared()
