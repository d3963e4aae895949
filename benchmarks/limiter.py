"""fastapi-ws-reject against fastapi-limiter 0.2.0 on one Redis: refused handshakes, limited messages, exactness.

fastapi-limiter is not a dependency of this project, so run this from a throwaway venv outside the repository
(the same FastAPI and Starlette as `.venv/newest`, which pip resolves to the newest of each):

    python3.11 -m venv /tmp/fwr-limiter
    /tmp/fwr-limiter/bin/pip install -e '.[redis,testing]' fastapi-limiter==0.2.0
    /tmp/fwr-limiter/bin/python benchmarks/limiter.py            # writes benchmarks/results/limiter.json
    /tmp/fwr-limiter/bin/python benchmarks/limiter.py --smoke    # seconds; writes JSON only with --json PATH

It starts its own `redis-server` on a free loopback port (no persistence) and stops it by its PID at the end.
Everything runs in process through each app's ASGI interface, as `inprocess.py` does: no server, no socket
between client and app, but a real Redis on loopback behind every limit.

(a) refused handshakes: a websocket route limited to 1 handshake per 60 s by client, driven past the limit;
    microseconds per refusal one after another, and refusals per second with 32 handshakes in flight.
(b) microseconds per message after accept, under a limit no message reaches (the cost of counting).
(c) exactness: 200 handshakes (and 200 messages) split over two processes race for a limit of 10 per 60 s on
    one key in the same Redis; how many pass (ideal: exactly 10), over several trials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import logging
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import fastapi  # noqa: E402
import starlette  # noqa: E402
from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket, WebSocketDisconnect  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from starlette.requests import HTTPConnection  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from benchmarks import inprocess, report  # noqa: E402
from benchmarks.inprocess import CONNECT, DISCONNECT  # noqa: E402
from benchmarks.rate_engines import start_redis  # noqa: E402
from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware  # noqa: E402
from fastapi_ws_reject.guards import MessageLimitGuard, RateLimitGuard  # noqa: E402
from fastapi_ws_reject.redis_backend import REDIS_DOWN, RedisBackend  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "limiter.json"
LIBRARY = "fastapi-limiter"
LIBRARY_VERSION = "0.2.0"
HANDSHAKE_LIMIT, HANDSHAKE_WINDOW = 1, 60  # (a): one handshake a minute per client
RACE_LIMIT, RACE_WINDOW = 10, 60  # (c): every racer falls in one window
MESSAGE_LIMIT, MESSAGE_WINDOW = 1_000_000, 60  # (b): never reached
CONCURRENCY = 32
TOO_MANY = 429
# Every RedisBackend here waits up to this long for Redis. Its default, 0.5 s, after which a limit fails open,
# was exceeded on a loaded 2-CPU machine while 200 racers' calls queued: a trial then measures the failure policy,
# not the count. fastapi-limiter waits as long as Redis takes. The timeout costs the same whatever its length.
REDIS_TIMEOUT = 5.0


class RedisFailures(logging.Handler):
    """Counts RedisBackend's REDIS_DOWN warnings: a call that failed (or timed out) and let its decision pass."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.msg == REDIS_DOWN


def count_redis_failures() -> RedisFailures:
    handler = RedisFailures()
    logging.getLogger("fastapi_ws_reject").addHandler(handler)
    return handler


# --- the ASGI side: a scripted client -----------------------------------------------------------------------

SCOPE: Scope = {**inprocess.SCOPE, "query_string": b""}
TEXT: Message = {"type": "websocket.receive", "text": "m"}


class Peer:
    """The server side of one connection: connect, `messages` text frames, then disconnect; records what is sent."""

    __slots__ = ("left", "sent")

    def __init__(self, messages: int = 0) -> None:
        self.left = messages + 1  # the connect, then the messages
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.left > 0:
            self.left -= 1
            return TEXT if self.sent else CONNECT
        return DISCONNECT

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def first(self) -> str:
        return str(self.sent[0]["type"]) if self.sent else ""

    def status(self) -> int:
        return int(self.sent[0].get("status", 0)) if self.sent else 0


def scope_for(user: str) -> Scope:
    return {**SCOPE, "query_string": f"user={user}".encode()}


async def connect(app: ASGIApp, scope: Scope, messages: int = 0) -> Peer:
    peer = Peer(messages)
    await app(dict(scope), peer.receive, peer.send)
    return peer


# --- the apps -----------------------------------------------------------------------------------------------


async def accept_and_close(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def too_many() -> None:
    raise HTTPException(TOO_MANY, "Too Many Requests")


async def raw_refusal(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: a raw ASGI app that refuses every handshake with 429, counting nothing."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.http.response.start", "status": TOO_MANY, "headers": [(b"content-length", b"0")]})
    await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})


def user_of(connection: HTTPConnection) -> str:
    return connection.query_params.get("user", "")


async def their_user_of(connection: HTTPConnection) -> str:
    """fastapi-limiter's identifier for (b) and (c): the same key as ours (its default is the address + path)."""
    return connection.query_params.get("user", "")


class Theirs:
    """fastapi-limiter 0.2.0 on pyrate-limiter's RedisBucket, a bucket per key.

    `Limiter(RedisBucket)` (fastapi-limiter's README) counts every key in that one bucket: the identifier only
    names the item. A limit per client needs a `BucketFactory` that routes each name to its own bucket, which is
    what pyrate-limiter's docs show for several buckets; this is that factory.
    """

    def __init__(self, redis: Redis, prefix: str, limit: int, window: int) -> None:
        from pyrate_limiter import AbstractBucket, BucketFactory, Duration, Limiter, Rate, RateItem, RedisBucket

        rates = [Rate(limit, Duration.SECOND * window)]

        class PerKey(BucketFactory):
            def __init__(self) -> None:
                self.buckets: dict[str, AbstractBucket] = {}

            def wrap_item(self, name: str, weight: int = 1) -> RateItem:
                return RateItem(name, time.time_ns() // 1_000_000, weight=weight)  # RedisBucket.now()'s clock

            async def get(self, item: RateItem) -> AbstractBucket:
                bucket = self.buckets.get(item.name)
                if bucket is None:
                    bucket = await RedisBucket.init(rates, redis, f"{prefix}{item.name}")
                    self.schedule_leak(bucket)
                    self.buckets[item.name] = bucket
                return bucket

        self.limiter = Limiter(PerKey())

    def close(self) -> None:
        self.limiter.bucket_factory.close()


def their_dependency(theirs: Theirs, identifier: Callable[..., Awaitable[str]] | None = None) -> Any:
    from fastapi_limiter.depends import WebSocketRateLimiter

    if identifier is None:
        return WebSocketRateLimiter(limiter=theirs.limiter)  # its default identifier: address + path
    return WebSocketRateLimiter(limiter=theirs.limiter, identifier=identifier)


def fastapi_app(endpoint: Callable[..., Any], dependency: Any = None, *, include: bool = False) -> FastAPI:
    app = FastAPI()
    router = APIRouter() if include else app.router
    router.add_api_websocket_route("/ws", endpoint, dependencies=[Depends(dependency)] if dependency else None)
    if include:
        app.include_router(router)
    return app


def our_app(guard: RateLimitGuard, endpoint: Callable[..., Any], *, include: bool = False) -> FastAPI:
    router = RejectingRouter()
    router.add_api_websocket_route("/ws", endpoint, dependencies=[Depends(guard)])
    app = FastAPI()
    if include:
        app.include_router(router)
    else:
        app.router.routes.extend(router.routes)
    return app


def handshake_cases(redis: Redis, tag: str, closers: list[Callable[[], None]]) -> dict[str, tuple[ASGIApp, int]]:
    """(a)'s apps by label, each with the status its handshakes must get once the one allowed has passed."""
    backend = RedisBackend(redis, prefix=f"ours:{tag}:", timeout=REDIS_TIMEOUT)

    def ours() -> RateLimitGuard:
        return RateLimitGuard(HANDSHAKE_LIMIT, per=HANDSHAKE_WINDOW, backend=backend)

    def theirs(name: str) -> Any:
        limiter = Theirs(redis, f"theirs:{tag}:{name}:", HANDSHAKE_LIMIT, HANDSHAKE_WINDOW)
        closers.append(limiter.close)
        return their_dependency(limiter)

    return {
        "r  raw ASGI 429, counting nothing (the floor)": (raw_refusal, TOO_MANY),
        "p  FastAPI, no limit: accept+close": (fastapi_app(accept_and_close), 0),
        "b  FastAPI HTTPException(429) dependency, counting nothing": (
            fastapi_app(accept_and_close, too_many),
            TOO_MANY,
        ),
        "t  fastapi-limiter WebSocketRateLimiter dependency, route on the app": (
            fastapi_app(accept_and_close, theirs("t")),
            TOO_MANY,
        ),
        "t1 fastapi-limiter WebSocketRateLimiter dependency, APIRouter included": (
            fastapi_app(accept_and_close, theirs("t1"), include=True),
            TOO_MANY,
        ),
        "o  RateLimitGuard, RejectingRouter as built": (our_app(ours(), accept_and_close), TOO_MANY),
        "o1 RateLimitGuard, RejectingRouter included": (our_app(ours(), accept_and_close, include=True), TOO_MANY),
        "om RateLimitGuard in WebSocketGuardMiddleware": (
            WebSocketGuardMiddleware(fastapi_app(accept_and_close), guards=[ours()]),
            TOO_MANY,
        ),
    }


# --- (a) refused handshakes ---------------------------------------------------------------------------------


async def check_handshake(label: str, app: ASGIApp, status: int) -> None:
    await connect(app, SCOPE)  # the one handshake the limit allows
    peer = await connect(app, SCOPE)
    ok = peer.first() == "websocket.accept" if status == 0 else peer.status() == status
    if not ok:
        raise SystemExit(f"case {label!r} sent {peer.sent!r}; expected {status or 'an accept'}")


async def one_after_another(app: ASGIApp, handshakes: int) -> float:
    """Microseconds per handshake, each awaited before the next."""
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(handshakes):
        await connect(app, SCOPE)
    return (time.perf_counter_ns() - start) / handshakes / 1000


async def in_flight(app: ASGIApp, handshakes: int, concurrency: int) -> float:
    """Handshakes per second with `concurrency` of them in flight at once (a server's many connections)."""

    async def client(count: int) -> None:
        for _ in range(count):
            await connect(app, SCOPE)

    gc.collect()
    start = time.perf_counter()
    await asyncio.gather(*(client(handshakes // concurrency) for _ in range(concurrency)))
    return handshakes // concurrency * concurrency / (time.perf_counter() - start)


async def refusals(redis: Redis, rounds: int, handshakes: int) -> dict[str, dict[str, Any]]:
    closers: list[Callable[[], None]] = []
    cases = handshake_cases(redis, uuid.uuid4().hex[:8], closers)
    try:
        for label, (app, status) in cases.items():
            await check_handshake(label, app, status)
            await one_after_another(app, max(20, handshakes // 4))  # warm-up
        sequential: dict[str, list[float]] = {label: [] for label in cases}
        concurrent: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(rounds):
            for label, (app, _status) in cases.items():
                sequential[label].append(await one_after_another(app, handshakes))
                concurrent[label].append(await in_flight(app, handshakes, CONCURRENCY))
        for label, (app, status) in cases.items():  # still refusing (or accepting) after the run
            await check_handshake(label, app, status)
    finally:
        for close in closers:
            close()
    return {
        label: {
            "ending": "accepted" if status == 0 else "refused",
            "median_us": statistics.median(sequential[label]),
            "rounds_us": sequential[label],
            "in_flight_per_second": statistics.median(concurrent[label]),
            "in_flight_rounds": concurrent[label],
        }
        for label, (_app, status) in cases.items()
    }


# --- (b) limited messages -----------------------------------------------------------------------------------

MessageCase = tuple[ASGIApp, list[int]]  # the app, and the messages its endpoint received


def receiver(received: list[int], reply: bool = False, limiter: Any = None) -> Callable[[WebSocket], Awaitable[None]]:
    """An endpoint that receives text until the client leaves; `limiter` is fastapi-limiter's, called per message.

    fastapi-limiter's README calls its `WebSocketRateLimiter` in the loop after each receive; over the limit it
    raises HTTPException(429), here answered as ours answers by default: close 4429.
    """

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()
                if limiter is not None:
                    try:
                        await limiter(websocket)
                    except HTTPException:
                        await websocket.close(4429, "too many messages")
                        return
                received[0] += 1
                if reply:
                    await websocket.send_text("ok")

    return endpoint


def our_message_app(guard: MessageLimitGuard, received: list[int], reply: bool = False) -> FastAPI:
    app = FastAPI()
    app.add_api_websocket_route("/ws", receiver(received, reply), dependencies=[Depends(guard)])
    return app


def their_message_app(limiter: Any, received: list[int], reply: bool = False) -> FastAPI:
    from fastapi_limiter.depends import WebSocketRateLimiter

    app = FastAPI()
    app.add_api_websocket_route("/ws", receiver(received, reply, WebSocketRateLimiter(limiter, their_user_of)))
    return app


def message_cases(redis: Redis, tag: str, closers: list[Callable[[], None]]) -> dict[str, MessageCase]:
    from pyrate_limiter import Duration, Limiter, Rate

    theirs = Theirs(redis, f"theirs-messages:{tag}:", MESSAGE_LIMIT, MESSAGE_WINDOW)
    closers.append(theirs.close)
    # fastapi-limiter's README: a Limiter of one Rate, a single in-memory bucket (every key counted in it).
    in_memory = Limiter(Rate(MESSAGE_LIMIT, Duration.SECOND * MESSAGE_WINDOW))
    closers.append(in_memory.bucket_factory.close)
    backend = RedisBackend(redis, prefix=f"ours-messages:{tag}:", timeout=REDIS_TIMEOUT)
    counts: dict[str, list[int]] = {name: [0] for name in ("mp", "mt", "mtm", "mo", "mm")}
    return {
        "mp FastAPI, no limit": (fastapi_app(receiver(counts["mp"])), counts["mp"]),
        "mt fastapi-limiter WebSocketRateLimiter per message, RedisBucket per key": (
            their_message_app(theirs.limiter, counts["mt"]),
            counts["mt"],
        ),
        "mtm fastapi-limiter WebSocketRateLimiter per message, in memory": (
            their_message_app(in_memory, counts["mtm"]),
            counts["mtm"],
        ),
        "mo MessageLimitGuard per key, RedisBackend": (
            our_message_app(
                MessageLimitGuard(MESSAGE_LIMIT, per=MESSAGE_WINDOW, key=user_of, backend=backend), counts["mo"]
            ),
            counts["mo"],
        ),
        "mm MessageLimitGuard per socket, in memory": (
            our_message_app(MessageLimitGuard(MESSAGE_LIMIT, per=MESSAGE_WINDOW), counts["mm"]),
            counts["mm"],
        ),
    }


async def per_message(app: ASGIApp, messages: int) -> float:
    """Microseconds per message over one connection carrying `messages` (a fresh key: a new user)."""
    gc.collect()
    scope = scope_for(uuid.uuid4().hex)
    start = time.perf_counter_ns()
    peer = await connect(app, scope, messages)
    elapsed = time.perf_counter_ns() - start
    if [message["type"] for message in peer.sent] != ["websocket.accept"]:
        raise SystemExit(f"a limited message was refused, or the socket closed: {peer.sent[:3]!r}")
    return elapsed / messages / 1000


async def limited_messages(redis: Redis, rounds: int, messages: int) -> dict[str, dict[str, Any]]:
    closers: list[Callable[[], None]] = []
    cases = message_cases(redis, uuid.uuid4().hex[:8], closers)
    try:
        for label, (app, received) in cases.items():
            await per_message(app, max(20, messages // 4))  # warm-up
            received[0] = 0
            await per_message(app, 10)
            if received[0] != 10:
                raise SystemExit(f"case {label!r}: the endpoint received {received[0]} of 10 messages")
        samples: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(rounds):
            for label, (app, _received) in cases.items():
                samples[label].append(await per_message(app, messages))
    finally:
        for close in closers:
            close()
    return {label: {"median_us": statistics.median(values), "rounds_us": values} for label, values in samples.items()}


# --- (c) exactness ------------------------------------------------------------------------------------------


def race_app(kind: str, redis: Redis, tag: str, closers: list[Callable[[], None]]) -> ASGIApp:
    received = [0]
    if kind.startswith("ours"):
        backend = RedisBackend(redis, prefix=f"race:{tag}:", timeout=REDIS_TIMEOUT)
        if kind == "ours-messages":
            guard = MessageLimitGuard(RACE_LIMIT, per=RACE_WINDOW, key=user_of, backend=backend)
            return our_message_app(guard, received, reply=True)
        return our_app(RateLimitGuard(RACE_LIMIT, per=RACE_WINDOW, key=user_of, backend=backend), accept_and_close)
    theirs = Theirs(redis, f"race:{tag}:", RACE_LIMIT, RACE_WINDOW)
    closers.append(theirs.close)
    if kind == "theirs-messages":
        return their_message_app(theirs.limiter, received, reply=True)
    return fastapi_app(accept_and_close, their_dependency(theirs, their_user_of))


def passed(kind: str, peer: Peer) -> bool:
    """Whether a racer passed: its handshake was accepted, or its one message answered; else it must be refused."""
    if kind.endswith("messages"):
        if {"type": "websocket.send", "text": "ok"} in peer.sent:
            return True
        if not any(message.get("code") == 4429 for message in peer.sent):
            raise SystemExit(f"{kind}: a racer's message was neither answered nor closed with 4429: {peer.sent!r}")
        return False
    if peer.first() == "websocket.accept":
        return True
    if peer.status() != TOO_MANY:
        raise SystemExit(f"{kind}: a racer got {peer.sent!r}")
    return False


def _race_worker(kind: str, port: int, tag: str, start_at: float, tasks: int, out: Any) -> None:
    failures = count_redis_failures()

    async def run() -> int:
        redis = Redis(host="127.0.0.1", port=port)
        closers: list[Callable[[], None]] = []
        app = race_app(kind, redis, tag, closers)
        messages = 1 if kind.endswith("messages") else 0
        await connect(app, scope_for(f"warm-{uuid.uuid4().hex}"), messages)  # connections, scripts: another key
        scope = scope_for("racer")
        while time.time() < start_at:
            await asyncio.sleep(0.001)
        peers = await asyncio.gather(*(connect(app, scope, messages) for _ in range(tasks)))
        for close in closers:
            close()
        await redis.aclose()
        return sum(passed(kind, peer) for peer in peers)

    passes = asyncio.run(run())
    out.put((passes, failures.count))


def race(kind: str, port: int, clients: int, processes: int = 2) -> tuple[int, int]:
    """What passed when `clients` split over `processes` race for RACE_LIMIT on one key, and Redis failures."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    tag, start_at = uuid.uuid4().hex[:8], time.time() + 3.0
    workers = [
        context.Process(target=_race_worker, args=(kind, port, tag, start_at, clients // processes, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    answers = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    return sum(passes for passes, _ in answers), sum(failures for _, failures in answers)


RACERS = {
    "o  RateLimitGuard on RedisBackend": ("ours", "handshakes"),
    "t  fastapi-limiter WebSocketRateLimiter on RedisBucket": ("theirs", "handshakes"),
    "mo MessageLimitGuard per key on RedisBackend": ("ours-messages", "messages, one per socket"),
    "mt fastapi-limiter WebSocketRateLimiter per message on RedisBucket": (
        "theirs-messages",
        "messages, one per socket",
    ),
}


def exactness(port: int, trials: int, clients: int) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for label, (kind, what) in RACERS.items():
        trials_run = [race(kind, port, clients) for _ in range(trials)]
        passes, failures = [passes for passes, _ in trials_run], [failures for _, failures in trials_run]
        rows[label] = {"what": what, "passes": passes, "redis_failures": failures}
        print(f"{label:<60} passes {passes}, Redis failures {failures}", file=sys.stderr)
    return rows


# --- the run ------------------------------------------------------------------------------------------------


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def meta(args: argparse.Namespace, redis_version: str, load: list[float]) -> dict[str, Any]:
    return {
        **report.machine(),
        "load_average_1min": load,  # at the start and at the end: the machine's other work, on a shared machine
        "fastapi": fastapi.__version__,
        "starlette": starlette.__version__,
        "fastapi_limiter": version("fastapi-limiter"),
        "pyrate_limiter": version("pyrate-limiter"),
        "redis_py": version("redis"),
        "redis_server": redis_version,
        "rounds": args.rounds,
        "handshakes": args.handshakes,
        "concurrency": CONCURRENCY,
        "handshake_limit": [HANDSHAKE_LIMIT, HANDSHAKE_WINDOW],
        "messages": args.messages,
        "message_limit": [MESSAGE_LIMIT, MESSAGE_WINDOW],
        "race": {
            "clients": args.clients,
            "processes": 2,
            "limit": [RACE_LIMIT, RACE_WINDOW],
            "trials": args.trials,
            "timeout": REDIS_TIMEOUT,
        },
    }


async def measure_in_process(port: int, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(a) and (b); a Redis call that failed on the way (and so let its decision pass) is a wrong figure: stop."""
    failures = count_redis_failures()
    redis = Redis(host="127.0.0.1", port=port)
    try:
        info = await redis.info("server")
        handshakes = await refusals(redis, args.rounds, args.handshakes)
        messages = await limited_messages(redis, args.rounds, args.messages)
    finally:
        await redis.aclose()
    if failures.count:
        raise SystemExit(
            f"RedisBackend failed open {failures.count} times while timing: run again on a quieter machine"
        )
    return handshakes, messages, str(info["redis_version"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--handshakes", type=int, default=2000, help="per case per round, for (a)")
    parser.add_argument("--messages", type=int, default=2000, help="per connection per round, for (b)")
    parser.add_argument("--trials", type=int, default=5, help="races per library, for (c)")
    parser.add_argument("--clients", type=int, default=200, help="racers over two processes, for (c)")
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--smoke", action="store_true", help="1 round of 64 handshakes, 1 trial: checks, not figures")
    args = parser.parse_args()
    if version("fastapi-limiter") != LIBRARY_VERSION:
        raise SystemExit(
            f"needs {LIBRARY}=={LIBRARY_VERSION} (found {version('fastapi-limiter')}); see this script's docstring"
        )
    if args.smoke:
        args.rounds, args.handshakes, args.messages, args.trials = 1, 64, 64, 1
    load = [round(os.getloadavg()[0], 2)]
    started = start_redis()
    if started is None:
        raise SystemExit("redis-server not found or did not start (Debian's redis-server package)")
    server, port = started
    try:
        handshakes, messages, redis_version = asyncio.run(measure_in_process(port, args))
        races = exactness(port, args.trials, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=10)
    load.append(round(os.getloadavg()[0], 2))
    result = {"meta": meta(args, redis_version, load), "handshakes": handshakes, "messages": messages, "races": races}
    print(report.limiter_table(result))
    report.save(result, args.json or (None if args.smoke else DEFAULT_JSON))


if __name__ == "__main__":
    main()
