"""`ws_guard`, `@reject_unless` and every guard that watches a socket take their options as one `TypedDict`
(`CheckOptions`, `ExpiryOptions`): a misspelt keyword is still the `TypeError` Python raises for a missing one."""

import pytest
from starlette.requests import HTTPConnection

from fastapi_ws_reject import reject_unless, ws_guard
from fastapi_ws_reject.guards import BearerTokenGuard, OriginGuard


def anyone(connection: HTTPConnection) -> bool:
    return True  # pragma: no cover


@pytest.mark.parametrize("build", [ws_guard, reject_unless])
def test_a_misspelt_option_of_ws_guard_is_a_type_error(build: object) -> None:
    with pytest.raises(TypeError, match="ws_guard\\(\\) got an unexpected keyword argument 'statuscode'"):
        build(anyone, statuscode=401)  # type: ignore[operator]


def test_a_misspelt_expiry_option_of_a_guard_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="BearerTokenGuard\\(\\) got an unexpected keyword argument 'revalidte'"):
        BearerTokenGuard(lambda token: token, revalidte=30)  # type: ignore[call-arg]


def test_every_option_still_reaches_the_guard() -> None:
    guard = ws_guard(anyone, status_code=401, reason="who?", revalidate=30, on_error="close", timeout=2)
    assert (guard.rejection.status_code, guard.rejection.reason) == (401, "who?")
    assert (guard.revalidate, guard.on_error, guard.timeout) == (30, "close", 2)
    origin = ws_guard(OriginGuard(["https://a.example"], allow_missing=False), revalidate=10)
    assert origin.revalidate == 10
