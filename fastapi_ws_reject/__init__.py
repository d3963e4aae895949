"""Make a FastAPI WebSocket say no with a real HTTP response, on every ASGI server."""

from ._guard import Guard as Guard
from .composition import all_of as all_of
from .composition import any_of as any_of
from .credentials import APIKey as APIKey
from .credentials import Authenticated as Authenticated
from .credentials import BearerToken as BearerToken
from .credentials import constant_time_lookup as constant_time_lookup
from .events import RejectionEvent as RejectionEvent
from .events import on_reject as on_reject
from .guards import reject_unless as reject_unless
from .guards import ws_guard as ws_guard
from .handlers import add_rejection_handlers as add_rejection_handlers
from .limits import ConnectionLimit as ConnectionLimit
from .limits import InMemoryBackend as InMemoryBackend
from .limits import LimitBackend as LimitBackend
from .limits import RateLimit as RateLimit
from .limits import client_host as client_host
from .middleware import WebSocketGuardMiddleware as WebSocketGuardMiddleware
from .network import IPFilter as IPFilter
from .origin import OriginGuard as OriginGuard
from .policy import Policy as Policy
from .policy import is_browser_handshake as is_browser_handshake
from .rejection import WebSocketRejection as WebSocketRejection
from .routing import RejectingRouter as RejectingRouter
from .routing import RejectingWebSocketRoute as RejectingWebSocketRoute
from .security import ws_security as ws_security
from .subprotocols import RequireSubprotocol as RequireSubprotocol

__version__ = "0.1.0"

__all__ = [
    "APIKey",
    "Authenticated",
    "BearerToken",
    "ConnectionLimit",
    "Guard",
    "IPFilter",
    "InMemoryBackend",
    "LimitBackend",
    "OriginGuard",
    "Policy",
    "RateLimit",
    "RejectingRouter",
    "RejectingWebSocketRoute",
    "RejectionEvent",
    "RequireSubprotocol",
    "WebSocketGuardMiddleware",
    "WebSocketRejection",
    "__version__",
    "add_rejection_handlers",
    "all_of",
    "any_of",
    "client_host",
    "constant_time_lookup",
    "is_browser_handshake",
    "on_reject",
    "reject_unless",
    "ws_guard",
    "ws_security",
]
