"""The shapes of requests and replies: each operation's body, query and reply is a Struct
declared in its resource module on the bases here. A request is read strictly as its
Struct (unknown names, wrong types and values out of range are refused naming the field,
before anything is done); a reply is encoded from its Struct; and the OpenAPI document is
made from the same declarations (openapi.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, overload

import msgspec

from ...config import schema
from .wire import ApiError, invalid, refusal

MAX_ROW_ID = 2**63 - 1          # SQLite's largest integer
MAX_NAME = 64
In = TypeVar("In", bound="Input")


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body or query: only the fields declared, each checked as declared.
    (Each subclass says ``kw_only=True`` again: msgspec applies it per class.)"""


class NoQuery(Input, kw_only=True):
    """The query of an operation that takes no parameters."""


class Output(msgspec.Struct, forbid_unknown_fields=True):
    """A reply: every field is always there (the document says each is required, and no
    other), null where it has no value."""


Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME, pattern=r"^\s*[^;\s][^;]*$",
                                   description=f"1 to {MAX_NAME} printable characters without ';'")]
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]   # as timestamp() writes it
RowId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ROW_ID)]
Count = Annotated[int, msgspec.Meta(ge=0)]


def keyed(names: Iterable[str], value: Any, *, required: Iterable[str] = (),
          descriptions: Mapping[str, str] | None = None) -> msgspec.Meta:
    """For an object whose names are data (a ``dict[str, value]``: properties by name,
    counts by state): the document lists the names, each with ``value``'s schema and its
    description, if given. (It still allows other names: msgspec writes a dict's
    additionalProperties itself.)"""
    schema_of_value = msgspec.json.schema(value)
    described = {name: {**schema_of_value, **({"description": descriptions[name]} if descriptions else {})}
                 for name in names}
    return msgspec.Meta(extra_json_schema={"properties": described, "required": list(required)})


@overload
def timestamp(value: float) -> str: ...
@overload
def timestamp(value: float | None) -> str | None: ...
def timestamp(value: float | None) -> str | None:
    """Times go out as RFC 3339 in UTC, to the millisecond."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query(params: Mapping[str, list[str]], kind: type[In]) -> In:
    """A request's query parameters, each at most once, read as ``kind`` declares them."""
    for name, values in params.items():
        if len(values) > 1:
            raise ApiError(400, "repeated_parameter", f"{name} is given {len(values)} times", name)
    try:
        return schema.convert({name: values[0] for name, values in params.items()}, kind, schema.JSON, lax=True)
    except schema.Refused as refused:
        raise refusal(refused.refusal, kind, where="parameter") from None


def row_id(raw: str, what: str) -> int:
    """A numeric id from the path; anything else names nothing that exists."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ROW_ID:
        raise ApiError(404, "not_found", f"{what} {raw!r} does not exist")
    return int(raw)


def name(value: str, field: str = "name") -> str:
    """A contact's or group's name (declared as :data:`Name`): what ``contact_names`` and
    Diafaan's ``contact-name`` (a ';'-separated list) address it by."""
    value = value.strip()
    if not value.isprintable():
        raise invalid(field, f"{field} must be 1 to {MAX_NAME} printable characters without ';'")
    return value
