"""What a `RejectingRouter` route declares for its AsyncAPI document: `rejections=`, `receives=`, `sends=`.

It rides on the route's endpoint wrapper, the one object FastAPI keeps in every copy of an included route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .rejection import WebSocketRejection

DECLARED_ATTRIBUTE = "fastapi_ws_reject_declared"


@dataclass(frozen=True)
class Declared:
    rejections: tuple[WebSocketRejection, ...] = ()
    receives: type[BaseModel] | None = None
    sends: type[BaseModel] | None = None


def declare(
    endpoint: Callable[..., Any],
    rejections: Iterable[WebSocketRejection] | None,
    receives: type[BaseModel] | None,
    sends: type[BaseModel] | None,
) -> None:
    """Check what a route declares and keep it on its endpoint wrapper; declaring nothing keeps what was there."""
    if isinstance(rejections, WebSocketRejection):
        raise TypeError("rejections must be a list of WebSocketRejection; write rejections=[WebSocketRejection(...)].")
    declared = tuple(rejections or ())
    for rejection in declared:
        if not isinstance(rejection, WebSocketRejection):
            raise TypeError(f"rejections must hold WebSocketRejection instances, got {rejection!r}.")
    for name, model in (("receives", receives), ("sends", sends)):
        if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{name} must be a pydantic model class (a BaseModel subclass), got {model!r}.")
    if declared or receives is not None or sends is not None:
        setattr(endpoint, DECLARED_ATTRIBUTE, Declared(declared, receives, sends))


def declared_of(endpoint: object) -> Declared:
    found = getattr(endpoint, DECLARED_ATTRIBUTE, None)
    return found if isinstance(found, Declared) else Declared()
