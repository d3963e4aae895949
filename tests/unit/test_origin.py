import logging

import pytest

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import APIKeyGuard, OriginGuard, all_of, constant_time_lookup
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, guarded_app, value_of

ALLOWED = ["https://app.example.com", "https://*.example.org", "http://localhost:3000"]


@pytest.fixture(params=PLACES)
def place(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://a.example.org",
        "https://a.b.example.org",
        "http://localhost:3000",
    ],
)
def test_a_listed_origin_passes(origin: str, place: str) -> None:
    guard = OriginGuard(ALLOWED, allow_missing=False)
    value = value_of(client_for(guard, place), headers={"Origin": origin})
    assert value == (origin if place in ("depends", "ws_guard") else "ok")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.test",
        "https://app.example.com.evil.test",
        "https://evilapp.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://example.org",
        "https://a.example.org.evil.test",
        "http://localhost:3001",
        "null",
        "https://app.example.com/path",
        "https://user@app.example.com",
        "not an origin",
    ],
)
def test_any_other_origin_is_refused_with_403(origin: str, place: str) -> None:
    guard = OriginGuard(ALLOWED, allow_missing=False)
    rejected = assert_rejected(client_for(guard, place), "/ws", status_code=403, request_headers={"Origin": origin})
    assert rejected.content == b"origin not allowed"


def test_a_missing_origin_follows_the_explicit_policy(place: str) -> None:
    assert_rejected(client_for(OriginGuard(ALLOWED, allow_missing=False), place), "/ws", status_code=403)
    value = value_of(client_for(OriginGuard(ALLOWED, allow_missing=True), place))
    assert value == (None if place in ("depends", "ws_guard") else "ok")


def test_same_origin_mode_compares_with_the_host_header(place: str) -> None:
    client = client_for(OriginGuard(allow_missing=False, same_origin=True), place)
    assert value_of(client, headers={"Origin": "http://testserver"}) in ("http://testserver", "ok")
    assert_rejected(client, "/ws", status_code=403, request_headers={"Origin": "http://testserver:8080"})
    assert_rejected(client, "/ws", status_code=403, request_headers={"Origin": "https://testserver"})


def test_star_allows_any_origin(place: str) -> None:
    assert value_of(client_for(OriginGuard(["*"], allow_missing=False), place), headers={"Origin": "https://x.test"})


def test_the_refused_origin_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = client_for(OriginGuard(ALLOWED, allow_missing=False), "depends")
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(client, "/ws", request_headers={"Origin": "https://evil.test"})
    assert caplog.messages == [
        "Rejected websocket /ws with status 403 by OriginGuard: origin 'https://evil.test' not allowed"
    ]


def test_cross_site_origin_with_a_valid_cookie_is_refused() -> None:
    cookie_auth = APIKeyGuard(constant_time_lookup({"session-1": "alice"}), sources=("cookie",))
    guard = all_of(OriginGuard(["https://app.example.com"], allow_missing=False), cookie_auth)
    client = client_for(guard, "depends")
    client.cookies.set("api_key", "session-1")
    assert_rejected(client, "/ws", status_code=403, request_headers={"Origin": "https://evil.test"})
    assert value_of(client, headers={"Origin": "https://app.example.com"})


@pytest.mark.parametrize(
    ("allowed", "message"),
    [
        ([], "allows no origin"),
        (["https://*"], "not a leading"),
        (["https://*.com"], "matches every host under a top-level domain"),
        (["example.com"], "is not an origin"),
        (["https://example.com/"], "is not an origin"),
        (["https://ex*ample.com"], "not a leading"),
    ],
)
def test_unsafe_or_malformed_configuration_fails_when_built(allowed: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OriginGuard(allowed, allow_missing=False)


def test_a_wildcard_above_a_public_suffix_names_the_suffix_and_the_fix() -> None:
    with pytest.raises(ValueError) as refused:
        OriginGuard(["https://*.amazonaws.com"], allow_missing=False)
    assert str(refused.value) == (
        "'https://*.amazonaws.com' also matches every site registered under the public suffix 's3.amazonaws.com', "
        "most of them someone else's; list exact origins ('https://your-site.s3.amazonaws.com'), or use a wildcard "
        "under your own registrable domain ('https://*.app.example.com')."
    )


@pytest.mark.parametrize(
    "allowed",
    ["https://*.notamazonaws.com", "https://*.example.amazonaws.org", "https://*.my-app.herokuapp.com"],
)
def test_a_wildcard_with_no_public_suffix_below_it_is_built(allowed: str) -> None:
    assert OriginGuard([allowed], allow_missing=False).patterns


def test_a_single_string_is_refused() -> None:
    with pytest.raises(TypeError, match="not a string"):
        OriginGuard("https://example.com", allow_missing=False)  # type: ignore[arg-type]


def test_star_beside_cookie_credentials_is_refused() -> None:
    star = OriginGuard(["*"], allow_missing=False)
    cookies = APIKeyGuard(constant_time_lookup({"k": "v"}), sources=("header", "cookie"))
    with pytest.raises(ValueError, match="Cross-Site WebSocket Hijacking"):
        all_of(star, cookies)
    with pytest.raises(ValueError, match="Cross-Site WebSocket Hijacking"):
        WebSocketGuardMiddleware(guarded_app(star, "depends"), guards=[star, cookies])
