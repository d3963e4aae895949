"""The websocket routes of an app for its AsyncAPI document, and the handshake rejections each can send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.routing import APIWebSocketRoute
from pydantic import TypeAdapter, ValidationError
from starlette.routing import Mount, WebSocketRoute

from .._compat import Dependant, dependants, effective_routes, middleware_arguments
from .._pipeline.answering import Answerer, app_rejection_policy, policy_for
from .._placements.endpoint import answering_of, declared_of
from .._placements.middleware import NOT_FOUND, WebSocketGuardMiddleware
from .._rejection import WebSocketRejection
from ..guards._base import AnyGuard, is_guard
from ..guards._messages import MessageLimitGuard
from ..policy import Policy

Entry = dict[str, Any]
Inherited = tuple[Policy | None, ...]  # the policies a rejection falls back on, in `policy_for` order
_LOCATIONS = ("path", "query", "header", "cookie")


@dataclass(frozen=True)
class SocketRoute:
    path: str  # the address, mount prefixes included, parameters as `{name}`
    name: str
    dependant: Dependant | None
    endpoint: Any
    middleware: tuple[tuple[WebSocketGuardMiddleware, str], ...]  # each with the path its app routes
    answers_validation: bool  # a 422 (RejectingRouter or add_rejection_handlers), else FastAPI's close 1008
    route_policy: Policy | None  # its RejectingRouter's policy
    app_policy: Policy | None  # the one add_rejection_handlers gave its app


def socket_routes(app: Any) -> list[SocketRoute]:
    """Every websocket route of `app`, included routers and mounted apps too, in routing order."""
    return list(_walk(app, "", ()))


def _walk(app: Any, prefix: str, middleware: tuple[tuple[WebSocketGuardMiddleware, str], ...]) -> Iterator[SocketRoute]:
    middleware = (*middleware, *((found, prefix) for found in _guard_middleware(app)))
    handler = getattr(app, "exception_handlers", {}).get(WebSocketRequestValidationError)
    app_policy = app_rejection_policy(app)
    for route in effective_routes(getattr(app, "routes", ())):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            yield from _walk(original.app, prefix + original.path, middleware)
        elif isinstance(original, (APIWebSocketRoute, WebSocketRoute)):
            endpoint = route.endpoint
            answering = answering_of(endpoint)
            yield SocketRoute(
                path=prefix + route.path_format,
                name=route.name,
                dependant=getattr(route, "dependant", None),
                endpoint=endpoint,
                middleware=middleware,
                answers_validation=isinstance(handler, Answerer) or answering is not None,
                route_policy=answering.policy if answering is not None else None,
                app_policy=app_policy,
            )


def _guard_middleware(app: Any) -> list[WebSocketGuardMiddleware]:
    found: list[WebSocketGuardMiddleware] = []
    for middleware in getattr(app, "user_middleware", ()):
        if middleware.cls is WebSocketGuardMiddleware:
            args, kwargs = middleware_arguments(middleware)
            found.append(WebSocketGuardMiddleware(app, *args, **kwargs))
    return found


def route_guards(route: SocketRoute) -> list[tuple[AnyGuard, str, Inherited]]:
    """The guards that run on this route's handshake, in order, each with where it comes from and the policies
    its refusals inherit when neither the rejection nor the guard names one (`policy_for`'s order)."""
    guards: list[tuple[AnyGuard, str, Inherited]] = []
    for middleware, base in route.middleware:
        if middleware.guards and middleware._applies(route.path[len(base) :]):
            guards.extend((guard, "middleware", (middleware.policy,)) for guard in middleware.guards)
    seen: set[int] = set()
    for dependant in dependants(route.dependant):
        if is_guard(dependant.call) and id(dependant.call) not in seen:
            seen.add(id(dependant.call))
            guards.append((dependant.call, "route", (route.route_policy, route.app_policy)))
    return guards


def handshake_rejections(route: SocketRoute) -> list[Entry]:
    """`x-handshake-rejections`: every answer this route's handshake can get, from whichever part sends it."""
    entries: list[Entry] = []
    guards = route_guards(route)
    # The middleware's guards run first, then its 404 for a path no route matches, then the route's guards.
    for guard, source, inherited in guards:
        if source == "middleware":
            entries.extend(_guard_entries(guard, source, inherited))
    for middleware, base in route.middleware:
        if middleware.not_found and middleware._applies(route.path[len(base) :]):
            entries.append(rejection_entry(NOT_FOUND, None, "not_found", (middleware.policy,)))
    for guard, source, inherited in guards:
        if source == "route":
            entries.extend(_guard_entries(guard, source, inherited))
    entries.extend(_validation(route))
    declared = declared_of(route.endpoint).rejections
    inherited = (route.route_policy, route.app_policy)
    entries.extend(rejection_entry(rejection, None, "declared", inherited) for rejection in declared)
    unique: list[Entry] = []
    for entry in entries:
        if entry not in unique:
            unique.append(entry)
    return unique


def _guard_entries(guard: AnyGuard, source: str, inherited: Inherited) -> Iterator[Entry]:
    inherited = (guard.policy, *inherited)  # a guard's refusal carries its policy (WebSocketRejection._refusal)
    members: tuple[AnyGuard, ...] | None = getattr(guard, "guards", None)
    if members is None:
        yield from (rejection_entry(rejection, guard.name, source, inherited) for rejection in guard.rejections)
        return
    for member in members:  # all_of / any_of: each member answers with its own rejections
        yield from _guard_entries(member, source, inherited)


def message_limits(route: SocketRoute) -> list[Entry]:
    """`x-message-limits`: how many messages each message limit on this route lets a client send after accept,
    and what a client over it gets."""
    return [
        _message_limit_entry(limit, source)
        for guard, source, _ in route_guards(route)
        for limit in _members(guard)
        if isinstance(limit, MessageLimitGuard)
    ]


def _members(guard: AnyGuard) -> Iterator[AnyGuard]:
    members: tuple[AnyGuard, ...] | None = getattr(guard, "guards", None)
    if members is None:
        yield guard
    else:
        for member in members:
            yield from _members(member)


def _message_limit_entry(limit: MessageLimitGuard, source: str) -> Entry:
    entry: Entry = {
        "guard": limit.name,
        "source": source,
        "limit": limit.limit,
        "per": limit.per,
        "counts": "socket" if limit.key is None else "key",
        "onLimit": limit.on_limit,
    }
    if limit.on_limit == "close":
        entry.update(closeCode=limit.rejection.close_code, closeReason=limit.rejection.reason)
    else:
        entry.update(_dropped(limit.drop_message))
    return entry


def _dropped(content: Any) -> Entry:
    """The message a client over the limit gets, as `rejection_entry` shows a body (binary in hex)."""
    if isinstance(content, (bytes, bytearray, memoryview)):  # what the guard sends as binary
        return {"contentType": "application/octet-stream", "message": bytes(content).hex()}  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(content, str):
        return {"contentType": "text/plain", "message": content}
    return {"contentType": "application/json", "message": jsonable_encoder(content)}


def rejection_entry(rejection: WebSocketRejection, guard: str | None, source: str, inherited: Inherited) -> Entry:
    headers = rejection.headers
    content_type = headers.get("content-type")
    return {
        "status": rejection.status_code,
        "headers": {name: value for name, value in headers.items() if name not in ("content-type", "content-length")},
        "contentType": content_type,
        "body": _decoded(rejection.body, content_type),
        "guard": guard,
        "source": source,
        "closeCode": rejection.close_code,
        "closeReason": rejection.reason,
        "policy": policy_for(rejection, *inherited),
    }


def _decoded(body: bytes, content_type: str | None) -> Any:
    if not body:
        return None
    if content_type is not None and content_type.startswith("application/json"):
        return json.loads(body)
    return body.decode("utf-8", errors="replace")


def parameters(route: SocketRoute) -> dict[str, list[Any]]:
    """The route's parameters by location (path, query, header, cookie), sub-dependencies' too, once each."""
    found: dict[str, dict[str, Any]] = {location: {} for location in _LOCATIONS}
    for dependant in dependants(route.dependant):
        for location in _LOCATIONS:
            for field in getattr(dependant, f"{location}_params"):
                found[location].setdefault(field.alias, field)
    return {location: list(fields.values()) for location, fields in found.items()}


def _validation(route: SocketRoute) -> list[Entry]:
    error = next((e for loc, fields in parameters(route).items() for f in fields if (e := _error(loc, f))), None)
    if error is None:
        return []
    if not route.answers_validation:
        # FastAPI's own handler closes with 1008 before accept: the server answers 403 with no body.
        return [
            {
                "status": 403,
                "headers": {},
                "contentType": None,
                "body": None,
                "guard": None,
                "source": "validation",
                "closeCode": 1008,
                "closeReason": "",
                "policy": "http",
            }
        ]
    reason = f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
    rejection = WebSocketRejection(422, {"detail": [error]}, reason=reason)
    return [rejection_entry(rejection, None, "validation", (route.route_policy, route.app_policy))]


def _error(location: str, field: Any) -> dict[str, Any] | None:
    """An error FastAPI reports for this parameter (a missing one, else one that does not parse), or None."""
    loc = [location, field.alias]
    if location != "path" and field.field_info.is_required():
        return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}
    try:
        TypeAdapter(field.field_info.annotation).validate_python("not-a-value")
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        return {"type": error["type"], "loc": loc, "msg": error["msg"], "input": "not-a-value"}
    return None
