"""The search form above the message lists: its fields read and checked, and the bound
on the rows one request examines.

The store has no index on a message's number, text or (for sent messages) state or time:
every index is pages rewritten on the SD card for every message accepted
(docs/architecture.md). So a search by number or text reads the list backwards from
where the page starts, at most ``SCAN`` rows a request, and shows what it found there;
when it stops at that bound before it has a page, the page says how far back it looked
and links to the next stretch. A request's time and memory are so bounded whatever the
store holds (messages.py and received.py give the figures measured).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlencode

import bottle
import peewee

from ...messages import numbers

SCAN = 10_000        # rows examined by one request, at most: a page in under 50 ms (messages.py)
MAX_TEXT = 200       # characters of text searched for: a whole SMS is 160
_TIME_FORMATS = (("%Y-%m-%d", datetime.timedelta(days=1)), ("%Y-%m-%d %H:%M", datetime.timedelta(minutes=1)),
                 ("%Y-%m-%d %H:%M:%S", datetime.timedelta(seconds=1)))
_LIKE_SPECIAL = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class Filters:
    """What the form asks for, as typed (``fields``, kept in the links to older pages)
    and as the queries use it."""

    fields: dict[str, str]
    digits: str = ""                # the number's digits, without +, 00 or a national 0
    pattern: str = ""               # the text as a LIKE pattern ("" for any text)
    state: str = ""
    start: float | None = None      # epoch seconds: from (inclusive)
    end: float | None = None        # to (exclusive: the end of the day, minute or second typed)

    @property
    def scanning(self) -> bool:
        """Whether the rows must be read one by one: a number or a text has no index."""
        return bool(self.digits or self.pattern)

    def link(self, path: str, before: str) -> str:
        """The address of the page that goes on from ``before`` (the first page: "") with the same search."""
        query = urlencode({name: value for name, value in {**self.fields, "before": before}.items() if value})
        return f"{path}?{query}" if query else path


def parse_time(field: str, text: str, *, end: bool) -> float:
    """A date or date-time typed in the form (local time, as the lists show it), as epoch
    seconds: its start, or with ``end`` the start of the day, minute or second after it."""
    written = text.strip().replace("T", " ")  # a browser's datetime-local writes a T
    for form, unit in _TIME_FORMATS:
        try:
            moment = datetime.datetime.strptime(written, form)
        except ValueError:
            continue
        return (moment + unit if end else moment).timestamp()
    raise ValueError(f"{field}: {text!r} is not a date (2026-11-22) or a date and time (2026-11-22 14:30)")


def number_digits(text: str) -> str:
    """The digits to look for in a number, however it was typed: ``+44 7700 900123``,
    ``0044 7700900123`` and ``447700900123`` all look for ``447700900123``, and a national
    ``07700 900123`` for ``7700900123``, which is in the stored ``+447700900123`` too."""
    try:
        compact = numbers.normalize(text)
    except ValueError as error:
        raise ValueError(f"number: {error}") from None
    digits = compact.lstrip("+")
    if not compact.startswith("+") and digits.startswith("0") and len(digits) > 1:
        digits = digits[1:]  # a national number's trunk 0, which the stored number may not have
    return digits


def like_pattern(text: str) -> str:
    """``text`` anywhere, for LIKE ... ESCAPE '\\': its own % and _ are no wildcards."""
    return "%" + _LIKE_SPECIAL.sub(r"\\\1", text) + "%"


def parse(query: bottle.FormsDict, states: Collection[str] = ()) -> Filters:
    """The search a list page was asked for; ValueError names the field and says why."""
    fields = {name: (query.getunicode(name) or "").strip() for name in ("number", "text", "state", "from", "to")}
    if not states:
        fields.pop("state")
    state = fields.get("state", "")
    if state and state not in states:
        raise ValueError(f"state: {state!r} is not one of {', '.join(sorted(states))}")
    if len(fields["text"]) > MAX_TEXT:
        raise ValueError(f"text: at most {MAX_TEXT} characters are searched for, not {len(fields['text'])}")
    start = parse_time("from", fields["from"], end=False) if fields["from"] else None
    end = parse_time("to", fields["to"], end=True) if fields["to"] else None
    if start is not None and end is not None and end <= start:
        raise ValueError(f"to: {fields['to']} is before from: {fields['from']}")
    return Filters(fields=fields, digits=number_digits(fields["number"]) if fields["number"] else "",
                   pattern=like_pattern(fields["text"]) if fields["text"] else "", state=state, start=start, end=end)


def contains(column: peewee.Field, digits: str) -> peewee.Expression:
    """``column`` holds ``digits`` somewhere (a number typed in part finds it too)."""
    return peewee.fn.instr(column, digits) > 0


def like(column: peewee.Field, pattern: str) -> peewee.ColumnBase:
    """``column`` holds the text, ignoring the case of ASCII letters (SQLite's LIKE)."""
    return peewee.NodeList((column, peewee.SQL("LIKE"), pattern, peewee.SQL("ESCAPE '\\'")))


def searched_back(at: float, more: int) -> str:
    """What a page that stopped at the bound says of the search still to make."""
    return (f"searched back to {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(at))}; "
            f"at most {more:,} more to search")
