"""Test rejections: with Starlette's TestClient, and against real servers with a real client.

Needs the testing extra (`pip install "fastapi-ws-reject[testing]"`: uvicorn, hypercorn, websockets...), so
`fastapi_ws_reject` does not import it, as Starlette does not import `starlette.testclient`.

```python
from fastapi.testclient import TestClient
from fastapi_ws_reject.testing import assert_closed, assert_rejected

assert_rejected(TestClient(app), "/rooms/attic", status_code=404)
```
"""

from ._client import Closed as Closed
from ._client import Rejected as Rejected
from ._client import assert_closed as assert_closed
from ._client import assert_rejected as assert_rejected
from ._client import without_denial_extension as without_denial_extension
from ._handshake import Handshake as Handshake
from ._handshake import handshake as handshake
from ._servers import SERVERS as SERVERS
from ._servers import UVICORN_WS as UVICORN_WS
from ._servers import RunningServer as RunningServer
from ._servers import live_server as live_server

__all__ = [
    "SERVERS",
    "UVICORN_WS",
    "Closed",
    "Handshake",
    "Rejected",
    "RunningServer",
    "assert_closed",
    "assert_rejected",
    "handshake",
    "live_server",
    "without_denial_extension",
]
