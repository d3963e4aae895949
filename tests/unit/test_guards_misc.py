import ipaddress
import logging

import pytest
from fastapi import FastAPI, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, RejectionEvent, WebSocketGuardMiddleware, on_reject
from fastapi_ws_reject.guards import (
    APIKeyGuard,
    BearerTokenGuard,
    IPGuard,
    OriginGuard,
    SubprotocolGuard,
    all_of,
    any_of,
    constant_time_lookup,
)
from fastapi_ws_reject.testing import assert_closed, assert_rejected, without_denial_extension
from tests.unit.places import PLACES, client_for, guarded_app, value_of, with_peer


@pytest.mark.parametrize("place", PLACES)
def test_required_subprotocol_is_chosen_in_server_order(place: str) -> None:
    client = client_for(SubprotocolGuard(["chat.v2", "chat.v1"]), place)
    assert value_of(client, subprotocols=["chat.v1", "chat.v2"]) in ("chat.v2", "ok")


@pytest.mark.parametrize("place", PLACES)
def test_no_supported_subprotocol_is_400_listing_them(place: str) -> None:
    client = client_for(SubprotocolGuard(["chat.v2", "chat.v1"]), place)
    expected = {"detail": "no supported subprotocol offered", "supported": ["chat.v2", "chat.v1"]}
    assert_rejected(client, "/ws", status_code=400, json=expected, subprotocols=["chat.v0"])
    assert_rejected(client, "/ws", status_code=400, json=expected)


def test_subprotocol_configuration_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SubprotocolGuard([])
    with pytest.raises(TypeError, match="not a string"):
        SubprotocolGuard("chat")  # type: ignore[arg-type]


@pytest.mark.parametrize("place", PLACES)
def test_ip_allow_and_deny(place: str) -> None:
    client = client_for(IPGuard(allow=["10.0.0.0/8", "::1"], deny=["10.6.6.0/24"]), place)
    for peer in ("10.1.2.3", "::1"):
        assert value_of(client, headers={"x-test-peer": peer}) in (repr(ipaddress.ip_address(peer)), "ok")
    for peer in ("10.6.6.6", "192.168.1.1", "testclient"):
        assert_rejected(client, "/ws", status_code=403, request_headers={"x-test-peer": peer})


@pytest.mark.parametrize(
    ("peer", "header", "headers", "seen"),
    [
        ("127.0.0.1", "x-forwarded-for", {"X-Forwarded-For": "203.0.113.9, 10.0.0.5"}, "203.0.113.9"),
        ("127.0.0.1", "forwarded", {"Forwarded": 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.5'}, "2001:db8::1"),
        ("127.0.0.1", "forwarded", {"Forwarded": "for=198.51.100.7:5000"}, "198.51.100.7"),
        ("127.0.0.1", "x-forwarded-for", {}, "127.0.0.1"),
        ("192.0.2.1", "x-forwarded-for", {"X-Forwarded-For": "203.0.113.9"}, "192.0.2.1"),  # not a trusted proxy
        ("127.0.0.1", "x-forwarded-for", {"X-Forwarded-For": "garbage"}, None),
    ],
)
def test_proxy_headers_count_only_from_trusted_proxies(
    peer: str, header: str, headers: dict[str, str], seen: str | None
) -> None:
    guard = IPGuard(deny=["0.0.0.0/32"], trusted_proxies=["127.0.0.1", "10.0.0.0/8"], proxy_header=header)
    client = TestClient(with_peer(guarded_app(guard, "depends")))
    if seen is None:
        assert_rejected(client, "/ws", status_code=403, request_headers={"x-test-peer": peer, **headers})
    else:
        assert value_of(client, headers={"x-test-peer": peer, **headers}) == repr(ipaddress.ip_address(seen))


def test_ip_filter_configuration_errors() -> None:
    with pytest.raises(ValueError, match="lets everyone in"):
        IPGuard()
    with pytest.raises(ValueError, match="allow: .* CIDR ranges"):
        IPGuard(allow=["10.0.0.0/33"])
    with pytest.raises(TypeError, match="not a string"):
        IPGuard(allow="10.0.0.0/8")  # type: ignore[arg-type]


async def alice(token: str) -> str | None:
    return {"t": "alice"}.get(token)


@pytest.mark.parametrize("place", PLACES)
def test_all_of_needs_every_guard_and_answers_with_the_first_failure(place: str) -> None:
    guard = all_of(OriginGuard(["https://a.test"], allow_missing=False), BearerTokenGuard(alice, sources=("query",)))
    client = client_for(guard, place)
    assert value_of(client, "/ws?access_token=t", headers={"Origin": "https://a.test"})
    assert_rejected(client, "/ws?access_token=t", status_code=403, request_headers={"Origin": "https://b.test"})
    assert_rejected(client, "/ws?access_token=x", status_code=401, request_headers={"Origin": "https://a.test"})


@pytest.mark.parametrize("place", PLACES)
def test_any_of_takes_the_first_passing_guard(place: str) -> None:
    guard = any_of(BearerTokenGuard(alice, sources=("query",)), APIKeyGuard(constant_time_lookup({"k": "svc"})))
    client = client_for(guard, place)
    assert "alice" in str(value_of(client, "/ws?access_token=t")) or place in ("reject_unless", "middleware")
    assert "svc" in str(value_of(client, headers={"X-API-Key": "k"})) or place in ("reject_unless", "middleware")
    rejected = assert_rejected(client, "/ws", status_code=401)
    assert rejected.headers["www-authenticate"] == "Bearer"  # the first guard's answer


def test_composition_takes_guards_only() -> None:
    with pytest.raises(TypeError, match="needs at least one guard"):
        all_of()
    with pytest.raises(TypeError, match=r"wrap a plain function in ws_guard\(...\) first"):
        any_of(lambda: True)  # type: ignore[arg-type]
    assert all_of(SubprotocolGuard(["a"]), IPGuard(allow=["::1"])).name == "all_of(SubprotocolGuard, IPGuard)"


def middleware_app(**options: object) -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/ws/chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4000)

    @router.websocket("/public")
    async def public(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4001)

    app = FastAPI()
    app.include_router(router)

    @app.get("/http")
    async def http_route() -> str:
        return "untouched"

    app.add_middleware(WebSocketGuardMiddleware, **options)  # type: ignore[arg-type]
    return app


def test_middleware_applies_to_included_paths_only() -> None:
    guard = OriginGuard(["https://a.test"], allow_missing=False)
    client = TestClient(middleware_app(guards=[guard], include=["/ws/*"]))
    assert_rejected(client, "/ws/chat", status_code=403)
    assert_closed(client, "/ws/chat", close_code=4000, request_headers={"Origin": "https://a.test"})
    assert_closed(client, "/public", close_code=4001)
    assert client.get("/http").json() == "untouched"
    client = TestClient(middleware_app(guards=[guard], exclude=["/public"]))
    assert_closed(client, "/public", close_code=4001)
    assert_rejected(client, "/ws/chat", status_code=403)


def test_middleware_answers_404_for_a_path_without_route() -> None:
    client = TestClient(middleware_app(not_found=True))
    assert_rejected(client, "/ws/nothing-here", status_code=404, json={"detail": "Not Found"})
    assert_closed(client, "/ws/chat", close_code=4000)
    plain = TestClient(middleware_app(guards=[SubprotocolGuard(["x"])], include=["/never"]))
    assert assert_rejected(plain, "/ws/nothing-here").closed_before_accept == 1000  # Starlette's 403


def test_middleware_uses_the_fallback_without_the_extension() -> None:
    guard = OriginGuard(["https://a.test"], allow_missing=False)
    client = TestClient(without_denial_extension(middleware_app(guards=[guard])))
    assert assert_rejected(client, "/ws/chat", status_code=403).closed_before_accept == 4403


def test_middleware_configuration_errors() -> None:
    with pytest.raises(ValueError, match="does nothing"):
        WebSocketGuardMiddleware(FastAPI())
    with pytest.raises(TypeError, match="not a string"):
        WebSocketGuardMiddleware(FastAPI(), guards=[IPGuard(allow=["::1"])], include="/ws/*")  # type: ignore[arg-type]


def test_middleware_on_an_app_without_routes_lets_the_handshake_through() -> None:
    async def raw(scope: object, receive: object, send: object) -> None:
        await send({"type": "websocket.close", "code": 4002})  # type: ignore[operator]

    client = TestClient(WebSocketGuardMiddleware(raw, not_found=True))  # type: ignore[arg-type]
    assert assert_rejected(client, "/anything").closed_before_accept == 4002


def test_on_reject_listeners_see_every_rejection_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    events: list[RejectionEvent] = []
    app = guarded_app(BearerTokenGuard(alice, sources=("query",)), "depends")
    closing_app = middleware_app(not_found=True)
    removers = [on_reject(app, events.append), on_reject(closing_app, events.append)]
    client = TestClient(app)
    try:
        with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
            assert_rejected(client, "/ws?access_token=secret", status_code=401)
        assert_closed(TestClient(closing_app), "/ws/chat")  # the endpoint's own close is no rejection
    finally:
        for remove in removers:
            remove()
    assert events == [
        RejectionEvent("/ws", 401, None, "BearerTokenGuard", "invalid Bearer credential from query", "testclient")
    ]
    assert caplog.messages == [
        "Rejected websocket /ws with status 401 by BearerTokenGuard: invalid Bearer credential from query"
    ]
    assert_rejected(client, "/ws", status_code=401)
    assert len(events) == 1  # removed
