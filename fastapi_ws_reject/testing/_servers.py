"""`live_server`: an app served by a real ASGI server on a free loopback port, stopped when the block ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from starlette.types import ASGIApp

# The command after the python executable; {app}, {port} and {ws} are filled in.
_COMMANDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "uvicorn": ("-m", "uvicorn", "{app}", "--host", "127.0.0.1", "--port", "{port}", "--ws", "{ws}"),
        "hypercorn": ("-m", "hypercorn", "{app}", "--bind", "127.0.0.1:{port}"),
        "granian": ("-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "{app}"),
        "daphne": ("-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "{app}"),
    }
)
SERVERS = tuple(_COMMANDS)
"""The servers `live_server` can start: `("uvicorn", "hypercorn", "granian", "daphne")`."""
UVICORN_WS = ("websockets-sansio", "websockets", "wsproto")
"""uvicorn's websocket implementations, for `live_server(app, "uvicorn", ws=...)`; the first is uvicorn's default."""


class RunningServer(str):
    """The base URL of a server started by `live_server` (`ws://127.0.0.1:PORT`), with what it logged.

    ```python
    with live_server("myapp:app", server="daphne") as base_url:
        asyncio.run(handshake(base_url + "/ws"))
        assert "Traceback" not in base_url.log()
    ```
    """

    name: str
    port: int
    log_path: Path | None
    pid: int | None  # the server process's, or None for a server run in a thread of this process

    def __new__(cls, name: str, port: int, log_path: Path | None, pid: int | None = None) -> RunningServer:
        running = super().__new__(cls, f"ws://127.0.0.1:{port}")
        running.name, running.port, running.log_path, running.pid = name, port, log_path, pid
        return running

    @property
    def url(self) -> str:
        return str(self)

    def log(self) -> str:
        """What the server process wrote so far ("" for a server run in this process: see `logging`)."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(
    app: str | ASGIApp,
    server: str = "uvicorn",
    ws: str = "websockets-sansio",
    *,
    cwd: str | os.PathLike[str] | None = None,
    startup_timeout: float = 20.0,
    server_args: Sequence[str] = (),
) -> Generator[RunningServer, None, None]:
    """Serve `app` with a real server on a free 127.0.0.1 port; yield its base URL.

    ```python
    with live_server("myapp:app", server="hypercorn") as base_url:
        result = asyncio.run(handshake(base_url + "/ws"))
    ```

    `app` is an import path ("module:attribute", run in a subprocess from `cwd`, stopped by its PID) or,
    for uvicorn and hypercorn, the app object itself (run in a thread of this process). `server` is one of
    `SERVERS`; `ws` picks uvicorn's websocket implementation (one of `UVICORN_WS`). `server_args` are added
    to the server's command line (`["--root-path", "/api"]`), for an app given by import path.
    """
    if server not in _COMMANDS:
        raise ValueError(f"server must be one of {', '.join(SERVERS)}, got {server!r}.")
    if server == "uvicorn" and ws not in UVICORN_WS:
        raise ValueError(f"ws must be one of {', '.join(UVICORN_WS)} for uvicorn, got {ws!r}.")
    name = f"{server}-{ws}" if server == "uvicorn" else server
    if isinstance(app, str):
        command = [*_COMMANDS[server], *server_args]
        with _subprocess(app, command, ws, name, Path(cwd or os.getcwd()), startup_timeout) as running:
            yield running
    elif server_args:
        raise TypeError("server_args need a server in its own process; pass the app as 'module:attribute'.")
    elif server in ("uvicorn", "hypercorn"):
        with _thread(app, server, ws, name, startup_timeout) as running:
            yield running
    else:
        raise TypeError(f"{server} loads the app by import path; pass 'module:attribute' instead of {app!r}.")


@contextlib.contextmanager
def _subprocess(
    app: str, command: list[str], ws: str, name: str, cwd: Path, timeout: float
) -> Generator[RunningServer, None, None]:
    port = free_port()
    args = [part.format(app=app, port=port, ws=ws) for part in command]
    log_file = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
    path = os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    running = RunningServer(name, port, Path(log_file.name), process.pid)
    try:
        _wait_until_listening(running, timeout, lambda: process.poll() is None)
        yield running
    finally:
        _stop(process)
        log_file.close()


@contextlib.contextmanager
def _thread(app: ASGIApp, server: str, ws: str, name: str, timeout: float) -> Generator[RunningServer, None, None]:
    port = free_port()
    serve, stop = _uvicorn(app, port, ws) if server == "uvicorn" else _hypercorn(app, port)
    thread = threading.Thread(target=serve, name=f"live_server-{name}", daemon=True)
    thread.start()
    running = RunningServer(name, port, None)
    try:
        _wait_until_listening(running, timeout, thread.is_alive)
        yield running
    finally:
        stop()
        thread.join(timeout=10)


def _uvicorn(app: ASGIApp, port: int, ws: str) -> tuple[Callable[[], None], Callable[[], None]]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws=ws, log_level="warning"))

    def stop() -> None:
        server.should_exit = True

    return server.run, stop


def _hypercorn(app: ASGIApp, port: int) -> tuple[Callable[[], None], Callable[[], None]]:
    # hypercorn annotates the WSGI side of `serve` (its app and `shutdown_trigger`) with bare generics.
    from hypercorn.asyncio import serve  # pyright: ignore[reportUnknownVariableType]
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    loop = asyncio.new_event_loop()
    shutdown = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=shutdown.wait))  # type: ignore[arg-type]
        loop.close()

    def stop() -> None:
        loop.call_soon_threadsafe(shutdown.set)

    return run, stop


def _wait_until_listening(running: RunningServer, timeout: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{running.name} exited before it listened:\n{running.log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", running.port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{running.name} did not listen on port {running.port} within {timeout}s:\n{running.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
