"""The durable queue: accept, claim, complete, retry — each a single guarded UPDATE.

A message is accepted only once its row is committed; every later change is
``UPDATE … WHERE id = ? AND state = <expected>``, so two actors can never both move the
same message, and a restart finds each message exactly where it was left.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import peewee

from ..connectors.routing import format_tried, parse_tried
from .durability import Durability
from .group_commit import GroupCommitter
from .models import Event, MessagePart, MessageState, OutboundMessage

State = MessageState


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


@dataclass(frozen=True)
class PartToSend:
    id: int
    sequence: int
    pdu: str
    tpdu_length: int


@functools.lru_cache(maxsize=1)
def _insert_statement() -> tuple[str, list[peewee.Field]]:
    """INSERT of every column of OutboundMessage, in the model's order."""
    fields = OutboundMessage._meta.sorted_fields
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join("?" for _ in fields)
    return f'INSERT INTO "{OutboundMessage._meta.table_name}" ({columns}) VALUES ({marks})', fields


def _column_value(field: peewee.Field, row: dict):
    """The row's value, or the model's default, as the database stores it."""
    if field.name in row:
        return field.db_value(row[field.name])
    default = field.default() if callable(field.default) else field.default
    return field.db_value(default)


def _bookkeeping(method):
    """A write of the sender's own progress: without an fsync of its own (store.durability)."""
    @functools.wraps(method)
    def write(self: "Queue", *args, **kwargs):
        if self.durability is None:
            return method(self, *args, **kwargs)
        with self.durability.relaxed():
            return method(self, *args, **kwargs)
    return write


class Queue:
    def __init__(self, database: peewee.Database, clock: Callable[[], float] = time.time,
                 durability: Durability | None = None) -> None:
        """Without ``durability`` every commit is fsynced at once."""
        self.database = database
        self.clock = clock
        self.durability = durability
        self._committer: GroupCommitter[dict, str] = GroupCommitter(self._insert)

    # -- accepting -------------------------------------------------------------------------

    def accept(self, messages: Sequence[NewMessage]) -> list[str]:
        """Commit all messages of one request (atomically, shared with concurrent requests);
        return their ids in order. Returns only once they are on disk."""
        now = self.clock()
        rows = []
        for m in messages:
            starts = m.scheduled_at if m.scheduled_at is not None else now
            rows.append({
                "id": m.id or str(uuid.uuid4()),
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
        return self._committer.submit(rows)

    def _insert(self, rows: list[dict]) -> list[str]:
        """One transaction for every request in the group: one fsync for all of them.

        The INSERT statement is made once from the model and reused: building it through
        the query builder for every request cost more than the rest of send-message."""
        sql, fields = _insert_statement()
        values = [tuple(_column_value(field, row) for field in fields) for row in rows]
        with self.database.atomic():
            self.database.cursor().executemany(sql, values)
        return [row["id"] for row in rows]

    def get(self, message_id: str) -> OutboundMessage | None:
        return OutboundMessage.get_or_none(OutboundMessage.id == message_id)

    # -- transitions -----------------------------------------------------------------------

    def transition(self, message_id: str, expected: str, new: str, **fields) -> bool:
        """The one way a message changes state: true if it was in ``expected`` and now is ``new``."""
        fields["state"] = new
        fields["updated_at"] = self.clock()
        updated = (OutboundMessage.update(**fields)
                   .where((OutboundMessage.id == message_id) & (OutboundMessage.state == expected))
                   .execute())
        return updated == 1

    @_bookkeeping
    def claim(self, gateway: str, now: float | None = None,
              may_send: Callable[[OutboundMessage], bool] = lambda message: True) -> OutboundMessage | None:
        """Give the most urgent due message that ``may_send`` lets ``gateway`` take, to it alone."""
        now = self.clock() if now is None else now
        due = ((OutboundMessage.state == State.QUEUED)
               & ((OutboundMessage.scheduled_at.is_null()) | (OutboundMessage.scheduled_at <= now))
               & ((OutboundMessage.retry_at.is_null()) | (OutboundMessage.retry_at <= now)))
        # one IMMEDIATE transaction: the write lock is taken before the read, so the
        # candidate cannot be claimed by anyone else between the SELECT and the UPDATE
        with self.database.atomic():
            candidates = (OutboundMessage.select()
                          .where(due)
                          .order_by(OutboundMessage.priority.desc(), OutboundMessage.created_at)
                          .iterator())
            for candidate in candidates:
                if candidate.expires_at is not None and candidate.expires_at <= now:
                    self.transition(candidate.id, State.QUEUED, State.EXPIRED,
                                    error_text="validity period ended before it could be sent")
                    continue
                if not may_send(candidate):
                    continue
                tried = parse_tried(candidate.tried)
                tried[gateway] = tried.get(gateway, 0) + 1
                if self.transition(candidate.id, State.QUEUED, State.SENDING, gateway=gateway,
                                   attempts=candidate.attempts + 1, tried=format_tried(tried)):
                    candidate.state = State.SENDING
                    candidate.gateway = gateway
                    candidate.attempts += 1
                    candidate.tried = format_tried(tried)
                    return candidate
        return None

    @_bookkeeping
    def expire_due(self, now: float | None = None) -> int:
        """End queued messages whose validity ran out: never sent late, never left hanging."""
        now = self.clock() if now is None else now
        return (OutboundMessage.update(state=State.EXPIRED, updated_at=now,
                                       error_text="validity period ended before it could be sent")
                .where((OutboundMessage.state == State.QUEUED)
                       & (OutboundMessage.expires_at.is_null(False))
                       & (OutboundMessage.expires_at <= now))
                .execute())

    def next_due(self, now: float | None = None) -> float | None:
        """The earliest future moment a queued message becomes due or expires."""
        now = self.clock() if now is None else now
        queued = OutboundMessage.state == State.QUEUED
        times = []
        for column in (OutboundMessage.scheduled_at, OutboundMessage.retry_at, OutboundMessage.expires_at):
            value = (OutboundMessage.select(peewee.fn.MIN(column))
                     .where(queued & (column > now)).scalar())
            if value is not None:
                times.append(value)
        return min(times) if times else None

    @_bookkeeping
    def complete(self, message_id: str) -> bool:
        now = self.clock()
        return self.transition(message_id, State.SENDING, State.SENT, sent_at=now,
                               error_code=None, error_text="")

    @_bookkeeping
    def fail(self, message_id: str, code: int | None, text: str) -> bool:
        return self.transition(message_id, State.SENDING, State.FAILED, error_code=code, error_text=text)

    @_bookkeeping
    def retry(self, message_id: str, at: float, code: int | None, text: str) -> bool:
        """Put a claimed message back; parts already sent stay sent and are not sent again."""
        return self.transition(message_id, State.SENDING, State.QUEUED, retry_at=at, gateway="",
                               error_code=code, error_text=text)

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
        existing = list(MessagePart.select().where(MessagePart.message == message_id)
                        .order_by(MessagePart.sequence))
        if not existing:
            built = list(build())
            with self.database.atomic():
                MessagePart.insert_many([
                    {"message": message_id, "sequence": i, "pdu": pdu, "tpdu_length": length}
                    for i, (pdu, length) in enumerate(built, start=1)
                ]).execute()
                OutboundMessage.update(parts_total=len(built)).where(
                    OutboundMessage.id == message_id).execute()
            existing = list(MessagePart.select().where(MessagePart.message == message_id)
                            .order_by(MessagePart.sequence))
        return [PartToSend(p.id, p.sequence, p.pdu, p.tpdu_length)
                for p in existing if p.state == "pending"]

    @_bookkeeping
    def part_sent(self, part_id: int, reference: int, gateway: str) -> bool:
        return (MessagePart.update(state="sent", reference=reference, gateway=gateway,
                                   sent_at=self.clock())
                .where((MessagePart.id == part_id) & (MessagePart.state == "pending"))
                .execute()) == 1

    # -- the event log ---------------------------------------------------------------------

    @_bookkeeping
    def log(self, kind: str, text: str, *, message_id: str | None = None, gateway: str = "",
            level: str = "info") -> None:
        Event.create(time=self.clock(), level=level, kind=kind, message_id=message_id,
                     gateway=gateway, text=text)
