"""Guards: checks configured once, used through `Depends`, `all_of` / `any_of` and `WebSocketGuardMiddleware`."""

from .base import Guard as Guard
from .base import HoldingGuard as HoldingGuard
from .checks import reject_unless as reject_unless
from .checks import ws_guard as ws_guard
from .composition import all_of as all_of
from .composition import any_of as any_of
from .credentials import APIKeyGuard as APIKeyGuard
from .credentials import Authenticated as Authenticated
from .credentials import BearerTokenGuard as BearerTokenGuard
from .credentials import constant_time_lookup as constant_time_lookup
from .expiry import extend as extend
from .expiry import remaining as remaining
from .limits import ConnectionLimitGuard as ConnectionLimitGuard
from .limits import InMemoryBackend as InMemoryBackend
from .limits import LimitBackend as LimitBackend
from .limits import RateLimitGuard as RateLimitGuard
from .limits import client_host as client_host
from .network import IPGuard as IPGuard
from .network import client_host_behind_proxies as client_host_behind_proxies
from .origin import OriginGuard as OriginGuard
from .security import SecuritySchemeGuard as SecuritySchemeGuard
from .subprotocols import SubprotocolGuard as SubprotocolGuard

__all__ = [
    "APIKeyGuard",
    "Authenticated",
    "BearerTokenGuard",
    "ConnectionLimitGuard",
    "Guard",
    "HoldingGuard",
    "IPGuard",
    "InMemoryBackend",
    "LimitBackend",
    "OriginGuard",
    "RateLimitGuard",
    "SubprotocolGuard",
    "all_of",
    "any_of",
    "client_host",
    "client_host_behind_proxies",
    "constant_time_lookup",
    "extend",
    "reject_unless",
    "remaining",
    "ws_guard",
    "SecuritySchemeGuard",
]
