"""How a rejection before accept is sent: an HTTP response (`http`), or accept-then-close (`close`, `auto`).

A browser never shows JavaScript the status of a refused handshake: `new WebSocket(url)` fires `error`, then
`close` with code 1006, whatever was sent. With `close`, the server accepts and closes at once with the
rejection's `close_code` (default 4000 + status) and reason, which the page can read. `auto` does that for
handshakes that come from a browser and answers other clients with the HTTP response.
"""

from __future__ import annotations

from typing import Literal

from starlette.types import Scope

__all__ = ["Policy", "is_browser_handshake"]

Policy = Literal["http", "close", "auto"]
"""How a rejection before accept is sent: `"http"` (the response), `"close"` (accept, then close with the code and
reason a browser page can read) or `"auto"` (`close` for browsers, `http` for other clients).

```python
router = RejectingRouter(policy="auto")
```
"""


def is_browser_handshake(scope: Scope) -> bool:
    """A browser's handshake: it has `Origin`, and `Sec-Fetch-Mode: websocket` or a `Mozilla/` user agent.

    ```python
    if is_browser_handshake(websocket.scope):
        ...  # a page will read only the close code and reason
    ```

    Every browser sends `Origin` on a websocket handshake, which non-browser clients (Python's websockets,
    Node's ws, curl) leave out unless told; Firefox also sends the fetch metadata `Sec-Fetch-Mode: websocket`,
    Chrome does not (seen with Chromium 156), and every browser's user agent starts with `Mozilla/`. A
    non-browser client can send the same headers, which only changes the form of its answer, never whether
    it is refused.
    """
    origin = browser = False
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            origin = True
        elif name == b"sec-fetch-mode":
            browser = browser or value.lower() == b"websocket"
        elif name == b"user-agent":
            browser = browser or value.startswith(b"Mozilla/")
    return origin and browser
