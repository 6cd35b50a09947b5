"""The JSON API's wire format: JSON or CBOR bodies in, JSON or CBOR replies out, and
every refusal one error object with its HTTP status.

A reply is CBOR when the Accept header prefers ``application/cbor`` to JSON; a request
body is CBOR when its Content-Type says so. Both carry the same data model.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import bottle
import cbor2
import msgspec

from ...config import schema

JSON = "application/json"
CBOR = "application/cbor"
MAX_BODY = 1024 * 1024        # 10,000 recipients and a long text fit well within
INT_RANGE = (-2**63, 2**64 - 1)   # the integers JSON bodies can carry (msgspec's range)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
T = TypeVar("T", bound=msgspec.Struct)


class ErrorDetail(msgspec.Struct, forbid_unknown_fields=True):
    code: str                 # stable, for programs: invalid_value, not_found, ...
    field: str | None         # the field at fault (properties.Pin), if one is
    message: str              # for a person


class Error(msgspec.Struct, forbid_unknown_fields=True):
    """Every refusal."""

    error: ErrorDetail


class ApiError(Exception):
    """A refusal: the HTTP status, a stable machine code, the field at fault (or None)
    and a sentence for a person. Raised before anything is changed."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> Error:
        return Error(ErrorDetail(self.code, self.field, self.message))


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist")


def invalid(field: str, message: str) -> ApiError:
    """A well-formed request whose value cannot be used."""
    return ApiError(422, "invalid_value", message, field)


def refusal(refused: schema.Refusal, kind: type[msgspec.Struct], *, where: str = "field") -> ApiError:
    """A declaration's refusal as the API's error: the field (``properties.Pin``) and why."""
    field = refused.key(schema.JSON)
    if refused.kind == schema.UNKNOWN and len(refused.path) == 1:
        names = ", ".join(schema.fields(kind))
        return ApiError(400, f"unknown_{where}", f"{field!r} is not a {where} of this request"
                                                 + (f" (there are: {names})" if names else ""), field)
    if refused.kind == schema.MISSING:
        return ApiError(422, "missing_field", f"{field} is required", field)
    if not refused.path:
        return ApiError(400, "malformed_body", f"the body {refused.problem}")
    return invalid(field, f"{field}: {refused.problem}")


def _quality(media_range: str) -> tuple[str, float]:
    kind, *params = [piece.strip() for piece in media_range.split(";")]
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return kind.lower(), float(value)
            except ValueError:
                return kind.lower(), 0.0
    return kind.lower(), 1.0


def reply_type(accept: str | None) -> str:
    """CBOR only when asked for at least as strongly as JSON; JSON otherwise."""
    weights = dict(_quality(r) for r in (accept or "").split(",") if r.strip())
    cbor = weights.get(CBOR, 0.0)
    json_weight = max(weights.get(JSON, 0.0), weights.get("application/*", 0.0), weights.get("*/*", 0.0))
    return CBOR if cbor > 0 and cbor >= json_weight else JSON


def encode(payload: Any, media_type: str) -> bytes:
    """A reply (Structs, lists, dicts of them) as JSON or CBOR."""
    if media_type == CBOR:
        return cbor2.dumps(msgspec.to_builtins(payload))
    return msgspec.json.encode(payload)


def read_body(kind: type[T]) -> T:
    """The request's body as ``kind`` declares it; refusals say what was wrong with it.
    JSON is decoded straight into the Struct: no dict in between on the hot path."""
    raw, media_type = _read()
    try:
        if media_type == CBOR:
            return msgspec.convert(_data(raw, media_type), kind)
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as error:
        # msgspec checks while it parses: ``[`` is refused as not an object before it is
        # found to be cut short, so the body is read again, untyped, to tell which it is
        raise refusal(schema.explain(error, kind, _data(raw, media_type), schema.JSON), kind) from None
    except msgspec.DecodeError as error:
        raise _malformed(error, raw, media_type) from None


def _data(raw: bytes, media_type: str) -> Any:
    try:
        if media_type == CBOR:
            return _within_64_bits(cbor2.loads(raw))
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, cbor2.CBORDecodeError, ValueError, RecursionError) as error:
        raise _malformed(error, raw, media_type) from None


def _within_64_bits(data: Any) -> Any:
    """``data``, unless it holds an integer JSON could not (a CBOR bignum): such numbers
    are refused as JSON's are, before anything does arithmetic on, or prints, a number
    of thousands of digits."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, int) and not INT_RANGE[0] <= item <= INT_RANGE[1]:
            raise ValueError(f"an integer of {item.bit_length()} bits is out of range "
                             "(at most 64 bits: a CBOR bignum is not accepted)")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return data


def _malformed(error: Exception, raw: bytes, media_type: str) -> ApiError:
    reason = str(error)
    if media_type == JSON and _SURROGATE_ESCAPE.search(raw):
        reason = "it escapes half of a UTF-16 surrogate pair (\\ud800 alone is not text)"
    return ApiError(400, "malformed_body", f"the body is not valid {media_type}: {reason}")


def _read() -> tuple[bytes, str]:
    length = bottle.request.content_length
    if length > MAX_BODY:
        raise ApiError(413, "body_too_large", f"the body is {length} bytes; at most {MAX_BODY} are accepted")
    raw = bottle.request.body.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "body_too_large", f"the body is larger than {MAX_BODY} bytes")
    media_type = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if media_type not in (JSON, CBOR):
        raise ApiError(415, "unsupported_media_type",
                       f"send the body as {JSON} or {CBOR}, not {media_type or 'without a Content-Type'}")
    if not raw:
        raise ApiError(400, "malformed_body", "the body is empty")
    return raw, media_type
