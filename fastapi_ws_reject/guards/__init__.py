"""Guards: checks configured once, used through `Depends`, `all_of` / `any_of` and `WebSocketGuardMiddleware`."""

from .base import Guard as Guard
from .base import HoldingGuard as HoldingGuard
from .checks import reject_unless as reject_unless
from .checks import ws_guard as ws_guard
from .composition import all_of as all_of
from .composition import any_of as any_of
from .credentials import APIKey as APIKey
from .credentials import Authenticated as Authenticated
from .credentials import BearerToken as BearerToken
from .credentials import constant_time_lookup as constant_time_lookup
from .limits import ConnectionLimit as ConnectionLimit
from .limits import InMemoryBackend as InMemoryBackend
from .limits import LimitBackend as LimitBackend
from .limits import RateLimit as RateLimit
from .limits import client_host as client_host
from .network import IPFilter as IPFilter
from .network import client_host_behind_proxies as client_host_behind_proxies
from .origin import OriginGuard as OriginGuard
from .security import ws_security as ws_security
from .subprotocols import RequireSubprotocol as RequireSubprotocol

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
    "RateLimit",
    "RequireSubprotocol",
    "all_of",
    "any_of",
    "client_host",
    "client_host_behind_proxies",
    "constant_time_lookup",
    "reject_unless",
    "ws_guard",
    "ws_security",
]
