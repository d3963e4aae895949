"""An AsyncAPI 3.0 document for a FastAPI app's websocket routes, handshake rejections included, and a page for it.

Each websocket route is a channel: its address, path parameters, the WebSockets binding (the handshake's
query and headers), the security its credential guards accept, its messages when the route declares them,
and `x-handshake-rejections`: every HTTP answer its handshake can get instead of 101, from the app's
`WebSocketGuardMiddleware`, the route's guards (router, include and endpoint dependencies), parameter
validation, and the `rejections=` the route declared. Each entry is `{status, headers, contentType, body,
guard, source, closeCode, closeReason, policy}`: `body` decoded (JSON or text), `headers` the declared ones
(not content-type or content-length), `guard` the refusing guard's name (None for validation, 404 and
declared answers), `source` one of "middleware", "not_found", "route", "validation", "declared", the close
code and reason the client sees where the answer is sent after accept, and `policy`, how it is sent before
accept ("http": this response; "close": accept, then that close; "auto": close for browsers).
A route with a `MessageLimitGuard` also has `x-message-limits`: `{guard, source, limit, per, counts, onLimit}`
for each (`counts` "socket" or "key"), with `closeCode` and `closeReason` when it closes, `contentType` and
`message` when it drops.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from .._placements.endpoint import declared_of
from ._page import ASYNCAPI_SCRIPT_INTEGRITY as ASYNCAPI_SCRIPT_INTEGRITY
from ._page import ASYNCAPI_SCRIPT_URL as ASYNCAPI_SCRIPT_URL
from ._page import ASYNCAPI_STYLE_INTEGRITY as ASYNCAPI_STYLE_INTEGRITY
from ._page import ASYNCAPI_STYLE_URL as ASYNCAPI_STYLE_URL
from ._page import AsyncAPIPage, root_url, source_expression
from ._routes import SocketRoute, handshake_rejections, message_limits, parameters, route_guards, socket_routes
from ._schemas import Schemas, channel_parameter, object_schema, security_schemes

__all__ = [
    "ASYNCAPI_SCRIPT_INTEGRITY",
    "ASYNCAPI_SCRIPT_URL",
    "ASYNCAPI_STYLE_INTEGRITY",
    "ASYNCAPI_STYLE_URL",
    "add_asyncapi",
    "asyncapi_html",
    "asyncapi_schema",
]

_ASYNCAPI_VERSION = "3.0.0"
_CACHE = "fastapi_ws_reject_asyncapi"
_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
_ID = re.compile(r"[^A-Za-z0-9_\-]")


def asyncapi_schema(app: FastAPI, *, title: str | None = None, version: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `app`'s websocket routes (built once, then cached on `app.state`).

    ```python
    document = asyncapi_schema(app, title="Chat sockets")
    assert document["channels"]["join_room"]["x-handshake-rejections"][0]["status"] == 404
    ```

    The cache is kept while the app has as many routes and middleware; nothing of it runs on a handshake.
    """
    key = (title, version, len(app.routes), len(app.user_middleware))
    cached = getattr(app.state, _CACHE, None)
    if cached is not None and cached[0] == key:
        document: dict[str, Any] = cached[1]
        return document
    document = _build(app, title or app.title, version or app.version)
    setattr(app.state, _CACHE, (key, document))
    return document


def add_asyncapi(
    app: FastAPI,
    *,
    json_url: str = "/asyncapi.json",
    docs_url: str | None = "/asyncapi",
    title: str | None = None,
    version: str | None = None,
    script_url: str = ASYNCAPI_SCRIPT_URL,
    style_url: str = ASYNCAPI_STYLE_URL,
    script_integrity: str | None = ASYNCAPI_SCRIPT_INTEGRITY,
    style_integrity: str | None = ASYNCAPI_STYLE_INTEGRITY,
) -> None:
    """Serve `asyncapi_schema(app)` at `json_url`, and at `docs_url` a page that renders it, as `/docs` does OpenAPI.

    ```python
    app = FastAPI()
    add_asyncapi(app)  # GET /asyncapi.json, GET /asyncapi
    ```

    The document is built on the first request. The page loads AsyncAPI's web component from `script_url` and
    `style_url`, checked by the browser against `script_integrity` and `style_integrity` (the hashes of the pinned
    files, so a copy of them served elsewhere passes; give your own file's hashes, or None, with another file),
    and sends a Content-Security-Policy that runs only those files and its own inline script.
    """
    source_expression("json_url", json_url)
    page = AsyncAPIPage(
        script_url=script_url, style_url=style_url, script_integrity=script_integrity, style_integrity=style_integrity
    )

    async def asyncapi_json(request: Request) -> JSONResponse:
        return JSONResponse(asyncapi_schema(app, title=title, version=version))

    app.add_route(json_url, asyncapi_json, include_in_schema=False)
    if docs_url is None:
        return

    async def asyncapi_docs(request: Request) -> HTMLResponse:
        # The root path can come from the request (a mount at "/{tenant}"): it is encoded, then escaped.
        document_url = root_url(request.scope.get("root_path", "")) + json_url
        return page.render(document_url, title=f"{title or app.title} - AsyncAPI")

    app.add_route(docs_url, asyncapi_docs, include_in_schema=False)


def asyncapi_html(
    json_url: str,
    *,
    title: str,
    script_url: str = ASYNCAPI_SCRIPT_URL,
    style_url: str = ASYNCAPI_STYLE_URL,
    script_integrity: str | None = ASYNCAPI_SCRIPT_INTEGRITY,
    style_integrity: str | None = ASYNCAPI_STYLE_INTEGRITY,
) -> HTMLResponse:
    """The page that renders the document at `json_url` with AsyncAPI's web component (FastAPI's
    `get_swagger_ui_html` for AsyncAPI), with its Content-Security-Policy header.

    ```python
    asyncapi_html("/asyncapi.json", title="Chat sockets")
    ```
    """
    page = AsyncAPIPage(
        script_url=script_url, style_url=style_url, script_integrity=script_integrity, style_integrity=style_integrity
    )
    return page.render(json_url, title=title)


def _build(app: FastAPI, title: str, version: str) -> dict[str, Any]:
    schemas = Schemas()
    security: dict[str, dict[str, Any]] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for route in socket_routes(app):
        channel_id = _unique(_ID.sub("_", route.name or route.path) or "socket", channels)
        channels[channel_id] = _channel(route, schemas)
        requirements = [_named(name, scheme, security) for name, scheme in _schemes(route)]
        operations.update(_operations(route, channel_id, channels[channel_id], requirements))
    info: dict[str, Any] = {"title": title, "version": version}
    if app.description:
        info["description"] = app.description
    document: dict[str, Any] = {"asyncapi": _ASYNCAPI_VERSION, "info": info, "channels": channels}
    if operations:
        document["operations"] = operations
    components = {
        name: found for name, found in (("schemas", schemas.components), ("securitySchemes", security)) if found
    }
    if components:
        document["components"] = components
    return document


def _channel(route: SocketRoute, schemas: Schemas) -> dict[str, Any]:
    found = parameters(route)
    path_fields = {field.alias: field for field in found["path"]}
    channel: dict[str, Any] = {"address": route.path, "title": route.name}
    names = _PARAMETER.findall(route.path)
    if names:
        channel["parameters"] = {name: channel_parameter(schemas, path_fields.get(name)) for name in names}
    binding: dict[str, Any] = {"method": "GET"}
    for key, location in (("query", "query"), ("headers", "header")):
        schema = object_schema(schemas, found[location])
        if schema is not None:
            binding[key] = schema
    channel["bindings"] = {"ws": {**binding, "bindingVersion": "0.1.0"}}
    declared = declared_of(route.endpoint)
    messages = {
        key: {"name": model.__name__, "contentType": "application/json", "payload": schemas.of_model(model)}
        for key, model in (("receives", declared.receives), ("sends", declared.sends))
        if model is not None
    }
    if messages:
        channel["messages"] = messages
    channel["x-handshake-rejections"] = handshake_rejections(route)
    limits = message_limits(route)
    if limits:
        channel["x-message-limits"] = limits
    return channel


def _schemes(route: SocketRoute) -> list[tuple[str, dict[str, Any]]]:
    return [scheme for guard, _, _ in route_guards(route) for scheme in security_schemes(guard)]


def _operations(
    route: SocketRoute, channel_id: str, channel: dict[str, Any], security: list[dict[str, str]]
) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    reference = {"$ref": f"#/channels/{channel_id}"}
    # The app receives what clients send ("receives") and sends the rest.
    for key, action in (("receives", "receive"), ("sends", "send")):
        if key in channel.get("messages", {}):
            operations[f"{channel_id}_{action}"] = {
                "action": action,
                "channel": reference,
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{key}"}],
            }
    if not operations:
        # Every channel gets an operation: the one place AsyncAPI 3 keeps security, and what viewers list.
        operations[f"{channel_id}_receive"] = {"action": "receive", "channel": reference}
    for operation in operations.values():
        if security:
            operation["security"] = list(security)
    return operations


def _named(name: str, scheme: dict[str, Any], security: dict[str, dict[str, Any]]) -> dict[str, str]:
    for existing, found in security.items():
        if found == scheme:
            return {"$ref": f"#/components/securitySchemes/{existing}"}
    name = _unique(name, security)
    security[name] = scheme
    return {"$ref": f"#/components/securitySchemes/{name}"}


def _unique(name: str, taken: dict[str, Any]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
