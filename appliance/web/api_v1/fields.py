"""Reading a request's fields strictly: unknown names, wrong types and values out of range
are refused naming the field, before anything is done."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .wire import ApiError, invalid

_MISSING = object()
MAX_ROW_ID = 2**63 - 1          # SQLite's largest integer
MAX_NAME = 64


def timestamp(value: float | None) -> str | None:
    """Times go out as RFC 3339 in UTC, to the millisecond."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(field: str, raw: str) -> float:
    try:
        return datetime.fromisoformat(raw.strip()).timestamp()
    except (ValueError, OverflowError, OSError):
        raise invalid(field, f"{field}: {raw!r} is not an ISO 8601 date and time like 2026-11-22T10:30:00Z") from None


class Body:
    """A request body that must be an object with only the given fields."""

    def __init__(self, data: Any, allowed: Sequence[str]) -> None:
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_body", "the body must be an object")
        for name in data:
            if name not in allowed:
                shown = name if isinstance(name, str) else repr(name)
                raise ApiError(400, "unknown_field", f"{shown!r} is not a field of this request "
                                                     f"(there are: {', '.join(allowed)})", shown)
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING and required:
            raise ApiError(422, "missing_field", f"{name} is required", name)
        return value

    def string(self, name: str, *, required: bool = False, default: str = "", max_length: int = 10_000) -> str:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise invalid(name, f"{name} must be a string")
        if len(value) > max_length:
            raise invalid(name, f"{name} is longer than {max_length} characters")
        return value

    def optional_string(self, name: str) -> str | None:
        value = self._get(name, False)
        return None if value is _MISSING or value is None else self.string(name)

    def integer(self, name: str) -> int | None:
        value = self._get(name, False)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name, f"{name} must be a whole number")
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise invalid(name, f"{name} must be true or false")
        return value

    def strings(self, name: str, *, max_items: int, required: bool = False) -> list[str]:
        value = self._get(name, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid(name, f"{name} must be a list of strings")
        if len(value) > max_items:
            raise invalid(name, f"{name} has {len(value)} entries; at most {max_items} are accepted")
        return value


class Query:
    """A request's query parameters, each at most once, only those the operation knows."""

    def __init__(self, params: Mapping[str, list[str]], allowed: Sequence[str]) -> None:
        for name, values in params.items():
            if name not in allowed:
                raise ApiError(400, "unknown_parameter", f"{name!r} is not a parameter of this request"
                                                         + (f" (there are: {', '.join(allowed)})" if allowed else ""),
                               name)
            if len(values) > 1:
                raise ApiError(400, "repeated_parameter", f"{name} is given {len(values)} times", name)
        self.params = {name: values[0] for name, values in params.items()}

    def string(self, name: str) -> str | None:
        return self.params.get(name)

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(name, f"{name}: {raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise invalid(name, f"{name}: {value} is not between {low} and {high}")
        return value

    def choice(self, name: str, choices: Sequence[str], default: str | None = None) -> str | None:
        raw = self.params.get(name)
        if raw is None:
            return default
        if raw not in choices:
            raise invalid(name, f"{name}: {raw!r} is not one of {', '.join(choices)}")
        return raw

    def boolean(self, name: str, default: bool = False) -> bool:
        return self.choice(name, ("true", "false"), "true" if default else "false") == "true"

    def time(self, name: str) -> float | None:
        raw = self.params.get(name)
        return None if raw is None else parse_time(name, raw)


def row_id(raw: str, what: str) -> int:
    """A numeric id from the path; anything else names nothing that exists."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ROW_ID:
        raise ApiError(404, "not_found", f"{what} {raw!r} does not exist")
    return int(raw)


def name(body: Body, field: str = "name") -> str:
    """A contact's or group's name: what ``contact_names`` and Diafaan's ``contact-name``
    (a ';'-separated list) address it by."""
    value = body.string(field, required=True, max_length=MAX_NAME).strip()
    if not value or ";" in value or not value.isprintable():
        raise invalid(field, f"{field} must be 1 to {MAX_NAME} printable characters without ';'")
    return value
