"""Guards: checks configured once, used through `Depends`, `all_of` / `any_of` and `WebSocketGuardMiddleware`."""

from ._base import Guard as Guard
from ._base import HoldingGuard as HoldingGuard
from ._checks import CheckOptions as CheckOptions
from ._checks import reject_unless as reject_unless
from ._checks import ws_guard as ws_guard
from ._composition import all_of as all_of
from ._composition import any_of as any_of
from ._credentials import APIKeyGuard as APIKeyGuard
from ._credentials import Authenticated as Authenticated
from ._credentials import BearerTokenGuard as BearerTokenGuard
from ._credentials import constant_time_lookup as constant_time_lookup
from ._expiry import ExpiryOptions as ExpiryOptions
from ._expiry import extend as extend
from ._expiry import remaining as remaining
from ._limits import ConnectionLimitGuard as ConnectionLimitGuard
from ._limits import InMemoryBackend as InMemoryBackend
from ._limits import LimitBackend as LimitBackend
from ._limits import RateLimitGuard as RateLimitGuard
from ._limits import client_host as client_host
from ._limits import client_prefix as client_prefix
from ._messages import MessageLimitGuard as MessageLimitGuard
from ._network import IPGuard as IPGuard
from ._network import client_host_behind_proxies as client_host_behind_proxies
from ._origin import OriginGuard as OriginGuard
from ._security import SecuritySchemeGuard as SecuritySchemeGuard
from ._subprotocols import SubprotocolGuard as SubprotocolGuard

__all__ = [
    "CheckOptions",
    "ExpiryOptions",
    "APIKeyGuard",
    "Authenticated",
    "BearerTokenGuard",
    "ConnectionLimitGuard",
    "Guard",
    "HoldingGuard",
    "IPGuard",
    "InMemoryBackend",
    "LimitBackend",
    "MessageLimitGuard",
    "OriginGuard",
    "RateLimitGuard",
    "SubprotocolGuard",
    "all_of",
    "any_of",
    "client_host",
    "client_host_behind_proxies",
    "client_prefix",
    "constant_time_lookup",
    "extend",
    "reject_unless",
    "remaining",
    "ws_guard",
    "SecuritySchemeGuard",
]
