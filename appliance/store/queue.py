"""The durable queue: accept, claim, complete, retry — each a single guarded UPDATE.

A message is accepted only once its row is committed; every later change is
``UPDATE … WHERE id = ? AND state = <expected>``, so two actors can never both move the
same message, and a restart finds each message exactly where it was left.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import peewee

from . import message_ids, statements
from .counts import MessageCounts
from .durability import Durability, bookkeeping
from .group_commit import GroupCommitter
from .models import Event, MessagePart, MessageState, OutboundMessage
from .tally import Tally
from .transactions import transaction

State = MessageState


def parse_tried(value: str) -> dict[str, int]:
    """``"GSM1:3;GSM2:1"`` — attempts per gateway, as stored with the message."""
    tried: dict[str, int] = {}
    for entry in filter(None, value.split(";")):
        name, _, count = entry.rpartition(":")
        tried[name] = int(count)
    return tried


def format_tried(tried: dict[str, int]) -> str:
    return ";".join(f"{name}:{count}" for name, count in tried.items())


@dataclass(frozen=True)
class NewMessage:
    """A validated send request for one recipient, as the API layer hands it over."""

    recipient: str
    text: str
    sender: str = ""
    message_type: str = "sms.automatic"
    message_guid: str = ""
    message_info: str = ""
    gateways: str = ""
    priority: int = 0
    validity_period: int | None = None
    scheduled_at: float | None = None
    contact_name: str = ""
    user_id: int | None = None
    connector: str = "HTTP API"
    id: str | None = None


class Waiting(NamedTuple):
    """The queue at a glance: how many wait, how many for their schedule or a retry, and
    since when the oldest due one has been due (its schedule, else its acceptance; a
    retry's pause does not make it younger)."""

    total: int
    scheduled: int
    retrying: int
    oldest_due: float | None

    @property
    def due(self) -> int:
        return self.total - self.scheduled - self.retrying

    def oldest_age(self, now: float) -> float:
        """Seconds the oldest due message has been due; 0 when none is."""
        return 0.0 if self.oldest_due is None else max(0.0, now - self.oldest_due)


@dataclass(frozen=True)
class PartToSend:
    id: int
    sequence: int
    pdu: str
    tpdu_length: int


# The sending path's reads, as fixed text over the partial indexes of queued messages
# (models.QUEUED_INDEXES), named: without statistics SQLite would take the index on
# (state, priority, created_at) and sort or scan the whole backlog. So a dispatch costs the
# same whether ten or ten thousand messages wait.
_NAMES = tuple(field.name for field in OutboundMessage._meta.sorted_fields)
_COLUMNS = ", ".join(f'"{field.column_name}"' for field in OutboundMessage._meta.sorted_fields)
_QUEUED = f"state = '{State.QUEUED}'"
_CLAIMABLE = (f"SELECT {_COLUMNS} FROM outbound_message INDEXED BY outbound_message_queued "
              f"WHERE {_QUEUED} AND (scheduled_at IS NULL OR scheduled_at <= ?) "
              "AND (retry_at IS NULL OR retry_at <= ?) ORDER BY priority DESC, created_at")
_NEXT_DUE = "SELECT " + ", ".join(
    f"(SELECT MIN({column}) FROM outbound_message INDEXED BY outbound_message_queued_{name} "
    f"WHERE {_QUEUED} AND {column} > ?)"
    for column, name in (("scheduled_at", "scheduled"), ("retry_at", "retry"), ("expires_at", "expires")))
_EXPIRING = (f"SELECT 1 FROM outbound_message INDEXED BY outbound_message_queued_expires "
             f"WHERE {_QUEUED} AND expires_at <= ? LIMIT 1")
_EXPIRE_DUE = (f"UPDATE outbound_message INDEXED BY outbound_message_queued_expires "
               f"SET state = '{State.EXPIRED}', updated_at = ?, error_text = ? "
               f"WHERE {_QUEUED} AND expires_at <= ? RETURNING connector")
# over the queued messages' partial index alone: what waits, not the history
_WAITING = ("SELECT COUNT(*), "
            "COALESCE(SUM(scheduled_at IS NOT NULL AND scheduled_at > ?), 0), "
            "COALESCE(SUM(retry_at IS NOT NULL AND retry_at > ?), 0), "
            "MIN(CASE WHEN scheduled_at IS NULL OR scheduled_at <= ? THEN COALESCE(scheduled_at, created_at) END) "
            f"FROM outbound_message INDEXED BY outbound_message_queued WHERE {_QUEUED}")
# a message's parts from its first on, as models.parts_of reads them
_BUILT = "SELECT first_part, parts_total FROM outbound_message WHERE id = ?"
_PARTS = ("SELECT id, sequence, pdu, tpdu_length, state FROM message_part "
          "WHERE id >= ? AND message_id = ? ORDER BY id LIMIT ?")
_LAST_PART = "SELECT MAX(id) FROM message_part"
_FIRST_AFTER = "SELECT MIN(id) FROM message_part WHERE id > ? AND message_id = ?"
_PART_SENT = ("UPDATE message_part SET state = 'sent', reference = ?, gateway = ?, sent_at = ? "
              "WHERE id = ? AND state = 'pending'")
_EXPIRED_TEXT = "validity period ended before it could be sent"
# what a change of state tells the counts (store.counts): whose message it was, and the gateway it has now
_WHOSE = "SELECT connector, gateway FROM outbound_message WHERE id = ?"


def _message(row: tuple) -> OutboundMessage:
    """A model from a row of _COLUMNS, as peewee's own cursors fill one (``__data__``), not
    field by field through its setters: every claimed candidate is one."""
    message = OutboundMessage(__no_default__=1)
    message.__data__.update(zip(_NAMES, row, strict=True))
    return message


def _bookkeeping(method):
    """A write of the sender's own progress: without an fsync of its own (store.durability)."""
    @functools.wraps(method)
    def write(self: Queue, *args, **kwargs):
        with bookkeeping(self.durability):
            return method(self, *args, **kwargs)
    return write


class Queue:
    def __init__(self, database: peewee.Database, clock: Callable[[], float] = time.time,
                 durability: Durability | None = None) -> None:
        """Without ``durability`` every commit is fsynced at once."""
        self.database = database
        self.clock = clock
        self.durability = durability
        # the status's counts, adjusted at every change made here (``counts.scan`` at start)
        self.counts = MessageCounts(clock)
        self._committer: GroupCommitter[dict, str] = GroupCommitter(self._insert)
        # messages accepted ("accepted") and each final state reached, since the start:
        # for /metrics, which must not count states over the whole history (store.tally)
        self.tally = Tally()

    # -- accepting -------------------------------------------------------------------------

    def accept(self, messages: Sequence[NewMessage]) -> list[str]:
        """Commit all messages of one request (atomically, shared with concurrent requests);
        return their ids in order. Returns only once they are on disk."""
        rows = self._rows(messages)
        ids = self._committer.submit(rows)
        self.tally.add("accepted", count=len(ids))
        self.counts.queued(row["connector"] for row in rows)
        return ids

    def add(self, messages: Sequence[NewMessage]) -> list[str]:
        """Queue messages in the caller's transaction, committed with what caused them (a
        reply to a received SMS is queued in the transaction that stores that SMS). Only
        for a caller that holds a transaction: a wait for the group commit would stall
        behind its own write lock."""
        rows = self._rows(messages)
        sql, fields = statements.insert(OutboundMessage)
        self.database.cursor().executemany(sql, statements.insert_values(fields, rows))
        self.tally.add("accepted", count=len(rows))
        self.counts.queued(row["connector"] for row in rows)
        return [row["id"] for row in rows]

    def _rows(self, messages: Sequence[NewMessage]) -> list[dict]:
        now = self.clock()
        rows = []
        for m in messages:
            starts = m.scheduled_at if m.scheduled_at is not None else now
            rows.append({
                "id": m.id or message_ids.new_id(),
                "user": m.user_id,
                "connector": m.connector,
                "recipient": m.recipient,
                "contact_name": m.contact_name,
                "sender": m.sender,
                "text": m.text,
                "message_type": m.message_type,
                "message_guid": m.message_guid,
                "message_info": m.message_info,
                "gateways": m.gateways,
                "priority": m.priority,
                "validity_period": m.validity_period,
                "scheduled_at": m.scheduled_at,
                "expires_at": starts + m.validity_period if m.validity_period is not None else None,
                "state": State.QUEUED,
                "created_at": now,
                "updated_at": now,
            })
        return rows

    def _insert(self, rows: list[dict]) -> list[str]:
        """One transaction for every request in the group: one fsync for all of them."""
        sql, fields = statements.insert(OutboundMessage)
        values = statements.insert_values(fields, rows)
        with self.database.atomic():
            self.database.cursor().executemany(sql, values)
        return [row["id"] for row in rows]

    def get(self, message_id: str) -> OutboundMessage | None:
        return OutboundMessage.get_or_none(OutboundMessage.id == message_id)

    # -- transitions -----------------------------------------------------------------------

    def transition(self, message_id: str, expected: str, new: str, *, whose: tuple[str, str] | None = None,
                   **fields) -> bool:
        """The one way a message changes state: true if it was in ``expected`` and now is ``new``.

        ``whose``: the message's connector and the gateway it has after the change, for
        the counts (store.counts), when the caller knows them (a claim does); a message
        being sent is known to the counts; any other is read (one row by its key).
        """
        now = fields["updated_at"] = self.clock()
        fields["state"] = new
        sql, columns = statements.update(OutboundMessage, tuple(fields), ("id", "state"))
        values = [column.db_value(value) for column, value in zip(columns, fields.values(), strict=True)]
        cursor = self.database.cursor()
        if cursor.execute(sql, (*values, message_id, expected)).rowcount != 1:
            return False
        if new in State.FINAL:
            self.tally.add(new)
        if expected == State.SENDING:
            whose = self.counts.held(message_id)
        if whose is None:
            whose = cursor.execute(_WHOSE, (message_id,)).fetchone()
        self.counts.moved(message_id, *whose, old=expected, new=new, now=now)
        return True

    @_bookkeeping
    def claim(self, gateway: str, now: float | None = None,
              may_send: Callable[[OutboundMessage], bool] = lambda message: True) -> OutboundMessage | None:
        """Give the most urgent due message that ``may_send`` lets ``gateway`` take, to it alone."""
        now = self.clock() if now is None else now
        # one IMMEDIATE transaction (or the dispatch's): the write lock is taken before the
        # read, so the candidate cannot be claimed by anyone else between the SELECT and the UPDATE
        with transaction(self.database):
            for row in self.database.cursor().execute(_CLAIMABLE, (now, now)):
                candidate = _message(row)
                if candidate.expires_at is not None and candidate.expires_at <= now:
                    self.transition(candidate.id, State.QUEUED, State.EXPIRED, error_text=_EXPIRED_TEXT,
                                    whose=(candidate.connector, candidate.gateway))
                    continue
                if not may_send(candidate):
                    continue
                tried = parse_tried(candidate.tried)
                tried[gateway] = tried.get(gateway, 0) + 1
                if self.transition(candidate.id, State.QUEUED, State.SENDING, gateway=gateway,
                                   attempts=candidate.attempts + 1, tried=format_tried(tried),
                                   whose=(candidate.connector, gateway)):
                    candidate.state = State.SENDING
                    candidate.gateway = gateway
                    candidate.attempts += 1
                    candidate.tried = format_tried(tried)
                    return candidate
        return None

    def expire_due(self, now: float | None = None) -> int:
        """End queued messages whose validity ran out: never sent late, never left hanging.

        This runs at every dispatch, so at every accepted request: it looks first, because
        a read leaves the HTTP threads' commits alone, where even an UPDATE that changes
        nothing takes the store's write lock and makes them wait.
        """
        now = self.clock() if now is None else now
        cursor = self.database.cursor()
        if cursor.execute(_EXPIRING, (now,)).fetchone() is None:
            return 0
        with bookkeeping(self.durability):
            connectors = [connector for (connector,) in cursor.execute(_EXPIRE_DUE, (now, _EXPIRED_TEXT, now))]
        self.tally.add(State.EXPIRED, count=len(connectors))
        self.counts.expired(connectors)
        return len(connectors)

    def waiting(self, now: float) -> Waiting:
        """What waits in the queue now: a read of the queued messages' index, as long as the queue."""
        return Waiting(*self.database.cursor().execute(_WAITING, (now, now, now)).fetchone())

    def next_due(self, now: float | None = None) -> float | None:
        """The earliest future moment a queued message becomes due or expires."""
        now = self.clock() if now is None else now
        times = self.database.cursor().execute(_NEXT_DUE, (now, now, now)).fetchone()
        return min((t for t in times if t is not None), default=None)

    @_bookkeeping
    def complete(self, message_id: str, provider_reference: str = "") -> bool:
        """Sent; ``provider_reference`` is an HTTP provider's id of it (its status API's key)."""
        now = self.clock()
        if provider_reference:  # a modem's message keeps the statement it always had
            return self.transition(message_id, State.SENDING, State.SENT, sent_at=now, error_code=None,
                                   error_text="", provider_reference=provider_reference)
        return self.transition(message_id, State.SENDING, State.SENT, sent_at=now,
                               error_code=None, error_text="")

    @_bookkeeping
    def fail(self, message_id: str, code: int | None, text: str) -> bool:
        return self.transition(message_id, State.SENDING, State.FAILED, error_code=code, error_text=text)

    @_bookkeeping
    def expire(self, message_id: str, code: int | None, text: str) -> bool:
        """End a claimed message whose validity ran out while it was being tried; ``text``
        is the last attempt's error, kept with the reason."""
        return self.transition(message_id, State.SENDING, State.EXPIRED, error_code=code,
                               error_text=f"{_EXPIRED_TEXT} (last: {text})")

    @_bookkeeping
    def retry(self, message_id: str, at: float, code: int | None, text: str,
              tried: dict[str, int] | None = None, *, expires_at: float | None = None) -> bool:
        """Put a claimed message back; parts already sent stay sent and are not sent again.

        ``tried`` replaces the attempts per gateway (a gateway that refused the message has
        used all of its attempts; a temporary fault gives its attempt back). ``expires_at``
        sets when it ends as Expired, for a message that had no validity period of its own
        and is now tried until the default one runs out."""
        fields: dict[str, Any] = {} if tried is None else {"tried": format_tried(tried)}
        if expires_at is not None:
            fields["expires_at"] = expires_at
        return self.transition(message_id, State.SENDING, State.QUEUED, retry_at=at, gateway="",
                               error_code=code, error_text=text, **fields)

    def remove(self, message_id: str) -> bool:
        return self.transition(message_id, State.QUEUED, State.REMOVED)

    def recover(self) -> int:
        """After a restart: messages caught mid-send go back to the queue.

        Parts confirmed by ``+CMGS`` are kept and skipped; the one part that was in flight has
        an unknown fate and is sent again — a rare duplicate beats a lost message.
        """
        return (OutboundMessage.update(state=State.QUEUED, gateway="", updated_at=self.clock())
                .where(OutboundMessage.state == State.SENDING).execute())

    # -- parts -----------------------------------------------------------------------------

    @_bookkeeping
    def parts(self, message_id: str, build: Callable[[], Iterable[tuple[str, int]]]) -> list[PartToSend]:
        """The parts still to send; built (and stored) once, so a resend repeats the same PDUs."""
        cursor = self.database.cursor()
        first, total = cursor.execute(_BUILT, (message_id,)).fetchone() or (None, 0)
        if first is None:
            built = list(build())
            insert, fields = statements.insert(MessagePart)
            stored, _ = statements.update(OutboundMessage, ("parts_total", "first_part"), ("id",))
            with transaction(self.database):
                (last,) = cursor.execute(_LAST_PART).fetchone()
                cursor.executemany(insert, statements.insert_values(fields, [
                    {"message": message_id, "sequence": i, "pdu": pdu, "tpdu_length": length}
                    for i, (pdu, length) in enumerate(built, start=1)
                ]))
                (first,) = cursor.execute(_FIRST_AFTER, (last or 0, message_id)).fetchone()
                total = len(built)
                cursor.execute(stored, (total, first, message_id))
            if first is None:
                return []  # nothing to send
        existing = cursor.execute(_PARTS, (first, message_id, total)).fetchall()
        return [PartToSend(part_id, sequence, pdu, length)
                for part_id, sequence, pdu, length, state in existing if state == "pending"]

    @_bookkeeping
    def part_sent(self, part_id: int, reference: int, gateway: str) -> bool:
        return self.database.cursor().execute(
            _PART_SENT, (reference, gateway, self.clock(), part_id)).rowcount == 1

    # -- the event log ---------------------------------------------------------------------

    @_bookkeeping
    def log(self, kind: str, text: str, *, message_id: str | None = None, gateway: str = "",
            level: str = "info") -> None:
        sql, fields = statements.insert(Event)
        self.database.cursor().execute(sql, *statements.insert_values(fields, [
            {"time": self.clock(), "level": level, "kind": kind, "message_id": message_id,
             "gateway": gateway, "text": text}]))
