"""The app examples/deploy/run.py serves on each host, behind the proxy, under /api/.

Configured by the environment, so that every worker of every host builds the same app:

- `DEPLOY_REDIS_URL`: the Redis every limit counts in (all hosts share it);
- `DEPLOY_PROXIES`: the proxy addresses, comma-separated, for the guards and keys that read the proxy's headers;
- `DEPLOY_ALLOW`: the client addresses or ranges `IPGuard` lets in, comma-separated;
- `DEPLOY_AT_ONCE`: how many sockets `/ws/hold` keeps open at once across all hosts (default 20);
- `DEPLOY_LEASE_TTL`: the seconds a dead worker's slot outlives it (default 30);
- `DEPLOY_REDIS_TIMEOUT` (default 0.5) and `DEPLOY_ON_FAILURE` (`open`, the default, or `closed`): how long a
  Redis call may take, and what a handshake gets when it takes longer.
"""

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection
from fastapi_ws_reject.guards import (
    Authenticated,
    BearerTokenGuard,
    ConnectionLimitGuard,
    IPGuard,
    OriginGuard,
    RateLimitGuard,
    client_host,
    client_host_behind_proxies,
)
from fastapi_ws_reject.redis_backend import from_url


def _listed(name: str, default: str) -> list[str]:
    return [entry.strip() for entry in os.environ.get(name, default).split(",") if entry.strip()]


PROXIES = _listed("DEPLOY_PROXIES", "127.0.0.2")
limits = from_url(
    os.environ.get("DEPLOY_REDIS_URL", "redis://127.0.0.1:6379/0"),
    lease_ttl=float(os.environ.get("DEPLOY_LEASE_TTL", "30")),
    timeout=float(os.environ.get("DEPLOY_REDIS_TIMEOUT", "0.5")),
    on_failure="closed" if os.environ.get("DEPLOY_ON_FAILURE") == "closed" else "open",
)


@dataclass(frozen=True)
class Session:
    user: str
    expires_at: float  # Unix time: the socket closes with 4401 then


async def verify(token: str) -> Session | None:
    # A real app verifies a signed token (a JWT) and reads its `exp`; here "<user>-until-<unix time>" is one.
    user, _, until = token.partition("-until-")
    return Session(user, float(until)) if until.replace(".", "", 1).isdigit() else None


bearer = BearerTokenGuard(verify, sources=("header", "query"), realm="deploy")
router = RejectingRouter()


@router.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    """Accepts, and says which worker serves it and whom it sees."""
    await websocket.accept()
    client = websocket.client.host if websocket.client else None
    await websocket.send_json({"pid": os.getpid(), "client": client, "scheme": websocket.url.scheme})
    await _until_closed(websocket)


@router.websocket("/ws/items/{item_id}")
async def item(websocket: WebSocket, item_id: int) -> None:
    """422 for an id that is no number, 404 for an unknown item, a close 4409 after accept for item 1."""
    if item_id != 1:
        raise HTTPException(status_code=404, detail="item not found")
    await websocket.accept()
    raise WebSocketRejection(409, "item was deleted")


@router.websocket("/ws/private/feed")
async def private_feed(websocket: WebSocket) -> None:
    """Guarded by the middleware's bearer guard (include=["/ws/private/*"])."""
    await websocket.accept()
    await websocket.send_text("private")
    await _until_closed(websocket)


@router.websocket("/ws/live")
async def live(websocket: WebSocket, auth: Annotated[Authenticated[Session], Depends(bearer)]) -> None:
    """Closed with 4401 when the token expires."""
    await websocket.accept()
    await websocket.send_json({"user": auth.principal.user, "expires_in": auth.principal.expires_at - time.time()})
    await _until_closed(websocket)


# Same-origin pages only; behind the proxy the page's scheme is the one the proxy's X-Forwarded-Proto names.
same_origin = OriginGuard(same_origin=True, allow_missing=False, trusted_proxies=PROXIES)
router.add_api_websocket_route("/ws/origin", echo, dependencies=[Depends(same_origin)])
# The server rewrote scope["client"] (uvicorn --proxy-headers --forwarded-allow-ips=<proxy>): the peer is the client.
by_peer = IPGuard(allow=_listed("DEPLOY_ALLOW", "127.0.0.0/8"))
router.add_api_websocket_route("/ws/ip/peer", echo, dependencies=[Depends(by_peer)])
router.add_api_websocket_route(
    "/ws/rate/peer", echo, dependencies=[Depends(RateLimitGuard(1, per=60, key=client_host, backend=limits))]
)
# The guard reads the proxy's X-Forwarded-For itself, from the proxies only.
behind = IPGuard(allow=_listed("DEPLOY_ALLOW", "127.0.0.0/8"), trusted_proxies=PROXIES)
router.add_api_websocket_route("/ws/ip/behind", echo, dependencies=[Depends(behind)])
per_client = client_host_behind_proxies(trusted_proxies=PROXIES)
router.add_api_websocket_route(
    "/ws/rate/behind",
    echo,
    dependencies=[Depends(RateLimitGuard(1, per=60, key=per_client, backend=limits, namespace="rate-behind"))],
)
# One count for everyone, across every worker of every host.
at_once = ConnectionLimitGuard(
    int(os.environ.get("DEPLOY_AT_ONCE", "20")), key=lambda websocket: "everyone", backend=limits
)
router.add_api_websocket_route("/ws/hold", echo, dependencies=[Depends(at_once)])


async def _until_closed(websocket: WebSocket) -> None:
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await limits.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(router)
# 404 for a websocket path no route serves; a bearer token for the private ones. Patterns match the path
# routes see: without the server's --root-path, whatever prefix the proxy strips.
app.add_middleware(WebSocketGuardMiddleware, guards=[bearer], include=["/ws/private/*"])
app.add_middleware(WebSocketGuardMiddleware, not_found=True)
