"""The deployment of examples/deploy/ (nginx or HAProxy, TLS, /api/, two hosts of two workers, one Redis) for
tests/deploy/, and clients that connect to the proxy only, each from a loopback address of its own."""

import contextlib
import os
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from examples.deploy.run import Deployment, deployment, tool
from tests.support.redis_server import redis_server

# Each role has its own address (Linux routes all of 127/8 to the loopback): the proxy 127.0.0.2 and the
# hosts 127.0.0.11-12 (examples/deploy/run.py), Redis 127.0.0.1, and the clients these.
ALLOWED_CLIENT = "127.0.0.101"  # the one client IPGuard lets in
OTHER_CLIENT = "127.0.0.102"
# Headers the proxy and the server may add or change on a denial; everything else must be the app's, as sent.
HOP_HEADERS = frozenset({"server", "date", "connection", "keep-alive"})


def require(name: str) -> None:
    if tool(name) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs Debian's {name} package.")
        pytest.skip(f"{name} is not installed (apt-get install {name})")


@contextlib.contextmanager
def deployed(kind: str, setting: str, directory: Path, **app_environment: str) -> Iterator[Deployment]:
    """examples/deploy/run.py's deployment behind `kind`, on a redis-server of its own; every process stopped."""
    require(kind)
    require("openssl")
    environment = {"DEPLOY_ALLOW": ALLOWED_CLIENT, **app_environment}
    with redis_server() as (redis_url, _), deployment(kind, setting, redis_url, directory, **environment) as running:
        yield running


def tls(running: Deployment) -> ssl.SSLContext:
    """A client context that trusts the deployment's certificate only, and checks its IP address."""
    return ssl.create_default_context(cafile=str(running.certificate.certificate))


@contextlib.asynccontextmanager
async def websocket(
    running: Deployment, path: str, source: str, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    """A websocket through the proxy, over TLS, from `source`."""
    async with connect(
        running.url + path, ssl=tls(running), local_addr=(source, 0), additional_headers=headers, open_timeout=10
    ) as connection:
        yield connection


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to a handshake, as read off the socket."""

    status_line: bytes
    headers: tuple[tuple[str, str], ...]  # names in lower case, in order
    body: bytes

    def app_headers(self) -> list[tuple[str, str]]:
        return sorted((name, value) for name, value in self.headers if name not in HOP_HEADERS)

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key == name)


def raw_handshake(
    address: str,
    port: int,
    path: str,
    source: str,
    *,
    context: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Send a websocket handshake from `source` and read the answer byte by byte: its status line, headers, and
    the body its Content-Length announces (or, without one, up to the close)."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {address}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    raw = socket.create_connection((address, port), timeout=10, source_address=(source, 0))
    with context.wrap_socket(raw, server_hostname=address) if context else raw as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"the connection closed before the headers ended: {data!r}")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        fields = (line.decode().partition(":") for line in lines)
        parsed = tuple((name.strip().lower(), value.strip()) for name, _, value in fields)
        length = next((int(value) for name, value in parsed if name == "content-length"), None)
        while length is None or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return Answer(status_line, parsed, body)


def through_proxy(running: Deployment, path: str, source: str, headers: dict[str, str] | None = None) -> Answer:
    host, port = running.url.removeprefix("wss://").split("/", 1)[0].split(":")
    return raw_handshake(host, int(port), "/api" + path, source, context=tls(running), headers=headers)


def from_host(running: Deployment, path: str, source: str, headers: dict[str, str] | None = None) -> Answer:
    """The answer the first host gives a client that reaches it directly (the test's reference)."""
    first = running.hosts[0]
    return raw_handshake(first.address, first.port, path, source, headers=headers)
