"""What happens when a rejection is sent: one log line, and the listeners registered with `on_reject` on the
app that sent it. What this library keeps about an app lives on the app object itself (`AppEvents`), never in
a module-level container, so two apps in one process keep their listeners apart."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from starlette.applications import Starlette
from starlette.types import Scope

from . import _telemetry
from ._rejection import WebSocketRejection

_logger = logging.getLogger("fastapi_ws_reject")

REJECTED_LOG = "Rejected websocket %s with %s %s%s"  # path, "status"/"close", code, " by guard: detail"
# A client chooses the path and part of a guard's detail, and escaping writes a character as up to 10 (`\U0001f600`):
# each is cut to this many characters in the log line, then marked with how many characters of it were left out.
LOGGED_FIELD_LIMIT = 256
LOGGED_FIELD_CUT = "...(+{omitted} chars)"


@dataclass(frozen=True)
class RejectionEvent:
    """One rejection, as a listener sees it: never a token or a body.

    ```python
    on_reject(app, lambda event: metrics.labels(event.guard or "app", event.status_code).inc())
    ```

    `close_code` is set when the answer was a close frame (after accept, or by the `close` / `auto` policy);
    `guard` and `detail` when a guard refused; `client` is the peer address, when the server gave one.
    """

    path: str  # as the client sent it, decoded: escape it before logging it yourself
    status_code: int
    close_code: int | None  # the close frame's code when the answer was a close (after accept, or by policy)
    guard: str | None  # the guard that refused, when one did
    detail: str | None
    client: str | None


Listener = Callable[[RejectionEvent], None]

# The attribute of a Starlette app that holds its `AppEvents`: the app's own object, not `app.state` (the user's).
_APP_ATTRIBUTE = "_fastapi_ws_reject_events"
_ON_REJECT_FIX = "register the listener with the FastAPI or Starlette app it listens to, on_reject(app, listener)"


class AppEvents:
    """What this library keeps about one app: its listeners, whether it warned about the fallback and about a limit
    keyed by a proxy's address, and its rejection counter (`_telemetry`), made at its first rejection."""

    __slots__ = ("counter", "listeners", "warned_about_fallback", "warned_about_proxy_key")

    def __init__(self) -> None:
        # Replaced, never changed in place: `report` loops over the tuple it read while a listener is removed.
        self.listeners: tuple[Listener, ...] = ()
        self.warned_about_fallback: bool = False
        self.warned_about_proxy_key: bool = False
        self.counter: Any = None

    def remove(self, listener: Listener) -> None:
        kept = list(self.listeners)
        kept.remove(listener)
        self.listeners = tuple(kept)


def on_reject(app: Starlette, listener: Listener | None = None) -> Callable[[], None]:
    """Call `listener(event)` after every rejection `app` sends; returns a function that removes it.

    ```python
    rejections = collections.Counter()
    on_reject(app, lambda event: rejections.update([(event.path, event.status_code)]))
    ```

    `app` is the `FastAPI` (or Starlette) app whose rejections the listener hears: those of its routes, its
    guards and the `WebSocketGuardMiddleware` it was given with `add_middleware`, the ones sent while
    Starlette's `scope["app"]` is `app`, and the later closes of a socket its guards watch (an expiry,
    `revalidate=`, a lost slot), even while an app mounted in it serves that socket. An app mounted in it
    (`app.mount("/v2", v2)`) serves its own routes: register on `v2` to hear them. Listeners run in the
    handshake's task: keep them quick (count, don't do I/O). An exception in one is not swallowed.
    """
    if not isinstance(app, Starlette):
        raise TypeError(f"on_reject() takes the app first, not {type(app).__name__}: {_ON_REJECT_FIX}.")
    if not callable(listener):
        raise TypeError(f"on_reject() needs a callable listener after the app, not {listener!r}: {_ON_REJECT_FIX}.")
    events = app_events(app)
    events.listeners = (*events.listeners, listener)
    return lambda: events.remove(listener)


def events_of(scope: Scope) -> AppEvents | None:
    """The `AppEvents` of the app serving `scope` (Starlette's `scope["app"]`), made the first time it is asked
    for; none outside any app, as in a middleware wrapped around the app by hand."""
    app = scope.get("app")
    return app_events(app) if isinstance(app, Starlette) else None


def app_events(app: Starlette) -> AppEvents:
    """`app`'s `AppEvents`, made the first time it is asked for."""
    kept: dict[str, object] = vars(app)
    events = kept.get(_APP_ATTRIBUTE)
    if events is None:
        events = kept.setdefault(_APP_ATTRIBUTE, AppEvents())  # one atomic step: two first callers share one
    return cast(AppEvents, events)


def report(scope: Scope, rejection: WebSocketRejection, answer: str, policy: str | None = None) -> None:
    """Log the rejection `scope`'s app sent, record it in OpenTelemetry, and tell that app's listeners.

    `answer` is how it was sent (one of `_telemetry`'s RESPONSE, CLOSE_BEFORE_ACCEPT, ACCEPT_THEN_CLOSE,
    CLOSE_AFTER_ACCEPT), `policy` the one that chose it before accept.
    """
    guard, detail = rejection.guard, rejection.detail
    sent_a_close = answer in (_telemetry.ACCEPT_THEN_CLOSE, _telemetry.CLOSE_AFTER_ACCEPT)
    close_code = rejection.close_code if sent_a_close else None
    path, root_path = scope["path"], scope.get("root_path", "")
    if not path.startswith(root_path):
        path = root_path + path  # a server from before ASGI 3 put root_path outside path
    if _logger.isEnabledFor(logging.INFO):
        logged = ("close", close_code) if close_code is not None else ("status", rejection.status_code)
        by = f" by {_logged(guard)}: {_logged(detail or '')}" if guard else ""
        # The same fields for a structured formatter (a JSON one): the route's template, never the raw path.
        fields = {
            "route": _telemetry.route_template(scope),
            "status_code": rejection.status_code,
            "close_code": close_code,
            "guard": guard,
        }
        _logger.info(REJECTED_LOG, _logged(path), *logged, by, extra=fields)
    events = events_of(scope)
    _telemetry.record(scope, rejection, answer, policy, close_code, events)
    listeners = events.listeners if events is not None else ()
    if listeners:
        client = scope.get("client")
        event = RejectionEvent(path, rejection.status_code, close_code, guard, detail, client[0] if client else None)
        for listener in listeners:
            listener(event)


def escape(text: str) -> str:
    """`text` fit for one log line: line breaks and other control characters written as escapes.

    A path holds what the client sent (`%0A` decodes to a line break), so it could forge log lines.
    """
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _logged(text: str) -> str:
    """`escape(text)` cut to `LOGGED_FIELD_LIMIT` characters, never inside an escape, and marked when cut."""
    if text.isprintable():
        if len(text) <= LOGGED_FIELD_LIMIT:
            return text
        kept, taken = text[:LOGGED_FIELD_LIMIT], LOGGED_FIELD_LIMIT
    else:
        # unicode_escape writes each character on its own, so escaping the head gives the head of escape(text).
        escapes = [char.encode("unicode_escape").decode("ascii") for char in text[:LOGGED_FIELD_LIMIT]]
        taken = sum(1 for length in itertools.accumulate(map(len, escapes)) if length <= LOGGED_FIELD_LIMIT)
        kept = "".join(escapes[:taken])
        if taken == len(text):
            return kept
    return kept + LOGGED_FIELD_CUT.format(omitted=len(text) - taken)
