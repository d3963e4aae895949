import pytest
from pydantic import BaseModel
from starlette.responses import PlainTextResponse, RedirectResponse, StreamingResponse

from fastapi_ws_reject import WebSocketRejection


class Room(BaseModel):
    name: str


def test_default_rejection_is_403_with_empty_body() -> None:
    rejection = WebSocketRejection()
    assert (rejection.status_code, rejection.body) == (403, b"")
    assert rejection.raw_headers == [(b"content-length", b"0")]
    assert (rejection.close_code, rejection.reason) == (4403, "")


def test_text_body_is_utf8_plain_text_and_the_default_reason() -> None:
    rejection = WebSocketRejection(404, "no such room ✓")
    assert rejection.body == "no such room ✓".encode()
    assert rejection.headers["content-type"] == "text/plain; charset=utf-8"
    assert rejection.headers["content-length"] == str(len(rejection.body))
    assert rejection.reason == "no such room ✓"


def test_bytes_body_is_octet_stream_without_reason() -> None:
    rejection = WebSocketRejection(400, b"\x00\x01")
    assert rejection.headers["content-type"] == "application/octet-stream"
    assert rejection.reason == ""


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"detail": "gone"}, b'{"detail":"gone"}'), (Room(name="ops"), b'{"name":"ops"}'), ([1, "é"], '[1,"é"]'.encode())],
)
def test_json_body_is_rendered_with_jsonable_encoder(body: object, expected: bytes) -> None:
    rejection = WebSocketRejection(409, body)
    assert rejection.body == expected
    assert rejection.headers["content-type"] == "application/json"


def test_media_type_overrides_and_text_gets_a_charset() -> None:
    assert WebSocketRejection(400, "<p>no</p>", media_type="text/html").headers["content-type"] == (
        "text/html; charset=utf-8"
    )
    assert WebSocketRejection(400, b"{}", media_type="application/problem+json").headers["content-type"] == (
        "application/problem+json"
    )


def test_declared_headers_are_kept_lowercased_in_order() -> None:
    rejection = WebSocketRejection(429, headers={"Retry-After": "30", "X-Limit": "3"})
    assert rejection.raw_headers[:2] == [(b"retry-after", b"30"), (b"x-limit", b"3")]


def test_a_declared_content_type_header_wins_over_the_default() -> None:
    rejection = WebSocketRejection(400, "x", headers={"Content-Type": "text/csv"})
    assert rejection.headers.getlist("content-type") == ["text/csv"]


def test_explicit_close_code_and_reason() -> None:
    rejection = WebSocketRejection(404, "gone", close_code=1008, reason="policy")
    assert (rejection.close_code, rejection.reason) == (1008, "policy")


def test_reason_is_cut_to_123_bytes_on_a_character_boundary() -> None:
    rejection = WebSocketRejection(400, "é" * 100)
    assert len(rejection.reason.encode()) == 122
    assert rejection.reason == "é" * 61


def test_304_has_no_content_length() -> None:
    assert WebSocketRejection(304).raw_headers == []


def test_from_response_keeps_status_headers_and_body() -> None:
    rejection = WebSocketRejection.from_response(RedirectResponse("/login", status_code=307))
    assert rejection.status_code == 307
    assert rejection.headers["location"] == "/login"
    assert rejection.headers["content-length"] == "0"


def test_from_response_with_text_gives_the_default_reason() -> None:
    rejection = WebSocketRejection.from_response(PlainTextResponse("closed for maintenance", status_code=503))
    assert (rejection.body, rejection.close_code) == (b"closed for maintenance", 4503)
    assert rejection.reason == "closed for maintenance"
    assert rejection.headers.getlist("content-length") == ["22"]


def test_str_and_repr_show_status_and_body() -> None:
    rejection = WebSocketRejection(404, "gone")
    assert str(rejection) == "404: b'gone'"
    assert repr(rejection) == "WebSocketRejection(status_code=404, body=b'gone')"


@pytest.mark.parametrize("status_code", [101, 200, 204, 299, 600, 99])
def test_status_outside_300_599_fails_with_the_fix(status_code: int) -> None:
    with pytest.raises(ValueError, match="status_code must be 300-599 for a rejection"):
        WebSocketRejection(status_code)


@pytest.mark.parametrize("status_code", ["404", 404.0, True, None])
def test_status_of_another_type_fails(status_code: object) -> None:
    with pytest.raises(TypeError, match="status_code must be an int"):
        WebSocketRejection(status_code)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["X Bad", "X:Bad", "", "Ünicode", "x\r\n"])
def test_header_name_that_is_not_a_token_fails(name: str) -> None:
    with pytest.raises(ValueError, match="is not an HTTP token"):
        WebSocketRejection(400, headers={name: "v"})


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b"])
def test_header_value_with_cr_lf_or_nul_fails(value: str) -> None:
    with pytest.raises(ValueError, match="has a CR, LF or NUL"):
        WebSocketRejection(400, headers={"X-Reason": value})


def test_header_value_outside_latin1_fails() -> None:
    with pytest.raises(ValueError, match="not latin-1"):
        WebSocketRejection(400, headers={"X-Reason": "snow ☃"})


def test_header_of_another_type_fails() -> None:
    with pytest.raises(TypeError, match="must be str"):
        WebSocketRejection(400, headers={"Retry-After": 30})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="headers must be a mapping"):
        WebSocketRejection(400, headers=[("a", "b")])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Content-Length", "Transfer-Encoding"])
def test_framing_headers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="the body is sent with a computed content-length"):
        WebSocketRejection(400, "x", headers={name: "1"})


@pytest.mark.parametrize("value", ["a\x01b", "bell\x07", "del\x7f", "esc\x1b[0m"])
def test_header_value_with_a_control_character_fails(value: str) -> None:
    with pytest.raises(ValueError, match="has a control character"):
        WebSocketRejection(400, headers={"X-Reason": value})


@pytest.mark.parametrize("value", [" padded", "padded ", "\ttabbed"])
def test_header_value_with_surrounding_whitespace_fails(value: str) -> None:
    with pytest.raises(ValueError, match="has spaces or tabs around its value"):
        WebSocketRejection(400, headers={"X-Reason": value})


def test_header_value_with_inner_tab_and_obs_text_is_kept() -> None:
    rejection = WebSocketRejection(400, headers={"X-Reason": "a\tb café"})
    assert rejection.raw_headers[0] == (b"x-reason", "a\tb café".encode("latin-1"))


def test_content_type_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="Give the content type once"):
        WebSocketRejection(400, "x", headers={"Content-Type": "text/csv"}, media_type="text/plain")


@pytest.mark.parametrize("close_code", [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000])
def test_close_code_outside_allowed_ranges_fails(close_code: int) -> None:
    with pytest.raises(ValueError, match="1000-1003, 1007-1014 or 3000-4999"):
        WebSocketRejection(400, close_code=close_code)


@pytest.mark.parametrize("close_code", [1000, 1003, 1007, 1014, 3000, 4999])
def test_close_code_inside_allowed_ranges_is_kept(close_code: int) -> None:
    assert WebSocketRejection(400, close_code=close_code).close_code == close_code


def test_close_code_of_another_type_fails() -> None:
    with pytest.raises(TypeError, match="close_code must be an int"):
        WebSocketRejection(400, close_code="4000")  # type: ignore[arg-type]


def test_reason_of_another_type_fails() -> None:
    with pytest.raises(TypeError, match="reason must be a str"):
        WebSocketRejection(400, reason=b"x")  # type: ignore[arg-type]


def test_body_that_cannot_be_rendered_fails_with_allowed_types() -> None:
    with pytest.raises(TypeError, match="pass None, str, bytes, or a value FastAPI's jsonable_encoder accepts"):
        WebSocketRejection(400, object())
    with pytest.raises(TypeError, match="cannot be rendered"):
        WebSocketRejection(400, {"x": float("nan")})


def test_awaitable_or_callable_body_asks_about_await() -> None:
    async def make() -> str:
        return "x"

    coroutine = make()
    with pytest.raises(TypeError, match="did you forget to await or call it"):
        WebSocketRejection(400, coroutine)
    coroutine.close()
    with pytest.raises(TypeError, match="did you forget to await or call it"):
        WebSocketRejection(400, make)


def test_response_body_points_to_from_response() -> None:
    with pytest.raises(TypeError, match="use WebSocketRejection.from_response"):
        WebSocketRejection(400, PlainTextResponse("x"))


def test_304_with_a_body_fails() -> None:
    with pytest.raises(ValueError, match="304 cannot carry a body"):
        WebSocketRejection(304, "x")


def test_streaming_response_cannot_be_a_rejection() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"x"

    with pytest.raises(TypeError, match="has no body to send in one piece"):
        WebSocketRejection.from_response(StreamingResponse(chunks()))


def test_from_response_with_a_2xx_status_fails() -> None:
    with pytest.raises(ValueError, match="status_code must be 300-599"):
        WebSocketRejection.from_response(PlainTextResponse("ok"))
