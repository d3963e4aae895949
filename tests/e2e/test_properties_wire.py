"""For any valid rejection, the bytes a real uvicorn sends parse (with h11) back to exactly what was declared."""

import asyncio
import base64
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapi_ws_reject import WebSocketRejection
from fastapi_ws_reject.testing import RunningServer, handshake, live_server
from tests.e2e.declared_app import encode_spec
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVER_HEADERS
from tests.support.strategies import bodies, headers, statuses

pytestmark = pytest.mark.e2e

WIRE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", params=["websockets-sansio", "wsproto"])
def uvicorn_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    with live_server("tests.e2e.declared_app:app", ws=request.param, cwd=ROOT) as server:
        yield server


def spec_of(status: int, declared: dict[str, str], body: tuple[str, Any], reason: str | None = None) -> str:
    kind, value = body
    if kind == "bytes":
        value = base64.b64encode(value).decode()
    return encode_spec({"status": status, "headers": declared, "kind": kind, "body": value, "reason": reason})


def parse_response(server: RunningServer, target: str) -> tuple[h11.Response, bytes]:
    request = h11.Request(
        method="GET",
        target=target,
        headers=[
            ("Host", f"127.0.0.1:{server.port}"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    )
    client = h11.Connection(h11.CLIENT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(client.send(request) + client.send(h11.EndOfMessage()))
        response: h11.Response | None = None
        body = b""
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, body
            else:  # pragma: no cover
                raise AssertionError(f"unexpected {event!r}")


@WIRE
@given(status=statuses, declared=headers, body=bodies)
def test_declared_response_arrives_byte_for_byte(
    uvicorn_server: RunningServer, status: int, declared: dict[str, str], body: tuple[str, Any]
) -> None:
    expected = WebSocketRejection(status, body[1], headers=declared)
    response, content = parse_response(uvicorn_server, "/declared?spec=" + spec_of(status, declared, body))
    assert response.status_code == status
    assert content == expected.body
    received = Counter((bytes(name), bytes(value)) for name, value in response.headers)
    missing = Counter(expected.raw_headers) - received
    assert not missing, f"declared headers missing on the wire: {missing}"
    extra = {name.decode() for name, _ in (received - Counter(expected.raw_headers))}
    allowed = SERVER_HEADERS | ({"content-type"} if BEHAVIOURS[uvicorn_server.name].types_empty_body else set())
    assert extra <= allowed


@WIRE
@given(reason=st.text(max_size=200), status=statuses)
def test_any_reason_arrives_cut_to_123_bytes_of_valid_utf8(
    uvicorn_server: RunningServer, status: int, reason: str
) -> None:
    url = uvicorn_server.url + "/declared-late?spec=" + spec_of(status, {}, ("none", None), reason)
    result = asyncio.run(handshake(url))
    assert result.close_code == 4000 + status
    assert result.close_reason is not None
    assert len(result.close_reason.encode()) <= 123
    assert reason.startswith(result.close_reason)
