"""Per-handshake cost of rejecting (and accepting) a WebSocket, measured in-process with no network.

Each case is an ASGI app built once and called directly with a synthetic websocket scope.
Run: python benchmarks/inprocess.py [--rounds 7] [--iterations 2000] [--json PATH] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import fastapi
import starlette

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from starlette.types import ASGIApp, Message, Scope

from benchmarks import cases, report  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "inprocess.json"
SCOPE: Scope = {
    "type": "websocket",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "scheme": "ws",
    "server": ("127.0.0.1", 8000),
    "client": ("127.0.0.1", 50000),
    "root_path": "",
    "path": "/ws",
    "raw_path": b"/ws",
    "query_string": b"token=abc",
    "headers": [
        (b"host", b"127.0.0.1:8000"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"sec-websocket-version", b"13"),
    ],
    "subprotocols": [],
    "extensions": {"websocket.http.response": {}},
}
CONNECT: Message = {"type": "websocket.connect"}
DISCONNECT: Message = {"type": "websocket.disconnect", "code": 1000}


class Peer:
    """The server side of one handshake: hands out connect then disconnect, records what the app sends."""

    __slots__ = ("connected", "messages")

    def __init__(self) -> None:
        self.connected = False
        self.messages: list[Message] = []

    async def receive(self) -> Message:
        if self.connected:
            return DISCONNECT
        self.connected = True
        return CONNECT

    async def send(self, message: Message) -> None:
        self.messages.append(message)


def build_cases() -> dict[str, tuple[ASGIApp, str]]:
    """Every case by label: its app and the first message type it must send."""
    first = {cases.DENIED: "websocket.http.response.start", cases.ACCEPTED: "websocket.accept"}
    return {label: (getattr(cases, name), first[ending]) for label, (name, ending) in cases.CASES.items()}


async def verify(name: str, app: ASGIApp, expected: str) -> None:
    peer = Peer()
    await app(dict(SCOPE), peer.receive, peer.send)
    types = [message["type"] for message in peer.messages]
    first: Message = peer.messages[0] if peer.messages else {}
    ok = first.get("type") == expected
    if expected == "websocket.http.response.start":
        ok = ok and first.get("status") == 403 and types[1:] == ["websocket.http.response.body"]
    else:
        ok = ok and types[1:] == ["websocket.close"]
    if not ok:
        raise SystemExit(f"case {name!r} sent {peer.messages!r}; expected {expected} first")


async def time_case(app: ASGIApp, iterations: int) -> float:
    """Microseconds per handshake over `iterations` handshakes."""
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(iterations):
        peer = Peer()
        await app(dict(SCOPE), peer.receive, peer.send)
    return (time.perf_counter_ns() - start) / iterations / 1000


async def run(rounds: int, iterations: int) -> dict[str, list[float]]:
    apps = build_cases()
    for name, (app, expected) in apps.items():
        await verify(name, app, expected)
        await time_case(app, max(20, iterations // 4))  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, (app, _expected) in apps.items():
            samples[name].append(await time_case(app, iterations))
    return samples


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


async def memory(handshakes: int) -> dict[str, int]:
    """RSS growth (KiB) of this process over `handshakes` rejections per rejecting case, after a warm-up."""
    growth: dict[str, int] = {}
    for name, (app, expected) in build_cases().items():
        if expected != "websocket.http.response.start":
            continue
        await time_case(app, max(1000, handshakes // 10))
        gc.collect()
        before = rss_kib()
        await time_case(app, handshakes)
        gc.collect()
        growth[name] = rss_kib() - before
        print(f"{name:<48} RSS {growth[name]:+6d} KiB over {handshakes} rejections")
    return growth


def summarize(samples: dict[str, list[float]], growth: dict[str, int]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for label, values in samples.items():
        ending = cases.CASES[label][1]
        rows[label] = {"ending": ending, "median_us": statistics.median(values), "rounds_us": values}
        if label in growth:
            rows[label]["rss_growth_kib"] = growth[label]
    return rows


def meta(args: argparse.Namespace) -> dict[str, Any]:
    versions = {"fastapi": fastapi.__version__, "starlette": starlette.__version__}
    return {**report.machine(), **versions, "rounds": args.rounds, "iterations": args.iterations, "memory": args.memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--memory", type=int, default=100_000, help="rejections per case for the RSS check (0: skip)")
    parser.add_argument("--smoke", action="store_true", help="1 round of 20 iterations, 200 for memory, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.iterations, args.memory = 1, 20, 200
    samples = asyncio.run(run(args.rounds, args.iterations))
    growth = asyncio.run(memory(args.memory)) if args.memory else {}
    result = {"meta": meta(args), "cases": summarize(samples, growth)}
    print(report.inprocess_table(result))
    report.save(result, args.json or (None if args.smoke else DEFAULT_JSON))


if __name__ == "__main__":
    main()
