"""What happens when a rejection is sent: one log line, and the listeners registered with `on_reject`."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Scope

from .rejection import WebSocketRejection

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
    on_reject(lambda event: metrics.labels(event.guard or "app", event.status_code).inc())
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
_listeners: list[Listener] = []


def on_reject(listener: Listener) -> Callable[[], None]:
    """Call `listener(event)` after every rejection this library sends; returns a function that removes it.

    ```python
    rejections = collections.Counter()
    on_reject(lambda event: rejections.update([(event.path, event.status_code)]))
    ```

    Listeners run in the handshake's task: keep them quick (count, don't do I/O). An exception in one
    is not swallowed.
    """
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def report(scope: Scope, rejection: WebSocketRejection, close_code: int | None) -> None:
    guard, detail = rejection.guard, rejection.detail
    path, root_path = scope["path"], scope.get("root_path", "")
    if not path.startswith(root_path):
        path = root_path + path  # a server from before ASGI 3 put root_path outside path
    if _logger.isEnabledFor(logging.INFO):
        answer = ("close", close_code) if close_code is not None else ("status", rejection.status_code)
        by = f" by {escape(guard)}: {_logged(detail or '')}" if guard else ""
        _logger.info(REJECTED_LOG, _logged(path), *answer, by)
    if _listeners:
        client = scope.get("client")
        event = RejectionEvent(path, rejection.status_code, close_code, guard, detail, client[0] if client else None)
        for listener in list(_listeners):
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
