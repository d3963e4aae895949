"""What a browser sees of a refused handshake, under each rejection policy.

Run it: `uvicorn examples.browser.app:app`, then open http://127.0.0.1:8000/ in a browser.
"""

from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse

from fastapi_ws_reject import RejectingRouter, WebSocketRejection

PAGE = (Path(__file__).parent / "index.html").read_text()

http = RejectingRouter()  # the default: the HTTP answer, which a browser hides from the page
close = RejectingRouter(policy="close")  # accept, then close at once with 4000 + status
auto = RejectingRouter(policy="auto")  # close for browsers, the HTTP answer for other clients


async def log_in_again(websocket: WebSocket) -> None:
    raise WebSocketRejection(401, "log in again", headers={"WWW-Authenticate": "Bearer"})


for router, path in ((http, "/ws/http"), (close, "/ws/close"), (auto, "/ws/auto")):
    router.add_api_websocket_route(path, log_in_again)

app = FastAPI()
for router in (http, close, auto):
    app.include_router(router)


@app.get("/", response_class=HTMLResponse)
async def page() -> str:
    return PAGE
