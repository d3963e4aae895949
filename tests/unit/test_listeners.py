"""`on_reject` listeners hear every rejection, without secrets, and nothing once removed."""

import logging

import pytest
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectionEvent, on_reject
from fastapi_ws_reject.guards import BearerTokenGuard
from fastapi_ws_reject.testing import assert_closed, assert_rejected
from tests.support.places import guarded_app, middleware_app


async def alice(token: str) -> str | None:
    return {"t": "alice"}.get(token)


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
