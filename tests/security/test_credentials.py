"""Attacks on the credential guards: verifiers that answer with a bool, and tokens that must stay secret."""

import logging
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, RejectionEvent, on_reject
from fastapi_ws_reject.guards import APIKeyGuard, BearerTokenGuard, OriginGuard, SubprotocolGuard, all_of, any_of
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, guarded_app, value_of

TOKEN = "tok-6b1d0c4e-never-log-me"


def is_the_token(credential: str) -> bool:
    return credential == "right"


def heard(app: FastAPI) -> list[RejectionEvent]:
    """What `app`'s `on_reject` listener hears."""
    events: list[RejectionEvent] = []
    on_reject(app, events.append)
    return events


@pytest.mark.parametrize("place", PLACES)
def test_a_bool_verifier_refuses_a_wrong_bearer_token(place: str) -> None:
    client = client_for(BearerTokenGuard(is_the_token), place)
    rejected = assert_rejected(client, "/ws", status_code=401, request_headers={"Authorization": "Bearer wrong"})
    assert rejected.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("place", PLACES)
def test_a_bool_verifier_refuses_a_wrong_api_key(place: str) -> None:
    client = client_for(APIKeyGuard(is_the_token), place)
    assert_rejected(client, "/ws", status_code=401, request_headers={"X-API-Key": "wrong"})


@pytest.mark.parametrize("falsy", [False, None, 0, ""])
def test_every_falsy_verifier_answer_refuses(falsy: object) -> None:
    client = client_for(BearerTokenGuard(lambda token: falsy), "depends")
    assert_rejected(client, "/ws", status_code=401, request_headers={"Authorization": "Bearer anything"})


def test_a_bool_verifier_lets_the_right_token_in() -> None:
    client = client_for(BearerTokenGuard(is_the_token), "depends")
    assert "principal=True" in value_of(client, headers={"Authorization": "Bearer right"})


def subprotocol_app(**router_options: Any) -> FastAPI:
    router = RejectingRouter(**router_options)

    @router.websocket("/chat")
    async def chat(websocket: WebSocket, protocol: Annotated[str, Depends(SubprotocolGuard(["chat.v2"]))]) -> None:
        await websocket.accept(subprotocol=protocol)  # pragma: no cover

    app = FastAPI()
    app.include_router(router)
    return app


def test_a_token_offered_as_a_subprotocol_never_reaches_the_log_or_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = subprotocol_app()
    events = heard(app)
    with caplog.at_level(logging.DEBUG, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app), "/chat", status_code=400, subprotocols=["chat.v1", "bearer", TOKEN])
    assert len(caplog.messages) == 1 and TOKEN not in caplog.messages[0]
    assert [event.guard for event in events] == ["SubprotocolGuard"]
    assert TOKEN not in repr(events)


@pytest.mark.parametrize(
    ("offered", "accepted"),
    [
        (["bearer", TOKEN], "bearer"),
        (["bearer", TOKEN, "chat.v1"], "bearer"),
        (["apikey", TOKEN], "apikey"),
        (["chat.v1", "bearer", TOKEN], "chat.v1"),
    ],
)
def test_the_close_policy_never_echoes_a_token_offered_as_a_subprotocol(offered: list[str], accepted: str) -> None:
    client = TestClient(subprotocol_app(policy="close"))
    with client.websocket_connect("/chat", subprotocols=offered) as websocket:
        assert websocket.accepted_subprotocol == accepted
        assert websocket.receive()["code"] == 4400


def test_the_close_policy_never_echoes_a_token_after_a_custom_marker() -> None:
    guard = BearerTokenGuard(is_the_token, sources=("subprotocol",), subprotocol_marker="x-token", policy="close")
    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, auth: Annotated[Any, Depends(guard)]) -> None:
        await websocket.accept()  # pragma: no cover

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).websocket_connect("/ws", subprotocols=["x-token", TOKEN]) as websocket:
        assert websocket.accepted_subprotocol == "x-token"
        assert websocket.receive()["code"] == 4401


def test_the_key_a_client_passed_with_keeps_the_routes_own_answer() -> None:
    # any_of tried the bearer token first (policy "close") and let the API key in; the endpoint's own refusal
    # must come out as the route sends it (HTTP), not with the skipped guard's policy.
    guard = any_of(BearerTokenGuard(is_the_token, policy="close"), APIKeyGuard(is_the_token))
    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, auth: Annotated[Any, Depends(guard)]) -> None:
        raise HTTPException(409, "busy")

    app = FastAPI()
    app.include_router(router)
    assert_rejected(TestClient(app), "/ws", status_code=409, request_headers={"X-API-Key": "right"})


def test_when_every_alternative_refuses_the_event_names_the_guard_that_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = guarded_app(any_of(BearerTokenGuard(is_the_token), APIKeyGuard(is_the_token)), "depends")
    events = heard(app)
    client = TestClient(app)
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        rejected = assert_rejected(client, "/ws", status_code=401, request_headers={"X-API-Key": "wrong"})
    assert rejected.headers["www-authenticate"] == "Bearer"
    assert [(event.guard, event.detail) for event in events] == [("BearerTokenGuard", "no Bearer credential")]
    assert caplog.messages == ["Rejected websocket /ws with status 401 by BearerTokenGuard: no Bearer credential"]


def test_all_of_with_a_cookie_guard_still_refuses_star_origins() -> None:
    with pytest.raises(ValueError, match="Cross-Site WebSocket Hijacking"):
        all_of(OriginGuard(["*"], allow_missing=True), APIKeyGuard(is_the_token, sources=("cookie",)))
