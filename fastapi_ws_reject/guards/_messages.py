"""`MessageLimitGuard`: at most `limit` messages in any `per` seconds from a socket, or from a key across workers.

The guard lets every handshake in. Once admitted, it counts each message the client sends before the endpoint
gets it (through the socket's watch, so in every placement), and over the limit either closes the socket with
its rejection's close code (4429 by default) or answers the client with `drop_message` and drops what it sent.
"""

import collections
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from starlette.requests import HTTPConnection
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from .._arguments import check_positive_int, check_seconds
from .._pipeline.watching import MessageFilter, SocketWatch, socket_watch
from .._rejection import _BINARY, WebSocketRejection, _render_body
from ._base import Guard
from ._limits import InMemoryBackend, Key, LimitBackend, key_of, sliding_wait

OnLimit = Literal["close", "drop"]
ON_LIMIT: tuple[OnLimit, ...] = ("close", "drop")
#: what a client that sends too much gets by default: the close 4429 "too many messages"
TOO_MANY_MESSAGES = "too many messages"


class MessageLimitGuard(Guard[str | None]):
    """At most `limit` messages in any `per` seconds from each socket, or from each key (a user) with `key=`.

    ```python
    per_socket = MessageLimitGuard(20, per=1)
    per_user = MessageLimitGuard(600, per=60, key=lambda websocket: websocket.query_params.get("user", ""))

    @router.websocket("/chat", dependencies=[Depends(per_socket), Depends(per_user)])
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():  # every message was counted before it got here
            await websocket.send_text(text)
    ```

    Over the limit, `on_limit="close"` (the default) closes the socket with `rejection` (default close 4429
    "too many messages"; `WebSocketRejection(429, "slow down", close_code=1008)` for 1008), and the endpoint's
    next receive is that close. `on_limit="drop"` sends the client `drop_message` (JSON unless it is `str` or
    `bytes`; default `{"detail": "too many messages"}`), drops the message and keeps the socket.

    Without `key` each socket counts its own messages, in memory. With `key` (a function of the handshake, as
    for `RateLimitGuard`) the count is per key in `backend`: `RedisBackend` shares it across workers and hosts,
    and its `on_failure` decides while Redis fails ("closed" counts every message as over the limit).
    Handshakes always pass; the value is the key (None without one).
    """

    def __init__(
        self,
        limit: int,
        per: float,
        *,
        key: Key | None = None,
        backend: LimitBackend | None = None,
        namespace: str = "messages",
        on_limit: OnLimit = "close",
        rejection: WebSocketRejection | None = None,
        drop_message: Any = None,
    ) -> None:
        if on_limit not in ON_LIMIT:
            raise ValueError(f"on_limit must be 'close' or 'drop', got {on_limit!r}.")
        if backend is not None and key is None:
            raise ValueError(
                "backend= counts a key across workers, but no key= was given: without one each socket counts its "
                "own messages in memory. Give key= (for example the user), or leave out backend=."
            )
        if on_limit == "close" and drop_message is not None:
            raise ValueError("drop_message is what on_limit='drop' sends; with on_limit='close' the close says it.")
        if on_limit == "drop" and rejection is not None:
            raise ValueError("rejection= is the close of on_limit='close'; with on_limit='drop' give drop_message=.")
        self.limit: int = check_positive_int("limit", limit)
        self.per: float = check_seconds("per", per)
        self.key = key
        # Per key, in this process unless a shared backend is given; per socket, the count lives with the socket.
        self.backend: LimitBackend | None = None if key is None else backend or InMemoryBackend()
        self.namespace = namespace
        self.on_limit: OnLimit = on_limit
        self.drop_message: Any = {"detail": TOO_MANY_MESSAGES} if drop_message is None else drop_message
        self._dropped = _message(self.drop_message)
        # An explicit base __init__: pyright leaves its T unsolved (Guard[Unknown]), mypy binds it to self.
        Guard.__init__(self, rejection=rejection)  # pyright: ignore[reportUnknownMemberType]

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(429, TOO_MANY_MESSAGES)

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        return ()  # it never refuses a handshake

    @property
    def limits_messages(self) -> bool:
        return True

    async def check(self, connection: HTTPConnection) -> str | None:
        return None if self.key is None else await key_of(self.key, connection)

    async def _admit(self, connection: HTTPConnection, *, on_route: bool = False) -> str | None:
        key = await self.check(connection)
        watch = socket_watch(connection)
        count = self._per_socket() if key is None else self._per_key(key)
        watch.filter_messages(self._limiting(watch, count, connection.scope.get("app")))
        return key

    def _per_socket(self) -> Callable[[], Awaitable[float | None]]:
        passes: collections.deque[float] = collections.deque(maxlen=self.limit)

        async def count() -> float | None:
            return sliding_wait(passes, time.monotonic(), self.per)

        return count

    def _per_key(self, key: str) -> Callable[[], Awaitable[float | None]]:
        backend, name = self.backend, f"{self.namespace}:{key}"
        assert backend is not None, "a guard with a key has a backend"

        def count() -> Awaitable[float | None]:
            return backend.hit(name, self.limit, self.per)

        return count

    def _limiting(self, watch: SocketWatch, count: Callable[[], Awaitable[float | None]], app: object) -> MessageFilter:
        async def admit(message: Message) -> bool:
            wait = await count()
            if wait is None:
                return True
            if self.on_limit == "close":
                detail = f"message limit {self.limit}/{self.per:g}s reached, {math.ceil(wait)} s to wait"
                await watch.close(self.rejection._refusal(self.name, detail), app)
            else:
                with contextlib.suppress(OSError, WebSocketDisconnect):  # the client is gone: its next receive says so
                    await watch.send(dict(self._dropped))
            return False

        return admit

    def __repr__(self) -> str:
        scope = "socket" if self.key is None else "key"
        return f"MessageLimitGuard({self.limit}, per={self.per:g}, per_{scope}, on_limit={self.on_limit!r})"


def _message(content: Any) -> Message:
    """`content` sent as a rejection's body is rendered (and refused when it cannot be): binary for bytes, else
    text (JSON for anything but a str)."""
    body, media_type = _render_body(content)
    if media_type == _BINARY:
        return {"type": "websocket.send", "bytes": body}
    return {"type": "websocket.send", "text": body.decode("utf-8")}
