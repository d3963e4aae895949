import logging
from typing import Any

import pytest
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer, OAuth2PasswordBearer

from fastapi_ws_reject.guards import APIKeyGuard, BearerTokenGuard, SecuritySchemeGuard, constant_time_lookup
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, value_of

TOKENS = {"t-alice": "alice"}


@pytest.fixture(params=PLACES)
def place(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def verify(token: str) -> str | None:
    return TOKENS.get(token)


def test_bearer_header_gives_the_principal(place: str) -> None:
    client = client_for(BearerTokenGuard(verify), place)
    value = value_of(client, headers={"Authorization": "Bearer t-alice"})
    assert value == (
        "Authenticated(principal='alice', source='header', subprotocol=None)"
        if place in ("depends", "ws_guard")
        else "ok"
    )


def test_missing_bearer_is_401_with_a_challenge(place: str) -> None:
    rejected = assert_rejected(client_for(BearerTokenGuard(verify, realm="chat"), place), "/ws", status_code=401)
    assert rejected.headers["www-authenticate"] == 'Bearer realm="chat"'


def test_invalid_bearer_is_401_with_invalid_token(place: str) -> None:
    client = client_for(BearerTokenGuard(verify, realm="chat"), place)
    rejected = assert_rejected(client, "/ws", status_code=401, request_headers={"Authorization": "Bearer nope"})
    assert rejected.headers["www-authenticate"] == 'Bearer realm="chat", error="invalid_token"'


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "t-alice"])
def test_authorization_that_is_not_a_bearer_token_is_missing(authorization: str) -> None:
    rejected = assert_rejected(
        client_for(BearerTokenGuard(verify), "depends"),
        "/ws",
        status_code=401,
        request_headers={"Authorization": authorization},
    )
    assert rejected.headers["www-authenticate"] == "Bearer"


def test_token_in_query_and_cookie() -> None:
    guard = BearerTokenGuard(verify, sources=("query", "cookie"))
    client = client_for(guard, "depends")
    assert "source='query'" in value_of(client, "/ws?access_token=t-alice")
    client.cookies.set("access_token", "t-alice")
    assert "source='cookie'" in value_of(client, "/ws")


def test_token_as_subprotocol_negotiates_the_app_protocol() -> None:
    guard = BearerTokenGuard(verify, sources=("subprotocol",), accept_subprotocols=["chat.v1"])
    client = client_for(guard, "depends", subprotocol_from_value=True)
    with client.websocket_connect("/ws", subprotocols=["chat.v1", "bearer", "t-alice"]) as websocket:
        assert websocket.accepted_subprotocol == "chat.v1"
        assert "principal='alice'" in websocket.receive_json()["value"]


def test_token_as_subprotocol_alone_accepts_the_marker_never_the_token() -> None:
    client = client_for(BearerTokenGuard(verify, sources=("subprotocol",)), "depends", subprotocol_from_value=True)
    with client.websocket_connect("/ws", subprotocols=["bearer", "t-alice"]) as websocket:
        assert websocket.accepted_subprotocol == "bearer"
    assert_rejected(client, "/ws", status_code=401, subprotocols=["bearer"])


def test_sync_verify_and_api_key_header() -> None:
    guard = APIKeyGuard(constant_time_lookup({"k-1": "billing"}), sources=("header", "query"))
    client = client_for(guard, "depends")
    assert "principal='billing'" in value_of(client, headers={"X-API-Key": "k-1"})
    assert "source='query'" in value_of(client, "/ws?api_key=k-1")
    rejected = assert_rejected(client, "/ws?api_key=k-2", status_code=401)
    assert rejected.headers["www-authenticate"] == 'APIKey error="invalid_token"'


def test_constant_time_lookup_finds_every_secret_and_nothing_else() -> None:
    lookup = constant_time_lookup({"a": 1, "bb": 2})
    assert (lookup("a"), lookup("bb"), lookup("b"), lookup("")) == (1, 2, None, None)
    with pytest.raises(ValueError, match="at least one secret"):
        constant_time_lookup({})


def test_tokens_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    client = client_for(BearerTokenGuard(verify, sources=("header", "query")), "depends")
    with caplog.at_level(logging.DEBUG, logger="fastapi_ws_reject"):
        assert_rejected(client, "/ws?access_token=secret-query", request_headers={"Authorization": "Bearer secret-h"})
    assert caplog.messages
    assert not any("secret" in message for message in caplog.messages)


def test_unknown_or_no_source_fails_when_built() -> None:
    with pytest.raises(ValueError, match="sources must be some of header, query, cookie, subprotocol"):
        BearerTokenGuard(verify, sources=("body",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sources must be some of"):
        APIKeyGuard(verify, sources=())


@pytest.mark.parametrize(
    ("scheme", "headers", "value", "challenge"),
    [
        (HTTPBearer(), {"Authorization": "Bearer abc"}, "scheme='Bearer', credentials='abc'", "Bearer"),
        (APIKeyHeader(name="x-key"), {"X-Key": "abc"}, "abc", "APIKey"),
        (OAuth2PasswordBearer(tokenUrl="token"), {"Authorization": "Bearer abc"}, "abc", "Bearer"),
        (HTTPBasic(realm="ops"), {"Authorization": "Basic dTpw"}, "username='u', password='p'", 'Basic realm="ops"'),
    ],
)
def test_fastapi_security_schemes_work_on_websockets(
    scheme: Any, headers: dict[str, str], value: str, challenge: str, place: str
) -> None:
    client = client_for(SecuritySchemeGuard(scheme), place)
    shown = value_of(client, headers=headers)
    assert value in str(shown) or shown == "ok"
    rejected = assert_rejected(client, "/ws", status_code=401)
    assert rejected.headers["www-authenticate"] == challenge


def test_a_scheme_without_auto_error_that_finds_nothing_is_401() -> None:
    assert_rejected(client_for(SecuritySchemeGuard(HTTPBearer(auto_error=False)), "depends"), "/ws", status_code=401)


def test_ws_security_needs_a_callable_scheme() -> None:
    with pytest.raises(TypeError, match="takes a FastAPI security scheme"):
        SecuritySchemeGuard("bearer")  # type: ignore[arg-type]
