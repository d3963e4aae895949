"""A rejection in OpenTelemetry: the answer on the connection's span, and a count of rejections.

Only `opentelemetry-api` is needed (FastAPI 0.165 depends on it; the `otel` extra brings it to an older FastAPI);
without it nothing here records anything. With no SDK configured, the API gives a span that records nothing and
a counter that drops what it is given, so a refusal pays for a few lookups.

The span is FastAPI's connection span (`FastAPI(telemetry=...)`, through `_compat`), else the span current when
the answer is sent: the server span of `opentelemetry-instrumentation-asgi`'s middleware. HTTP's semantic
conventions name what they can (`http.response.status_code` for an HTTP response sent, `error.type` for a 5xx,
which alone makes the span an error, as for an HTTP server span); the rest is under `fastapi_ws_reject.`. Never a
token, a header value, a body, a detail or a raw path: every attribute's values are bounded by the app's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import Scope

from ._compat import fastapi_connection_span, fastapi_meter_provider, fastapi_route
from ._rejection import WebSocketRejection

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
except ImportError:  # pragma: no cover  # FastAPI before 0.165 without the `otel` extra: nothing to record to
    otel_metrics = otel_trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ._events import AppEvents

#: how the rejection was sent (`fastapi_ws_reject.answer`)
RESPONSE = "response"  # the HTTP response, through the denial extension
CLOSE_BEFORE_ACCEPT = "close_before_accept"  # a server without the extension: ASGI has it answer 403, no body
ACCEPT_THEN_CLOSE = "accept_then_close"  # the `close` or `auto` policy: 101, then the close frame
CLOSE_AFTER_ACCEPT = "close_after_accept"  # a close frame on an accepted socket (its endpoint, an expiry)
# ASGI: a close before accept is answered "HTTP 403 (Forbidden)" by the server, whatever the close code.
FALLBACK_STATUS = 403

ROUTE = "http.route"
HTTP_STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"
STATUS_CODE = "fastapi_ws_reject.status_code"
CLOSE_CODE = "fastapi_ws_reject.close_code"
GUARD = "fastapi_ws_reject.guard"
POLICY = "fastapi_ws_reject.policy"
ANSWER = "fastapi_ws_reject.answer"
FALLBACK = "fastapi_ws_reject.fallback"

METER_NAME = "fastapi_ws_reject"
COUNTER = "fastapi_ws_reject.rejections"
COUNTER_UNIT = "{rejection}"
COUNTER_DESCRIPTION = "WebSocket handshakes refused, and accepted sockets closed, by fastapi-ws-reject."


def route_template(scope: Scope) -> str | None:
    """The template of the route serving `scope` (`/rooms/{room}`), never the path the client sent: FastAPI's
    telemetry's `http.route` (mount prefixes included), else the route's own `path_format`; none before routing
    (the middleware)."""
    route = fastapi_route(scope) or getattr(scope.get("route"), "path_format", None)
    return route if isinstance(route, str) else None


def attributes_of(
    scope: Scope, rejection: WebSocketRejection, answer: str, policy: str | None, close_code: int | None
) -> dict[str, Any]:
    """The attributes a rejection is counted and traced with: bounded values only."""
    attributes: dict[str, Any] = {STATUS_CODE: rejection.status_code, ANSWER: answer}
    route = route_template(scope)
    if route is not None:
        attributes[ROUTE] = route
    if close_code is not None:
        attributes[CLOSE_CODE] = close_code
    if rejection.guard is not None:
        attributes[GUARD] = rejection.guard
    if policy is not None:
        attributes[POLICY] = policy
    return attributes


def record(
    scope: Scope,
    rejection: WebSocketRejection,
    answer: str,
    policy: str | None,
    close_code: int | None,
    events: AppEvents | None,
) -> None:
    """Put the rejection just sent on the connection's span, and count it with the app's meter provider (a
    rejection sent outside any app, by a middleware wrapped around it by hand, is on the span only: the count is
    an app's, as its listeners are)."""
    if otel_trace is None:  # pragma: no cover  # the `otel` extra is not installed
        return
    span = fastapi_connection_span(scope) or otel_trace.get_current_span()
    recording = span.is_recording()
    if not recording and events is None:
        return  # nothing to record to: no span, and no app to count for
    attributes = attributes_of(scope, rejection, answer, policy, close_code)
    if recording:
        on_span = dict(attributes)
        if answer == RESPONSE:
            on_span[HTTP_STATUS_CODE] = rejection.status_code
        elif answer == CLOSE_BEFORE_ACCEPT:
            on_span[HTTP_STATUS_CODE], on_span[FALLBACK] = FALLBACK_STATUS, True
        if rejection.status_code >= 500:  # a server error; a 4xx is the client's, not the span's
            on_span[ERROR_TYPE] = str(rejection.status_code)
            span.set_status(otel_trace.StatusCode.ERROR)
        span.set_attributes(on_span)
    if events is not None:
        if events.counter is None:
            events.counter = _counter(scope.get("app"))
        events.counter.add(1, attributes)


def _counter(app: object) -> Any:
    """The rejection counter of `app`'s meter provider: the one its `FastAPI(telemetry=...)` names, else the
    global one. From the global provider before one is set, it is the API's proxy, which counts into the
    provider set later; with `"metrics": False` in FastAPI's telemetry, a counter that drops all."""
    assert otel_metrics is not None
    configured, enabled = fastapi_meter_provider(app)
    if not enabled:
        return otel_metrics.NoOpCounter(COUNTER)
    provider = configured if configured is not None else otel_metrics.get_meter_provider()
    from . import __version__

    return provider.get_meter(METER_NAME, __version__).create_counter(
        COUNTER, unit=COUNTER_UNIT, description=COUNTER_DESCRIPTION
    )
