"""Attacks on `IPGuard` over the wire: uvicorn and hypercorn as subprocesses, a raw socket and a real client.

The servers get their listening socket from this module (`--fd`, `fd://`): a 127.0.0.1 socket, or a dual-stack
one bound to `::` on which IPv4 clients appear as `::ffff:a.b.c.d` (this is what hypercorn's `--bind [::]:PORT`
and uvicorn's `--workers`/`--reload` sockets are). uvicorn runs with `--no-proxy-headers`: its own proxy
middleware would otherwise rewrite the client from X-Forwarded-For for 127.0.0.1 before `IPGuard` reads it.
This module is also the app the servers import.
"""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, WebSocket

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.guards import IPGuard
from fastapi_ws_reject.guards._network import IPAddress
from fastapi_ws_reject.testing import UVICORN_WS, handshake
from fastapi_ws_reject.testing._servers import _stop as stop
from tests.support.apps import ROOT

pytestmark = pytest.mark.e2e
router = RejectingRouter()
office = IPGuard(allow=["10.0.0.0/8"], trusted_proxies=["127.0.0.1"])
no_loopback = IPGuard(deny=["127.0.0.0/8"])


@router.websocket("/office")
async def office_socket(websocket: WebSocket, address: Annotated[IPAddress, Depends(office)]) -> None:
    await websocket.accept()
    await websocket.send_text(str(address))
    await websocket.close()


@router.websocket("/no-loopback")
async def no_loopback_socket(websocket: WebSocket, address: Annotated[IPAddress, Depends(no_loopback)]) -> None:
    await websocket.accept()
    await websocket.send_text(str(address))
    await websocket.close()


@router.websocket("/peer")
async def peer_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.client.host if websocket.client else "")
    await websocket.close()


app = FastAPI()
app.include_router(router)

APP = "tests.security.test_network_wire:app"
COMMANDS = {
    **{f"uvicorn-{ws}": ["-m", "uvicorn", APP, "--fd", "{fd}", "--ws", ws, "--no-proxy-headers"] for ws in UVICORN_WS},
    "hypercorn": ["-m", "hypercorn", APP, "--bind", "fd://{fd}"],
}
HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
)
PROXY_LINE = ("X-Forwarded-For", "198.51.100.7")  # what the proxy at 127.0.0.1 appends: the attacker's address


@contextlib.contextmanager
def serve(server: str, family: socket.AddressFamily) -> Iterator[int]:
    """Run `server` on a socket bound here (no free-port race); yield its port; stop it by PID."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    log = tempfile.NamedTemporaryFile(prefix=f"{server}-", suffix=".log", delete=False)  # noqa: SIM115
    process = None
    try:
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 clients too, as ::ffff:a.b.c.d
        listener.bind(("::" if family == socket.AF_INET6 else "127.0.0.1", 0))
        port = listener.getsockname()[1]
        args = [part.format(fd=listener.fileno()) for part in COMMANDS[server]]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
        wait_until_listening(port, process, Path(log.name))
        yield port
    finally:
        if process is not None:
            stop(process)
        listener.close()
        log.close()
        os.unlink(log.name)


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    # The socket is bound but not listening until the server calls listen(): a refused connect means "not yet".
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited before it listened:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="module", params=list(COMMANDS))
def ipv4_server(request: pytest.FixtureRequest) -> Iterator[int]:
    with serve(request.param, socket.AF_INET) as port:
        yield port


@pytest.fixture(scope="module", params=list(COMMANDS))
def dual_stack_server(request: pytest.FixtureRequest) -> Iterator[int]:
    with serve(request.param, socket.AF_INET6) as port:
        yield port


def raw_handshake(port: int, path: str, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """Send a handshake with `headers` exactly as listed (a name may repeat, which the `websockets` client merges).

    Returns the status and the body of a refusal, or the status and the first text message after a 101.
    """
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, sock.makefile("rb") as response:
        sock.sendall(HANDSHAKE.format(path=path, port=port, headers=lines).encode())
        status = int(response.readline().split(b" ", 2)[1])
        fields = {}
        while (line := response.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if status != 101:
            return status, response.read(int(fields.get(b"content-length", b"0")))
        frame = response.read(2)  # a server's frame is unmasked; a short one has its length in the second byte
        return status, response.read(frame[1] & 0x7F)


def test_a_forged_first_x_forwarded_for_line_loses_to_the_line_the_proxy_appended(ipv4_server: int) -> None:
    forged = ("X-Forwarded-For", "10.0.0.1")
    assert raw_handshake(ipv4_server, "/office", [forged, PROXY_LINE]) == (403, b"address not allowed")


def test_the_line_the_proxy_appended_names_the_client_on_the_wire(ipv4_server: int) -> None:
    lines = [PROXY_LINE, ("X-Forwarded-For", "10.0.0.1")]  # the same two lines, the allowed one appended last
    assert raw_handshake(ipv4_server, "/office", lines) == (101, b"10.0.0.1")


def test_a_forged_forwarded_header_is_ignored_on_the_wire(ipv4_server: int) -> None:
    lines = [("Forwarded", "for=10.0.0.1"), PROXY_LINE]
    assert raw_handshake(ipv4_server, "/office", lines) == (403, b"address not allowed")


def test_a_dual_stack_server_shows_an_ipv4_client_as_mapped(dual_stack_server: int) -> None:
    seen = asyncio.run(handshake(f"ws://127.0.0.1:{dual_stack_server}/peer"))
    assert seen.messages == ["::ffff:127.0.0.1"]  # else the next test proves nothing


def test_a_mapped_peer_is_denied_by_its_ipv4_network_on_the_wire(dual_stack_server: int) -> None:
    refused = asyncio.run(handshake(f"ws://127.0.0.1:{dual_stack_server}/no-loopback"))
    assert (refused.status_code, refused.content) == (403, b"address not allowed")
