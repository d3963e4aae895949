"""The default limit key behind a proxy the server does not trust (issue 24, item 3), in process.

Behind a reverse proxy, a server that was not told to trust it (uvicorn without `--forwarded-allow-ips=<proxy>`)
gives every handshake the proxy's address, so `client_host` counts every client as one: one noisy client locks
everyone out, and nothing says why. The key must not read the proxy's header itself (any direct client could
then choose its own count), so the count stays shared, and one WARNING per app names the proxy and the fix.
"""

import logging
from collections.abc import Callable

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.guards import RateLimitGuard, client_host, client_host_behind_proxies, client_prefix

PROXY = "10.0.0.2"
Key = Callable[[HTTPConnection], str]


def limited(key: Key = client_host) -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(RateLimitGuard(1, per=60, key=key))])
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    return app


def from_peer(app: FastAPI, peer: str) -> TestClient:
    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": (peer, 50000)}, receive, send)

    return TestClient(served)


def handshake(app: FastAPI, peer: str, **headers: str) -> int:
    """101 or the refusal's status; `x_forwarded_for=...` sends `X-Forwarded-For`."""
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    try:
        with from_peer(app, peer).websocket_connect("/ws", headers=headers):
            return 101
    except WebSocketDenialResponse as denial:
        return denial.status_code


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fastapi_ws_reject" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("header", ["x_forwarded_for", "forwarded"])
def test_clients_behind_an_untrusted_proxy_sharing_one_count_are_told_once(
    header: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = limited()
    value = {"x_forwarded_for": "203.0.113.{}", "forwarded": "for=203.0.113.{}"}[header]
    assert handshake(app, PROXY, **{header: value.format(1)}) == 101
    # The proxy's address is everyone's key: a second client is refused for the first one's handshake ...
    assert handshake(app, PROXY, **{header: value.format(2)}) == 429
    assert handshake(app, PROXY, **{header: value.format(3)}) == 429
    # ... and the log says why, once for the app, with the proxy and the fix, never the client's header.
    [warning] = warnings_in(caplog)
    assert f"every client shares the count of {PROXY}" in warning
    assert f"--forwarded-allow-ips={PROXY}" in warning
    assert f"client_host_behind_proxies(trusted_proxies=['{PROXY}'])" in warning
    assert "203.0.113" not in warning


def test_each_app_is_told(caplog: pytest.LogCaptureFixture) -> None:
    for app in (limited(), limited()):
        handshake(app, PROXY, x_forwarded_for="203.0.113.1")
        handshake(app, PROXY, x_forwarded_for="203.0.113.2")
    assert len(warnings_in(caplog)) == 2


def test_client_prefix_is_told_too(caplog: pytest.LogCaptureFixture) -> None:
    handshake(limited(client_prefix(ipv6_prefix=56)), PROXY, x_forwarded_for="2001:db8::1")
    assert len(warnings_in(caplog)) == 1


def test_no_warning_when_the_server_rewrote_the_client(caplog: pytest.LogCaptureFixture) -> None:
    # uvicorn --proxy-headers puts the client the proxy named in the scope, and leaves the header.
    app = limited()
    assert handshake(app, "203.0.113.1", x_forwarded_for="203.0.113.1") == 101
    assert handshake(app, "203.0.113.2", x_forwarded_for="198.51.100.7, 203.0.113.2") == 101
    assert handshake(app, "::ffff:203.0.113.3", forwarded='for="203.0.113.3:4711"') == 101
    assert warnings_in(caplog) == []


def test_no_warning_without_a_proxy_header_or_with_the_key_for_proxies(caplog: pytest.LogCaptureFixture) -> None:
    assert handshake(limited(), "203.0.113.1") == 101
    behind = limited(client_host_behind_proxies(trusted_proxies=[PROXY]))
    assert handshake(behind, PROXY, x_forwarded_for="203.0.113.1") == 101
    assert handshake(behind, PROXY, x_forwarded_for="203.0.113.2") == 101  # a count of its own
    assert warnings_in(caplog) == []


def test_a_made_up_header_buys_no_fresh_count(caplog: pytest.LogCaptureFixture) -> None:
    # A client that reaches the server directly and writes the header: still keyed by its own address.
    app = limited()
    assert handshake(app, "198.51.100.7", x_forwarded_for="203.0.113.1") == 101
    assert handshake(app, "198.51.100.7", x_forwarded_for="203.0.113.2") == 429
    assert len(warnings_in(caplog)) == 1  # the one line it can cause
