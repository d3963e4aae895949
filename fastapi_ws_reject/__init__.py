"""Make a FastAPI WebSocket say no with a real HTTP response, on every ASGI server."""

from .events import RejectionEvent as RejectionEvent
from .events import on_reject as on_reject
from .guards import APIKey as APIKey
from .guards import Authenticated as Authenticated
from .guards import BearerToken as BearerToken
from .guards import ConnectionLimit as ConnectionLimit
from .guards import Guard as Guard
from .guards import HoldingGuard as HoldingGuard
from .guards import InMemoryBackend as InMemoryBackend
from .guards import IPFilter as IPFilter
from .guards import LimitBackend as LimitBackend
from .guards import OriginGuard as OriginGuard
from .guards import RateLimit as RateLimit
from .guards import RequireSubprotocol as RequireSubprotocol
from .guards import all_of as all_of
from .guards import any_of as any_of
from .guards import client_host as client_host
from .guards import client_host_behind_proxies as client_host_behind_proxies
from .guards import constant_time_lookup as constant_time_lookup
from .guards import reject_unless as reject_unless
from .guards import ws_guard as ws_guard
from .guards import ws_security as ws_security
from .handlers import add_rejection_handlers as add_rejection_handlers
from .middleware import WebSocketGuardMiddleware as WebSocketGuardMiddleware
from .policy import Policy as Policy
from .policy import is_browser_handshake as is_browser_handshake
from .rejection import WebSocketRejection as WebSocketRejection
from .routing import RejectingRouter as RejectingRouter
from .routing import RejectingWebSocketRoute as RejectingWebSocketRoute

__version__ = "0.1.0"

__all__ = [
    "APIKey",
    "Authenticated",
    "BearerToken",
    "ConnectionLimit",
    "Guard",
    "HoldingGuard",
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
    "client_host_behind_proxies",
    "constant_time_lookup",
    "is_browser_handshake",
    "on_reject",
    "reject_unless",
    "ws_guard",
    "ws_security",
]
