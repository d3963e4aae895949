"""Make a FastAPI WebSocket say no with a real HTTP response, on every ASGI server.

The core is here; the built-in guards are in `fastapi_ws_reject.guards`, the test helpers in
`fastapi_ws_reject.testing` (the `testing` extra).
"""

from ._events import RejectionEvent as RejectionEvent
from ._events import on_reject as on_reject
from ._placements.handlers import add_rejection_handlers as add_rejection_handlers
from ._placements.middleware import WebSocketGuardMiddleware as WebSocketGuardMiddleware
from ._placements.routing import RejectingRouter as RejectingRouter
from ._placements.routing import RejectingWebSocketRoute as RejectingWebSocketRoute
from ._rejection import WebSocketRejection as WebSocketRejection
from .guards import Guard as Guard
from .guards import reject_unless as reject_unless
from .guards import ws_guard as ws_guard
from .policy import Policy as Policy

__version__ = "0.1.0"
"""The version of fastapi-ws-reject, as on PyPI."""

__all__ = [
    "Guard",
    "Policy",
    "RejectingRouter",
    "RejectingWebSocketRoute",
    "RejectionEvent",
    "WebSocketGuardMiddleware",
    "WebSocketRejection",
    "__version__",
    "add_rejection_handlers",
    "on_reject",
    "reject_unless",
    "ws_guard",
]
