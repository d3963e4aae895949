"""Checks that make an impossible rejection fail when it is built, never on the wire."""

from __future__ import annotations

import math
import re

from .policy import Policy

# RFC 9110 section 5.6.2: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: field values hold visible characters, spaces, tabs and obs-text (0x80-0xFF).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 6455 section 7.4.1 reserves 1004-1006 and 1015 (never sent in a close frame).
_CLOSE_CODES = "1000-1003, 1007-1014 or 3000-4999"
# RFC 6455 section 5.5: a control frame payload is at most 125 bytes, two of them the code.
MAX_REASON_BYTES = 123


def check_status_code(status_code: object) -> int:
    if isinstance(status_code, bool) or not isinstance(status_code, int):
        raise TypeError(f"status_code must be an int from 300 to 599, got {status_code!r}.")
    if not 300 <= status_code <= 599:
        raise ValueError(
            f"status_code must be 300-599 for a rejection, got {status_code}; "
            "101 and 2xx would accept the handshake and 1xx is not a final answer."
        )
    return status_code


def check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    return float(value)


def check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}; a limit of 0 refuses everyone.")
    return value


def check_close_code(close_code: object) -> int:
    if isinstance(close_code, bool) or not isinstance(close_code, int):
        raise TypeError(f"close_code must be an int ({_CLOSE_CODES}), got {close_code!r}.")
    if not (1000 <= close_code <= 1003 or 1007 <= close_code <= 1014 or 3000 <= close_code <= 4999):
        raise ValueError(
            f"close_code must be {_CLOSE_CODES}, got {close_code}; "
            "1004-1006 and 1015 are reserved and other values are not allowed on the wire. "
            "Use 4000-4999 for application codes."
        )
    return close_code


def encode_header(name: object, value: object) -> tuple[bytes, bytes]:
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(f"Header names and values must be str, got {name!r}: {value!r}.")
    if not _TOKEN.fullmatch(name):
        raise ValueError(
            f"Header name {name!r} is not an HTTP token; use letters, digits and !#$%&'*+-.^_`|~ only (RFC 9110)."
        )
    if any(char in value for char in "\r\n\0"):
        raise ValueError(
            f"Header {name!r} has a CR, LF or NUL in its value {value!r}; remove them (they would split the response)."
        )
    if _CONTROL.search(value):
        raise ValueError(f"Header {name!r} has a control character in its value {value!r}; remove it (RFC 9110).")
    if value != value.strip(" \t"):
        raise ValueError(
            f"Header {name!r} has spaces or tabs around its value {value!r}; strip them "
            "(RFC 9110 field values do not start or end with whitespace, and clients would drop them)."
        )
    try:
        encoded = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"Header {name!r} has a value that is not latin-1: {value!r}; "
            "percent-encode it or use RFC 8187 (filename*=UTF-8''...)."
        ) from None
    return name.lower().encode("ascii"), encoded


def cut_reason(reason: object) -> str:
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, got {type(reason).__name__}.")
    encoded = reason.encode("utf-8")
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    return encoded[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


POLICIES: tuple[Policy, ...] = ("http", "close", "auto")


def check_policy(policy: object) -> Policy | None:
    if policy is not None and policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)} (or None to inherit), got {policy!r}.")
    return policy
