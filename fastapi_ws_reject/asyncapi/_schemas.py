"""JSON Schemas and security schemes for the AsyncAPI document: parameters, messages, credentials."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError

from ..guards._base import AnyGuard
from ..guards._credentials import BearerTokenGuard, _CredentialGuard
from ..guards._security import SecuritySchemeGuard

Schema = dict[str, Any]
_REF_TEMPLATE = "#/components/schemas/{model}"


class Schemas:
    """Collects the named schemas (`components.schemas`) that parameter and message schemas refer to."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def of_type(self, annotation: Any) -> Schema:
        return self._hoisted(TypeAdapter(annotation).json_schema(ref_template=_REF_TEMPLATE))

    def of_model(self, model: type[BaseModel]) -> Schema:
        return self._hoisted(model.model_json_schema(ref_template=_REF_TEMPLATE))

    def _hoisted(self, schema: Schema) -> Schema:
        self.components.update(schema.pop("$defs", {}))
        return schema


def field_schema(schemas: Schemas, field: Any) -> Schema:
    """A FastAPI parameter's schema, with its description and default, as FastAPI's OpenAPI shows them."""
    info = field.field_info
    schema = schemas.of_type(info.annotation)
    if info.description:
        schema["description"] = info.description
    if not info.is_required() and info.default is not None:
        # A default JSON cannot show is left out, as FastAPI's OpenAPI does.
        with contextlib.suppress(TypeError, ValueError, PydanticSerializationError):
            schema["default"] = jsonable_encoder(info.default)
    return schema


def object_schema(schemas: Schemas, fields: list[Any]) -> Schema | None:
    if not fields:
        return None
    schema: Schema = {"type": "object", "properties": {f.alias: field_schema(schemas, f) for f in fields}}
    required = [f.alias for f in fields if f.field_info.is_required()]
    if required:
        schema["required"] = required
    return schema


def channel_parameter(schemas: Schemas, field: Any | None) -> Schema:
    # An AsyncAPI 3 parameter is a string with an optional enum, default and description (no schema).
    if field is None:
        return {}
    schema = field_schema(schemas, field)
    return {key: schema[key] for key in ("enum", "default", "description") if key in schema}


def security_schemes(guard: AnyGuard) -> list[tuple[str, Schema]]:
    """The AsyncAPI security schemes a credential guard accepts (any one of them), each with a suggested name."""
    if isinstance(guard, _CredentialGuard):
        # Narrowing Guard[Any] to the generic _CredentialGuard leaves its principal type unknown to pyright.
        return [_credential_scheme(guard, source) for source in guard.sources]  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(guard, SecuritySchemeGuard):
        return [_fastapi_scheme(guard.scheme)]
    found: list[tuple[str, Schema]] = []
    for member in getattr(guard, "guards", ()):  # all_of / any_of
        found.extend(security_schemes(member))
    return found


def _credential_scheme(guard: _CredentialGuard[Any], source: str) -> tuple[str, Schema]:
    kind = "bearer" if isinstance(guard, BearerTokenGuard) else "apiKey"
    name = f"{kind}{source.capitalize()}"
    if source == "header" and kind == "bearer" and guard.header == "authorization":
        return name, {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <token>`"}
    if source == "header":
        value = "Bearer <token>" if kind == "bearer" else "<key>"
        return name, {
            "type": "httpApiKey",
            "in": "header",
            "name": guard.header,
            "description": f"`{guard.header}: {value}`",
        }
    if source in ("query", "cookie"):
        where = guard.query if source == "query" else guard.cookie
        return name, {"type": "httpApiKey", "in": source, "name": where}
    accepted = ", ".join(f'"{name}"' for name in guard.accept_subprotocols or (guard.subprotocol_marker,))
    description = (
        f'Offer the subprotocols `[..., "{guard.subprotocol_marker}", <credential>]` (in a browser: '
        f'`new WebSocket(url, [..., "{guard.subprotocol_marker}", credential])`): the entry after '
        f'"{guard.subprotocol_marker}" is the credential. The server accepts one of {accepted}.'
    )
    return name, {"type": "httpApiKey", "in": "header", "name": "Sec-WebSocket-Protocol", "description": description}


def _fastapi_scheme(scheme: Any) -> tuple[str, Schema]:
    model: dict[str, Any] = jsonable_encoder(getattr(scheme, "model", None), by_alias=True, exclude_none=True) or {}
    name = str(getattr(scheme, "scheme_name", type(scheme).__name__))
    kind = model.get("type")
    if kind == "apiKey":
        return name, {"type": "httpApiKey", "in": model["in"], "name": model["name"]}
    if kind == "http":
        found: Schema = {"type": "http", "scheme": str(model.get("scheme", "bearer")).lower()}
        if "bearerFormat" in model:
            found["bearerFormat"] = model["bearerFormat"]
        return name, found
    if kind == "openIdConnect":
        return name, {"type": "openIdConnect", "openIdConnectUrl": model["openIdConnectUrl"]}
    # OAuth2 schemes carry a bearer token on the handshake.
    return name, {
        "type": "http",
        "scheme": "bearer",
        "description": f"An OAuth2 access token ({type(scheme).__name__}).",
    }
