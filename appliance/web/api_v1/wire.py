"""The JSON API's wire format: JSON or CBOR bodies in, JSON or CBOR replies out, and
every refusal one error object with its HTTP status.

A reply is CBOR when the Accept header prefers ``application/cbor`` to JSON; a request
body is CBOR when its Content-Type says so. Both carry the same data model.
"""

from __future__ import annotations

import json
from typing import Any

import bottle
import cbor2

JSON = "application/json"
CBOR = "application/cbor"
MAX_BODY = 1024 * 1024        # 10,000 recipients and a long text fit well within


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

    def body(self) -> dict:
        return {"error": {"code": self.code, "field": self.field, "message": self.message}}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist")


def invalid(field: str, message: str) -> ApiError:
    """A well-formed request whose value cannot be used."""
    return ApiError(422, "invalid_value", message, field)


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
    if media_type == CBOR:
        return cbor2.dumps(payload)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def read_body() -> Any:
    """The request's body as data; refusals say what was wrong with it."""
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
    try:
        if media_type == CBOR:
            return cbor2.loads(raw)
        data = json.loads(raw.decode("utf-8"))
        # JSON can escape half a UTF-16 pair ("\ud800"): not text, and the store cannot keep it
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        return data
    except (ValueError, UnicodeError, cbor2.CBORDecodeError, RecursionError) as error:
        raise ApiError(400, "malformed_body", f"the body is not valid {media_type}: {error}") from None
