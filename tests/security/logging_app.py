"""A guarded app whose rejections are logged to stderr, for the end-to-end log-forging attack."""

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import OriginGuard


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # At startup, after the server has set up its own logging (hypercorn disables loggers that existed before).
    logger = logging.getLogger("fastapi_ws_reject")
    logger.disabled = False
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler(sys.stderr))
    yield


app = FastAPI(lifespan=lifespan)
app.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard(["https://a.example"], allow_missing=False)])
