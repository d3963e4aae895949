"""Rejections in OpenTelemetry (issue 25): the connection's server span alone tells a refused handshake from an
accepted one, on FastAPI's own telemetry (`FastAPI(telemetry=...)`, 0.165+) and on
opentelemetry-instrumentation-asgi's middleware (the usual choice before); a counter counts the rejections; the
log line carries its fields as `extra`."""

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.testclient import TestClient
from starlette.types import ASGIApp

pytest.importorskip("opentelemetry.sdk", reason="the dev extra brings opentelemetry-sdk")
pytest.importorskip("opentelemetry.instrumentation.asgi", reason="the dev extra brings the ASGI instrumentation")

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection  # noqa: E402
from fastapi_ws_reject.guards import BearerTokenGuard, OriginGuard  # noqa: E402
from fastapi_ws_reject.testing import assert_closed, assert_rejected, without_denial_extension  # noqa: E402
from tests.support.apps import ROOT  # noqa: E402

NATIVE = hasattr(FastAPI(), "_telemetry")  # FastAPI 0.165 traces websocket connections itself
TRACINGS = [
    pytest.param("fastapi", marks=pytest.mark.skipif(not NATIVE, reason="FastAPI before 0.165 has no telemetry")),
    "asgi",
]
ALLOWED = {"origin": "https://app.example.com"}
EVIL = {"origin": "https://evil.example"}
LIBRARY = "fastapi_ws_reject."


def new_app(tracing: str, tracer_provider: TracerProvider, meter_provider: MeterProvider | None = None) -> FastAPI:
    """An app traced by FastAPI's own telemetry (`fastapi`) or by the ASGI instrumentation (`asgi`)."""
    if tracing == "fastapi":
        config: dict[str, Any] = {"tracer_provider": tracer_provider}
        if meter_provider is not None:
            config["meter_provider"] = meter_provider
        return FastAPI(telemetry=config)  # type: ignore[call-arg, unused-ignore]
    return FastAPI()


def routes(app: FastAPI) -> None:
    """A route that refuses, one with a guard, one whose policy accepts then closes, one that closes after
    accept, one whose credential expires."""
    router = RejectingRouter()
    closing = RejectingRouter(policy="close")
    origins = OriginGuard(["https://app.example.com"], allow_missing=False)

    @router.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        if room == "attic":
            raise WebSocketRejection(404, {"detail": "no such room"})
        if room == "boiler":
            raise WebSocketRejection(503, "the boiler room is down")
        await websocket.accept()
        if room == "cellar":
            raise WebSocketRejection(503, "flooded")  # after accept: a close frame
        await websocket.close()

    @router.websocket("/guarded")
    async def guarded(websocket: WebSocket, origin: Annotated[str | None, Depends(origins)]) -> None:
        await websocket.accept()
        await websocket.close()

    @closing.websocket("/browser")
    async def browser(websocket: WebSocket) -> None:
        raise WebSocketRejection(403, "not for you")

    async def expiring(token: str) -> dict[str, Any] | None:
        return {"sub": "alice", "exp": time.time() + 0.2} if token == "s3cret-token" else None

    bearer = BearerTokenGuard(expiring, sources=("query",))

    @router.websocket("/expiring")
    async def expires(websocket: WebSocket, principal: Annotated[Any, Depends(bearer)]) -> None:
        await websocket.accept()
        async for _ in websocket.iter_text():  # until the library closes it at expiry
            pass

    app.include_router(router)
    app.include_router(closing)


@dataclass
class Traced:
    app: FastAPI
    exporter: InMemorySpanExporter
    outer: ASGIApp  # what the client talks to

    def client(self) -> TestClient:
        return TestClient(self.outer)

    def span(self) -> ReadableSpan:
        """The one server span ended since the last call: the connection's."""
        spans = [span for span in self.exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
        self.exporter.clear()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]

    def library_attributes(self, span: ReadableSpan) -> dict[str, Any]:
        return {name: value for name, value in (span.attributes or {}).items() if name.startswith(LIBRARY)}


def traced(
    tracing: str,
    build: Callable[[FastAPI], None] = routes,
    *,
    meter_provider: MeterProvider | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
) -> Traced:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = new_app(tracing, provider, meter_provider)
    build(app)
    if tracing == "asgi":
        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)  # outermost: its span is current
    return Traced(app, exporter, wrap(app))


def with_origin_middleware(app: FastAPI) -> None:
    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard(["https://app.example.com"], allow_missing=False)])


@pytest.mark.parametrize("tracing", TRACINGS)
def test_a_route_refusal_and_an_accept_differ_by_their_span(tracing: str) -> None:
    traced_app = traced(tracing)
    assert_rejected(traced_app.client(), "/rooms/attic", status_code=404)
    refused = traced_app.span()
    assert_closed(traced_app.client(), "/rooms/kitchen", close_code=1000)
    accepted = traced_app.span()

    assert refused.attributes is not None
    assert refused.attributes["http.response.status_code"] == 404
    assert refused.attributes["http.route"] == "/rooms/{room}"
    assert traced_app.library_attributes(refused) == {
        "fastapi_ws_reject.status_code": 404,
        "fastapi_ws_reject.answer": "response",
        "fastapi_ws_reject.policy": "http",
    }
    assert refused.status.status_code is StatusCode.UNSET  # a 4xx is the client's error, not the server's
    assert "error.type" not in refused.attributes
    assert traced_app.library_attributes(accepted) == {}
    assert "http.response.status_code" not in (accepted.attributes or {})


@pytest.mark.parametrize("tracing", TRACINGS)
def test_a_guard_refusal_names_its_guard_and_nothing_the_client_sent(tracing: str) -> None:
    traced_app = traced(tracing)
    assert_rejected(traced_app.client(), "/guarded", status_code=403, request_headers=EVIL)
    refused = traced_app.span()
    assert_closed(traced_app.client(), "/guarded", request_headers=ALLOWED)
    accepted = traced_app.span()

    assert traced_app.library_attributes(refused) == {
        "fastapi_ws_reject.status_code": 403,
        "fastapi_ws_reject.answer": "response",
        "fastapi_ws_reject.policy": "http",
        "fastapi_ws_reject.guard": "OriginGuard",
    }
    assert not any("evil" in str(value) for value in (refused.attributes or {}).values())  # the detail names it
    assert traced_app.library_attributes(accepted) == {}


@pytest.mark.parametrize("tracing", TRACINGS)
def test_a_middleware_refusal_is_on_the_span_without_a_route(tracing: str) -> None:
    traced_app = traced(tracing, with_origin_middleware)
    assert_rejected(traced_app.client(), "/ws", status_code=403, request_headers=EVIL)
    refused = traced_app.span()
    assert_closed(traced_app.client(), "/ws", request_headers=ALLOWED)
    accepted = traced_app.span()

    assert (refused.attributes or {})["http.response.status_code"] == 403
    assert traced_app.library_attributes(refused) == {
        "fastapi_ws_reject.status_code": 403,
        "fastapi_ws_reject.answer": "response",
        "fastapi_ws_reject.policy": "http",
        "fastapi_ws_reject.guard": "OriginGuard",
    }
    assert traced_app.library_attributes(accepted) == {}


@pytest.mark.parametrize("tracing", TRACINGS)
def test_accept_then_close_is_on_the_span_with_its_close_code(tracing: str) -> None:
    traced_app = traced(tracing)
    assert_closed(traced_app.client(), "/browser", close_code=4403, close_reason="not for you")
    refused = traced_app.span()
    assert_closed(traced_app.client(), "/rooms/kitchen", close_code=1000)
    accepted = traced_app.span()

    assert traced_app.library_attributes(refused) == {
        "fastapi_ws_reject.status_code": 403,
        "fastapi_ws_reject.close_code": 4403,
        "fastapi_ws_reject.answer": "accept_then_close",
        "fastapi_ws_reject.policy": "close",
    }
    assert "http.response.status_code" not in (refused.attributes or {})  # the handshake itself was accepted
    assert traced_app.library_attributes(accepted) == {}


@pytest.mark.parametrize("tracing", TRACINGS)
def test_a_5xx_makes_the_span_an_error_before_and_after_accept(tracing: str) -> None:
    traced_app = traced(tracing)
    assert_rejected(traced_app.client(), "/rooms/boiler", status_code=503)
    before = traced_app.span()
    assert_closed(traced_app.client(), "/rooms/cellar", close_code=4503)
    after = traced_app.span()

    for span in (before, after):
        assert span.status.status_code is StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "503"
    assert (before.attributes or {})["http.response.status_code"] == 503
    assert traced_app.library_attributes(after) == {
        "fastapi_ws_reject.status_code": 503,
        "fastapi_ws_reject.close_code": 4503,
        "fastapi_ws_reject.answer": "close_after_accept",
    }


@pytest.mark.parametrize("tracing", TRACINGS)
def test_an_expiry_close_is_on_the_connection_span(tracing: str) -> None:
    traced_app = traced(tracing)
    with traced_app.client().websocket_connect("/expiring?access_token=s3cret-token") as websocket:
        message = websocket.receive()
    assert message == {"type": "websocket.close", "code": 4401, "reason": "credential expired"}
    span = traced_app.span()

    assert traced_app.library_attributes(span) == {
        "fastapi_ws_reject.status_code": 401,
        "fastapi_ws_reject.close_code": 4401,
        "fastapi_ws_reject.answer": "close_after_accept",
        "fastapi_ws_reject.guard": "BearerTokenGuard",
    }
    # The library's attributes above are all it set: the token is in none (the ASGI instrumentation's own
    # `http.url` and `http.target` carry the query string as the client sent it, token included).


@pytest.mark.parametrize("tracing", TRACINGS)
def test_a_server_without_the_denial_extension_is_on_the_span_as_its_403(
    tracing: str, caplog: pytest.LogCaptureFixture
) -> None:
    traced_app = traced(tracing, wrap=without_denial_extension)
    with caplog.at_level(logging.ERROR, logger="fastapi_ws_reject"):  # the fallback's one warning is not this test's
        assert_rejected(traced_app.client(), "/rooms/attic", status_code=403)
    span = traced_app.span()

    assert (span.attributes or {})["http.response.status_code"] == 403  # ASGI: the server's answer to the close
    assert traced_app.library_attributes(span) == {
        "fastapi_ws_reject.status_code": 404,
        "fastapi_ws_reject.answer": "close_before_accept",
        "fastapi_ws_reject.policy": "http",
        "fastapi_ws_reject.fallback": True,
    }


# The counter.

METRIC = "fastapi_ws_reject.rejections"


def counted(reader: InMemoryMetricReader) -> dict[frozenset[tuple[str, Any]], int]:
    """The counter's points, by their attributes."""
    data = reader.get_metrics_data()
    points: dict[frozenset[tuple[str, Any]], int] = {}
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == METRIC:
                    for point in metric.data.data_points:
                        points[frozenset((point.attributes or {}).items())] = int(point.value)  # type: ignore[union-attr]
    return points


def mix_of_refusals(client: TestClient) -> None:
    assert_rejected(client, "/rooms/attic", status_code=404)
    assert_rejected(client, "/rooms/attic", status_code=404)
    assert_rejected(client, "/guarded", status_code=403, request_headers=EVIL)
    assert_closed(client, "/browser", close_code=4403)
    assert_closed(client, "/rooms/cellar", close_code=4503)
    assert_closed(client, "/rooms/kitchen", close_code=1000)  # accepted: not counted


EXPECTED_COUNTS = {
    frozenset(
        {
            ("http.route", "/rooms/{room}"),
            ("fastapi_ws_reject.status_code", 404),
            ("fastapi_ws_reject.answer", "response"),
            ("fastapi_ws_reject.policy", "http"),
        }
    ): 2,
    frozenset(
        {
            ("http.route", "/guarded"),
            ("fastapi_ws_reject.status_code", 403),
            ("fastapi_ws_reject.answer", "response"),
            ("fastapi_ws_reject.policy", "http"),
            ("fastapi_ws_reject.guard", "OriginGuard"),
        }
    ): 1,
    frozenset(
        {
            ("http.route", "/browser"),
            ("fastapi_ws_reject.status_code", 403),
            ("fastapi_ws_reject.close_code", 4403),
            ("fastapi_ws_reject.answer", "accept_then_close"),
            ("fastapi_ws_reject.policy", "close"),
        }
    ): 1,
    frozenset(
        {
            ("http.route", "/rooms/{room}"),
            ("fastapi_ws_reject.status_code", 503),
            ("fastapi_ws_reject.close_code", 4503),
            ("fastapi_ws_reject.answer", "close_after_accept"),
        }
    ): 1,
}


@pytest.mark.skipif(not NATIVE, reason="FastAPI before 0.165 has no telemetry config")
def test_the_counter_counts_a_mix_of_refusals_on_the_apps_meter_provider() -> None:
    reader = InMemoryMetricReader()
    traced_app = traced("fastapi", meter_provider=MeterProvider(metric_readers=[reader]))
    mix_of_refusals(traced_app.client())
    assert counted(reader) == EXPECTED_COUNTS  # route templates only: never "/rooms/attic"


@pytest.fixture
def global_meter_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryMetricReader]:
    """A meter provider as `metrics.set_meter_provider` would make it global, for this test only (the API lets
    a process set it once)."""
    from opentelemetry import metrics

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: provider)
    yield reader
    provider.shutdown()


def test_without_fastapis_telemetry_the_counter_uses_the_global_meter_provider(
    global_meter_provider: InMemoryMetricReader,
) -> None:
    traced_app = traced("asgi")
    mix_of_refusals(traced_app.client())
    assert counted(global_meter_provider) == EXPECTED_COUNTS


@pytest.mark.skipif(not NATIVE, reason="FastAPI before 0.165 has no telemetry config")
def test_fastapis_metrics_false_turns_the_counter_off(global_meter_provider: InMemoryMetricReader) -> None:
    app = FastAPI(telemetry={"metrics": False})  # type: ignore[call-arg, unused-ignore]
    routes(app)
    assert_rejected(TestClient(app), "/rooms/attic", status_code=404)
    assert counted(global_meter_provider) == {}


def test_the_middleware_counts_without_a_route(global_meter_provider: InMemoryMetricReader) -> None:
    app = FastAPI()
    with_origin_middleware(app)
    assert_rejected(TestClient(app), "/ws/anything", status_code=403, request_headers=EVIL)
    assert counted(global_meter_provider) == {
        frozenset(
            {
                ("fastapi_ws_reject.status_code", 403),
                ("fastapi_ws_reject.answer", "response"),
                ("fastapi_ws_reject.policy", "http"),
                ("fastapi_ws_reject.guard", "OriginGuard"),
            }
        ): 1
    }


def test_each_app_keeps_one_counter_per_meter_provider(global_meter_provider: InMemoryMetricReader) -> None:
    app = FastAPI()
    routes(app)
    client = TestClient(app)
    for _ in range(3):
        assert_rejected(client, "/rooms/attic", status_code=404)
    kept = vars(app)["_fastapi_ws_reject_events"].counter
    assert_rejected(client, "/rooms/attic", status_code=404)
    assert vars(app)["_fastapi_ws_reject_events"].counter is kept
    assert sum(counted(global_meter_provider).values()) == 4


def test_a_refusal_outside_any_app_is_on_the_span_but_not_counted(global_meter_provider: InMemoryMetricReader) -> None:
    # A middleware wrapped around the app by hand refuses before Starlette sets scope["app"]: like the listeners,
    # the count is an app's.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()
    guarded = WebSocketGuardMiddleware(app, guards=[OriginGuard(["https://app.example.com"], allow_missing=False)])
    client = TestClient(OpenTelemetryMiddleware(guarded, tracer_provider=provider))
    assert_rejected(client, "/ws", status_code=403, request_headers=EVIL)
    (span,) = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert (span.attributes or {})["fastapi_ws_reject.guard"] == "OriginGuard"
    assert counted(global_meter_provider) == {}


# The log line.


def test_the_log_line_carries_its_fields_as_extra(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    routes(app)
    client = TestClient(app)
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(client, "/guarded", status_code=403, request_headers=EVIL)
        assert_closed(client, "/browser", close_code=4403)
    fields = [
        {name: getattr(record, name) for name in ("route", "status_code", "close_code", "guard")}
        for record in caplog.records
    ]
    assert fields == [
        {"route": "/guarded", "status_code": 403, "close_code": None, "guard": "OriginGuard"},
        {"route": "/browser", "status_code": 403, "close_code": 4403, "guard": None},
    ]


# Without opentelemetry-api.

NO_OPENTELEMETRY = """
import sys
sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from fastapi_ws_reject import WebSocketRejection
from fastapi_ws_reject.testing import assert_rejected
app = FastAPI()
@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    raise WebSocketRejection(404, "gone")
from fastapi_ws_reject import add_rejection_handlers
add_rejection_handlers(app)
assert_rejected(TestClient(app), "/ws", status_code=404)
print("ok")
"""


@pytest.mark.skipif(NATIVE, reason="FastAPI 0.165 itself needs opentelemetry-api")
def test_the_library_works_without_opentelemetry() -> None:
    done = subprocess.run([sys.executable, "-c", NO_OPENTELEMETRY], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
