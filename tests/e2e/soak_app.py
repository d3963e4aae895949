"""The soak test's app: three kinds of handshake, and an HTTP route reporting the server's own resources."""

import asyncio
import gc
import os
import sys
from pathlib import Path

from fastapi import Depends, FastAPI, WebSocket

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, ws_guard
from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors

quiet_uvicorn_denial_errors()
router = RejectingRouter()


async def never() -> bool:
    return False


@router.websocket("/soak/reject", dependencies=[Depends(ws_guard(never, status_code=403, body="no"))])
async def reject(websocket: WebSocket) -> None:
    raise AssertionError("a rejected handshake reached its endpoint")  # pragma: no cover


@router.websocket("/soak/accept")
async def accept(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("ok")
    await websocket.close()


@router.websocket("/soak/late")
async def late(websocket: WebSocket) -> None:
    await websocket.accept()
    raise WebSocketRejection(404, "gone")


app = FastAPI()
app.include_router(router)


@app.get("/stats")
async def stats() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    gc.collect()  # what is still referenced, not what a cycle awaiting collection holds
    return {
        "fds": len(os.listdir("/proc/self/fd")),
        "tasks": len(asyncio.all_tasks()),
        "rss_kb": rss_kb,
        "blocks": sys.getallocatedblocks(),
    }
