"""`all_of` and `any_of`: every guard or the first that passes, the first failure's answer, guards only."""

import pytest

from fastapi_ws_reject.guards import (
    APIKeyGuard,
    BearerTokenGuard,
    IPGuard,
    OriginGuard,
    SubprotocolGuard,
    all_of,
    any_of,
    constant_time_lookup,
)
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, value_of


async def alice(token: str) -> str | None:
    return {"t": "alice"}.get(token)


@pytest.mark.parametrize("place", PLACES)
def test_all_of_needs_every_guard_and_answers_with_the_first_failure(place: str) -> None:
    guard = all_of(OriginGuard(["https://a.test"], allow_missing=False), BearerTokenGuard(alice, sources=("query",)))
    client = client_for(guard, place)
    assert value_of(client, "/ws?access_token=t", headers={"Origin": "https://a.test"})
    assert_rejected(client, "/ws?access_token=t", status_code=403, request_headers={"Origin": "https://b.test"})
    assert_rejected(client, "/ws?access_token=x", status_code=401, request_headers={"Origin": "https://a.test"})


@pytest.mark.parametrize("place", PLACES)
def test_any_of_takes_the_first_passing_guard(place: str) -> None:
    guard = any_of(BearerTokenGuard(alice, sources=("query",)), APIKeyGuard(constant_time_lookup({"k": "svc"})))
    client = client_for(guard, place)
    assert "alice" in str(value_of(client, "/ws?access_token=t")) or place in ("reject_unless", "middleware")
    assert "svc" in str(value_of(client, headers={"X-API-Key": "k"})) or place in ("reject_unless", "middleware")
    rejected = assert_rejected(client, "/ws", status_code=401)
    assert rejected.headers["www-authenticate"] == "Bearer"  # the first guard's answer


def test_composition_takes_guards_only() -> None:
    with pytest.raises(TypeError, match="needs at least one guard"):
        all_of()
    with pytest.raises(TypeError, match=r"wrap a plain function in ws_guard\(...\) first"):
        any_of(lambda: True)  # type: ignore[arg-type]
    assert all_of(SubprotocolGuard(["a"]), IPGuard(allow=["::1"])).name == "all_of(SubprotocolGuard, IPGuard)"
