from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from fastapi_ws_reject.testing import Rejected, assert_rejected


@pytest.fixture
def deny() -> Callable[..., Rejected]:
    """Connect to `path` and return what a real server would send, failing if the socket was accepted."""

    def connect(client: TestClient, path: str, **kwargs: Any) -> Rejected:
        return assert_rejected(client, path, **kwargs)

    return connect
