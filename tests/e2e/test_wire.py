"""Every row of the contract on the wire: a real server, a real client, and raw bytes where they matter."""

import asyncio
import socket
import time

import pytest

from fastapi_ws_reject._sending import FALLBACK_WARNING
from fastapi_ws_reject.testing import Handshake, RunningServer, handshake

pytestmark = pytest.mark.e2e

HANDSHAKE_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def connect(server: RunningServer, path: str, **kwargs: object) -> Handshake:
    return asyncio.run(handshake(server.url + path, **kwargs))  # type: ignore[arg-type]


def raw_exchange(server: RunningServer, path: str, timeout: float = 5.0) -> bytes:
    """Send a handshake from a raw socket and read everything until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(HANDSHAKE_REQUEST.format(path=path, port=server.port).encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


@pytest.mark.parametrize("prefix", ["", "/app-wide", "/nested/inner"])
def test_http_exception_before_accept_arrives_as_declared(server: RunningServer, prefix: str) -> None:
    result = connect(server, prefix + "/rooms/attic")
    assert result.status == 404
    assert result.headers["x-room"] == "attic"
    assert result.headers["content-type"] == "application/json"
    assert result.body == b'{"detail":"no room attic"}'


def test_rejection_bytes_are_exactly_the_declared_response_and_nothing_follows(server: RunningServer) -> None:
    received = raw_exchange(server, "/rejection")
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines]
    assert status_line.startswith("HTTP/1.1 429")
    assert ("retry-after", "30") in [(name.lower(), value) for name, value in headers]
    assert body == b'{"detail":"slow down"}'  # read to EOF: no stray 101, no second response
    assert not {name.lower() for name, _ in headers} & {"upgrade", "sec-websocket-accept"}


def test_accepted_socket_is_untouched(server: RunningServer) -> None:
    result = connect(server, "/rooms/lobby")
    assert (result.status, result.messages, result.close_code) == (101, ["welcome"], 1000)


@pytest.mark.parametrize("prefix", ["", "/app-wide", "/nested/inner"])
def test_rejection_after_accept_closes_with_4000_plus_status_and_reason(server: RunningServer, prefix: str) -> None:
    result = connect(server, prefix + "/late")
    assert (result.status, result.messages) == (101, ["hello"])
    assert (result.close_code, result.close_reason) == (4404, "room closed")


def test_close_reason_is_cut_to_123_bytes(server: RunningServer) -> None:
    result = connect(server, "/late-http")
    assert (result.close_code, result.close_reason) == (4403, "é" * 61)


def test_validation_error_is_a_422_with_fastapi_errors(server: RunningServer) -> None:
    result = connect(server, "/validated/seven")
    assert result.status == 422
    assert b'"loc":["path","number"]' in result.body


def test_websocket_exception_keeps_its_reason(server: RunningServer) -> None:
    result = connect(server, "/ws-exception")
    assert (result.status, result.body) == (404, b"no such thing")


def test_include_level_guard_rejects_then_admits(server: RunningServer) -> None:
    assert connect(server, "/v1/rooms/lobby").status == 401
    assert connect(server, "/v1/rooms/lobby?token=good").messages == ["welcome"]


def test_without_the_extension_the_server_answers_403_at_once_and_one_warning_is_logged(
    server: RunningServer,
) -> None:
    started = time.monotonic()
    results = [connect(server, "/noext/rejection") for _ in range(2)]
    assert time.monotonic() - started < 3
    assert [result.status for result in results] == [403, 403]
    assert server.log().count(FALLBACK_WARNING.split("(")[0]) == 1


def test_fallback_still_closes_with_code_and_reason_after_accept(server: RunningServer) -> None:
    result = connect(server, "/noext/late")
    assert (result.close_code, result.close_reason) == (4404, "room closed")


def test_unexpected_error_before_accept_is_the_servers_500_and_logged(server: RunningServer) -> None:
    result = connect(server, "/boom")
    assert result.status == 500
    assert b"internal detail" not in result.body
    assert "RuntimeError: internal detail" in server.log()


def test_unexpected_error_after_accept_is_an_abnormal_close_without_detail(server: RunningServer) -> None:
    result = connect(server, "/boom-late")
    assert result.close_code in (1006, 1011)
    assert "internal detail" not in (result.close_reason or "")


def test_client_gone_while_rejecting_logs_nothing(server: RunningServer) -> None:
    before = server.log()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(HANDSHAKE_REQUEST.format(path="/slow-rejection", port=server.port).encode())
    time.sleep(0.6)  # the endpoint sleeps 0.3 s before it rejects
    assert connect(server, "/rooms/lobby").messages == ["welcome"]  # the server is still serving
    added = server.log()[len(before) :]
    assert "Traceback" not in added
    assert "fastapi_ws_reject" not in added
