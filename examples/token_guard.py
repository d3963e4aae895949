"""A token guard that hands the user to the endpoint, or answers 401 with WWW-Authenticate."""

from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket
from pydantic import BaseModel

from fastapi_ws_reject import RejectingRouter, ws_guard


class User(BaseModel):
    name: str


TOKENS = {"s3cret": User(name="alice")}


async def current_user(token: str | None = None) -> User | None:
    return TOKENS.get(token or "")


authenticated = ws_guard(
    current_user,
    status_code=401,
    body={"detail": "missing or invalid token"},
    headers={"WWW-Authenticate": 'Bearer realm="chat"'},
)

router = RejectingRouter()


@router.websocket("/chat")
async def chat(websocket: WebSocket, user: Annotated[User, Depends(authenticated)]) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {user.name}")
    await websocket.close()


app = FastAPI()
app.include_router(router)
