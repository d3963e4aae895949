"""Pins for the FastAPI telemetry internals `_compat.py` reads (FastAPI 0.165+): when one moves, the test named
after it fails and says what moved. (The other pins are in test_compat.py.)"""

from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject._compat import (
    FASTAPI_TELEMETRY_KEY,
    fastapi_connection_span,
    fastapi_meter_provider,
    fastapi_route,
)

pytest.importorskip("opentelemetry.sdk", reason="the dev extra brings opentelemetry-sdk")
if not hasattr(FastAPI(), "_telemetry"):
    pytest.skip("FastAPI before 0.165 has no telemetry", allow_module_level=True)

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402


def test_fastapis_connection_telemetry_holds_its_span_and_route_in_the_scope() -> None:
    seen: dict[str, Any] = {}
    app = FastAPI(telemetry={"tracer_provider": TracerProvider()})  # type: ignore[call-arg, unused-ignore]

    @app.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        span = fastapi_connection_span(websocket.scope)
        seen.update(recording=span is not None and span.is_recording(), route=fastapi_route(websocket.scope))
        await websocket.accept()
        await websocket.close()

    with TestClient(app).websocket_connect("/rooms/attic"):
        pass
    assert seen["route"] == "/rooms/{room}", (
        f"FastAPI's telemetry no longer keeps the route template as scope[{FASTAPI_TELEMETRY_KEY!r}].route; "
        "update fastapi_route in _compat.py"
    )
    assert seen["recording"], (
        f"FastAPI's telemetry no longer keeps the connection's span as scope[{FASTAPI_TELEMETRY_KEY!r}].span; "
        "update fastapi_connection_span in _compat.py"
    )


def test_fastapi_keeps_the_telemetry_config_as_underscore_telemetry() -> None:
    provider = MeterProvider()
    app = FastAPI(telemetry={"meter_provider": provider, "metrics": False})  # type: ignore[call-arg, unused-ignore]
    assert fastapi_meter_provider(app) == (provider, False), (
        "FastAPI no longer keeps its TelemetryConfig as app._telemetry; update fastapi_meter_provider in _compat.py"
    )
    assert fastapi_meter_provider(FastAPI()) == (None, True)
