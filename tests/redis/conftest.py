import uuid
from collections.abc import Iterator

import pytest

from tests.redis_server import redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url


@pytest.fixture
def shared_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """$REDIS_URL and a fresh $REDIS_PREFIX for the servers this test starts."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", f"test-{uuid.uuid4().hex[:8]}:")
    return redis_url
