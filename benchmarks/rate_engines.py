"""Which engine counts rates: ours, `limits` or `pyrate-limiter`? An investigation for issue 23, item 5.

Not part of CI, and not one of the published benchmarks (`report.py` does not read it): it needs two packages the
project does not depend on, so run it from a throwaway venv outside the repository:

    python3.11 -m venv /tmp/engines
    /tmp/engines/bin/pip install -e '.[redis]' 'limits[async-redis]' pyrate-limiter
    /tmp/engines/bin/python benchmarks/rate_engines.py [--decisions 20000] [--seconds 3]

An engine whose package is missing is skipped with a message; the Redis rows need `redis-server` on the PATH,
which the script starts on a free loopback port (no persistence) and stops by its PID at the end.

For each engine, with a limit of 10 per 1 s:
(a) cost: microseconds per decision, mean and p99, one client deciding one after another over keys spread across
    1,000 clients; "bare" is the pass/refuse answer alone, "with wait" also gets the seconds to wait on a refusal
    (what a 429's Retry-After needs: a second call for `limits`, free for the others).
(b) exactness: 200 asyncio tasks in one process (in memory: counts are per process) or 4 processes x 50 tasks
    (Redis) race on one key for --seconds. Each pass was decided between its send and its answer, so 11 passes
    whose sends and answers all fall within 1 s prove a window held more than 10 (exact = never); also shown, the
    most answers seen in any 1 s (which the jitter between a decision and its answer can inflate). Total passes
    against the ideal 10 x ceil(seconds).
(c) Retry-After: 4 passes, 0.4 s later 6 more, 0.2 s later a refusal: its wait should be the 0.4 s until the first
    pass leaves the window. One twin key retries 50 ms before the reported wait (must be refused), another just
    after it (must pass).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import math
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

LIMIT, WINDOW = 10, 1.0
CLIENTS = 1000

Decide = Callable[[str, bool], Awaitable["tuple[bool, float | None]"]]  # (key, want wait) -> (passed, wait)


@dataclass
class Engine:
    name: str
    needs: tuple[str, ...]  # importable modules
    redis: bool
    build: Callable[[int, str], Awaitable[tuple[Decide, Callable[[], Awaitable[None]]]]]  # port, tag -> (decide, close)
    wait_note: str


async def _nothing() -> None:
    return None


# --- ours ---------------------------------------------------------------------------------------------------


async def ours_memory(port: int, tag: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
    from fastapi_ws_reject.guards import InMemoryBackend

    backend = InMemoryBackend()

    async def decide(key: str, want_wait: bool) -> tuple[bool, float | None]:
        wait = await backend.hit(key, LIMIT, WINDOW)
        return wait is None, wait

    return decide, _nothing


async def ours_redis(port: int, tag: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
    from redis.asyncio import Redis

    from fastapi_ws_reject.redis_backend import RedisBackend

    backend = RedisBackend(Redis(host="127.0.0.1", port=port), prefix=f"ours:{tag}:")

    async def decide(key: str, want_wait: bool) -> tuple[bool, float | None]:
        wait = await backend.hit(key, LIMIT, WINDOW)
        return wait is None, wait

    return decide, backend.aclose


# --- limits ---------------------------------------------------------------------------------------------------


def _limits(
    strategy_name: str, where: str
) -> Callable[[int, str], Awaitable[tuple[Decide, Callable[[], Awaitable[None]]]]]:
    async def build(port: int, tag: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
        from limits import RateLimitItemPerSecond
        from limits.aio import strategies
        from limits.aio.storage import MemoryStorage, RedisStorage

        if where == "memory":
            storage: Any = MemoryStorage()
        else:
            storage = RedisStorage(f"async+redis://127.0.0.1:{port}", implementation=where, key_prefix=f"limits{tag}")
        strategy = getattr(strategies, strategy_name)(storage)
        item = RateLimitItemPerSecond(LIMIT, int(WINDOW))

        async def decide(key: str, want_wait: bool) -> tuple[bool, float | None]:
            if await strategy.hit(item, key):
                return True, None
            if not want_wait:
                return False, None
            stats = await strategy.get_window_stats(item, key)  # a second call, not atomic with the hit
            return False, stats.reset_time - time.time()

        async def close() -> None:
            if where != "memory":
                with _quiet():
                    await storage.reset()

        return decide, close

    return build


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


# --- pyrate-limiter -----------------------------------------------------------------------------------------


def _pyrate(where: str) -> Callable[[int, str], Awaitable[tuple[Decide, Callable[[], Awaitable[None]]]]]:
    async def build(port: int, tag: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
        from pyrate_limiter import Duration, InMemoryBucket, Rate, RateItem, RedisBucket

        rates = [Rate(LIMIT, Duration.SECOND * int(WINDOW))]
        buckets: dict[str, Any] = {}  # one bucket per key (a BucketFactory would route names to these)
        client: Any = None
        prefix = f"pyrate:{tag}:"
        if where == "redis":
            from redis.asyncio import Redis

            client = Redis(host="127.0.0.1", port=port)

        async def bucket_for(key: str) -> Any:
            bucket = buckets.get(key)
            if bucket is None:
                if where == "memory":
                    bucket = InMemoryBucket(rates)
                else:
                    bucket = await RedisBucket.init(rates, client, prefix + key)
                buckets[key] = bucket
            return bucket

        async def decide(key: str, want_wait: bool) -> tuple[bool, float | None]:
            bucket = buckets.get(key) or await bucket_for(key)
            decision = bucket.put_decision(RateItem(key, bucket.now()))
            if where == "redis":
                decision = await decision
            if decision.allowed:
                return True, None
            ms = decision.retry_after_ms
            return False, None if ms is None else ms / 1000

        async def close() -> None:
            if client is not None:
                await client.aclose()

        return decide, close

    return build


ENGINES = [
    Engine("ours InMemoryBackend (sliding log)", ("fastapi_ws_reject",), False, ours_memory, "same call"),
    Engine("ours RedisBackend (sliding log, Redis clock)", ("redis",), True, ours_redis, "same call"),
    Engine(
        "limits MovingWindow, MemoryStorage",
        ("limits",),
        False,
        _limits("MovingWindowRateLimiter", "memory"),
        "get_window_stats",
    ),
    Engine(
        "limits SlidingWindowCounter, MemoryStorage",
        ("limits",),
        False,
        _limits("SlidingWindowCounterRateLimiter", "memory"),
        "get_window_stats",
    ),
    Engine(
        "limits MovingWindow, RedisStorage (coredis)",
        ("limits", "coredis"),
        True,
        _limits("MovingWindowRateLimiter", "coredis"),
        "get_window_stats (2nd round trip)",
    ),
    Engine(
        "limits MovingWindow, RedisStorage (redis-py)",
        ("limits", "redis"),
        True,
        _limits("MovingWindowRateLimiter", "redispy"),
        "get_window_stats (2nd round trip)",
    ),
    Engine(
        "limits SlidingWindowCounter, RedisStorage (coredis)",
        ("limits", "coredis"),
        True,
        _limits("SlidingWindowCounterRateLimiter", "coredis"),
        "get_window_stats (2nd round trip)",
    ),
    Engine(
        "pyrate-limiter InMemoryBucket (SlidingWindowLog)", ("pyrate_limiter",), False, _pyrate("memory"), "Decision"
    ),
    Engine(
        "pyrate-limiter RedisBucket (SlidingWindowLog)",
        ("pyrate_limiter", "redis"),
        True,
        _pyrate("redis"),
        "Decision",
    ),
]


def _missing(engine: Engine) -> str | None:
    for module in engine.needs:
        try:
            __import__(module)
        except ImportError:
            return module
    return None


# --- (a) cost -------------------------------------------------------------------------------------------------


async def cost(engine: Engine, port: int, decisions: int, want_wait: bool) -> tuple[float, float, float]:
    decide, close = await engine.build(port, uuid.uuid4().hex[:8])
    try:
        keys = [f"client-{(i * 7919) % CLIENTS}" for i in range(decisions)]
        for i in range(CLIENTS):  # create each key's state first (pyrate loads its script per bucket)
            await decide(f"client-{i}", want_wait)
        for i in range(2 * CLIENTS):  # warm up on other keys, not measured
            await decide(f"warm-{i % 100}", want_wait)
        times: list[int] = []
        refused = 0
        clock = time.perf_counter_ns
        for key in keys:
            start = clock()
            passed, _ = await decide(key, want_wait)
            times.append(clock() - start)
            refused += not passed
        times.sort()
        return statistics.fmean(times) / 1000, times[int(len(times) * 0.99)] / 1000, refused / decisions
    finally:
        await close()


# --- (b) exactness --------------------------------------------------------------------------------------------


def _race_worker(
    index: int, port: int, tag: str, key: str, start_at: float, seconds: float, tasks: int, out: Any
) -> None:
    engine = ENGINES[index]

    async def run() -> list[tuple[float, float]]:
        decide, close = await engine.build(port, tag)
        passed: list[tuple[float, float]] = []  # (sent, answered) of each pass

        async def hammer() -> None:
            while time.time() < start_at:
                await asyncio.sleep(0.001)
            deadline = start_at + seconds
            while (sent := time.time()) < deadline:
                ok, _ = await decide(key, False)
                if ok:
                    passed.append((sent, time.time()))
                await asyncio.sleep(0)

        await asyncio.gather(*(hammer() for _ in range(tasks)))
        await close()
        return passed

    out.put(asyncio.run(run()))


def most_in_window(passed: list[float], width: float) -> int:
    most, first = 0, 0
    for last, at in enumerate(passed):
        while at - passed[first] >= width:
            first += 1
        most = max(most, last - first + 1)
    return most


def most_surely_in_window(passed: list[tuple[float, float]], width: float) -> int:
    """Passes decided for certain within one `width` window: each was decided between its send and its answer."""
    return max((sum(s >= sent and a < sent + width for s, a in passed) for sent, _ in passed), default=0)


def race(index: int, port: int, seconds: float) -> tuple[int, int, int]:
    engine = ENGINES[index]
    processes, tasks = (4, 50) if engine.redis else (1, 200)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    tag, key, start_at = uuid.uuid4().hex[:8], "race", time.time() + 2.0  # one key shared by every process
    workers = [
        context.Process(target=_race_worker, args=(index, port, tag, key, start_at, seconds, tasks, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    passed = sorted(pair for _ in workers for pair in out.get(timeout=60 + seconds))
    for worker in workers:
        worker.join(timeout=10)
    answered = sorted(a for _, a in passed)
    return most_in_window(answered, WINDOW), most_surely_in_window(passed, WINDOW), len(passed)


# --- (c) Retry-After ------------------------------------------------------------------------------------------


async def retry_after(engine: Engine, port: int) -> str:
    tag = uuid.uuid4().hex[:8]
    decide, close = await engine.build(port, tag)
    try:
        early, late = f"early-{tag}", f"late-{tag}"
        first = time.time()
        passes = 0
        for _ in range(4):
            for key in (early, late):
                passes += (await decide(key, True))[0]
        await asyncio.sleep(0.4)
        for _ in range(LIMIT - 4):
            for key in (early, late):
                passes += (await decide(key, True))[0]
        await asyncio.sleep(0.2)
        now = time.time()
        (ok_e, wait_e), (ok_l, wait_l) = await decide(early, True), await decide(late, True)
        truth = first + WINDOW - now
        if passes != 2 * LIMIT:
            return f"{passes // 2} of {LIMIT} passed at first"
        if ok_e or ok_l:
            return f"the 11th in {WINDOW:g} s passed (not refused)"
        if wait_e is None or wait_l is None:
            return "none"

        async def at(key: str, delay: float) -> bool:
            await asyncio.sleep(max(0.0, delay))
            return (await decide(key, True))[0]

        refused_before, passes_after = await asyncio.gather(at(early, wait_e - 0.05), at(late, wait_l + 0.005))
        refused_before = not refused_before
        verdict = "exact" if refused_before and passes_after and abs(wait_l - truth) < 0.01 else "not exact"
        return (
            f"{wait_l:.3f} s (true {truth:.3f}); -50 ms {'refused' if refused_before else 'PASSES'}, "
            f"+5 ms {'passes' if passes_after else 'REFUSED'}: {verdict}"
        )
    finally:
        await close()


# --- redis-server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return server, port
        except OSError:
            time.sleep(0.05)
    server.terminate()
    return None


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    options = parser.parse_args()

    started = start_redis()
    if started is None:
        print("redis-server not found or did not start: the Redis rows are skipped.", file=sys.stderr)
    port = started[1] if started else 0
    rows: list[str] = []
    try:
        for index, engine in enumerate(ENGINES):
            missing = _missing(engine)
            if missing is not None:
                print(f"skipped {engine.name}: module {missing!r} is not installed", file=sys.stderr)
                continue
            if engine.redis and started is None:
                print(f"skipped {engine.name}: no redis-server", file=sys.stderr)
                continue
            print(f"measuring {engine.name} ...", file=sys.stderr)
            bare_mean, bare_p99, refused = asyncio.run(cost(engine, port, options.decisions, False))
            wait_mean, wait_p99, _ = asyncio.run(cost(engine, port, options.decisions, True))
            worst, surely, total = race(index, port, options.seconds)
            wait = asyncio.run(retry_after(engine, port))
            rows.append(
                f"| {engine.name} | {bare_mean:.1f} / {bare_p99:.1f} | {wait_mean:.1f} / {wait_p99:.1f} "
                f"| {refused:.0%} | {surely} ({worst}) | {total} / {LIMIT * math.ceil(options.seconds / WINDOW)} "
                f"| {engine.wait_note}: {wait} |"
            )
    finally:
        if started is not None:
            started[0].terminate()
            started[0].wait(timeout=10)

    print()
    print(
        f"Python {sys.version.split()[0]}, fastapi-ws-reject {version('fastapi-ws-reject')}, "
        f"limits {version('limits')}, coredis {version('coredis')}, pyrate-limiter {version('pyrate-limiter')}, "
        f"redis-py {version('redis')}, {os.cpu_count()} CPUs; limit {LIMIT} per {WINDOW:g} s, "
        f"{options.decisions} decisions over {CLIENTS} keys, race {options.seconds:g} s"
    )
    print()
    print(
        "| engine | µs/decision bare, mean / p99 | µs/decision with wait, mean / p99 | refused in (a) "
        "| most passes surely in one 1 s window (by answer time), limit 10 | passes / ideal | Retry-After |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
