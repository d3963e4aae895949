"""Expiry and re-validation after accept: scheduled closes, renewals, re-run checks, and their configuration."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, reject_unless, ws_guard
from fastapi_ws_reject.guards import (
    BearerTokenGuard,
    ConnectionLimitGuard,
    Guard,
    constant_time_lookup,
    extend,
    remaining,
)
from fastapi_ws_reject.guards._expiry import REVALIDATION_ERROR_LOG

Deny = Callable[..., Any]


@dataclass
class Session:
    user: str
    expires_at: Any


def serve(guard: Any, *, plain: bool = False) -> TestClient:
    """A route that accepts, says when it expires, then answers "remaining", "extend <t>" and "never"."""
    router = FastAPI().router if plain else RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await websocket.accept()
        await websocket.send_json(remaining(websocket))
        try:
            while True:
                command = await websocket.receive_text()
                if command.startswith("extend "):
                    extend(websocket, float(command.split()[1]))
                elif command == "never":
                    extend(websocket, None)
                await websocket.send_json(remaining(websocket))
        except WebSocketDisconnect:
            pass

    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def allow(websocket: WebSocket) -> bool:
    return True


def expiring_in(seconds: float) -> Callable[[WebSocket], Session]:
    def check(websocket: WebSocket) -> Session:
        return Session("alice", time.time() + seconds)

    return check


def test_an_expiry_closes_the_accepted_socket_with_4401_credential_expired() -> None:
    with serve(ws_guard(expiring_in(0.2))).websocket_connect("/ws") as websocket:
        assert 0 < websocket.receive_json() <= 0.2
        started = time.monotonic()
        assert websocket.receive() == {"type": "websocket.close", "code": 4401, "reason": "credential expired"}
        assert time.monotonic() - started < 0.5


def test_a_bearer_verifier_with_an_aware_datetime_expiry_closes_the_socket() -> None:
    expires = datetime.now(timezone.utc) + timedelta(seconds=0.2)
    guard = BearerTokenGuard(lambda token: Session("alice", expires) if token == "t" else None, sources=("query",))
    with serve(guard).websocket_connect("/ws?access_token=t") as websocket:
        assert 0 < websocket.receive_json() <= 0.2
        assert websocket.receive() == {"type": "websocket.close", "code": 4401, "reason": "credential expired"}


def test_authenticated_carries_the_principals_expires_at() -> None:
    expires = time.time() + 60
    guard = BearerTokenGuard(lambda token: Session("alice", expires), sources=("query",))
    scope = {"type": "websocket", "path": "/ws", "query_string": b"access_token=t", "headers": []}
    assert asyncio.run(guard.check(HTTPConnection(scope))).expires_at == expires


def test_an_expiry_already_past_refuses_the_handshake_with_the_guards_rejection(deny: Deny) -> None:
    denial = deny(serve(ws_guard(expiring_in(-1), status_code=401, body="expired")), "/ws")
    assert (denial.status_code, denial.content) == (401, b"expired")


def test_an_expired_bearer_credential_is_refused_as_invalid_token(deny: Deny) -> None:
    guard = BearerTokenGuard(lambda token: Session("alice", time.time() - 1), sources=("query",))
    denial = deny(serve(guard), "/ws?access_token=t")
    assert (denial.status_code, denial.headers["www-authenticate"]) == (401, 'Bearer error="invalid_token"')


def test_the_expiry_close_is_configured_per_guard() -> None:
    rejection = WebSocketRejection(401, close_code=4001, reason="log in again")
    with serve(ws_guard(expiring_in(0.1), expiry_rejection=rejection)).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        assert websocket.receive() == {"type": "websocket.close", "code": 4001, "reason": "log in again"}


def test_a_socket_without_expiry_or_revalidation_has_nothing_scheduled() -> None:
    with serve(ws_guard(allow)).websocket_connect("/ws") as websocket:
        assert websocket.receive_json() is None


def test_extend_moves_the_close_later() -> None:
    with serve(ws_guard(expiring_in(0.2))).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        websocket.send_text(f"extend {time.time() + 60}")
        assert 59 < websocket.receive_json() <= 60
        time.sleep(0.3)
        websocket.send_text("remaining")
        assert websocket.receive_json() > 59


def test_extend_to_none_cancels_the_close() -> None:
    with serve(ws_guard(expiring_in(0.2))).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        websocket.send_text("never")
        assert websocket.receive_json() is None
        time.sleep(0.3)
        websocket.send_text("remaining")
        assert websocket.receive_json() is None


def test_extend_to_a_past_time_closes_now_even_without_a_guard_expiry() -> None:
    with serve(ws_guard(allow)).websocket_connect("/ws") as websocket:
        assert websocket.receive_json() is None
        websocket.send_text(f"extend {time.time() - 1}")
        message = websocket.receive()
        if message["type"] == "websocket.send":  # the reply raced the close
            message = websocket.receive()
        assert (message["type"], message["code"]) == ("websocket.close", 4401)


def test_the_earliest_of_two_guards_expiries_closes_with_its_guards_close() -> None:
    soon = ws_guard(expiring_in(0.1), expiry_rejection=WebSocketRejection(401, close_code=4002, reason="soon"))
    later = ws_guard(expiring_in(5))
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(later), Depends(soon)])
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive() == {"type": "websocket.close", "code": 4002, "reason": "soon"}


class Switch:
    """A standalone check that passes until `refusing` is set."""

    def __init__(self) -> None:
        self.refusing = False
        self.calls = 0

    def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        if self.refusing:
            raise WebSocketRejection(403, "room closed")
        return websocket.headers.get("x-room") == "lobby"


def test_a_revalidation_that_starts_refusing_closes_with_its_code_and_reason() -> None:
    switch = Switch()
    with serve(ws_guard(switch, revalidate=0.05)).websocket_connect("/ws", headers={"x-room": "lobby"}) as websocket:
        assert websocket.receive_json() is None
        time.sleep(0.15)
        assert switch.calls >= 2  # re-run with the handshake's headers, which still pass
        switch.refusing = True
        assert websocket.receive() == {"type": "websocket.close", "code": 4403, "reason": "room closed"}


def test_a_revalidation_of_a_falsy_answer_closes_with_the_guards_rejection() -> None:
    answers = iter([True, False])

    def check(websocket: WebSocket) -> bool:
        return next(answers)

    guard = ws_guard(check, revalidate=0.05, status_code=403, reason="no longer allowed")
    with serve(guard).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        assert websocket.receive() == {"type": "websocket.close", "code": 4403, "reason": "no longer allowed"}


def test_reject_unless_revalidates_too() -> None:
    switch = Switch()
    router = RejectingRouter()

    @router.websocket("/ws")
    @reject_unless(switch, revalidate=0.05)
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).websocket_connect("/ws", headers={"x-room": "lobby"}) as websocket:
        switch.refusing = True
        assert websocket.receive()["code"] == 4403


class Raising:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        if self.calls > 1:
            raise ConnectionError("secret-dsn unreachable")
        return True


def test_a_revalidation_that_raises_is_logged_and_keeps_the_socket_by_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = Raising()
    with serve(ws_guard(check, revalidate=0.05)).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        time.sleep(0.2)
        websocket.send_text("still open?")
        assert websocket.receive_json() is None
    assert check.calls >= 3
    records = [r for r in caplog.records if r.msg == REVALIDATION_ERROR_LOG]
    assert records and records[0].levelno == logging.WARNING
    assert records[0].getMessage() == (
        "Re-validation of websocket /ws by ws_guard(Raising) raised ConnectionError; keeping the socket"
    )
    assert "secret" not in caplog.text


def test_a_revalidation_that_raises_closes_with_1011_when_on_error_is_close(caplog: pytest.LogCaptureFixture) -> None:
    with serve(ws_guard(Raising(), revalidate=0.05, on_error="close")).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        assert websocket.receive() == {"type": "websocket.close", "code": 1011, "reason": "re-validation failed"}
    assert "closing the socket" in caplog.text


def test_the_guards_timeout_applies_to_a_revalidation() -> None:
    calls = []

    async def slow_after_the_handshake(websocket: WebSocket) -> bool:
        calls.append(1)
        if len(calls) > 1:
            await asyncio.sleep(5)
        return True

    with serve(ws_guard(slow_after_the_handshake, timeout=0.05, revalidate=0.05)).websocket_connect("/ws") as ws:
        ws.receive_json()
        assert ws.receive() == {"type": "websocket.close", "code": 4503, "reason": "the check did not answer in time"}


def test_a_guard_subclass_revalidates_and_its_value_expiry_closes() -> None:
    class Leased(Guard[Session]):
        async def check(self, connection: HTTPConnection) -> Session:
            return Session("alice", time.time() + 0.2)

    with serve(Leased(revalidate=0.05), plain=True).websocket_connect("/ws") as websocket:
        assert websocket.receive_json() > 0
        assert websocket.receive()["code"] == 4401


def test_ws_guard_configures_a_copy_of_a_given_guard() -> None:
    bearer = BearerTokenGuard(constant_time_lookup({"t": "alice"}))
    configured = ws_guard(bearer, revalidate=60, on_error="close")
    assert (configured.revalidate, configured.on_error) == (60.0, "close")
    assert (bearer.revalidate, bearer.on_error) == (None, "keep")
    assert ws_guard(bearer) is bearer


def test_revalidating_a_check_with_fastapi_parameters_is_refused_with_the_fix() -> None:
    def check(x_room: Annotated[str | None, Header()] = None) -> bool:
        return x_room == "lobby"  # pragma: no cover

    with pytest.raises(TypeError, match=r"make the check take just the connection \(`websocket: WebSocket`\)"):
        ws_guard(check, revalidate=10)


def test_a_holding_guard_cannot_revalidate() -> None:
    with pytest.raises(TypeError, match="holds a slot"):
        ws_guard(ConnectionLimitGuard(1), revalidate=10)


@pytest.mark.parametrize("revalidate", [0, -1, True, "10", float("inf")])
def test_revalidate_must_be_a_positive_number_of_seconds(revalidate: Any) -> None:
    with pytest.raises(ValueError, match="revalidate must be a"):
        ws_guard(allow, revalidate=revalidate)


def test_on_error_must_be_keep_or_close() -> None:
    with pytest.raises(ValueError, match="on_error must be 'keep'"):
        ws_guard(allow, revalidate=1, on_error="ignore")  # type: ignore[arg-type]


def test_expiry_rejection_must_be_a_rejection() -> None:
    with pytest.raises(TypeError, match="expiry_rejection must be a WebSocketRejection"):
        ws_guard(allow, expiry_rejection=4401)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expires_at", "error"),
    [(datetime(2030, 1, 1), "aware datetime"), ("tomorrow", "Unix time"), (float("nan"), "Unix time")],
)
def test_a_bad_expires_at_fails_the_handshake_with_the_fix(expires_at: Any, error: str) -> None:
    def check(websocket: WebSocket) -> Session:
        return Session("alice", expires_at)

    with pytest.raises((ValueError, TypeError), match=error), serve(ws_guard(check)).websocket_connect("/ws"):
        pass  # pragma: no cover


def test_expiring_tokens_example(deny: Deny) -> None:
    from examples import expiring_tokens as example

    token = example.issue("alice", "t-1", lifetime=0.3)
    client = TestClient(example.app)
    with client.websocket_connect("/live", headers={"Authorization": f"Bearer {token}"}) as websocket:
        assert websocket.receive_json() == {"user": "alice", "expires_in": 0}
        websocket.send_json({"refresh": example.issue("alice", "t-2", lifetime=60)})
        assert websocket.receive_json() == {"expires_in": 60}
    with client.websocket_connect("/live?access_token=t-1") as websocket:
        websocket.receive_json()
        assert websocket.receive() == {"type": "websocket.close", "code": 4401, "reason": "credential expired"}
    example.REVOKED.add("t-2")
    denial = deny(client, "/live?access_token=t-2")
    assert (denial.status_code, denial.content) == (403, b"session revoked")
