"""One rule for a pass, shared by `ws_guard` checks, their overrides and credential verifiers.

A truthy answer passes and a falsy one refuses. An answer that is still to be run (a coroutine a sync
function returned, a generator from a `yield` function called as a plain one) is neither: it is a mistake in
the app, refused with a `TypeError` that names the fix, never counted as a pass because the object is truthy.
"""

from __future__ import annotations

import inspect
from typing import TypeGuard, TypeVar

T = TypeVar("T")

NOT_AN_ANSWER = (
    "{source} returned {kind} instead of an answer; make it `async def` (or await what it returns) and return "
    "the value, or give it to FastAPI as a dependency, which runs `yield` functions."
)


def passes(value: T | None, source: str) -> TypeGuard[T]:
    """Whether `value`, what `source` answered, lets the handshake in."""
    if inspect.isawaitable(value) or inspect.isgenerator(value) or inspect.isasyncgen(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited, on purpose: close it so it warns nobody
        raise TypeError(NOT_AN_ANSWER.format(source=source, kind=f"a {type(value).__name__} object"))
    return bool(value)
