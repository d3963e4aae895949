"""The AsyncAPI document: every handshake answer a route can give is listed, exactly as the client gets it."""

import json
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, WebSocket
from fastapi import Path as Path_
from fastapi.security import APIKeyCookie, HTTPBasic, HTTPBearer, OAuth2PasswordBearer, OpenIdConnect
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient

from fastapi_ws_reject import (
    RejectingRouter,
    WebSocketGuardMiddleware,
    WebSocketRejection,
    add_rejection_handlers,
    ws_guard,
)
from fastapi_ws_reject.asyncapi import (
    ASYNCAPI_SCRIPT_INTEGRITY,
    ASYNCAPI_SCRIPT_URL,
    add_asyncapi,
    asyncapi_html,
    asyncapi_schema,
)
from fastapi_ws_reject.guards import (
    APIKeyGuard,
    BearerTokenGuard,
    IPGuard,
    MessageLimitGuard,
    OriginGuard,
    RateLimitGuard,
    SecuritySchemeGuard,
    all_of,
    any_of,
)
from fastapi_ws_reject.testing import Rejected, assert_rejected
from tests.support.asyncapi_app import TOKENS, Note, guarded_app

SEEN = ("status", "headers", "contentType", "body")


def seen(rejected: Rejected) -> dict[str, Any]:
    """What the client got, in the shape of an `x-handshake-rejections` entry."""
    content_type = rejected.headers.get("content-type")
    body: Any = None
    if rejected.content:
        body = rejected.json() if content_type == "application/json" else rejected.text
    headers = {k: v for k, v in rejected.headers.items() if k not in ("content-type", "content-length")}
    return {"status": rejected.status_code, "headers": headers, "contentType": content_type, "body": body}


def documented(document: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    return [{key: entry[key] for key in SEEN} for entry in document["channels"][channel]["x-handshake-rejections"]]


def entries(document: dict[str, Any], channel: str, **match: Any) -> list[dict[str, Any]]:
    found = document["channels"][channel]["x-handshake-rejections"]
    return [entry for entry in found if all(entry[key] == value for key, value in match.items())]


CHAT = {"Sec-WebSocket-Protocol": "chat.v1, bearer, s3cret"}


@pytest.mark.parametrize(
    ("channel", "path", "request_headers", "expected"),
    [
        ("room", "/ws/rooms/lobby", {"Origin": "https://evil.example", **CHAT}, {"guard": "OriginGuard"}),
        ("room", "/ws/rooms/lobby", {"Sec-WebSocket-Protocol": "chat.v2"}, {"status": 400}),
        ("room", "/ws/rooms/lobby", {"Sec-WebSocket-Protocol": "chat.v1"}, {"status": 401}),
        ("room", "/ws/rooms/lobby", {"Sec-WebSocket-Protocol": "chat.v1, bearer, nope"}, {"status": 401}),
        ("room", "/ws/rooms/lobby", {**CHAT, "client-version": "not-a-value"}, {"status": 422}),
        ("room", "/ws/rooms/attic", CHAT, {"status": 404, "source": "declared"}),
        ("shard", "/ws/shards/not-a-value", CHAT, {"status": 451}),
    ],
)
def test_each_denial_of_a_route_is_documented_exactly_as_the_client_gets_it(
    channel: str, path: str, request_headers: dict[str, str], expected: dict[str, Any]
) -> None:
    app = guarded_app()
    rejected = assert_rejected(TestClient(app), path, request_headers=request_headers)
    candidates = entries(asyncapi_schema(app), channel, **expected)
    assert seen(rejected) in [{key: entry[key] for key in SEEN} for entry in candidates]


def test_rate_limit_denial_documents_its_retry_after() -> None:
    app = guarded_app()
    client = TestClient(app)
    assert_rejected(client, "/ws/rooms/attic", request_headers=CHAT)
    rejected = assert_rejected(client, "/ws/rooms/attic", request_headers=CHAT)
    assert seen(rejected) in documented(asyncapi_schema(app), "room")
    assert rejected.headers["retry-after"] == "60"


def test_middleware_not_found_is_documented_on_the_routes_it_covers() -> None:
    app = guarded_app()
    rejected = assert_rejected(TestClient(app), "/ws/nowhere")
    document = asyncapi_schema(app)
    assert seen(rejected) == documented(document, "room")[1]  # after the middleware's guard, before the route's
    assert entries(document, "room", source="not_found")[0]["guard"] is None
    assert entries(document, "open_socket", source="not_found") == []


def test_validation_of_a_path_parameter_is_documented() -> None:
    app = FastAPI()
    router = RejectingRouter()

    @router.websocket("/shards/{shard}")
    async def shard(websocket: WebSocket, shard: int) -> None:
        await websocket.accept()

    app.include_router(router)
    rejected = assert_rejected(TestClient(app), "/shards/not-a-value")
    assert documented(asyncapi_schema(app), "shard") == [seen(rejected)]
    assert asyncapi_schema(app)["channels"]["shard"]["x-handshake-rejections"][0]["closeReason"] == (
        "path.shard: Input should be a valid integer, unable to parse string as an integer"
    )


def test_route_without_guards_or_parameters_documents_no_rejection() -> None:
    document = asyncapi_schema(guarded_app())
    assert document["channels"]["open_socket"]["x-handshake-rejections"] == []
    assert document["operations"]["open_socket_receive"] == {
        "action": "receive",
        "channel": {"$ref": "#/channels/open_socket"},
    }


def test_plain_route_with_a_required_parameter_documents_fastapi_close_1008_as_403() -> None:
    app = FastAPI()

    @app.websocket("/feed")
    async def feed(websocket: WebSocket, topic: str) -> None:
        await websocket.accept()

    rejected = assert_rejected(TestClient(app), "/feed")
    [entry] = asyncapi_schema(app)["channels"]["feed"]["x-handshake-rejections"]
    assert (entry["status"], entry["closeCode"], entry["body"]) == (403, rejected.closed_before_accept, None)


def test_add_rejection_handlers_turns_a_plain_route_validation_into_422() -> None:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.websocket("/feed")
    async def feed(websocket: WebSocket, topic: Annotated[str, Query(description="what to follow")]) -> None:
        await websocket.accept()

    rejected = assert_rejected(TestClient(app), "/feed")
    assert documented(asyncapi_schema(app), "feed") == [seen(rejected)]


def test_a_guard_added_at_include_time_is_documented_on_every_route_of_the_router() -> None:
    router = APIRouter()
    for path in ("/a", "/b", "/c"):
        router.add_api_websocket_route(path, _accepting, name=path.strip("/"))
    app = FastAPI()
    app.include_router(router, dependencies=[Depends(IPGuard(deny=["10.0.0.0/8"]))])
    document = asyncapi_schema(app)
    for channel in ("a", "b", "c"):
        assert [entry["guard"] for entry in document["channels"][channel]["x-handshake-rejections"]] == ["IPGuard"]


def test_middleware_guards_are_documented_only_where_include_and_exclude_let_them_run() -> None:
    app = FastAPI()
    for path in ("/ws/chat", "/ws/health", "/other"):
        app.add_api_websocket_route(path, _accepting, name=path.replace("/", "_"))
    app.add_middleware(
        WebSocketGuardMiddleware, guards=[RateLimitGuard(5, per=10)], include=["/ws/*"], exclude=["/ws/health"]
    )
    document = asyncapi_schema(app)
    covered = {name for name, channel in document["channels"].items() if channel["x-handshake-rejections"]}
    assert covered == {"_ws_chat"}
    assert entries(document, "_ws_chat")[0]["source"] == "middleware"


def test_nested_routers_prefixes_and_mounts_give_the_full_address_and_its_parameters() -> None:
    inner = RejectingRouter()
    inner.add_api_websocket_route("/items/{item_id}", _item, name="item")
    outer = APIRouter(prefix="/v1")
    outer.include_router(inner, prefix="/shop")
    sub = FastAPI()
    sub.include_router(outer)
    sub.add_middleware(WebSocketGuardMiddleware, guards=[IPGuard(deny=["10.0.0.0/8"])], include=["/v1/*"])
    app = FastAPI()
    app.mount("/api", sub)
    channel = asyncapi_schema(app)["channels"]["item"]
    assert channel["address"] == "/api/v1/shop/items/{item_id}"
    assert channel["parameters"] == {"item_id": {"description": "the item"}}
    assert [entry["guard"] for entry in channel["x-handshake-rejections"]] == ["IPGuard"]


def test_declared_rejections_survive_include_into_any_router() -> None:
    inner = RejectingRouter()
    gone = WebSocketRejection(410, "gone")
    inner.add_api_websocket_route("/old", _accepting, name="old", rejections=[gone])
    for parent in (APIRouter(), RejectingRouter()):
        parent.include_router(inner, prefix="/p")
        app = FastAPI()
        app.include_router(parent, prefix="/q")
        [entry] = asyncapi_schema(app)["channels"]["old"]["x-handshake-rejections"]
        assert (entry["status"], entry["body"], entry["source"]) == (410, "gone", "declared")


def test_composite_guards_document_every_member_and_a_timeout() -> None:
    router = RejectingRouter()
    either = any_of(BearerTokenGuard(TOKENS), APIKeyGuard(TOKENS, sources=("query", "cookie")))
    both = all_of(IPGuard(deny=["10.0.0.0/8"]), ws_guard(_refuse, timeout=1, status_code=403))
    router.add_api_websocket_route("/x", _accepting, name="x", dependencies=[Depends(either), Depends(both)])
    app = FastAPI()
    app.include_router(router)
    document = asyncapi_schema(app)
    statuses = [(entry["guard"], entry["status"]) for entry in document["channels"]["x"]["x-handshake-rejections"]]
    assert statuses == [
        ("BearerTokenGuard", 401),
        ("BearerTokenGuard", 401),
        ("APIKeyGuard", 401),
        ("APIKeyGuard", 401),
        ("IPGuard", 403),
        ("ws_guard(_refuse)", 403),
        ("ws_guard(_refuse)", 503),
    ]
    assert document["components"]["securitySchemes"] == {
        "bearerHeader": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <token>`"},
        "apiKeyQuery": {"type": "httpApiKey", "in": "query", "name": "api_key"},
        "apiKeyCookie": {"type": "httpApiKey", "in": "cookie", "name": "api_key"},
    }
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in document["operations"]["x_receive"]["security"]] == [
        "bearerHeader",
        "apiKeyQuery",
        "apiKeyCookie",
    ]


def test_fastapi_security_schemes_become_asyncapi_security_schemes() -> None:
    app = FastAPI()
    bearer = SecuritySchemeGuard(HTTPBearer(bearerFormat="JWT"))
    cookie = SecuritySchemeGuard(APIKeyCookie(name="session"))
    app.add_api_websocket_route("/a", _accepting, name="a", dependencies=[Depends(bearer)])
    app.add_api_websocket_route("/b", _accepting, name="b", dependencies=[Depends(cookie)])
    app.add_api_websocket_route("/c", _accepting, name="c", dependencies=[Depends(SecuritySchemeGuard(HTTPBasic()))])
    assert asyncapi_schema(app)["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "APIKeyCookie": {"type": "httpApiKey", "in": "cookie", "name": "session"},
        "HTTPBasic": {"type": "http", "scheme": "basic"},
    }


def test_oauth2_and_openid_connect_schemes_are_described() -> None:
    app = FastAPI()
    oauth2 = SecuritySchemeGuard(OAuth2PasswordBearer(tokenUrl="/token"))
    openid = SecuritySchemeGuard(OpenIdConnect(openIdConnectUrl="https://id.example.com/.well-known"))
    app.add_api_websocket_route("/a", _accepting, name="a", dependencies=[Depends(any_of(oauth2, openid))])
    assert asyncapi_schema(app)["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An OAuth2 access token (OAuth2PasswordBearer).",
        },
        "OpenIdConnect": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com/.well-known"},
    }


def test_credentials_in_other_headers_are_api_keys_and_one_scheme_serves_many_routes() -> None:
    app = FastAPI()
    custom = BearerTokenGuard(TOKENS, header="X-Token")
    for name, guard in (("a", APIKeyGuard(TOKENS)), ("b", custom), ("c", APIKeyGuard(TOKENS))):
        app.add_api_websocket_route(f"/{name}", _accepting, name=name, dependencies=[Depends(guard)])
    document = asyncapi_schema(app)
    assert document["components"]["securitySchemes"] == {
        "apiKeyHeader": {
            "type": "httpApiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "`x-api-key: <key>`",
        },
        "bearerHeader": {
            "type": "httpApiKey",
            "in": "header",
            "name": "x-token",
            "description": "`x-token: Bearer <token>`",
        },
    }
    assert document["operations"]["c_receive"]["security"] == document["operations"]["a_receive"]["security"]


def test_schemes_of_one_kind_in_different_places_get_distinct_names() -> None:
    app = FastAPI()
    for name in ("a", "b"):
        guard = APIKeyGuard(TOKENS, header=f"x-{name}-key")
        app.add_api_websocket_route(f"/{name}", _accepting, name=name, dependencies=[Depends(guard)])
    assert list(asyncapi_schema(app)["components"]["securitySchemes"]) == ["apiKeyHeader", "apiKeyHeader_2"]


def test_starlette_websocket_routes_and_other_middleware_are_documented_too() -> None:
    app = FastAPI()
    app.router.routes.append(WebSocketRoute("/raw/{name}", _accepting, name="raw"))
    app.add_middleware(GZipMiddleware)
    channel = asyncapi_schema(app)["channels"]["raw"]
    assert (channel["address"], channel["parameters"]) == ("/raw/{name}", {"name": {}})
    assert channel["x-handshake-rejections"] == []


def test_an_answer_two_guards_give_alike_is_listed_once() -> None:
    app = FastAPI()
    twins = [Depends(IPGuard(deny=["10.0.0.0/8"])), Depends(IPGuard(deny=["192.168.0.0/16"]))]
    app.add_api_websocket_route("/a", _accepting, name="a", dependencies=twins)
    assert len(asyncapi_schema(app)["channels"]["a"]["x-handshake-rejections"]) == 1


def test_a_route_with_messages_and_no_credential_has_operations_without_security() -> None:
    router = RejectingRouter()
    router.add_api_websocket_route("/notes", _accepting, name="notes", sends=Note)
    app = FastAPI()
    app.include_router(router)
    assert asyncapi_schema(app)["operations"] == {
        "notes_send": {
            "action": "send",
            "channel": {"$ref": "#/channels/notes"},
            "messages": [{"$ref": "#/channels/notes/messages/sends"}],
        }
    }


def test_a_guard_lists_every_answer_it_can_send() -> None:
    custom = WebSocketRejection(418)
    assert BearerTokenGuard(TOKENS).rejections[1].headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert BearerTokenGuard(TOKENS, rejection=custom).rejections == (custom,)
    assert RateLimitGuard(3, per=2.5).rejections[0].headers["retry-after"] == "3"
    assert RateLimitGuard(3, per=60, rejection=custom).rejections == (custom,)
    assert [r.status_code for r in ws_guard(_refuse).rejections] == [403]
    assert [r.status_code for r in ws_guard(_refuse, timeout=1).rejections] == [403, 503]
    origin = OriginGuard(["https://a.example"], allow_missing=False)
    check = ws_guard(_refuse, status_code=451)
    assert all_of(origin, check).rejections == (origin.rejection, check.rejection)
    assert any_of(origin, origin).rejections == (origin.rejection,)


def test_the_subprotocol_credential_is_described() -> None:
    app = guarded_app()
    scheme = asyncapi_schema(app)["components"]["securitySchemes"]["bearerSubprotocol"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("httpApiKey", "header", "Sec-WebSocket-Protocol")
    assert '`[..., "bearer", <credential>]`' in scheme["description"]


def test_query_and_headers_are_json_schemas_in_the_websockets_binding() -> None:
    app = FastAPI()

    @app.websocket("/feed")
    async def feed(
        websocket: WebSocket,
        topic: Annotated[str, Query(description="what to follow")],
        limit: int = 10,
        x_trace_id: Annotated[str | None, Header()] = None,
    ) -> None:
        await websocket.accept()

    binding = asyncapi_schema(app)["channels"]["feed"]["bindings"]["ws"]
    assert binding == {
        "method": "GET",
        "query": {
            "type": "object",
            "properties": {
                "topic": {"type": "string", "description": "what to follow"},
                "limit": {"type": "integer", "default": 10},
            },
            "required": ["topic"],
        },
        "headers": {
            "type": "object",
            "properties": {"x-trace-id": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        },
        "bindingVersion": "0.1.0",
    }


def test_declared_messages_are_pydantic_schemas_with_shared_components() -> None:
    document = asyncapi_schema(guarded_app())
    messages = document["channels"]["room"]["messages"]
    assert messages["receives"]["payload"] == Note.model_json_schema()
    assert messages["sends"]["payload"]["properties"]["note"] == {"$ref": "#/components/schemas/Note"}
    assert document["components"]["schemas"]["Note"] == Note.model_json_schema()
    assert document["operations"]["room_receive"]["messages"] == [{"$ref": "#/channels/room/messages/receives"}]
    assert document["operations"]["room_send"]["action"] == "send"


def test_a_route_that_declares_no_message_has_none() -> None:
    assert "messages" not in asyncapi_schema(guarded_app())["channels"]["shard"]


def test_the_close_policy_is_documented() -> None:
    router = RejectingRouter(policy="close")
    router.add_api_websocket_route("/x", _accepting, name="x", rejections=[WebSocketRejection(409)])
    app = FastAPI()
    app.include_router(router)
    [entry] = asyncapi_schema(app)["channels"]["x"]["x-handshake-rejections"]
    assert (entry["policy"], entry["closeCode"]) == ("close", 4409)


@pytest.mark.parametrize("rejections", [WebSocketRejection(404), [HTTPException(404)]])
def test_rejections_must_be_a_list_of_websocket_rejections(rejections: Any) -> None:
    with pytest.raises(TypeError, match="rejections must"):
        RejectingRouter().add_api_websocket_route("/x", _accepting, rejections=rejections)


def test_messages_must_be_pydantic_models() -> None:
    with pytest.raises(TypeError, match="receives must be a pydantic model class"):
        RejectingRouter().websocket("/x", receives=dict)(_accepting)  # type: ignore[arg-type]


def test_the_document_is_built_once_and_rebuilt_when_routes_change() -> None:
    app = guarded_app()
    first = asyncapi_schema(app)
    assert asyncapi_schema(app) is first
    app.add_api_websocket_route("/late", _accepting, name="late")
    assert "late" in asyncapi_schema(app)["channels"]


def test_title_and_version_default_to_the_app() -> None:
    app = FastAPI(title="Sockets", version="2.1", description="All of them")
    assert asyncapi_schema(app)["info"] == {"title": "Sockets", "version": "2.1", "description": "All of them"}
    assert asyncapi_schema(app, title="T", version="9")["info"]["title"] == "T"
    assert asyncapi_schema(app)["asyncapi"] == "3.0.0"


def test_add_asyncapi_serves_the_document_and_a_page_that_renders_it() -> None:
    app = guarded_app()
    add_asyncapi(app, title="Chat")
    client = TestClient(app, root_path="/proxy")
    assert client.get("/asyncapi.json").json() == json.loads(json.dumps(asyncapi_schema(app, title="Chat")))
    page = client.get("/asyncapi")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    script = f'<script src="{ASYNCAPI_SCRIPT_URL}" integrity="{ASYNCAPI_SCRIPT_INTEGRITY}" crossorigin="anonymous">'
    assert script in page.text
    assert '"url": "/proxy/asyncapi.json"' in page.text
    assert f"script-src {ASYNCAPI_SCRIPT_URL} 'sha256-" in page.headers["content-security-policy"]
    assert "/asyncapi.json" not in app.openapi()["paths"]


def test_asyncapi_html_escapes_what_it_embeds() -> None:
    page = asyncapi_html("/a.json?</script>", title="<b>").body.decode()
    assert "<title>&lt;b&gt;</title>" in page
    assert '</script>"' not in page


def test_the_component_can_be_served_from_this_server_or_loaded_without_a_hash() -> None:
    page = asyncapi_html("/a.json", title="t", script_url="/static/c.js", script_integrity=None)
    assert '<script src="/static/c.js"></script>' in page.body.decode()
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("style_url", "source"),
    [
        ("https://cdn.example:8443/c.css?v=2", "https://cdn.example:8443/c.css"),
        ("//cdn.example/c.css", "cdn.example/c.css"),
    ],
)
def test_another_cdn_is_named_in_the_policy_by_its_url(style_url: str, source: str) -> None:
    page = asyncapi_html("/a.json", title="t", style_url=style_url, style_integrity=None)
    assert f"style-src {source};" in page.headers["content-security-policy"]


@pytest.mark.parametrize("integrity", ["", "md5-abc", 'sha384-abc" onload="alert(1)'])
def test_an_integrity_that_is_not_a_hash_is_refused_when_configured(integrity: str) -> None:
    with pytest.raises(ValueError, match="script_integrity must be Subresource Integrity hashes"):
        add_asyncapi(FastAPI(), script_integrity=integrity)


def test_add_asyncapi_without_a_docs_page() -> None:
    app = FastAPI()
    add_asyncapi(app, docs_url=None)
    client = TestClient(app)
    assert client.get("/asyncapi.json").status_code == 200
    assert client.get("/asyncapi").status_code == 404


def test_the_example_app_documents_and_serves_its_sockets() -> None:
    from examples import asyncapi_app

    client = TestClient(asyncapi_app.app)
    document = client.get("/asyncapi.json").json()
    assert set(document["channels"]) == {"chat_room", "shard_status", "metrics", "echo"}
    rejected = assert_rejected(client, "/internal/metrics")
    assert seen(rejected) in documented(document, "metrics")
    rejected = assert_rejected(client, "/ws/status/not-a-value")
    assert seen(rejected) in documented(document, "shard_status")
    assert "AsyncApiStandalone.render" in client.get("/asyncapi").text


async def _accepting(websocket: WebSocket) -> None:
    await websocket.accept()


async def _item(websocket: WebSocket, item_id: Annotated[str, Path_(description="the item")]) -> None:
    await websocket.accept()


async def _refuse(websocket: WebSocket) -> bool:
    return False


def test_message_limits_are_documented_from_the_route_the_middleware_and_composites() -> None:
    router = RejectingRouter()
    per_user = MessageLimitGuard(60, per=60, key=lambda connection: "ann", on_limit="drop")
    slow_down = MessageLimitGuard(2, per=1, rejection=WebSocketRejection(429, "slow down", close_code=1008))
    binary = MessageLimitGuard(9, per=1, on_limit="drop", drop_message=bytearray(b"\x01"))
    router.add_api_websocket_route(
        "/x", _accepting, name="x", dependencies=[Depends(all_of(ws_guard(lambda: True), per_user)), Depends(binary)]
    )
    app = FastAPI()
    app.include_router(router)
    app.add_middleware(WebSocketGuardMiddleware, guards=[slow_down])
    limits = asyncapi_schema(app)["channels"]["x"]["x-message-limits"]
    assert limits == [
        {
            "guard": "MessageLimitGuard",
            "source": "middleware",
            "limit": 2,
            "per": 1.0,
            "counts": "socket",
            "onLimit": "close",
            "closeCode": 1008,
            "closeReason": "slow down",
        },
        {
            "guard": "MessageLimitGuard",
            "source": "route",
            "limit": 60,
            "per": 60.0,
            "counts": "key",
            "onLimit": "drop",
            "contentType": "application/json",
            "message": {"detail": "too many messages"},
        },
        {
            "guard": "MessageLimitGuard",
            "source": "route",
            "limit": 9,
            "per": 1.0,
            "counts": "socket",
            "onLimit": "drop",
            "contentType": "application/octet-stream",
            "message": "01",
        },
    ]
    assert all(
        entry["guard"] != "MessageLimitGuard"
        for entry in asyncapi_schema(app)["channels"]["x"]["x-handshake-rejections"]
    )


def test_a_route_without_a_message_limit_has_no_message_limits() -> None:
    app = FastAPI()
    app.add_api_websocket_route("/x", _accepting, name="x")
    assert "x-message-limits" not in asyncapi_schema(app)["channels"]["x"]
