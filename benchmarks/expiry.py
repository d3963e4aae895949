"""What expiry and re-validation cost: N sockets held open at once in one process, in-process ASGI, no network.

Each case opens N sockets through a FastAPI route guarded by a `BearerTokenGuard` (the token accepted, the
socket held open), and reports the RSS and CPU time per socket against the same guard with no expiry. Then
every socket's client goes away, and the run checks that no watch is left. `--fire` also lets N expiries
fall due at the same moment and times their closes.
Run: python benchmarks/expiry.py [--sockets 10000] [--fire]
"""

import argparse
import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect  # noqa: E402
from starlette.types import ASGIApp, Message  # noqa: E402

from benchmarks.inprocess import SCOPE, rss_kib  # noqa: E402
from fastapi_ws_reject import RejectingRouter  # noqa: E402
from fastapi_ws_reject._pipeline.watching import SocketWatch  # noqa: E402
from fastapi_ws_reject.guards import Authenticated, BearerTokenGuard  # noqa: E402


class Expiring:
    __slots__ = ("expires_at",)

    def __init__(self, expires_at: float | None) -> None:
        self.expires_at = expires_at


def app_for(lifetime: float | None, revalidate: float | None) -> FastAPI:
    def verify(token: str) -> Expiring:
        return Expiring(None if lifetime is None else time.time() + lifetime)

    guard = BearerTokenGuard(verify, sources=("query",), revalidate=revalidate)
    router = RejectingRouter()

    @router.websocket("/ws")
    async def held(websocket: WebSocket, auth: Annotated[Authenticated[Expiring], Depends(guard)]) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()

    app = FastAPI()
    app.include_router(router)
    return app


class Client:
    """The server side of one socket: connect, then nothing until `leave()` (or the app closes it)."""

    __slots__ = ("accepted", "gone", "closed", "close_code", "connected")

    def __init__(self) -> None:
        self.accepted = asyncio.Event()
        self.gone = asyncio.Event()
        self.closed = 0.0
        self.close_code: int | None = None
        self.connected = False

    async def receive(self) -> Message:
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        await self.gone.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(self, message: Message) -> None:
        if message["type"] == "websocket.accept":
            self.accepted.set()
        elif message["type"] == "websocket.close":
            self.closed, self.close_code = time.perf_counter(), message["code"]
            self.gone.set()


async def hold_open(app: ASGIApp, sockets: int) -> tuple[list[Client], list[asyncio.Task[None]], float]:
    clients = [Client() for _ in range(sockets)]
    started = time.process_time()
    tasks = []
    for client in clients:
        scope = dict(SCOPE) | {"query_string": b"access_token=t"}
        tasks.append(asyncio.get_running_loop().create_task(app(scope, client.receive, client.send)))
    for client in clients:
        await client.accepted.wait()
    return clients, tasks, time.process_time() - started


async def release(clients: list[Client], tasks: list[asyncio.Task[None]], *_: object) -> None:
    for client in clients:
        client.gone.set()
    await asyncio.gather(*tasks)


def watches() -> int:
    gc.collect()
    return sum(isinstance(thing, SocketWatch) for thing in gc.get_objects())


async def measure(name: str, app: ASGIApp, sockets: int) -> dict[str, float]:
    await release(*await hold_open(app, 100))  # warm-up: imports, first-handshake paths
    gc.collect()
    before = rss_kib()
    clients, tasks, cpu = await hold_open(app, sockets)
    gc.collect()
    grown = rss_kib() - before
    scheduled = watches()
    await release(clients, tasks)
    left = watches()
    print(
        f"{name:<34} {grown * 1024 / sockets:8.0f} B/socket  {cpu * 1e6 / sockets:7.1f} µs CPU/handshake  "
        f"watches while open {scheduled}, left {left}"
    )
    return {"bytes_per_socket": grown * 1024 / sockets, "cpu_us_per_handshake": cpu * 1e6 / sockets}


async def fire(sockets: int) -> None:
    """`sockets` expiries due at the same moment: how long until every socket is closed, and the CPU it took."""
    lifetime = 2.0 + sockets / 5000
    clients, tasks, _ = await hold_open(app_for(lifetime, None), sockets)
    due = time.perf_counter() + max(0.0, lifetime - 0.5)  # the first sockets' expiry, give or take the opening
    while any(not client.gone.is_set() for client in clients):
        await asyncio.sleep(0.05)
    cpu_started = time.process_time()
    await asyncio.gather(*tasks)
    codes = {client.close_code for client in clients}
    spread = max(c.closed for c in clients) - min(c.closed for c in clients)
    print(
        f"fire: {sockets} expiries closed with {codes}, over {spread:.2f}s (opening took part of it), "
        f"last close {max(c.closed for c in clients) - due:+.2f}s after the earliest was due; "
        f"unwinding {(time.process_time() - cpu_started) * 1e6 / sockets:.1f} µs CPU/socket; watches left {watches()}"
    )


CASES: dict[str, Callable[[], FastAPI]] = {
    "guard, no expiry (baseline)": lambda: app_for(None, None),
    "guard, expiry in 1 h": lambda: app_for(3600, None),
    "guard, expiry + revalidate=60": lambda: app_for(3600, 60),
}


def run(sockets: int, with_fire: bool) -> None:
    """Each case in a fresh process, so that one case's freed memory does not hide the next one's growth."""
    results: dict[str, Any] = {}
    for number, name in enumerate(CASES):
        command = [sys.executable, __file__, "--case", str(number), "--sockets", str(sockets)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
        print(output[0])
        results[name] = json.loads(output[-1])
    base = results["guard, no expiry (baseline)"]
    for name, result in list(results.items())[1:]:
        extra_bytes = result["bytes_per_socket"] - base["bytes_per_socket"]
        extra_cpu = result["cpu_us_per_handshake"] - base["cpu_us_per_handshake"]
        print(f"{name:<34} {extra_bytes:+8.0f} B/socket  {extra_cpu:+7.1f} µs CPU/handshake over the baseline")
    if with_fire:
        asyncio.run(fire(sockets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--fire", action="store_true", help="also let every expiry fall due at once")
    parser.add_argument("--smoke", action="store_true", help="200 sockets, for CI")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sockets = 200 if args.smoke else args.sockets
    if args.case is None:
        run(sockets, args.fire or args.smoke)
        return
    name, build = list(CASES.items())[args.case]
    print(json.dumps(asyncio.run(measure(name, build(), sockets))))


if __name__ == "__main__":
    main()
