"""What happens when a rejection is sent: one log line, and the listeners registered with `on_reject`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Scope

logger = logging.getLogger("fastapi_ws_reject")

#: scope key a guard fills when it refuses: (guard name, detail without secrets)
REFUSAL_KEY = "fastapi_ws_reject.refusal"
#: scope keys for the policy of the guard that refused, and of the route a rejection was raised in
POLICY_KEY = "fastapi_ws_reject.policy"
ROUTE_POLICY_KEY = "fastapi_ws_reject.route_policy"
REJECTED_LOG = "Rejected websocket %s with %s %s%s"  # path, "status"/"close", code, " by guard: detail"


@dataclass(frozen=True)
class RejectionEvent:
    """One rejection, as a listener sees it: never a token or a body."""

    path: str
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


def report(scope: Scope, status_code: int, close_code: int | None) -> None:
    guard, detail = scope.get(REFUSAL_KEY, (None, None))
    path = scope.get("root_path", "") + scope.get("path", "")
    if logger.isEnabledFor(logging.INFO):
        answer = ("close", close_code) if close_code is not None else ("status", status_code)
        logger.info(REJECTED_LOG, path, *answer, f" by {guard}: {detail}" if guard else "")
    if _listeners:
        client = scope.get("client")
        event = RejectionEvent(path, status_code, close_code, guard, detail, client[0] if client else None)
        for listener in list(_listeners):
            listener(event)
