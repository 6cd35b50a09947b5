"""Structures declared once as msgspec Structs, and their refusals explained in words.

The config file, the run-time properties and the JSON API are declared as Structs with
``Annotated`` constraints (``msgspec.Meta``): msgspec validates them and fills in the
defaults, :func:`msgspec.json.schema_components` turns them into the OpenAPI document, and
this module turns a refusal into the key path and a sentence a person can act on
(``modem[2].baudrate: 1234 is not one of 1200, 2400, ...``) from the same declaration.

Why msgspec: measured on 2026-12-07 at 17:22 UTC (bench/schema_libraries.py, one run, a
busy machine), importing the library and declaring a modem table cost msgspec 1.6 MiB RSS
and 23 ms, cattrs 2.7 MiB and 37 ms (no JSON Schema of its own), marshmallow 3.0 MiB and
65 ms (OpenAPI only through apispec) and pydantic 16.5 MiB and 169 ms; checking one table
took 2.2, 7.9, 38 and 4.0 µs. The idle service must stay under 40 MB on a Pi, and msgspec
is also the fast JSON codec the API's hot path needs.

What a declaration may say besides types and ranges, in ``Meta``:

- ``description``: of a text, a number with a fraction or a list, what its value must be
  as a phrase ("4 to 8 digits, written as a string"): a refusal says "must be
  <description>, not <value>". Other kinds (flags, integers, choices, tables) are
  explained from their type and range alone, so their description may just document.
- ``extra={"secret": True}``: the value is never repeated in a message (a PIN, a token).
- ``extra={"renamed_from": ("old_name",)}``: older names of the key, still read, with a
  warning naming the new one (see :func:`renamed`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args

import msgspec
from msgspec import inspect as mi

MISSING, UNKNOWN, INVALID = "missing", "unknown", "invalid"
Path = tuple[str | int, ...]
_WHERE = re.compile(r"^(?P<what>.*?)(?: - at `(?:key` in `)?(?P<path>\$[^`]*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_ANY_KEY = "[...]"
SHOWN_LENGTH = 60


@dataclass(frozen=True)
class Words:
    """How a refusal names the shapes of its format (TOML speaks of tables, JSON of objects)."""

    table: str
    tables: str            # a list of tables; {key} is the key's last name
    first_index: int       # of a list, as the path shows it


TOML = Words(table="a table", tables="an array of tables: write [[{key}]]", first_index=1)
JSON = Words(table="an object", tables="a list of objects", first_index=0)


@dataclass(frozen=True)
class Refusal:
    """Why a value was refused: MISSING, UNKNOWN or INVALID, where, and a phrase that
    starts with what the value must be or with the value itself."""

    kind: str
    path: Path
    problem: str

    def key(self, words: Words) -> str:
        return key_path(self.path, words)


def key_path(path: Path, words: Words) -> str:
    """``("modem", 1, "baudrate")`` as ``modem[2].baudrate`` (TOML) or ``modem[1].baudrate``."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment + words.first_index}]"
        else:
            text += f".{segment}" if text else segment
    return text


def shown(value: Any) -> str:
    """A value as a refusal repeats it: a long one cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."


# -- reading a declaration ------------------------------------------------------------------

_ORDER: dict[frozenset, tuple] = {}


def choices(literal: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` type, in the order declared: refusals list them so
    (msgspec.inspect sorts them)."""
    values = get_args(literal)
    _ORDER[frozenset(values)] = values
    return values


def _choices(kind: mi.LiteralType) -> tuple[Any, ...]:
    return _ORDER.get(frozenset(kind.values), kind.values)


@dataclass(frozen=True)
class Declared:
    """A field's type with its annotations taken apart."""

    type: mi.Type                  # without None and Metadata
    optional: bool                 # None is allowed
    description: str | None
    extra: dict[str, Any]

    @property
    def secret(self) -> bool:
        return bool(self.extra.get("secret"))


def declared(kind: mi.Type) -> Declared:
    """``kind`` without ``| None`` and its annotations, and what those said."""
    optional, description, extra = False, None, {}  # type: tuple[bool, str | None, dict[str, Any]]
    while True:
        if isinstance(kind, mi.UnionType):
            others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
            optional = optional or len(others) < len(kind.types)
            if len(others) != 1:
                return Declared(kind, optional, description, extra)
            kind = others[0]
        elif isinstance(kind, mi.Metadata):
            # the annotation nearest the field says most: it wins over those of the type it names
            description = description or (kind.extra_json_schema or {}).get("description")
            extra = {**(kind.extra or {}), **extra}
            kind = kind.type
        else:
            return Declared(kind, optional, description, extra)


def fields(struct: type[msgspec.Struct]) -> dict[str, mi.Field]:
    """A Struct's fields by the name they have in the file or the body."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: f for f in info.fields}


# -- renamed keys ---------------------------------------------------------------------------

def renamed(raw: Any, struct: type[msgspec.Struct], warn: Callable[[Path, str], None],
            path: Path = ()) -> Any:
    """``raw`` with every key a declaration lists in ``renamed_from`` under its new name;
    ``warn(path, old)`` is told of each. Both names at once is a refusal."""
    return _renamed(raw, mi.type_info(struct), warn, path)


def _renamed(raw: Any, kind: mi.Type, warn: Callable[[Path, str], None], path: Path) -> Any:
    kind = declared(kind).type
    if isinstance(kind, mi.StructType) and isinstance(raw, dict):
        raw = dict(raw)
        for field in kind.fields:
            for old in declared(field.type).extra.get("renamed_from", ()):
                if old not in raw:
                    continue
                if field.encode_name in raw:
                    raise _Conflict(Refusal(INVALID, (*path, old), f"is the old name of {field.encode_name}, "
                                                                    f"which is given too: keep {field.encode_name}"))
                warn((*path, field.encode_name), old)
                raw[field.encode_name] = raw.pop(old)
        return {name: _renamed(value, _field_type(kind, name), warn, (*path, name)) if _has(kind, name) else value
                for name, value in raw.items()}
    if isinstance(kind, (mi.ListType, mi.VarTupleType)) and isinstance(raw, list):
        return [_renamed(item, kind.item_type, warn, (*path, i)) for i, item in enumerate(raw)]
    return raw


class _Conflict(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.problem)
        self.refusal = refusal


def _has(kind: mi.StructType, name: str) -> bool:
    return any(f.encode_name == name for f in kind.fields)


def _field_type(kind: mi.StructType, name: str) -> mi.Type:
    return next(f.type for f in kind.fields if f.encode_name == name)


# -- converting and explaining --------------------------------------------------------------

def convert(raw: Any, struct: type[msgspec.Struct], words: Words,
            warn: Callable[[Path, str], None] | None = None, *, lax: bool = False) -> Any:
    """``raw`` (a TOML document or decoded body) as a ``struct``, or a :class:`Refused`.
    ``lax``: values may be text that reads as what they must be ("20" for 20), as in a query."""
    try:
        if warn is not None:
            raw = renamed(raw, struct, warn)
        return msgspec.convert(raw, struct, strict=not lax)
    except _Conflict as conflict:
        raise Refused(conflict.refusal, words) from None
    except msgspec.ValidationError as error:
        raise Refused(explain(error, struct, raw, words, lax=lax), words) from None


class Refused(ValueError):
    """A value a declaration refuses, explained (:attr:`refusal`)."""

    def __init__(self, refusal: Refusal, words: Words) -> None:
        self.refusal = refusal
        self.key = refusal.key(words)
        super().__init__(f"{self.key}: {refusal.problem}" if self.key else refusal.problem)


def explain(error: msgspec.ValidationError, root: type[msgspec.Struct], raw: Any, words: Words, *,
            lax: bool = False) -> Refusal:
    """msgspec's refusal of ``raw`` as a :class:`Refusal` in the declaration's own terms
    (``lax``: it was converted with ``strict=False``, text read as numbers). A refusal
    this cannot take apart is passed on in msgspec's words, with its path."""
    message = str(error)
    match = _WHERE.match(message)
    assert match is not None    # every text matches: the path is optional
    try:
        return _explain(match["what"], _resolve(_parse(match["path"] or "$"), root, raw, message), message,
                        root, raw, words=words, lax=lax)
    except (LookupError, TypeError, AttributeError, StopIteration):
        path = tuple(s for s in _parse(match["path"] or "$") if s != _ANY_KEY)
        return Refusal(INVALID, path, match["what"])


def _explain(what: str, path: Path, message: str, root: type[msgspec.Struct], raw: Any, *, words: Words,
             lax: bool) -> Refusal:
    kind = _walk(root, path)
    value = _at(raw, path)
    if " - at `key` in `" in message:
        return Refusal(INVALID, path, f"must name each entry with a string, not {shown(next(_non_text(value)))}")
    if what.startswith("Object missing required field `"):
        return Refusal(MISSING, (*path, what.split("`")[1]), "is required")
    if what.startswith("Object contains unknown field `"):
        names = ", ".join(sorted(fields(declared(kind).type.cls)))   # type: ignore[attr-defined]
        return Refusal(UNKNOWN, (*path, what.split("`")[1]), f"unknown key (expected one of: {names})")
    # an entry of a list of plain values is explained as the list it belongs to
    if path and isinstance(path[-1], int):
        parent = _walk(root, path[:-1])
        if not isinstance(declared(_item(declared(parent).type)).type, mi.StructType):
            path, kind, value = path[:-1], parent, _at(raw, path[:-1])
    if lax:
        value = _read_as(kind, value)
    return Refusal(INVALID, path, problem(kind, value, words, path))


def _read_as(kind: mi.Type, value: Any) -> Any:
    """Text as the number it reads as, when a number is declared."""
    inner = declared(kind).type
    number = int if isinstance(inner, mi.IntType) else float if isinstance(inner, mi.FloatType) else None
    if number is not None and isinstance(value, str):
        try:
            return number(value)
        except ValueError:
            pass
    return value


def _walk(root: type[msgspec.Struct], path: Path) -> mi.Type:
    kind = mi.type_info(root)
    for segment in path:
        kind = _step(kind, segment)
    return kind


def _parse(where: str) -> list[str | int]:
    segments: list[str | int] = []
    for name, index in _SEGMENT.findall(where[1:]):
        if name:
            segments.append(name)
        else:
            segments.append(_ANY_KEY if index == "..." else int(index))
    return segments


def _resolve(path: list[str | int], root: type[msgspec.Struct], raw: Any, message: str) -> Path:
    """msgspec writes a dict's key as ``[...]``: find the entry that fails the same way."""
    while _ANY_KEY in path:
        at = path.index(_ANY_KEY)
        entries = _at(raw, tuple(path[:at]))
        for name, value in entries.items():
            try:
                msgspec.convert(_replaced(raw, tuple(path[:at]), {name: value}), root)
            except msgspec.ValidationError as error:
                if str(error) == message:
                    path[at] = name
                    break
        else:  # pragma: no cover - msgspec said one entry fails
            path[at:] = []
    return tuple(path)


def _replaced(raw: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(raw, dict):
        return {**raw, head: _replaced(raw[head], tuple(rest), value)}
    copy = list(raw)
    copy[head] = _replaced(raw[head], tuple(rest), value)   # type: ignore[index]
    return copy


def _non_text(value: Any) -> Iterator[Any]:
    yield from (key for key in value if not isinstance(key, str))


def _at(raw: Any, path: Path) -> Any:
    for segment in path:
        raw = raw[segment]
    return raw


def _item(kind: mi.Type) -> mi.Type:
    if isinstance(kind, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return kind.item_type
    if isinstance(kind, mi.DictType):
        return kind.value_type
    return kind


def _step(kind: mi.Type, segment: str | int) -> mi.Type:
    inner = declared(kind).type
    if isinstance(inner, mi.StructType) and isinstance(segment, str):
        return _field_type(inner, segment)
    return _item(inner)


# -- phrases --------------------------------------------------------------------------------

def problem(kind: mi.Type, value: Any, words: Words, path: Path = ()) -> str:
    """Why ``value`` is not a ``kind``: what it must be, and what it is (unless secret)."""
    info = declared(kind)
    inner = info.type
    not_value = "" if info.secret else f", not {shown(value)}"
    if info.description and isinstance(inner, (mi.StrType, mi.FloatType, mi.ListType, mi.VarTupleType)):
        return f"must be {info.description}{not_value}"
    if isinstance(inner, mi.LiteralType):
        values = _choices(inner)
        choices = ", ".join(str(v) for v in values)
        base = type(values[0])
        if isinstance(value, base) and not isinstance(value, bool):
            return f"{'***' if info.secret else shown(value)} is not one of {choices}"
        return f"must be {_KINDS.get(base, 'one')} (one of {choices}){not_value}"
    if isinstance(inner, mi.BoolType):
        return f"must be true or false{not_value}"
    if isinstance(inner, (mi.IntType, mi.FloatType)):
        number = "an integer" if isinstance(inner, mi.IntType) else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float) if isinstance(inner, mi.FloatType) else int):
            return f"must be {number}{not_value}"
        return f"must be {_range(inner)}{not_value}"
    if isinstance(inner, mi.StrType):
        if not isinstance(value, str):
            return f"must be a string{not_value}"
        if inner.max_length is not None and len(value) > inner.max_length:
            return f"is longer than {inner.max_length} characters"
        return f"must be a non-empty string{not_value}"
    if isinstance(inner, (mi.ListType, mi.VarTupleType)):
        if isinstance(value, list):
            if inner.max_length is not None and len(value) > inner.max_length:
                return f"has {len(value)} entries; at most {inner.max_length} are accepted"
            if inner.min_length is not None and len(value) < inner.min_length:
                return f"must have at least {inner.min_length} entries"
        item = declared(inner.item_type).type
        if isinstance(item, mi.StructType):
            return f"must be {words.tables.format(key=path[-1] if path else '')}"
        return f"must be a list of {_PLURALS.get(type(item), 'values')}{not_value}"
    if isinstance(inner, (mi.StructType, mi.DictType)):
        return f"must be {words.table}"
    if isinstance(inner, mi.DateTimeType):
        return f"must be a date and time like 2026-11-22T10:30:00Z{not_value}"
    return f"is not valid{not_value}"


def expected(kind: mi.Type) -> str:
    """What a value of ``kind`` must be, as a phrase a document can show."""
    info = declared(kind)
    inner = info.type
    if info.description and isinstance(inner, (mi.StrType, mi.FloatType, mi.ListType, mi.VarTupleType)):
        return info.description
    if isinstance(inner, mi.LiteralType):
        return "one of " + ", ".join(str(v) for v in _choices(inner))
    if isinstance(inner, mi.BoolType):
        return "true or false"
    if isinstance(inner, (mi.IntType, mi.FloatType)):
        number = "an integer" if isinstance(inner, mi.IntType) else "a number"
        bounds = _range(inner)
        return number if bounds == _NO_RANGE else f"{number} {bounds}"
    return "text"


_NO_RANGE = "a number in range"


def _range(kind: mi.IntType | mi.FloatType) -> str:
    if kind.ge is not None and kind.le is not None:
        return f"between {kind.ge:g} and {kind.le:g}" if isinstance(kind, mi.FloatType) else \
            f"between {kind.ge} and {kind.le}"
    if kind.ge is not None:
        return f"at least {kind.ge}"
    if kind.le is not None:
        return f"at most {kind.le}"
    return _NO_RANGE


_KINDS = {int: "an integer", str: "a string", float: "a number"}
_PLURALS = {mi.StrType: "strings", mi.IntType: "integers", mi.FloatType: "numbers", mi.BoolType: "true or false"}
