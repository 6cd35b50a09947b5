"""The block list: numbers, and starts of numbers, that no message is sent to.

A recipient who sent a stop word, or a number an administrator listed, must get nothing
more from the appliance, whichever API or user sends. Entries are normalised as
recipients are (:mod:`.numbers`), so ``07700 900123`` listed with the country code 44
blocks ``+44 7700 900123`` too. Every change is written to the event log.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ..store.models import BlockedNumber, Event
from . import numbers

MAX_REASON = 500
_CHUNK = 500                     # numbers per query: far below SQLite's limit on parameters


class NotListed(ValueError):
    """The number to take off the list is not on it."""


def add(entry: str, *, prefix: bool = False, source: str, reason: str = "", country_code: str | None = None,
        gateway: str = "", now: float | None = None) -> BlockedNumber:
    """List a number (or, with ``prefix``, every number that starts with it); listing one
    again updates it. ValueError says what is wrong with ``entry`` or ``reason``."""
    number = numbers.normalize(entry, country_code)
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason: longer than {MAX_REASON} characters")
    now = time.time() if now is None else now
    with BlockedNumber._meta.database.atomic():
        row = BlockedNumber.get_or_none(BlockedNumber.number == number)
        if row is None:
            row = BlockedNumber(number=number, created_at=now)
        row.prefix, row.source, row.reason = prefix, source, reason
        row.save()
        what = "numbers starting with " if prefix else ""
        Event.create(time=now, kind="blocked", gateway=gateway,
                     text=f"{what}{number} blocked ({source}){': ' + reason if reason else ''}")
    return row


def remove(entry: str, *, source: str, country_code: str | None = None) -> BlockedNumber:
    """Take a number off the list; ValueError if it is not a number, NotListed if it is
    not on the list."""
    number = numbers.normalize(entry, country_code)
    with BlockedNumber._meta.database.atomic():
        row = BlockedNumber.get_or_none(BlockedNumber.number == number)
        if row is None:
            raise NotListed(f"{number} is not on the block list")
        row.delete_instance()
        Event.create(time=time.time(), kind="unblocked", text=f"{number} unblocked ({source})")
    return row


def listed() -> list[BlockedNumber]:
    return list(BlockedNumber.select().order_by(BlockedNumber.number))


def blocked(recipients: Iterable[str]) -> dict[str, BlockedNumber]:
    """Each of ``recipients`` that is blocked, with the entry that blocks it: its own, or
    the longest listed prefix it starts with. Every submission asks, so the common answer
    (nobody listed is among them) costs one plain query: peewee building two per request
    cost more than the rest of the send-message handler."""
    wanted = sorted(set(recipients))
    database = BlockedNumber._meta.database
    listed: dict[str, bool] = {}  # number → is a prefix
    for start in range(0, len(wanted), _CHUNK):  # slices: peewee.chunked took 40 µs of a 47 µs call
        chunk = wanted[start:start + _CHUNK]
        marks = ", ".join([database.param] * len(chunk))  # the back end's own placeholder
        cursor = database.execute_sql(
            f'SELECT "number", "prefix" FROM "blocked_number" WHERE "prefix" OR "number" IN ({marks})', chunk)
        listed.update((number, bool(prefix)) for number, prefix in cursor.fetchall())
    if not listed:
        return {}
    prefixes = {number for number, prefix in listed.items() if prefix}
    matched = {}
    for number in wanted:
        entry = number if number in listed else next(
            (number[:end] for end in range(len(number) - 1, 0, -1) if number[:end] in prefixes), None)
        if entry is not None:
            matched[number] = entry
    rows = {row.number: row for row in BlockedNumber.select().where(BlockedNumber.number.in_(set(matched.values())))}
    return {number: rows[entry] for number, entry in matched.items()}
