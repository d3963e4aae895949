"""OriginGuard attacked: look-alike Origin headers, public-suffix wildcards, schemes behind proxies, '*' with cookies.

Each attack got through before the fix; the guard now refuses it, when built where it can.
"""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.security import APIKeyCookie, APIKeyHeader
from starlette.testclient import TestClient, WebSocketDenialResponse

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware
from fastapi_ws_reject.guards import OriginGuard, SecuritySchemeGuard, all_of
from fastapi_ws_reject.testing import RunningServer, assert_rejected, live_server
from tests.support.places import client_for
from tests.support.servers import HANDSHAKE_REQUEST

ALLOWED = ["https://app.example.com", "https://*.example.org", "http://localhost:3000"]
PROXY = "10.0.0.7"


@pytest.fixture(params=["depends", "middleware"])
def place(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def passes(client: TestClient, origin: str, url: str = "/ws", **headers: str) -> bool:
    """Whether a handshake with this Origin (and these extra headers) is accepted."""
    return passes_with_lines(client, [("origin", origin), *headers.items()], url)


def refused(client: TestClient, origin: str, url: str = "/ws", **headers: str) -> bool:
    """Whether a handshake with this Origin (and these extra headers) is refused with the guard's 403."""
    return refused_with_lines(client, [("origin", origin), *headers.items()], url)


def passes_with_lines(client: TestClient, lines: list[tuple[str, str]], url: str = "/ws") -> bool:
    with client.websocket_connect(url, headers=_lines(client, lines)) as websocket:
        websocket.receive_json()
    return True


def refused_with_lines(client: TestClient, lines: list[tuple[str, str]], url: str = "/ws") -> bool:
    with pytest.raises(WebSocketDenialResponse) as denial, client.websocket_connect(url, headers=_lines(client, lines)):
        pass
    assert (denial.value.status_code, denial.value.content) == (403, b"origin not allowed")
    return True


def _lines(client: TestClient, lines: list[tuple[str, str]]) -> Any:
    # A dict cannot repeat a header; the client's own Headers class (httpx or httpx2) can.
    return type(client.headers)(lines)


# Look-alikes: an Origin is read exactly as RFC 6454 section 6.2 serialises it, never repaired into an allowed one.


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:03000",
        "http://localhost:003000",
        "https://app.example.com:0443",
        "http://local\thost:3000",
        "http://localhost\t:3000",
        "http://localhost:3000\t",
        "\thttp://localhost:3000",
        " http://localhost:3000",
        "http://localhost:3000 ",
        "https://a.exa\tmple.org",
        "http://localhost.:3000",
        "http://localhost:+3000",
        "http://localhost:3000:",
        "http://localhost:",
        "http://localhost:65536",
        "http://localhost%3a3000",
        "http://localhost:3000\\",
        "https://a_b.example.org",
        "https://a..example.org",
    ],
    ids=repr,
)
def test_an_origin_that_only_looks_like_a_listed_one_is_refused(origin: str, place: str) -> None:
    client = client_for(OriginGuard(ALLOWED, allow_missing=False), place)
    rejected = assert_rejected(client, "/ws", status_code=403, request_headers={"Origin": origin})
    assert rejected.content == b"origin not allowed"


def test_an_origin_in_upper_case_still_matches(place: str) -> None:
    client = client_for(OriginGuard(ALLOWED, allow_missing=False), place)
    assert passes(client, "HTTP://LOCALHOST:3000")
    assert passes(client, "https://A.Example.ORG")


def test_two_origin_headers_are_refused(place: str) -> None:
    client = client_for(OriginGuard(ALLOWED, allow_missing=False), place)
    assert refused_with_lines(client, [("origin", "https://app.example.com"), ("origin", "https://app.example.com")])


def test_an_ipv6_literal_origin_matches_only_as_written(place: str) -> None:
    client = client_for(OriginGuard(["http://[::1]:3000"], allow_missing=False), place)
    assert passes(client, "http://[::1]:3000")
    assert refused(client, "http://[0:0:0:0:0:0:0:1]:3000")
    assert refused(client, "http://[::1%25eth0]:3000")


def test_an_internationalised_host_matches_in_punycode(place: str) -> None:
    client = client_for(OriginGuard(["https://xn--bcher-kva.example"], allow_missing=False), place)
    assert passes(client, "https://xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("allowed", "message"),
    [
        ("http://localhost:03000", "is not an origin"),
        ("http://localhost:0", "is not an origin"),
        ("http://localhost:65536", "is not an origin"),
        ("http://local\thost:3000", "is not an origin"),
        (" https://app.example.com", "is not an origin"),
        ("https://app.example.com.", "is not an origin"),
        ("https://app_name.example.com", "is not an origin"),
        ("https://bücher.example", "punycode"),
        ("http://[0:0::1]:3000", r"\[::1\]"),
    ],
    ids=repr,
)
def test_a_malformed_configured_origin_fails_when_built(allowed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OriginGuard([allowed], allow_missing=False)


# Public suffixes: a wildcard over one allows every stranger's site registered under it.


@pytest.mark.parametrize(
    "allowed",
    [
        "https://*.co.uk",
        "https://*.com.au",
        "https://*.co.jp",
        "https://*.github.io",
        "https://*.herokuapp.com",
        "https://*.vercel.app",
        "https://*.s3.amazonaws.com",
        "https://*.CO.UK",
    ],
)
def test_a_wildcard_over_a_public_suffix_fails_when_built(allowed: str) -> None:
    with pytest.raises(ValueError, match="public suffix.*list exact origins"):
        OriginGuard([allowed], allow_missing=False)


# '*.' spans several labels, so a wildcard one label above a public suffix matches every host registered under it.


@pytest.mark.parametrize(
    ("allowed", "strangers_host"),
    [
        ("https://*.amazonaws.com", "https://attacker-bucket.s3.amazonaws.com"),
        ("https://*.eu-west-1.amazonaws.com", "https://attacker-bucket.s3.eu-west-1.amazonaws.com"),
        ("https://*.s3.eu-west-1.amazonaws.com", "https://attacker-bucket.s3.eu-west-1.amazonaws.com"),
        ("https://*.execute-api.us-east-1.amazonaws.com", "https://abc123.execute-api.us-east-1.amazonaws.com"),
        ("https://*.us-east-1.elasticbeanstalk.com", "https://attacker-env.us-east-1.elasticbeanstalk.com"),
        ("https://*.AmazonAWS.com", "https://attacker-bucket.s3.amazonaws.com"),
    ],
    ids=repr,
)
def test_a_wildcard_above_a_public_suffix_fails_when_built(allowed: str, strangers_host: str) -> None:
    # Before the fix the guard was built and let strangers_host in: anyone can create that bucket or environment.
    assert strangers_host.endswith(allowed.lower().removeprefix("https://*"))
    with pytest.raises(ValueError, match=r"list exact origins.*wildcard under your own registrable domain"):
        OriginGuard([allowed], allow_missing=False)


def test_a_wildcard_under_a_site_on_a_public_suffix_is_allowed(place: str) -> None:
    client = client_for(OriginGuard(["https://*.example.co.uk"], allow_missing=False), place)
    assert passes(client, "https://app.example.co.uk")
    assert refused(client, "https://evil.co.uk")


# Schemes: same_origin compares the scheme, which a TLS-terminating proxy reports in X-Forwarded-Proto.


def test_same_origin_refuses_another_scheme_on_the_same_port(place: str) -> None:
    client = client_for(OriginGuard(allow_missing=False, same_origin=True), place)
    assert refused(client, "https://testserver:80")
    assert refused(client, "http://testserver:443", url="wss://testserver/ws")
    assert passes(client, "https://testserver", url="wss://testserver/ws")


def test_same_origin_behind_a_trusted_proxy_uses_its_x_forwarded_proto(place: str) -> None:
    guard = OriginGuard(allow_missing=False, same_origin=True, trusted_proxies=["10.0.0.0/8"])
    client = client_for(guard, place)
    assert passes(client, "https://testserver", **{"x-test-peer": PROXY, "x-forwarded-proto": "https"})
    assert refused(client, "http://testserver", **{"x-test-peer": PROXY, "x-forwarded-proto": "https"})


def test_x_forwarded_proto_from_an_untrusted_peer_is_ignored(place: str) -> None:
    guard = OriginGuard(allow_missing=False, same_origin=True, trusted_proxies=["10.0.0.0/8"])
    client = client_for(guard, place)
    assert refused(client, "https://testserver", **{"x-test-peer": "203.0.113.5", "x-forwarded-proto": "https"})
    assert passes(client, "http://testserver", **{"x-test-peer": "203.0.113.5", "x-forwarded-proto": "https"})


def test_an_ipv4_mapped_peer_is_matched_against_ipv4_proxies(place: str) -> None:
    guard = OriginGuard(allow_missing=False, same_origin=True, trusted_proxies=["127.0.0.1"])
    client = client_for(guard, place)
    assert passes(client, "https://testserver", **{"x-test-peer": "::ffff:127.0.0.1", "x-forwarded-proto": "https"})


@pytest.mark.parametrize(
    ("lines", "scheme"),
    [
        (["http, https"], "https"),
        (["https, http"], "http"),
        (["http", "https"], "https"),
        (["https", "http"], "http"),
        (["HTTPS"], "https"),
        (["wss"], "https"),
    ],
    ids=repr,
)
def test_the_nearest_proxys_x_forwarded_proto_wins(lines: list[str], scheme: str, place: str) -> None:
    guard = OriginGuard(allow_missing=False, same_origin=True, trusted_proxies=["10.0.0.0/8"])
    client = client_for(guard, place)
    other = "http" if scheme == "https" else "https"
    headers: list[tuple[str, str]] = [("x-test-peer", PROXY), *[("x-forwarded-proto", line) for line in lines]]
    assert passes_with_lines(client, [("origin", f"{scheme}://testserver"), *headers])
    assert refused_with_lines(client, [("origin", f"{other}://testserver"), *headers])


@pytest.mark.parametrize("proto", ["ftp", "", "https,"], ids=repr)
def test_an_unreadable_x_forwarded_proto_matches_no_origin(proto: str, place: str) -> None:
    guard = OriginGuard(allow_missing=False, same_origin=True, trusted_proxies=["10.0.0.0/8"])
    client = client_for(guard, place)
    for origin in ("http://testserver", "https://testserver"):
        assert refused(client, origin, **{"x-test-peer": PROXY, "x-forwarded-proto": proto})


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"same_origin": True, "trusted_proxies": "10.0.0.1"}, TypeError, "not a string"),
        ({"same_origin": True, "trusted_proxies": ["proxy.internal"]}, ValueError, "CIDR"),
        ({"same_origin": True, "trusted_proxies": ["10.0.0.0/33"]}, ValueError, "CIDR"),
        ({"allowed": ["https://app.example.com"], "trusted_proxies": ["10.0.0.1"]}, ValueError, "same_origin=True"),
    ],
    ids=repr,
)
def test_bad_trusted_proxies_fail_when_built(arguments: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        OriginGuard(allow_missing=False, **arguments)


# '*' beside FastAPI's own cookie scheme lets any site use the user's session cookie.


def test_star_beside_an_api_key_cookie_scheme_is_refused() -> None:
    star = OriginGuard(["*"], allow_missing=True)
    session = SecuritySchemeGuard(APIKeyCookie(name="session"))
    with pytest.raises(ValueError, match="Cross-Site WebSocket Hijacking"):
        all_of(star, session)
    with pytest.raises(ValueError, match="Cross-Site WebSocket Hijacking"):
        WebSocketGuardMiddleware(FastAPI(), guards=[star, session])


def test_star_beside_an_api_key_header_scheme_is_allowed() -> None:
    assert all_of(OriginGuard(["*"], allow_missing=True), SecuritySchemeGuard(APIKeyHeader(name="x-api-key")))


# End to end: uvicorn (h11) passes both look-alikes on to the app unchanged, so the guard is what refuses them.


def localhost_app() -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard(["http://localhost:3000"], allow_missing=False)])
    return app


@pytest.fixture(scope="module")
def uvicorn_server() -> Iterator[RunningServer]:
    with live_server(localhost_app(), server="uvicorn") as running:
        yield running


def raw_handshake(port: int, origin: str) -> tuple[bytes, bytes]:
    """The status line and body a real server answers to a handshake carrying this exact Origin line."""
    request = HANDSHAKE_REQUEST.format(path="/ws", port=port).replace("\r\n\r\n", f"\r\nOrigin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, sock.makefile("rb") as answer:
        sock.sendall(request.encode("latin-1"))
        status = answer.readline().rstrip()
        headers = dict(line.rstrip().lower().split(b": ", 1) for line in iter(answer.readline, b"\r\n"))
        return status, answer.read(int(headers.get(b"content-length", b"0")))


@pytest.mark.e2e
@pytest.mark.parametrize("origin", ["http://localhost:03000", "http://local\thost:3000"], ids=repr)
def test_uvicorn_passes_a_look_alike_origin_on_and_the_guard_refuses_it(
    uvicorn_server: RunningServer, origin: str
) -> None:
    assert raw_handshake(uvicorn_server.port, "http://localhost:3000")[0] == b"HTTP/1.1 101 Switching Protocols"
    assert raw_handshake(uvicorn_server.port, origin) == (b"HTTP/1.1 403 Forbidden", b"origin not allowed")
