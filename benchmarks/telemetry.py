"""What the library's OpenTelemetry recording (issue 25) adds to a refusal, in-process: with no provider configured,
and with the OpenTelemetry SDK's providers given to `FastAPI(telemetry=...)`.

Each case is run as `inprocess.py` runs a handshake, twice per round, interleaved: with the library's recording
(the answer on the connection's span, the rejection counter) and without it (`_telemetry.record` replaced by a
function that does nothing: what a refusal cost before). Unlike `inprocess.py`, it counts this thread's CPU time,
not the wall clock: the difference it is after is a few percent, which other processes on a shared machine hide in
the wall clock's time. The SDK rows export every span to memory (a
`SimpleSpanProcessor`, emptied after each timing) and read metrics only when asked (`InMemoryMetricReader`).
Run: python benchmarks/telemetry.py [--rounds 15] [--iterations 2000] [--json PATH] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi
import starlette

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from fastapi import Depends, FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from benchmarks import cases, inprocess, report  # noqa: E402
from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, _telemetry  # noqa: E402
from fastapi_ws_reject.guards import OriginGuard  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "telemetry.json"
PROVIDERS = ("none", "sdk")


class Sdk:
    """The SDK's tracer and meter providers, with in-memory export."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def app(self) -> FastAPI:
        return FastAPI(telemetry={"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider})  # type: ignore[call-arg, unused-ignore]


def guard_built(new_app: Callable[[], FastAPI]) -> ASGIApp:
    router = RejectingRouter()
    router.add_api_websocket_route(
        "/ws", cases.never_runs, dependencies=[Depends(cases.KnownClient(rejection=cases.FORBIDDEN))]
    )
    app = new_app()
    app.router.routes.extend(router.routes)
    return app


def guard_included(new_app: Callable[[], FastAPI]) -> ASGIApp:
    router = RejectingRouter()
    router.add_api_websocket_route(
        "/ws", cases.never_runs, dependencies=[Depends(cases.KnownClient(rejection=cases.FORBIDDEN))]
    )
    app = new_app()
    app.include_router(router)
    return app


def origins() -> OriginGuard:
    return OriginGuard(["https://app.example.com"], allow_missing=False, rejection=cases.FORBIDDEN)


def middleware_added(new_app: Callable[[], FastAPI]) -> ASGIApp:
    app = new_app()
    app.add_api_websocket_route("/ws", cases.accept_and_close)
    app.add_middleware(WebSocketGuardMiddleware, guards=[origins()])
    return app


def middleware_wrapped(new_app: Callable[[], FastAPI]) -> ASGIApp:
    app = new_app()
    app.add_api_websocket_route("/ws", cases.accept_and_close)
    return WebSocketGuardMiddleware(app, guards=[origins()])  # outside any app: FastAPI's span is not open yet


# label -> how its app is built from a FastAPI app factory (a label's first word is its key, as in cases.py)
CASES: dict[str, Callable[[Callable[[], FastAPI]], ASGIApp]] = {
    "g  Guard subclass, RejectingRouter included": guard_included,
    "g2 Guard subclass, routes as built": guard_built,
    "f2 WebSocketGuardMiddleware, add_middleware": middleware_added,
    "f  WebSocketGuardMiddleware wrapped around the app": middleware_wrapped,
}


def _nothing(*args: Any) -> None:
    return None


async def time_case(app: ASGIApp, iterations: int) -> float:
    """CPU microseconds of this thread per handshake over `iterations` handshakes."""
    gc.collect()
    start = time.thread_time_ns()
    for _ in range(iterations):
        peer = inprocess.Peer()
        await app(dict(inprocess.SCOPE), peer.receive, peer.send)
    return (time.thread_time_ns() - start) / iterations / 1000


async def run(rounds: int, iterations: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per case and provider, the µs per handshake with the recording (`on`) and without (`off`), per round."""
    sdk = Sdk()
    recording = _telemetry.record
    apps = {
        (label, provider): build(sdk.app if provider == "sdk" else FastAPI)
        for label, build in CASES.items()
        for provider in PROVIDERS
    }
    for app in apps.values():
        await inprocess.verify("telemetry", app, "websocket.http.response.start")
        await time_case(app, max(20, iterations // 4))  # warm-up
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        label: {provider: {"off": [], "on": []} for provider in PROVIDERS} for label in CASES
    }
    for _ in range(rounds):
        for (label, provider), app in apps.items():
            for state in ("off", "on"):
                _telemetry.record = recording if state == "on" else _nothing  # type: ignore[assignment]
                try:
                    samples[label][provider][state].append(await time_case(app, iterations))
                finally:
                    _telemetry.record = recording  # type: ignore[assignment]
                sdk.spans.clear()
    return samples


def summarize(samples: dict[str, dict[str, dict[str, list[float]]]]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for label, by_provider in samples.items():
        for provider, states in by_provider.items():
            off, on = statistics.median(states["off"]), statistics.median(states["on"])
            added = statistics.median(b - a for a, b in zip(states["off"], states["on"], strict=True))
            rows[f"{label} [{provider}]"] = {
                "provider": provider,
                "off_us": off,
                "on_us": on,
                "added_us": added,
                "rounds_off_us": states["off"],
                "rounds_on_us": states["on"],
            }
    return rows


def meta(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    versions = {"fastapi": fastapi.__version__, "starlette": starlette.__version__}
    versions["opentelemetry_sdk"] = version("opentelemetry-sdk")
    return {**report.machine(), **versions, "rounds": args.rounds, "iterations": args.iterations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--smoke", action="store_true", help="1 round of 20 iterations, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.iterations = 1, 20
    result = {"meta": meta(args), "cases": summarize(asyncio.run(run(args.rounds, args.iterations)))}
    print(report.telemetry_table(result))
    report.save(result, args.json or (None if args.smoke else DEFAULT_JSON))


if __name__ == "__main__":
    main()
