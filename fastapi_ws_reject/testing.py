"""Test real handshakes: `live_server` serves an app on a free port, `handshake` connects to it.

Needs the test extra (`pip install "fastapi-ws-reject[test]"`: uvicorn, hypercorn, websockets), so it
is not imported by `fastapi_ws_reject` itself, as `starlette.testclient` is not by Starlette.

```python
with live_server("myapp:app") as base_url:
    result = asyncio.run(handshake(base_url + "/ws"))
    assert result.status == 404
```
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

# The command after the python executable; {app}, {port} and {ws} are filled in.
_COMMANDS: dict[str, list[str]] = {
    "uvicorn": ["-m", "uvicorn", "{app}", "--host", "127.0.0.1", "--port", "{port}", "--ws", "{ws}"],
    "hypercorn": ["-m", "hypercorn", "{app}", "--bind", "127.0.0.1:{port}"],
    "granian": ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "{app}"],
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "{app}"],
}
UVICORN_WS = ("websockets-sansio", "websockets", "wsproto")


@dataclass
class RunningServer:
    """A server started by `live_server`: its websocket base URL and what it logged so far."""

    name: str
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Handshake:
    """What a real client saw: `status` 101 and the close, or the rejection's status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    messages: list[str | bytes] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None


async def handshake(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    timeout: float = 10.0,
) -> Handshake:
    """Open a websocket to `url`, read until the server closes it, and report what came back."""
    try:
        async with connect(
            url,
            additional_headers=dict(headers or {}),
            subprotocols=[Subprotocol(name) for name in subprotocols] if subprotocols else None,
            open_timeout=timeout,
            close_timeout=timeout,
        ) as websocket:
            assert websocket.response is not None
            result = Handshake(101, {k.lower(): v for k, v in websocket.response.headers.raw_items()})
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(_read_all(websocket, result.messages), timeout)
            result.close_code, result.close_reason = websocket.close_code, websocket.close_reason
            return result
    except InvalidStatus as exc:
        response = exc.response
        return Handshake(
            response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}, bytes(response.body or b"")
        )


async def _read_all(websocket: ClientConnection, messages: list[str | bytes]) -> None:
    async for message in websocket:
        messages.append(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(
    app: str,
    server: str = "uvicorn",
    ws: str = "websockets-sansio",
    *,
    cwd: str | os.PathLike[str] | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[RunningServer]:
    """Serve the app at import path `app` ("module:attribute") with a real server on a free port.

    `server` is "uvicorn" (with `ws` one of `UVICORN_WS`) or "hypercorn". The server is stopped by
    its PID when the block ends, whatever happens in it.
    """
    if server not in _COMMANDS:
        raise ValueError(f"server must be one of {sorted(_COMMANDS)}, got {server!r}.")
    port = free_port()
    args = [part.format(app=app, port=port, ws=ws) for part in _COMMANDS[server]]
    name = f"{server}-{ws}" if server == "uvicorn" else server
    log_file = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
    workdir = Path(cwd or os.getcwd())
    path = os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, *args], cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    server_info = RunningServer(name, port, Path(log_file.name))
    try:
        _wait_until_listening(process, port, startup_timeout, server_info)
        yield server_info
    finally:
        _stop(process)
        log_file.close()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, timeout: float, server: RunningServer) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {process.returncode}:\n{server.log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not listen on port {port} within {timeout}s:\n{server.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
