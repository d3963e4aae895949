"""Every row of the contract on the wire: each real server, a real client, and raw bytes where they matter.

Where a server cannot honour a row, the test pins what it does instead (tests/support/servers.py).
"""

import asyncio
import socket
import time

import pytest

from fastapi_ws_reject._pipeline.sending import FALLBACK_WARNING
from fastapi_ws_reject.testing import Handshake, RunningServer, handshake
from tests.support.servers import HANDSHAKE_REQUEST, SERVER_HEADERS, Behaviour

pytestmark = pytest.mark.e2e


def connect(server: RunningServer, path: str, **kwargs: object) -> Handshake:
    return asyncio.run(handshake(server.url + path, **kwargs))  # type: ignore[arg-type]


def raw_exchange(server: RunningServer, path: str, timeout: float = 5.0) -> tuple[bytes, bytes, bool]:
    """Send a handshake from a raw socket; return the response head, the body, and whether the server then
    closed the connection (rather than keeping it alive) with nothing more sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(HANDSHAKE_REQUEST.format(path=path, port=server.port).encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        lengths = [line[15:] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
        length = int(lengths[0]) if lengths else 0
        while len(body) < length:
            body += sock.recv(65536)
        sock.settimeout(0.5)
        try:
            trailing = sock.recv(65536)
        except TimeoutError:
            return head, body, False
        assert trailing == b"", f"the server sent more after the response: {trailing!r}"
        return head, body, True


def wait_for_log(server: RunningServer, text: str, timeout: float = 10.0) -> str:
    """The server's log once `text` is in it (some servers write their workers' logs late)."""
    deadline = time.monotonic() + timeout
    while text not in (log := server.log()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return log


def assert_forbidden_fallback(result: Handshake) -> None:
    assert (result.status_code, result.content) == (403, b"")


@pytest.mark.parametrize("prefix", ["", "/app-wide", "/nested/inner"])
def test_http_exception_before_accept_arrives_as_declared(
    server: RunningServer, behaviour: Behaviour, prefix: str
) -> None:
    result = connect(server, prefix + "/rooms/attic")
    if not behaviour.denial_extension:
        return assert_forbidden_fallback(result)
    assert result.status_code == 404
    assert result.headers["x-room"] == "attic"
    assert result.headers["content-type"] == "application/json"
    assert result.content == b'{"detail":"no room attic"}'


def test_rejection_bytes_are_the_declared_response_and_nothing_follows(
    server: RunningServer, behaviour: Behaviour
) -> None:
    head, body, closed = raw_exchange(server, "/rejection")
    assert closed is behaviour.closes_after_denial
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [(name.strip().lower(), value.strip()) for name, value in (line.split(":", 1) for line in header_lines)]
    if not behaviour.denial_extension:
        assert status_line.startswith("HTTP/1.1 403")
        return
    assert status_line.startswith("HTTP/1.1 429")
    declared = {("retry-after", "30"), ("content-type", "application/json"), ("content-length", str(len(body)))}
    assert declared <= set(headers)
    assert {name for name, _ in headers} - {name for name, _ in declared} <= SERVER_HEADERS | behaviour.added_headers
    assert body == b'{"detail":"slow down"}'  # and nothing after it: no stray 101, no second response


def test_empty_denial_gets_only_what_the_server_adds(server: RunningServer, behaviour: Behaviour) -> None:
    result = connect(server, "/guarded")
    if not behaviour.denial_extension:
        return assert_forbidden_fallback(result)
    assert (result.status_code, result.content, result.headers["content-length"]) == (401, b"", "0")
    assert ("content-type" in result.headers) is behaviour.types_empty_body


@pytest.mark.parametrize("prefix", ["", "/built", "/noext/built"])
def test_a_leading_guards_refusal_arrives_as_declared(server: RunningServer, behaviour: Behaviour, prefix: str) -> None:
    head, body, _ = raw_exchange(server, prefix + "/members")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in header_lines)}
    if not behaviour.denial_extension or prefix.startswith("/noext"):
        assert (status_line.split()[1], body) == ("403", b"")
        return
    assert (status_line.split()[1], body) == ("401", b"members only")
    assert headers["www-authenticate"] == 'Member realm="rooms"'
    admitted = connect(server, prefix + "/members", headers={"x-member": "bob"})
    assert (admitted.status_code, admitted.messages, admitted.close_code) == (101, ["bob"], 1000)


def test_accepted_socket_is_untouched(server: RunningServer) -> None:
    result = connect(server, "/rooms/lobby")
    assert (result.status_code, result.messages, result.close_code) == (101, ["welcome"], 1000)


@pytest.mark.parametrize("prefix", ["", "/app-wide", "/nested/inner", "/noext"])
def test_rejection_after_accept_closes_with_4000_plus_status_and_reason(
    server: RunningServer, behaviour: Behaviour, prefix: str
) -> None:
    result = connect(server, prefix + "/late")
    assert (result.status_code, result.messages, result.close_code) == (101, ["hello"], 4404)
    assert result.close_reason == ("room closed" if behaviour.keeps_close_reason else "")


def test_close_reason_is_cut_to_123_bytes(server: RunningServer, behaviour: Behaviour) -> None:
    result = connect(server, "/late-http")
    assert result.close_code == 4403
    assert result.close_reason == ("é" * 61 if behaviour.keeps_close_reason else "")


def test_validation_error_is_a_422_with_fastapi_errors(server: RunningServer, behaviour: Behaviour) -> None:
    result = connect(server, "/validated/seven")
    if not behaviour.denial_extension:
        return assert_forbidden_fallback(result)
    assert result.status_code == 422
    assert b'"loc":["path","number"]' in result.content


def test_websocket_exception_keeps_its_reason(server: RunningServer, behaviour: Behaviour) -> None:
    result = connect(server, "/ws-exception")
    if not behaviour.denial_extension:
        return assert_forbidden_fallback(result)
    assert (result.status_code, result.content) == (404, b"no such thing")


def test_include_level_guard_rejects_then_admits(server: RunningServer, behaviour: Behaviour) -> None:
    assert connect(server, "/v1/rooms/lobby").status_code == (401 if behaviour.denial_extension else 403)
    assert connect(server, "/v1/rooms/lobby?token=good").messages == ["welcome"]


def test_without_the_extension_the_server_answers_403_at_once_and_one_warning_is_logged(
    server: RunningServer,
) -> None:
    started = time.monotonic()
    results = [connect(server, "/noext/rejection") for _ in range(3)]
    assert time.monotonic() - started < 3
    for result in results:
        assert_forbidden_fallback(result)
    # Once per app, not per rejection: the server's main app and the app mounted at /app-wide may each warn once.
    assert 1 <= server.log().count(FALLBACK_WARNING.split("(")[0]) <= 2


def test_unexpected_error_before_accept_is_logged_and_answered_by_the_server(
    server: RunningServer, behaviour: Behaviour
) -> None:
    result = connect(server, "/boom")
    assert result.status_code == behaviour.error_before_accept
    assert b"internal detail" not in result.content
    assert "RuntimeError: internal detail" in wait_for_log(server, "RuntimeError: internal detail")


def test_unexpected_error_after_accept_is_an_abnormal_close_without_detail(
    server: RunningServer, behaviour: Behaviour
) -> None:
    result = connect(server, "/boom-late")
    assert result.close_code in behaviour.error_after_accept
    assert "internal detail" not in (result.close_reason or "")
