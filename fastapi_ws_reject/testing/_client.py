"""`assert_rejected` and `assert_closed` for Starlette's TestClient, reporting what a real server would send."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

DENIAL_EXTENSION = "websocket.http.response"


@dataclass
class Rejected:
    """A refused handshake as a real server sends it: the status, headers and body on the wire.

    ```python
    rejected = assert_rejected(client, "/ws", status_code=429)
    assert rejected.headers["retry-after"] == "30" and rejected.json() == {"detail": "slow down"}
    ```

    `closed_before_accept` is the close code the app sent instead of a response; servers turn that
    into 403 with an empty body, and the code never reaches the client.
    """

    status_code: int
    headers: Headers
    content: bytes
    closed_before_accept: int | None = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def __str__(self) -> str:
        if self.closed_before_accept is not None:
            return (
                f"a close with code {self.closed_before_accept} before accept, which real servers send as "
                "403 with an empty body (the code is lost; raise WebSocketRejection to send a status)"
            )
        return f"{self.status_code}, headers {dict(self.headers)}, body {self.content[:200]!r}"


@dataclass
class Closed:
    """An accepted socket that the app closed: the close code, the reason, and the messages before it.

    ```python
    closed = assert_closed(client, "/items/1", close_code=4409)
    assert closed.messages == ["watching 1"]
    ```
    """

    close_code: int
    close_reason: str
    messages: list[str | bytes] = field(default_factory=list[str | bytes])

    def __str__(self) -> str:
        return f"accepted, then {len(self.messages)} message(s), then close {self.close_code} {self.close_reason!r}"


def assert_rejected(
    client: TestClient,
    path: str,
    *,
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
    content: str | bytes | None = None,
    json: Any = None,
    request_headers: dict[str, str] | None = None,
    **connect_kwargs: Any,
) -> Rejected:
    """Open `path` and assert it is refused before accept; return what a real server would have sent.

    ```python
    rejected = assert_rejected(client, "/rooms/attic", status_code=404, json={"detail": "no such room"})
    ```

    `headers` are expected in the response; `request_headers` are sent with the handshake, and other
    keyword arguments go to `client.websocket_connect`.
    """
    outcome = _connect(client, path, request_headers, connect_kwargs)
    if not isinstance(outcome, Rejected):
        raise AssertionError(f"Expected {path} to be rejected, but it was {outcome}.")
    problems = _differences(("status", outcome.status_code, status_code))
    for name, value in (headers or {}).items():
        if outcome.headers.get(name) != value:
            problems.append(f"header {name!r} is {outcome.headers.get(name)!r}, expected {value!r}")
    if content is not None and outcome.content != (content.encode() if isinstance(content, str) else content):
        problems.append(f"body {outcome.content[:200]!r}, expected {content!r}")
    if json is not None and _json_or_none(outcome.content) != json:
        problems.append(f"JSON body {outcome.content[:200]!r}, expected {json!r}")
    if problems:
        raise AssertionError(f"{path} was rejected, but: {'; '.join(problems)}. It sent {outcome}.")
    return outcome


def assert_closed(
    client: TestClient,
    path: str,
    *,
    close_code: int | None = None,
    close_reason: str | None = None,
    request_headers: dict[str, str] | None = None,
    **connect_kwargs: Any,
) -> Closed:
    """Open `path`, read until the app closes the accepted socket, and assert the close code and reason.

    ```python
    closed = assert_closed(client, "/items/1", close_code=4409, close_reason="item was deleted")
    ```
    """
    outcome = _connect(client, path, request_headers, connect_kwargs)
    if not isinstance(outcome, Closed):
        raise AssertionError(f"Expected {path} to be accepted and then closed, but it was rejected with {outcome}.")
    problems = _differences(
        ("close code", outcome.close_code, close_code), ("reason", outcome.close_reason, close_reason)
    )
    if problems:
        raise AssertionError(f"{path} was closed, but: {'; '.join(problems)}. It was {outcome}.")
    return outcome


def without_denial_extension(app: ASGIApp) -> ASGIApp:
    """`app` as a server without the WebSocket Denial Response extension (daphne) runs it.

    ```python
    client = TestClient(without_denial_extension(app))
    assert_rejected(client, "/ws", status_code=403)  # what daphne sends
    ```
    """

    async def without_extension(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            given: dict[str, Any] = scope.get("extensions") or {}
            extensions = {k: v for k, v in given.items() if k != DENIAL_EXTENSION}
            scope = {**scope, "extensions": extensions}
        await app(scope, receive, send)

    return without_extension


def _connect(
    client: TestClient, path: str, request_headers: dict[str, str] | None, connect_kwargs: dict[str, Any]
) -> Rejected | Closed:
    if request_headers is not None:
        # A copy: Starlette's TestClient adds the handshake's own headers to the dict it is given.
        connect_kwargs = {**connect_kwargs, "headers": dict(request_headers)}
    try:
        with client.websocket_connect(path, **connect_kwargs) as websocket:
            messages: list[str | bytes] = []
            while (message := websocket.receive())["type"] == "websocket.send":
                messages.append(message["text"] if message.get("text") is not None else message["bytes"])
            return Closed(message.get("code", 1000), message.get("reason") or "", messages)
    except WebSocketDenialResponse as denial:
        return Rejected(denial.status_code, Headers(raw=list(denial.headers.raw)), denial.content)
    except WebSocketDisconnect as closed:
        return Rejected(403, Headers(), b"", closed_before_accept=closed.code)


def _json_or_none(content: bytes) -> Any:
    try:
        return jsonlib.loads(content)
    except ValueError:
        return None


def _differences(*checks: tuple[str, Any, Any]) -> list[str]:
    """ "`label` got, expected want" for each check whose expected value is given and differs."""
    return [f"{label} {got!r}, expected {want!r}" for label, got, want in checks if want is not None and got != want]
