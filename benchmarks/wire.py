"""Handshakes per second and latency on the wire: each case served by uvicorn, loaded from this process.

Each case's app (benchmarks/cases.py) runs in its own `uvicorn --ws websockets-sansio` (one worker) on a
loopback port; this process opens raw-socket handshakes at a fixed concurrency for a fixed time.
Run: python benchmarks/wire.py [--seconds 3] [--concurrency 32] [--json PATH] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks import cases  # noqa: E402
from fastapi_ws_reject.testing import live_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "wire.json"
REQUEST = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def one_handshake(port: int, accepted: bool) -> float:
    """Seconds from connect to the complete answer: a denial with its body, or a 101 and the close frame."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if accepted:
            assert head.startswith(b"HTTP/1.1 101"), head
            await reader.readexactly(2)  # the close frame's header
        else:
            assert head.startswith(b"HTTP/1.1 403"), head
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
        return time.perf_counter() - started
    finally:
        writer.close()


async def load(port: int, accepted: bool, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            latencies.append(await one_handshake(port, accepted))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def measure(name: str, accepted: bool, seconds: float, concurrency: int) -> dict[str, float]:
    with live_server(f"benchmarks.cases:{name}", "uvicorn", "websockets-sansio", cwd=ROOT) as server:
        asyncio.run(load(server.port, accepted, min(0.5, seconds), concurrency))  # warm-up
        latencies = asyncio.run(load(server.port, accepted, seconds, concurrency))
    latencies.sort()
    return {
        "handshakes_per_second": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "handshakes": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--smoke", action="store_true", help="two cases for 0.3 s each, for CI")
    args = parser.parse_args()
    selected = cases.CASES
    if args.smoke:
        args.seconds, args.concurrency = 0.3, 4
        selected = {label: case for label, case in cases.CASES.items() if label[:2] in ("a ", "c ")}
    rows: dict[str, dict[str, Any]] = {}
    for label, (name, ending) in selected.items():
        rows[label] = measure(name, ending == cases.ACCEPTED, args.seconds, args.concurrency)
    floor = rows[next(label for label in rows if label.startswith("a "))]["handshakes_per_second"]
    native = next((row["handshakes_per_second"] for label, row in rows.items() if label.startswith("b ")), None)
    plain = next((row["handshakes_per_second"] for label, row in rows.items() if label.startswith("p ")), None)
    print(f"uvicorn --ws websockets-sansio, 1 worker; {args.concurrency} concurrent clients for {args.seconds:g} s")
    print(f"{'case':<48} {'hs/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'÷ a':>6} {'÷ b':>6} {'÷ p':>6}")
    for label, row in rows.items():
        rate = row["handshakes_per_second"]
        accept = label[0] in "pq"
        ratios = [None if accept else rate / floor, rate / native if native and not accept else None]
        ratios.append(rate / plain if plain and accept else None)
        cells = " ".join(f"{'' if r is None else f'{r:.2f}':>6}" for r in ratios)
        print(f"{label:<48} {rate:>8.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {cells}")
    path = args.json or (None if args.smoke else DEFAULT_JSON)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"seconds": args.seconds, "concurrency": args.concurrency, "python": platform.python_version()}
        path.write_text(json.dumps({**meta, "cases": rows}, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
