"""Legitimate handshakes' latency while a flood of unauthorized ones is refused, per way of refusing it.

Each case (benchmarks/flood_cases.py) runs in its own `uvicorn --ws websockets-sansio` (one worker). Legitimate
clients (raw sockets from 127.0.0.2) open handshakes at a fixed rate, open loop: accepted, one message echoed,
closed. Phase 1 is that alone; in phase 2 `wrk` sends unauthorized upgrade requests from 127.0.0.1 as fast as
it can at the same server. Every answer is checked: a legitimate one is 101, the echo and a 1000 close; the
flood's is 403 (429 for the rate limit).
Run: python benchmarks/flood.py [--seconds 10] [--rate 50] [--flood-connections 64] [--cases c d] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks import _wrk, flood_cases  # noqa: E402
from fastapi_ws_reject.testing import live_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "flood.json"
LEGIT_ADDRESS = "127.0.0.2"  # the flood comes from 127.0.0.1: a per-address limit tells them apart
TIMEOUT = 5.0  # a legitimate handshake slower than this is a failure
RAMP = 0.5  # seconds of flood before the legitimate clients start, and after they stop
MESSAGE = b"hello"
REQUEST = (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {_wrk.KEY}\r\nSec-WebSocket-Version: 13\r\nx-client: alice\r\n\r\n"
).encode()
TEXT, CLOSE = 0x1, 0x8
NORMAL_CLOSURE = (1000).to_bytes(2, "big")


class WrongAnswer(Exception):
    pass


def frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (masked, as RFC 6455 requires of clients), final, with a payload under 126 bytes."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    if second >= 126:  # the server's frames are unmasked, and ours are short
        raise WrongAnswer(f"unexpected frame length byte {second}")
    return first & 0x0F, await reader.readexactly(second)


async def legit_handshake(port: int) -> float:
    """Seconds from connect to the server's close: 101, the message echoed, close 1000 (answered)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(LEGIT_ADDRESS, 0))
    try:
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise WrongAnswer(head.split(b"\r\n")[0].decode())
        writer.write(frame(TEXT, MESSAGE))
        if await read_frame(reader) != (TEXT, MESSAGE):
            raise WrongAnswer("no echo")
        opcode, payload = await read_frame(reader)
        if opcode != CLOSE or payload[:2] != NORMAL_CLOSURE:
            raise WrongAnswer(f"no close 1000: {opcode} {payload!r}")
        elapsed = time.perf_counter() - started
        writer.write(frame(CLOSE, NORMAL_CLOSURE))
        await writer.drain()
        return elapsed
    finally:
        writer.close()


async def attempt(port: int) -> float | str:
    """The handshake's seconds, or why it failed."""
    try:
        return await asyncio.wait_for(legit_handshake(port), TIMEOUT)
    except asyncio.TimeoutError:
        return "timeout"
    except (OSError, EOFError, WrongAnswer) as error:
        return f"{type(error).__name__}: {error}"


async def legit_load(port: int, rate: float, seconds: float) -> list[float | str]:
    """Open loop: a handshake starts every 1/rate s whether or not the earlier ones have finished."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(round(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(attempt(port)))
    return list(await asyncio.gather(*tasks))


def summarize(results: list[float | str]) -> dict[str, Any]:
    latencies = sorted(result for result in results if isinstance(result, float))
    failures = Counter(result for result in results if isinstance(result, str))
    if failures:
        print(f"    legitimate failures: {dict(failures)}", file=sys.stderr)
    nan = float("nan")
    return {
        "p50_ms": statistics.median(latencies) * 1000 if latencies else nan,
        "p99_ms": latencies[math.ceil(len(latencies) * 0.99) - 1] * 1000 if latencies else nan,
        "success_rate": len(latencies) / len(results) if results else nan,
        "handshakes": len(results),
    }


async def flooded(port: int, rate: float, seconds: float, connections: int, script: str) -> tuple[Any, Any]:
    """The legitimate load under a wrk flood that starts RAMP s before it and ends RAMP s after it."""
    url = f"http://127.0.0.1:{port}/ws"
    duration = f"{seconds + 2 * RAMP:g}s"
    wrk = await asyncio.create_subprocess_exec(
        _wrk.WRK, "-t1", f"-c{connections}", f"-d{duration}", "--timeout", f"{TIMEOUT:g}s", "-s", script, url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(RAMP)
    results = await legit_load(port, rate, seconds)
    output, _ = await wrk.communicate()
    return results, _wrk.summary(wrk.returncode, output.decode())


def measure(name: str, refusal: int, args: argparse.Namespace, script: str) -> dict[str, dict[str, Any]]:
    app = f"benchmarks.flood_cases:{name}"
    with live_server(app, "uvicorn", "websockets-sansio", cwd=ROOT, server_args=_wrk.QUIET_UVICORN) as server:
        asyncio.run(legit_load(server.port, args.rate, min(1.0, args.seconds)))  # warm-up
        quiet = summarize(asyncio.run(legit_load(server.port, args.rate, args.seconds)))
        results, wrk = asyncio.run(flooded(server.port, args.rate, args.seconds, args.flood_connections, script))
        if "Traceback" in server.log():
            print(f"    the server logged a traceback, see {server.log_path}", file=sys.stderr)
    seconds = wrk["duration_us"] / 1e6
    statuses = {int(status): n for status, n in wrk["statuses"].items()}
    others = {status: n for status, n in statuses.items() if status != refusal}
    print(f"    flood: {seconds:.1f} s, answers {statuses}, wrk socket errors {wrk['errors']}", file=sys.stderr)
    flood = {**summarize(results), "refused_per_second": statuses.get(refusal, 0) / seconds}
    if args.smoke:
        check(name, quiet, flood, others)
    return {"no_flood": quiet, "flood": flood}


def check(name: str, quiet: dict[str, Any], flood: dict[str, Any], others: dict[int, int]) -> None:
    assert quiet["success_rate"] == 1.0 and flood["success_rate"] == 1.0, (name, quiet, flood)
    assert flood["refused_per_second"] > 0, (name, flood)
    # The rate limit lets RATE_LIMIT flood handshakes a second through (101s); nothing else may answer the flood.
    allowed = {101} if name == "rate_limited" else set()
    assert set(others) <= allowed, (name, others)


def meta(args: argparse.Namespace) -> dict[str, Any]:
    packages = {package: version(package) for package in ("fastapi", "starlette")}
    return {
        "python": platform.python_version(),
        **packages,
        "uvicorn_version": version("uvicorn"),
        "uvicorn": " ".join(["uvicorn --ws websockets-sansio", *_wrk.QUIET_UVICORN]),
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "seconds": args.seconds,
        "rate": args.rate,
        "flood_connections": args.flood_connections,
    }


def report(rows: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    print(
        f"uvicorn --ws websockets-sansio, 1 worker, {os.cpu_count()} CPUs shared with wrk and the clients; "
        f"{args.rate:g} legitimate handshakes/s for {args.seconds:g} s; flood: wrk -t1 -c{args.flood_connections}"
    )
    print(f"{'case':<44} {'no flood p50/p99 ms':>20} {'flood p50/p99 ms':>18} {'p99 ×':>6} {'ok':>7} {'refused/s':>10}")
    for label, row in rows.items():
        quiet, flood = row["no_flood"], row["flood"]
        latencies = f"{quiet['p50_ms']:>9.2f} /{quiet['p99_ms']:>8.2f} {flood['p50_ms']:>8.2f} /{flood['p99_ms']:>7.2f}"
        ratio, ok, refused = flood["p99_ms"] / quiet["p99_ms"], flood["success_rate"], flood["refused_per_second"]
        print(f"{label:<44} {latencies} {ratio:>6.2f} {ok:>7.1%} {refused:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="of each phase")
    parser.add_argument("--rate", type=float, default=50.0, help="legitimate handshakes started per second")
    parser.add_argument("--flood-connections", type=int, default=64, help="wrk's -c")
    parser.add_argument("--cases", nargs="+", metavar="KEY", help="only these cases (a b b2 c d)")
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--smoke", action="store_true", help="1 s per phase at 10/s, answers asserted, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rate = 1.0, 10.0
    if args.rate > flood_cases.RATE_LIMIT / 2:
        print(f"note: case d lets {flood_cases.RATE_LIMIT} handshakes/s per address through", file=sys.stderr)
    selected = {
        label: case for label, case in flood_cases.CASES.items() if not args.cases or label.split()[0] in args.cases
    }
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    with _wrk.script_file() as script:
        for label, (name, refusal) in selected.items():
            print(label, file=sys.stderr)
            rows[label] = measure(name, refusal, args, script)
    report(rows, args)
    path = args.json or (None if args.smoke else DEFAULT_JSON)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"meta": meta(args), "cases": rows}, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
