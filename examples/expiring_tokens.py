"""Short-lived tokens: the socket closes with 4401 when its token expires, unless the client sends a fresh one.

Sessions are checked again every 30 seconds, so a revoked one is closed with 4403 without waiting for expiry.
"""

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketRejection
from fastapi_ws_reject.guards import Authenticated, BearerTokenGuard, extend, remaining


@dataclass(frozen=True)
class Session:
    user: str
    expires_at: float  # Unix time; an aware datetime works too


SESSIONS: dict[str, Session] = {}  # a real app verifies a JWT and reads its `exp`
REVOKED: set[str] = set()


def issue(user: str, token: str, lifetime: float) -> str:
    SESSIONS[token] = Session(user, time.time() + lifetime)
    return token


async def verify(token: str) -> Session | None:
    if token in REVOKED:
        raise WebSocketRejection(403, "session revoked")
    return SESSIONS.get(token)


bearer = BearerTokenGuard(verify, sources=("header", "query"), revalidate=30)
router = RejectingRouter()


@router.websocket("/live")
async def live(websocket: WebSocket, auth: Annotated[Authenticated[Session], Depends(bearer)]) -> None:
    await websocket.accept()
    await websocket.send_json({"user": auth.principal.user, "expires_in": round(remaining(websocket) or 0)})
    try:
        while True:
            message = await websocket.receive_json()
            session = await verify(message.get("refresh", ""))
            if session is not None and session.user == auth.principal.user:
                extend(websocket, session.expires_at)
            await websocket.send_json({"expires_in": round(remaining(websocket) or 0)})
    except WebSocketDisconnect:
        pass


app = FastAPI()
app.include_router(router)
