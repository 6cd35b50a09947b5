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
    """Each user's waiting parts, counted in the store at most once every ``refresh``
    seconds and raised between counts by what was admitted here. Counting reads every
    waiting message of the user; on every request that made a bulk of 1,000 messages
    from 8 clients three times slower (make bench-sd: 6.5 against 2.1 s), the queue
    being longest exactly then. A count may run a second behind the sender: the limit is
    a bound against one request filling the card, not an exact quota."""

    def __init__(self, refresh: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh = refresh
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[int | None, tuple[float, int]] = {}  # user → (counted at, parts)

    def of(self, user_id: int | None) -> int:
        now = self.clock()
        with self._lock:
            known = self._counts.get(user_id)
        if known is not None and now - known[0] < self.refresh:
            return known[1]
        counted = waiting_parts(user_id)
        with self._lock:
            self._counts[user_id] = (now, counted)
        return counted

    def admitted(self, user_id: int | None, parts: int) -> None:
        with self._lock:
            known = self._counts.get(user_id)
            if known is not None:
                self._counts[user_id] = (known[0], known[1] + parts)


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


def waiting_parts(user_id: int | None) -> int:
    """Parts of the user's messages that are not final: as stored once built, the rest
    counted from their text (once per distinct text)."""
    mine = OutboundMessage.user.is_null() if user_id is None else OutboundMessage.user == user_id
    pending = mine & OutboundMessage.state.not_in(tuple(MessageState.FINAL))
    built = (OutboundMessage.select(peewee.fn.COALESCE(peewee.fn.SUM(OutboundMessage.parts_total), 0))
             .where(pending & (OutboundMessage.parts_total > 0)).scalar())
    unbuilt = (OutboundMessage.select(OutboundMessage.text, OutboundMessage.message_type,
                                      peewee.fn.COUNT(OutboundMessage.id))
               .where(pending & (OutboundMessage.parts_total == 0))
               .group_by(OutboundMessage.text, OutboundMessage.message_type))
    rows = cast(Iterable[tuple[str, str, int]], unbuilt.tuples())  # peewee's stubs declare models
    return int(built) + sum(_parts(text, kind) * count for text, kind, count in rows)
