"""Received SMS: every part stored as it arrives, messages assembled in the store.

A part is committed before the modem's copy is deleted, and parts of a concatenated
message wait here, not in memory, so a restart in the middle of a multipart message
loses nothing. A set that never completes is delivered as it is after a while.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import peewee

from .. import pdu
from .counts import MessageCounts
from .models import Event, InboundMessage, InboundPart
from .tally import Tally

log = logging.getLogger(__name__)

# the Diafaan message type of a received SMS, by the encoding of its parts
RECEIVED_MESSAGE_TYPE = {"gsm7": "sms.text", "ucs2": "sms.unicode", "8bit": "sms.data"}


def _safe(text: str) -> str:
    """A part cut inside a surrogate pair holds half a character, which UTF-8 (and so the
    store) cannot hold: show it as U+FFFD in the part; the message is joined from the PDUs."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _joined_text(parts: list[InboundPart]) -> str:
    if all(p.encoding == "ucs2" for p in parts):
        # join the UTF-16 code units first: a pair split between two parts is whole again
        units = b"".join(pdu.decode(p.pdu, strict=False).data for p in parts)
        return units.decode("utf-16-be", "replace")
    return "".join(p.text for p in parts)


class Inbox:
    def __init__(self, database: peewee.Database, *, incomplete_after: float = 3600.0,
                 receivers: Callable[[str], list[str]] = lambda gateway: [],
                 fanout: Callable[[InboundMessage], None] = lambda message: None,
                 clock: Callable[[], float] = time.time, counts: MessageCounts | None = None) -> None:
        """``receivers(gateway)`` names the connectors a message from that gateway goes to;
        ``fanout(message)`` runs in the transaction that creates it (e.g. to queue webhooks);
        ``counts``: the status's counts (the queue's), told of each message made."""
        self.database = database
        self.receivers = receivers
        self.fanout = fanout
        self.incomplete_after = incomplete_after
        self.clock = clock
        # messages made, by gateway, since the start: for /metrics (store.tally)
        self.tally = Tally()
        self.counts = MessageCounts(clock) if counts is None else counts

    def store(self, gateway: str, pdu_hex: str) -> list[str]:
        """Keep one received PDU; return the ids of messages it completed (usually 0 or 1).

        Safe to call twice with the same PDU. A PDU that does not decode is kept raw, as a
        message of its own that says so (:meth:`_keep_undecodable`): a stranger's malformed
        SMS must neither stop the modem's inbox from draining nor vanish with its slot.
        Returns only once what it keeps is committed; if it raises, nothing was kept and the
        modem's copy must stay.
        """
        now = self.clock()
        try:
            decoded = pdu.decode(pdu_hex, strict=False)
        except pdu.PDUError as error:
            return self._keep_undecodable(gateway, pdu_hex, str(error), now)
        if not isinstance(decoded, pdu.Deliver):
            Event.create(time=now, level="warning", kind="unexpected-pdu", gateway=gateway,
                         text=f"{type(decoded).__name__} in the inbox: {pdu_hex}")
            return []
        if decoded.repairs:  # read leniently: say what was mended, the PDU is kept as it came
            log.info("%s: received PDU read with repairs (%s): %s", gateway, "; ".join(decoded.repairs), pdu_hex)
        concat = decoded.concat
        text = _safe(decoded.text) if decoded.text is not None else decoded.data.hex().upper()
        with self.database.atomic():
            part = self._new_part(
                gateway=gateway, pdu=pdu_hex.upper(), originator=decoded.number,
                smsc=decoded.smsc or "", text=text, encoding=decoded.encoding,
                concat_reference=concat.reference if concat else None,
                concat_total=concat.total if concat else 1,
                concat_sequence=concat.sequence if concat else 1,
                sent_at=decoded.timestamp.timestamp(), received_at=now)
            if part is None:
                return []  # read before: it is already here
            siblings = self._siblings(part)
            if len({p.concat_sequence for p in siblings}) < part.concat_total:
                return []
            return [self._assemble(siblings, now)]

    def _keep_undecodable(self, gateway: str, pdu_hex: str, error: str, now: float) -> list[str]:
        """Store a PDU no decoder can read as a one-part message whose text names the error
        and carries the PDU, so that every reader of the inbox (request-received-messages,
        /api/v1, the webhooks) sees it; its part makes a second read of the slot a duplicate."""
        raw = pdu_hex.strip().upper()
        log.warning("%s: undecodable SMS kept raw: %s: %s", gateway, error, raw)
        with self.database.atomic():
            part = self._new_part(gateway=gateway, pdu=raw, originator="", encoding="undecodable",
                                  received_at=now)
            if part is None:
                return []  # read before: it is already here
            Event.create(time=now, level="warning", kind="malformed-pdu", gateway=gateway,
                         text=f"{error}: {raw}")
            return [self._create_message([part], [part], now, text=f"[undecodable SMS: {error}] {raw}",
                                         message_type="sms.text", decode_error=error)]

    def _new_part(self, *, gateway: str, pdu: str, **fields: object) -> InboundPart | None:
        """A new part, or None if this gateway stored the same PDU before (the slot was read
        again after a restart between the commit and the delete). Any other refusal is
        raised: the caller must not take it for a duplicate and delete the modem's copy."""
        try:
            with self.database.atomic():  # a savepoint: a duplicate undoes only itself
                return InboundPart.create(gateway=gateway, pdu=pdu, **fields)
        except peewee.IntegrityError:
            if InboundPart.select().where((InboundPart.gateway == gateway) & (InboundPart.pdu == pdu)).exists():
                return None
            raise

    def flush_incomplete(self, now: float | None = None) -> list[str]:
        """Deliver the parts that have waited too long for their siblings, as they are."""
        now = self.clock() if now is None else now
        done = []
        with self.database.atomic():
            stale = (InboundPart.select()
                     .where(InboundPart.message.is_null() & (InboundPart.received_at <= now - self.incomplete_after))
                     .order_by(InboundPart.received_at))
            seen = set()
            for part in stale:
                key = (part.gateway, part.originator, part.concat_reference, part.concat_total)
                if key in seen:
                    continue
                seen.add(key)
                done.append(self._assemble(self._siblings(part), now))
        return done

    def next_flush(self) -> float | None:
        """When the oldest waiting part will be delivered incomplete, if nothing else comes."""
        oldest = (InboundPart.select(peewee.fn.MIN(InboundPart.received_at))
                  .where(InboundPart.message.is_null()).scalar())
        return None if oldest is None else oldest + self.incomplete_after

    def received(self, connector: str, *, limit: int | None = None, newest_first: bool = False,
                 remove: bool = False) -> list[InboundMessage]:
        """The messages in one connector's inbox that are not removed, oldest first unless
        asked otherwise. With ``remove`` they are marked removed in the same transaction, so
        two clients polling with remove at once never both get the same message."""
        listed = ";" + InboundMessage.connectors + ";"
        order = InboundMessage.received_at.desc() if newest_first else InboundMessage.received_at
        with self.database.atomic():
            query = (InboundMessage.select()
                     .where(~InboundMessage.removed & (peewee.fn.instr(listed, f";{connector};") > 0))
                     .order_by(order, InboundMessage.id))
            if limit is not None:
                query = query.limit(limit)
            messages = list(query)
            if remove and messages:
                (InboundMessage.update(removed=True)
                 .where(InboundMessage.id.in_([m.id for m in messages])).execute())
        return messages

    @staticmethod
    def _siblings(part: InboundPart) -> list[InboundPart]:
        if part.concat_reference is None:
            return [part]
        return list(InboundPart.select().where(
            InboundPart.message.is_null()
            & (InboundPart.gateway == part.gateway)
            & (InboundPart.originator == part.originator)
            & (InboundPart.concat_reference == part.concat_reference)
            & (InboundPart.concat_total == part.concat_total)
        ).order_by(InboundPart.concat_sequence, InboundPart.received_at))

    def _assemble(self, parts: list[InboundPart], now: float) -> str:
        by_sequence: dict[int, InboundPart] = {}
        for p in parts:
            by_sequence.setdefault(p.concat_sequence, p)  # a resent duplicate part counts once
        ordered = [by_sequence[n] for n in sorted(by_sequence)]
        first = ordered[0]
        encodings = {p.encoding for p in ordered}
        message_id = self._create_message(
            ordered, parts, now, text=_joined_text(ordered),
            message_type=(RECEIVED_MESSAGE_TYPE.get(first.encoding, "sms.text") if len(encodings) == 1
                          else "sms.unicode"))
        if len(ordered) < first.concat_total:
            log.warning("%s: message from %s delivered with %d of %d parts", first.gateway,
                        first.originator, len(ordered), first.concat_total)
        return message_id

    def _create_message(self, ordered: list[InboundPart], linked: list[InboundPart], now: float, *,
                        text: str, message_type: str, decode_error: str = "") -> str:
        """The message made of ``ordered`` (its parts in order, each once), with ``linked``
        (those and any duplicates) pointed at it and its fan-out queued, all in the caller's
        transaction."""
        first = ordered[0]
        message = InboundMessage.create(
            id=str(uuid.uuid4()), gateway=first.gateway, originator=first.originator, text=text,
            message_type=message_type, smsc=first.smsc, pdu=" ".join(p.pdu for p in ordered),
            concat_reference=first.concat_reference, parts_received=len(ordered),
            parts_total=first.concat_total, sent_at=first.sent_at, received_at=now,
            connectors=";".join(self.receivers(first.gateway)), decode_error=decode_error,
        )
        InboundPart.update(message=message.id).where(InboundPart.id.in_([p.id for p in linked])).execute()
        self.fanout(message)
        self.tally.add(first.gateway)
        self.counts.received(first.gateway, now)
        return message.id
