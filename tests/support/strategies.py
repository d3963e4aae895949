"""Hypothesis strategies for rejections a user may declare, valid or not."""

import string
from typing import Any

from hypothesis import strategies as st

TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
# Names the server or the library writes itself; declaring them is allowed but not what these tests are about.
RESERVED = {"content-length", "transfer-encoding", "content-type", "connection", "date", "server"}

header_names = st.text(TOKEN_CHARS, min_size=1, max_size=20).filter(lambda name: name.lower() not in RESERVED)
_field_chars = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
header_values = st.text(_field_chars, max_size=40).map(lambda value: value.strip(" \t")) | st.builds(
    lambda left, right: f"{left}\t{right}", st.text("abc", min_size=1), st.text("xyz", min_size=1)
)
headers = st.dictionaries(header_names, header_values, max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
bodies: st.SearchStrategy[tuple[str, Any]] = st.one_of(
    st.tuples(st.just("none"), st.none()),
    st.tuples(st.just("text"), st.text(max_size=200)),
    st.tuples(st.just("bytes"), st.binary(max_size=200)),
    st.tuples(st.just("json"), json_values.filter(lambda value: value is not None and not isinstance(value, str))),
)
statuses = st.integers(300, 599).filter(lambda status: status != 304)
