"""Properties of construction: every valid rejection renders as declared, every invalid one fails early."""

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from fastapi_ws_reject import WebSocketRejection
from fastapi_ws_reject._arguments import MAX_REASON_BYTES, check_close_code, cut_reason
from tests.support.strategies import TOKEN_CHARS, bodies, headers, statuses

_TOKEN = re.compile(f"[{re.escape(TOKEN_CHARS)}]+")
_VALID_VALUE = re.compile(r"([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?)?")


@given(statuses, headers, bodies)
def test_a_valid_rejection_renders_exactly_what_was_declared(
    status: int, declared: dict[str, str], body: tuple[str, object]
) -> None:
    kind, value = body
    rejection = WebSocketRejection(status, value, headers=declared)
    assert rejection.status_code == status
    expected_body = {"none": b"", "text": str(value).encode(), "bytes": value}.get(kind)
    if kind == "json":
        assert json.loads(rejection.body) == value
    else:
        assert rejection.body == expected_body
    names = [name for name, _ in rejection.raw_headers]
    assert rejection.raw_headers[: len(declared)] == [
        (name.lower().encode(), text.encode("latin-1")) for name, text in declared.items()
    ]
    assert names.count(b"content-length") == 1
    assert rejection.headers["content-length"] == str(len(rejection.body))
    assert rejection.close_code == 4000 + status


@given(st.text(max_size=30), st.text(max_size=30))
def test_a_header_is_accepted_exactly_when_it_is_valid(name: str, value: str) -> None:
    try:
        encoded = value.encode("latin-1")
    except UnicodeEncodeError:
        encoded = None
    valid = bool(_TOKEN.fullmatch(name)) and encoded is not None and bool(_VALID_VALUE.fullmatch(value))
    valid = valid and name.lower() not in ("content-length", "transfer-encoding")
    try:
        WebSocketRejection(400, headers={name: value})
    except ValueError:
        assert not valid
    else:
        assert valid


@given(st.integers(-10, 10_000) | st.none() | st.text(max_size=3))
def test_a_status_is_accepted_exactly_when_it_is_300_to_599(status: object) -> None:
    try:
        WebSocketRejection(status)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        assert not (isinstance(status, int) and 300 <= status <= 599)
    else:
        assert isinstance(status, int) and 300 <= status <= 599


@given(st.integers(-10, 70_000))
def test_a_close_code_is_accepted_exactly_when_rfc_6455_allows_sending_it(code: int) -> None:
    allowed = 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
    try:
        check_close_code(code)
    except ValueError:
        assert not allowed
    else:
        assert allowed


@given(st.text())
def test_any_reason_is_cut_to_valid_utf8_of_at_most_123_bytes(reason: str) -> None:
    cut = cut_reason(reason)
    assert len(cut.encode("utf-8")) <= MAX_REASON_BYTES
    assert reason.startswith(cut)
    assert cut == reason or len(cut.encode("utf-8")) > MAX_REASON_BYTES - 4


@given(st.one_of(st.sets(st.integers()), st.builds(object), st.functions()))
def test_a_body_that_is_not_renderable_fails_with_type_error(body: object) -> None:
    try:
        WebSocketRejection(400, body)
    except TypeError:
        pass
    else:
        assert isinstance(body, set)  # sets render as JSON arrays, as FastAPI does
