"""Attacks on `WebSocketRejection.from_response`: it must refuse what the constructor refuses."""

import pytest
from starlette.responses import PlainTextResponse, Response

from fastapi_ws_reject import WebSocketRejection


@pytest.mark.parametrize("header", ["Transfer-Encoding", "transfer-encoding"])
def test_from_response_refuses_transfer_encoding(header: str) -> None:
    response = PlainTextResponse("gone", status_code=410, headers={header: "chunked"})
    with pytest.raises(ValueError, match="Remove the 'transfer-encoding' header"):
        WebSocketRejection.from_response(response)


def test_from_response_refuses_a_header_value_with_a_control_character() -> None:
    response = Response(status_code=400)
    response.raw_headers.append((b"x-note", b"a\x07b"))
    with pytest.raises(ValueError, match="control character"):
        WebSocketRejection.from_response(response)


def test_from_response_refuses_a_header_name_that_is_not_a_token() -> None:
    response = Response(status_code=400)
    response.raw_headers.append((b"x note", b"v"))
    with pytest.raises(ValueError, match="is not an HTTP token"):
        WebSocketRejection.from_response(response)


def test_from_response_keeps_repeated_headers_and_its_own_length() -> None:
    response = PlainTextResponse("bye", status_code=401)
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    rejection = WebSocketRejection.from_response(response)
    assert rejection.headers.getlist("set-cookie") == ["a=1; Path=/; SameSite=lax", "b=2; Path=/; SameSite=lax"]
    assert rejection.headers.getlist("content-length") == ["3"]
