"""`SubprotocolGuard`: the subprotocol it chooses, the 400 that lists the supported ones, its configuration."""

import pytest

from fastapi_ws_reject.guards import SubprotocolGuard
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, value_of


@pytest.mark.parametrize("place", PLACES)
def test_required_subprotocol_is_chosen_in_server_order(place: str) -> None:
    client = client_for(SubprotocolGuard(["chat.v2", "chat.v1"]), place)
    assert value_of(client, subprotocols=["chat.v1", "chat.v2"]) in ("chat.v2", "ok")


@pytest.mark.parametrize("place", PLACES)
def test_no_supported_subprotocol_is_400_listing_them(place: str) -> None:
    client = client_for(SubprotocolGuard(["chat.v2", "chat.v1"]), place)
    expected = {"detail": "no supported subprotocol offered", "supported": ["chat.v2", "chat.v1"]}
    assert_rejected(client, "/ws", status_code=400, json=expected, subprotocols=["chat.v0"])
    assert_rejected(client, "/ws", status_code=400, json=expected)


def test_subprotocol_configuration_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SubprotocolGuard([])
    with pytest.raises(TypeError, match="not a string"):
        SubprotocolGuard("chat")  # type: ignore[arg-type]
