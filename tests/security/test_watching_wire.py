"""Issue 21, row 2 on the wire: after the library closes a socket whose credential expired (4401), the endpoint
takes nothing more from it, on every server, even from a client that ignores the close frame and keeps sending.

The endpoint used to go on receiving: hypercorn, `uvicorn --ws websockets` and daphne still deliver the frames a
client sends after the server's close, and an endpoint looping on `receive()` processed all 20 (`receive_text()`
one, then failed with an error that is not `WebSocketDisconnect`); on granian none arrived, but the endpoint's
disconnect carried 1005, not 4401. Here a raw socket plays that client: it waits for the 4401 close, never answers
it, and sends 20 text frames; the endpoint (in this module, served by a real server in its own process) counts
what it processes, and an HTTP route of the same app tells the test. A server that stops reading after its close
(uvicorn's websockets-sansio and wsproto) delivers nothing either way, which passes too: what must hold is that
the endpoint processes none of the 20 and its receive ends with the library's code.
This module is also the app the servers import.
"""

import contextlib
import itertools
import json
import os
import socket
import struct
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, ws_guard
from fastapi_ws_reject.guards import Authenticated, BearerTokenGuard, all_of
from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import ROOT
from tests.support.servers import HANDSHAKE_REQUEST, SERVERS

pytestmark = pytest.mark.e2e

EXPIRES_IN = 1.0  # seconds from the handshake to the library's close
AFTER_THE_CLOSE = 20  # text frames the client sends once the close arrived
Outcome = tuple[int, dict[str, Any]]  # the close code the client got, what the endpoint processed


# The app, served by each server from this module.


@dataclass(frozen=True)
class Session:
    user: str
    expires_at: float


def verify(token: str) -> Session:
    return Session("mallory", float(token))  # the token is its own expiry, as a Unix time


def open_door(connection: HTTPConnection) -> bool:
    return True


bearer = BearerTokenGuard(verify, sources=("query",))
#: what each socket's endpoint processed, by the `id` in its query: {"messages": n, "ended": close code or None}
SEEN: dict[str, dict[str, Any]] = {}


async def count_until_closed(websocket: WebSocket) -> None:
    """Accept, greet, then process every message until a disconnect (by `receive()`, or `receive_text()` with
    `?read=text`), counting them where `/seen/{id}` reads."""
    record = SEEN[websocket.query_params["id"]] = {"messages": 0, "ended": None}
    await websocket.accept()
    await websocket.send_text("in")
    if websocket.query_params.get("read") == "text":
        try:
            while True:
                await websocket.receive_text()
                record["messages"] += 1
        except WebSocketDisconnect as disconnect:
            record["ended"] = disconnect.code
    else:
        while (message := await websocket.receive())["type"] != "websocket.disconnect":
            record["messages"] += 1
        record["ended"] = message.get("code", 1000)


router = RejectingRouter()


@router.websocket("/depends")
async def depends(websocket: WebSocket, auth: Annotated[Authenticated[Session], Depends(bearer)]) -> None:
    await count_until_closed(websocket)


@router.websocket("/all-of")
async def in_all_of(websocket: WebSocket, value: Annotated[Any, Depends(all_of(ws_guard(open_door), bearer))]) -> None:
    await count_until_closed(websocket)


app = FastAPI()
app.include_router(router)


@app.websocket("/middleware")
async def behind_the_middleware(websocket: WebSocket) -> None:
    await count_until_closed(websocket)


@app.get("/seen/{socket_id}")
async def seen(socket_id: str) -> dict[str, Any] | None:
    return SEEN.get(socket_id)


app.add_middleware(WebSocketGuardMiddleware, guards=[bearer], include=["/middleware"])

PLACEMENTS = {"Depends(guard)": "/depends", "all_of(...)": "/all-of", "WebSocketGuardMiddleware": "/middleware"}


# The servers, and a client that ignores the close.


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    name, ws = request.param
    with live_server(f"{__name__}:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


def seen_by(server: RunningServer, socket_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/seen/{socket_id}", timeout=5) as response:
        record = json.loads(response.read())
    assert isinstance(record, dict), f"the endpoint never ran for {socket_id}"
    return record


def poll(server: RunningServer, socket_id: str, done: Any, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while not done(record := seen_by(server, socket_id)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return record


class RawClient:
    """A websocket client on a raw socket: it reads frames, sends masked text frames, and never answers a close."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.sock.sendall(HANDSHAKE_REQUEST.format(path=path, port=port).encode())
        head = self.read_until(b"\r\n\r\n")
        assert head.split(b" ", 2)[1] == b"101", head

    def read_until(self, end: bytes) -> bytes:
        while end not in self.buffer:
            self.fill()
        head, _, self.buffer = self.buffer.partition(end)
        return head

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def frame(self) -> tuple[int, bytes]:
        """The next frame from the server (unmasked, unfragmented here): its opcode and payload."""
        first, second = self.read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.read(8))
        return first & 0x0F, self.read(length)

    def send_text(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def ignore_the_close(server: RunningServer, path: str, read: str) -> Outcome:
    """Connect with a token that expires in EXPIRES_IN, wait for the library's close, keep sending anyway.

    Returns the close code the client got and what the endpoint processed, once it ended.
    """
    socket_id = f"{path.strip('/')}-{read}-{time.monotonic_ns()}"
    token = time.time() + EXPIRES_IN
    client = RawClient(server.port, f"{path}?id={socket_id}&read={read}&access_token={token}")
    try:
        assert client.frame() == (0x1, b"in")
        while (frame := client.frame())[0] != 0x8:  # pings or anything else before the close: skipped
            pass
        code = struct.unpack("!H", frame[1][:2])[0]
        with contextlib.suppress(OSError):  # a server that dropped the connection cannot deliver them
            for number in range(AFTER_THE_CLOSE):
                client.send_text(f"message {number}")
        # An endpoint the watch released has ended already; one that still receives gets the frames now.
        poll(
            server,
            socket_id,
            lambda record: record["ended"] is not None or record["messages"] >= AFTER_THE_CLOSE,
            within=1,
        )
    finally:
        client.close()
    # The connection is gone: an endpoint still receiving ends now, with what it processed until then.
    return code, poll(server, socket_id, lambda record: record["ended"] is not None, within=10)


READS = {"receive()": "receive", "receive_text()": "text"}
CASES = list(itertools.product(PLACEMENTS.values(), READS.values()))


@pytest.fixture(scope="module")
def outcomes(server: RunningServer) -> Iterator[dict[tuple[str, str], Future[Outcome]]]:
    """Every placement and way of reading at once on one server: each waits a second for its expiry."""
    with ThreadPoolExecutor(len(CASES)) as pool:
        yield {(path, read): pool.submit(ignore_the_close, server, path, read) for path, read in CASES}


@pytest.mark.parametrize("read", list(READS.values()), ids=list(READS))
@pytest.mark.parametrize("path", list(PLACEMENTS.values()), ids=list(PLACEMENTS))
def test_the_endpoint_processes_nothing_a_client_sends_after_the_expiry_close(
    outcomes: dict[tuple[str, str], Future[Outcome]], path: str, read: str
) -> None:
    code, processed = outcomes[path, read].result(timeout=30)
    assert code == 4401
    assert processed == {"messages": 0, "ended": 4401}
