"""Limits on what a client sends after accept: 5 messages a second per socket (a flood closes with 4429), and
100 a minute per user across every socket (over it, an error message, and the socket stays)."""

from fastapi import Depends, FastAPI, WebSocket
from starlette.requests import HTTPConnection

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.asyncapi import add_asyncapi
from fastapi_ws_reject.guards import MessageLimitGuard


def user_of(connection: HTTPConnection) -> str:
    return connection.query_params.get("user", "")


per_socket = MessageLimitGuard(5, per=1)
per_user = MessageLimitGuard(100, per=60, key=user_of, on_limit="drop", drop_message={"error": "slow down"})

router = RejectingRouter()


@router.websocket("/chat", dependencies=[Depends(per_socket), Depends(per_user)])
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():  # a message over a limit never gets here
        await websocket.send_text(f"echo: {text}")


app = FastAPI()
app.include_router(router)
add_asyncapi(app)
