"""On real servers (uvicorn, hypercorn, run in a thread of this process so that the SDK's in-memory exporter is
readable), a refused handshake's server span carries the answer the client got, and never what the client sent;
an accepted one's carries none of it (issue 25). On daphne, which lacks the denial extension, the span says so;
this module is the app daphne serves, its spans written to the server's log by the SDK's console exporter."""

import asyncio
import json
import sys
import time
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket

pytest.importorskip("opentelemetry.sdk", reason="the dev extra brings opentelemetry-sdk")
pytest.importorskip("opentelemetry.instrumentation.asgi", reason="the dev extra brings the ASGI instrumentation")

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from fastapi_ws_reject import RejectingRouter  # noqa: E402
from fastapi_ws_reject.guards import BearerTokenGuard  # noqa: E402
from fastapi_ws_reject.testing import handshake, live_server  # noqa: E402
from tests.support.apps import ROOT  # noqa: E402

pytestmark = pytest.mark.e2e

NATIVE = hasattr(FastAPI(), "_telemetry")
TRACINGS = [
    pytest.param("fastapi", marks=pytest.mark.skipif(not NATIVE, reason="FastAPI before 0.165 has no telemetry")),
    "asgi",
]
TOKEN = "s3cret-token"


async def verify(token: str) -> str | None:
    return "alice" if token == TOKEN else None


def traced_app(tracing: str, exporter: InMemorySpanExporter) -> FastAPI:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI(telemetry={"tracer_provider": provider}) if tracing == "fastapi" else FastAPI()  # type: ignore[call-arg, unused-ignore]
    bearer = BearerTokenGuard(verify, sources=("query",))
    router = RejectingRouter()

    @router.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str, user: Annotated[Any, Depends(bearer)]) -> None:
        await websocket.accept()
        await websocket.close()

    app.include_router(router)
    if tracing == "asgi":
        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)
    return app


def server_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    """The next server span to end: the server may answer the client before the app returns and ends it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        spans = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
        if spans:
            exporter.clear()
            assert len(spans) == 1
            return spans[0]
        time.sleep(0.01)
    raise AssertionError("no server span ended within 5 s of the handshake")


@pytest.mark.parametrize("tracing", TRACINGS)
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_refused_handshake_on_a_real_server_is_on_its_span(server: str, tracing: str) -> None:
    exporter = InMemorySpanExporter()
    with live_server(traced_app(tracing, exporter), server=server) as running:
        refused = asyncio.run(handshake(running.url + "/rooms/attic?access_token=wrong-" + TOKEN))
        refused_span = server_span(exporter)
        accepted = asyncio.run(handshake(running.url + "/rooms/attic?access_token=" + TOKEN))
        accepted_span = server_span(exporter)

    assert (refused.status_code, accepted.status_code) == (401, 101)
    attributes = dict(refused_span.attributes or {})
    assert attributes["http.response.status_code"] == 401
    assert {name: value for name, value in attributes.items() if name.startswith("fastapi_ws_reject.")} == {
        "fastapi_ws_reject.status_code": 401,
        "fastapi_ws_reject.answer": "response",
        "fastapi_ws_reject.policy": "http",
        "fastapi_ws_reject.guard": "BearerTokenGuard",
    }
    ours = ("http.route", "http.response.status_code", "error.type")
    assert not any(TOKEN in str(value) for name, value in attributes.items() if name.startswith(ours))
    assert not any(name.startswith("fastapi_ws_reject.") for name in accepted_span.attributes or {})


SPAN_MARK = "span: "


def console_traced_app() -> FastAPI:
    """The app daphne serves: the ASGI instrumentation's spans, one JSON line each, in the server's log."""
    exporter = ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: SPAN_MARK + span.to_json(indent=None) + "\n")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()
    router = RejectingRouter()

    @router.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str, user: Annotated[Any, Depends(BearerTokenGuard(verify))]) -> None:
        await websocket.accept()
        await websocket.close()

    app.include_router(router)
    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)
    return app


app = console_traced_app()


def test_on_a_server_without_the_denial_extension_the_span_says_fallback() -> None:
    with live_server("tests.security.test_telemetry_wire:app", server="daphne", cwd=ROOT) as running:
        refused = asyncio.run(handshake(running.url + "/rooms/attic"))
        deadline, spans = time.monotonic() + 5, []
        while not spans and time.monotonic() < deadline:
            lines = [line.split(SPAN_MARK, 1)[1] for line in running.log().splitlines() if SPAN_MARK in line]
            spans = [span for span in map(json.loads, lines) if span["kind"] == "SpanKind.SERVER"]
            time.sleep(0.01)
    assert refused.status_code == 403  # daphne's answer to a close before accept
    assert len(spans) == 1, running.log()
    attributes = spans[0]["attributes"]
    assert attributes["http.response.status_code"] == 403
    assert attributes["fastapi_ws_reject.status_code"] == 401  # what the guard decided
    assert attributes["fastapi_ws_reject.answer"] == "close_before_accept"
    assert attributes["fastapi_ws_reject.fallback"] is True
