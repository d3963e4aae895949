"""Make a FastAPI WebSocket say no with a real HTTP response, on every ASGI server."""

from .guards import reject_unless as reject_unless
from .guards import ws_guard as ws_guard
from .handlers import add_rejection_handlers as add_rejection_handlers
from .rejection import WebSocketRejection as WebSocketRejection
from .routing import RejectingRouter as RejectingRouter
from .routing import RejectingWebSocketRoute as RejectingWebSocketRoute

__version__ = "0.1.0"

__all__ = [
    "RejectingRouter",
    "RejectingWebSocketRoute",
    "WebSocketRejection",
    "__version__",
    "add_rejection_handlers",
    "reject_unless",
    "ws_guard",
]
