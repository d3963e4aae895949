"""`WebSocketRejection`: the exception that says no, rendered and validated when it is built."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder
from starlette.datastructures import Headers
from starlette.responses import Response

from ._arguments import check_close_code, check_policy, check_status_code, cut_reason, encode_header
from .policy import Policy

RawHeaders = list[tuple[bytes, bytes]]

_TEXT = "text/plain; charset=utf-8"
_BINARY = "application/octet-stream"
_JSON = "application/json"


class WebSocketRejection(Exception):
    """Refuse a WebSocket: an HTTP response before `accept()`, a close frame after it.

    ```python
    raise WebSocketRejection(404, {"detail": "no such room"})
    raise WebSocketRejection(401, "token expired", headers={"WWW-Authenticate": "Bearer"})
    ```

    `body` may be `None`, `str` (text/plain), `bytes` (application/octet-stream) or anything
    FastAPI's `jsonable_encoder` accepts (application/json); `media_type` overrides the type.
    After `accept()` the socket closes with `close_code` (default `4000 + status_code`) and
    `reason` (default: the body when it is text), cut to 123 UTF-8 bytes. `policy` ("http", "close",
    "auto"; None inherits the guard's, the route's or the app's) picks how it is sent before accept.
    """

    status_code: int
    body: bytes
    raw_headers: RawHeaders
    close_code: int
    reason: str
    policy: Policy | None
    #: set on the copy a guard raises when it refuses: its name, and a log-safe detail (never a secret)
    guard: str | None = None
    detail: str | None = None

    def __init__(
        self,
        status_code: int = 403,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        close_code: int | None = None,
        reason: str | None = None,
        policy: Policy | None = None,
    ) -> None:
        status_code = check_status_code(status_code)
        rendered, default_media_type = _render_body(body)
        raw_headers = _encode_headers(headers)
        if media_type is not None:
            if _has(raw_headers, b"content-type"):
                raise ValueError("Give the content type once: either media_type= or a 'content-type' header.")
            raw_headers.append(encode_header("content-type", _with_charset(media_type)))
        elif default_media_type is not None and not _has(raw_headers, b"content-type"):
            raw_headers.append((b"content-type", default_media_type.encode("latin-1")))
        if reason is None:
            reason = body if isinstance(body, str) else ""
        self._setup(status_code, rendered, raw_headers, close_code, reason, policy)

    @classmethod
    def from_response(
        cls,
        response: Response,
        *,
        close_code: int | None = None,
        reason: str | None = None,
        policy: Policy | None = None,
    ) -> WebSocketRejection:
        """Reject with any Starlette `Response` (its status, headers and body).

        ```python
        raise WebSocketRejection.from_response(RedirectResponse("/login", status_code=307))
        ```
        """
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            raise TypeError(
                f"{type(response).__name__} has no body to send in one piece; "
                "a rejection needs a Response whose body is known (not a StreamingResponse or FileResponse)."
            )
        # The response computed its own content-length; every other header is checked as the constructor checks.
        raw_headers = _encode_header_pairs(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
            if name.lower() != b"content-length"
        )
        rejection = cls.__new__(cls)
        if reason is None:
            reason = _text_of(body, Headers(raw=raw_headers).get("content-type", ""))
        rejection._setup(check_status_code(response.status_code), body, raw_headers, close_code, reason, policy)
        return rejection

    def _refusal(self, guard: str, detail: str, policy: Policy | None = None) -> WebSocketRejection:
        """A fresh copy of this rejection for one refusal by `guard`: the rendered bytes are shared,
        the traceback, `guard`, `detail` and (when this rejection has none) `policy` are its own."""
        refusal = type(self).__new__(type(self))
        refusal.__dict__.update(self.__dict__)
        refusal.args = self.args
        refusal.guard, refusal.detail = guard, detail
        if refusal.policy is None:
            refusal.policy = policy
        return refusal

    @property
    def headers(self) -> Headers:
        """The response headers as sent, `content-type` and `content-length` included."""
        return Headers(raw=self.raw_headers)

    def _setup(
        self,
        status_code: int,
        body: bytes,
        raw_headers: RawHeaders,
        close_code: int | None,
        reason: str,
        policy: Policy | None,
    ) -> None:
        if body and status_code == 304:
            raise ValueError("status_code 304 cannot carry a body; drop the body or use another status.")
        if status_code != 304:
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        self.status_code = status_code
        self.body = body
        self.raw_headers = raw_headers
        self.close_code = 4000 + status_code if close_code is None else check_close_code(close_code)
        self.reason = cut_reason(reason)
        self.policy = check_policy(policy)
        super().__init__(status_code, body)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.body[:80]!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, body={self.body[:80]!r})"


def _render_body(body: Any) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), _TEXT
    # `body` is any value: pyright narrows it with isinstance to memoryview[Unknown], and from the JSON branch
    # on to dict[Unknown, Unknown] | list[Unknown] (mypy fills in the defaults and Any), hence the ignores.
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), _BINARY  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(body, (dict, list)):
        try:
            return _dumps(body).encode("utf-8"), _JSON  # plain JSON (such as {"detail": "..."}) needs no encoder
        except (TypeError, ValueError):
            pass
    if isinstance(body, Response):
        raise TypeError("body cannot be a Response; use WebSocketRejection.from_response(response).")
    if inspect.isawaitable(body) or callable(body):  # pyright: ignore[reportUnknownArgumentType]
        raise TypeError(f"body cannot be {type(body).__name__}; did you forget to await or call it?")
    try:
        content = _dumps(jsonable_encoder(body))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"body of type {type(body).__name__} cannot be rendered; pass None, str, bytes, "  # pyright: ignore[reportUnknownArgumentType]
            f"or a value FastAPI's jsonable_encoder accepts ({exc})."
        ) from exc
    return content.encode("utf-8"), _JSON


def _dumps(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def _encode_headers(headers: Mapping[str, str] | None) -> RawHeaders:
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, got {type(headers).__name__}.")
    return _encode_header_pairs(headers.items())


def _encode_header_pairs(headers: Iterable[tuple[str, str]]) -> RawHeaders:
    raw_headers = [encode_header(name, value) for name, value in headers]
    for framing in (b"content-length", b"transfer-encoding"):
        if _has(raw_headers, framing):
            raise ValueError(
                f"Remove the {framing.decode()!r} header; the body is sent with a computed content-length."
            )
    return raw_headers


def _has(raw_headers: RawHeaders, name: bytes) -> bool:
    return any(key == name for key, _ in raw_headers)


def _with_charset(media_type: str) -> str:
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


def _text_of(body: bytes, content_type: str) -> str:
    if not content_type.startswith("text/"):
        return ""
    return body.decode("utf-8", errors="replace")
