from collections.abc import Callable

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.types import ASGIApp, Receive, Scope, Send


@pytest.fixture
def deny() -> Callable[[TestClient, str], WebSocketDenialResponse]:
    """Connect to `path` and return the denial response, failing if the socket was accepted."""

    def connect(client: TestClient, path: str, **kwargs: object) -> WebSocketDenialResponse:
        with pytest.raises(WebSocketDenialResponse) as denial, client.websocket_connect(path, **kwargs):  # type: ignore[arg-type]
            pass
        return denial.value

    return connect


def without_denial_extension(app: ASGIApp) -> ASGIApp:
    """The app as a server without the WebSocket Denial Response extension (daphne) would run it."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope = {
                **scope,
                "extensions": {k: v for k, v in scope.get("extensions", {}).items() if k != "websocket.http.response"},
            }
        await app(scope, receive, send)

    return wrapped
