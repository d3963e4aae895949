"""Whether FastAPI-style callables (functions, callable objects) must be awaited."""

import inspect
from typing import Any


def is_async_callable(obj: Any) -> bool:
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(type(obj).__call__)
