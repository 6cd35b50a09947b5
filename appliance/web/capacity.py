"""How much one user may have waiting in the queue, and whether the store has room.

Why: one request of 1,000 recipients and a 255-part text queued 255,000 parts and 67 MB
in 0.3 s. Each user may have at most ``max_queued_parts`` parts waiting (queued,
scheduled, being sent or waiting to retry); a request that would pass the limit is
refused whole. And while the data directory's free space is below its reserve, or a
write has just found the disk full, new messages get a temporary refusal that says so.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import peewee

from .. import pdu
from ..messages.types import MESSAGE_TYPES
from ..store.models import MessageState, OutboundMessage
from ..store.queue import NewMessage
from ..store.space import Space, StorageFull, full_error
from .diafaan.common import MESSAGE_REJECTED, UNKNOWN_ERROR
from .submission import SubmissionError

DEFAULT_MAX_QUEUED_PARTS = 10_000


class DiskFull(SubmissionError):
    """No room in the store now: a temporary refusal (try again later)."""

    def __init__(self, text: str) -> None:
        super().__init__(UNKNOWN_ERROR, None, text)


class WaitingParts:
    """Every user's waiting parts, counted in the store at most once every ``refresh``
    seconds and raised between counts by what was admitted here.

    One read of the queued messages counts every user at once, through their partial index
    (store/models.py ``QUEUED_INDEXES``): a count per user went through the user's index and
    read each message the user ever sent, a year of history every second. One thread counts
    while the others go on with the last count; on every request the count made a bulk of
    1,000 messages from 8 clients three times slower (make bench-sd: 6.5 against 2.1 s),
    and 8 threads finding the count stale at once each counted. Messages being sent (at
    most one per gateway) are not counted, and a count may run a second behind the
    sender: the limit is a bound against one request filling the card, not an exact quota."""

    def __init__(self, refresh: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh = refresh
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[int | None, int] = {}  # user → parts
        self._counted_at = -float("inf")
        self._counting = False

    def of(self, user_id: int | None) -> int:
        now = self.clock()
        with self._lock:
            if self._counting or now - self._counted_at < self.refresh:
                return self._counts.get(user_id, 0)
            self._counting = True
        try:
            counts = waiting_parts()
        finally:
            with self._lock:
                self._counting = False
        with self._lock:
            self._counts, self._counted_at = counts, now
            return counts.get(user_id, 0)

    def admitted(self, user_id: int | None, parts: int) -> None:
        with self._lock:
            self._counts[user_id] = self._counts.get(user_id, 0) + parts


@dataclass(frozen=True)
class Capacity:
    """``space``: the store's directory and reserve; None where none is watched."""

    max_queued_parts: int = DEFAULT_MAX_QUEUED_PARTS
    space: Space | None = None
    waiting: WaitingParts = field(default_factory=WaitingParts)

    def admit(self, messages: Sequence[NewMessage], names: Mapping[str, str]) -> None:
        """Raise a SubmissionError for a request that must not be queued now."""
        if not messages:
            return
        if self.space is not None:
            try:
                self.space.check()
            except StorageFull as full:
                raise DiskFull(str(full)) from None
        # a request's messages share one text: counted once, not once per recipient
        texts = Counter((m.text, m.message_type) for m in messages)
        asked = sum(_parts(text, kind) * count for (text, kind), count in texts.items())
        user_id = messages[0].user_id
        waiting = self.waiting.of(user_id)
        if waiting + asked > self.max_queued_parts:
            raise SubmissionError(MESSAGE_REJECTED, names["to"],
                                  f"{names['to']}: this request has {asked} SMS parts and {waiting} are already "
                                  f"waiting to be sent for this user; at most {self.max_queued_parts} may wait "
                                  "([http] max_queued_parts): send fewer, or later")
        self.waiting.admitted(user_id, asked)

    def refusal(self, error: BaseException) -> DiskFull | None:
        """The temporary refusal for a write that found the disk full; None for other faults."""
        full = full_error(error)
        if full is None:
            return None
        return DiskFull(str((self.space or Space(".")).refused(full)))


def _parts(text: str, message_type: str) -> int:
    kind = MESSAGE_TYPES.get(message_type)
    return pdu.count(text, encoding=kind.encoding if kind else "auto").parts


def queued_by_user() -> peewee.ModelSelect[OutboundMessage]:
    """The queued messages by user, text, type and parts stored, with how many of each."""
    return (OutboundMessage.select(OutboundMessage.user, OutboundMessage.text, OutboundMessage.message_type,
                                   OutboundMessage.parts_total, peewee.fn.COUNT(OutboundMessage.id))
            .where(OutboundMessage.state == MessageState.QUEUED)  # the literal its partial index names
            .group_by(OutboundMessage.user, OutboundMessage.text, OutboundMessage.message_type,
                      OutboundMessage.parts_total))


def waiting_parts() -> dict[int | None, int]:
    """Each user's parts of queued messages (scheduled and waiting to retry included): as
    stored once built, the rest counted from their text (once per distinct text). One
    query, grouped so that SQLite reads the queued messages' partial index, not a user's."""
    counts: Counter[int | None] = Counter()
    rows = queued_by_user().tuples()  # peewee's stubs declare models, not the tuples asked for
    for user_id, text, kind, built, count in cast(Iterable[tuple[int | None, str, str, int, int]], rows):
        counts[user_id] += (built or _parts(text, kind)) * count
    return dict(counts)
