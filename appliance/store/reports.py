"""Delivery reports: matched to the part they report on, and rolled up to its message.

An HTTP provider's report (gateways/providers/reports.py) names the message by the
provider's id of it (``apply_provider``) and moves it the same way: Sent → Delivered or
Undelivered, with the same webhook event.

The network names a part only by the TP-MR the modem gave it (one octet, so it wraps)
and the recipient; the match is the most recent part sent through the same gateway with
that reference to that number. A message is delivered when all its parts are. A report
that matches no part, or does not decode, is kept as an unmatched report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .models import MessagePart, MessageState, OutboundMessage, UnmatchedReport, parts_of
from .queue import Queue

MATCH_WINDOW = 7 * 86400   # reports for parts older than this are for someone else's mr

# TP-ST, 3GPP TS 23.040 §9.2.3.15
_TEXTS = {
    0x00: "received by the recipient",
    0x01: "forwarded, delivery not confirmed",
    0x02: "replaced by the service centre",
    0x20: "congestion, still trying",
    0x21: "recipient busy, still trying",
    0x22: "no response from the recipient, still trying",
    0x23: "service rejected, still trying",
    0x24: "quality of service not available, still trying",
    0x25: "error in the recipient, still trying",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by the recipient",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by the originator",
    0x48: "deleted by the service centre",
    0x49: "message does not exist",
    0x60: "congestion, gave up",
    0x61: "recipient busy, gave up",
    0x62: "no response from the recipient, gave up",
    0x63: "service rejected, gave up",
    0x64: "quality of service not available, gave up",
    0x65: "error in the recipient, gave up",
}


def report_status_text(status: int) -> str:
    return _TEXTS.get(status, f"status {status:#04x}")


def outcome(status: int) -> str:
    """'delivered', 'pending' (the centre still tries) or 'failed', per TP-ST's ranges."""
    if status < 0x20:
        return "delivered"
    if status < 0x40:
        return "pending"
    return "failed"


# through the partial index on the provider's id of the messages still waiting (models.py)
_BY_REFERENCE = ("SELECT id FROM outbound_message WHERE state = 'sent' AND provider_reference != '' "
                 "AND provider_reference = ? AND gateway = ?")
# a page of a provider gateway's messages waiting for a report, sent in (low, high], after
# the row ``rowid`` of the same sent_at: through the partial index by gateway and age
_WAITING = ("SELECT rowid, id, provider_reference, sent_at, validity_period FROM outbound_message "
            "WHERE state = 'sent' AND provider_reference != '' AND gateway = ? AND sent_at <= ? "
            "AND sent_at >= ? AND (sent_at > ? OR rowid > ?) ORDER BY sent_at, rowid LIMIT ?")


@dataclass(frozen=True)
class Waiting:
    """A provider's message still waiting for its report."""

    rowid: int
    message_id: str
    reference: str
    sent_at: float
    validity_period: int | None


def waiting_for_report(queue: Queue, gateway: str, low: float, high: float, *, after: tuple[float, int] | None = None,
                       limit: int = 100) -> list[Waiting]:
    """Up to ``limit`` of ``gateway``'s messages sent in (low, high] still waiting for a
    provider's report, oldest first; ``after`` (sent_at, rowid) of the last one read
    continues a page."""
    at, rowid = after if after is not None else (low, 2**63 - 1)
    rows = queue.database.cursor().execute(_WAITING, (gateway, high, at, at, rowid, limit)).fetchall()
    return [Waiting(*row) for row in rows]


@dataclass(frozen=True)
class ReportResult:
    message_id: str | None      # None: no part of ours matches
    outcome: str = ""
    message_state: str = ""      # the message's state after this report


def _same_number(a: str, b: str) -> bool:
    """Reports carry the number as the network formats it: compare the significant digits."""
    da, db = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    return bool(da) and bool(db) and (da.endswith(db[-9:]) or db.endswith(da[-9:]))


class Reports:
    def __init__(self, queue: Queue,
                 on_report: Callable[[OutboundMessage, str], None] = lambda message, detail: None) -> None:
        """``on_report(message, detail)`` runs inside the transaction that records a report;
        ``detail`` says in words what the report said."""
        self.queue = queue
        self.on_report = on_report

    def apply(self, gateway: str, reference: int, number: str, status: int, *, pdu_hex: str = "") -> ReportResult:
        """Record a report on the part it matches; one that matches none is kept (``keep``)."""
        now = self.queue.clock()
        with self.queue.database.atomic():
            candidates = (MessagePart.select(MessagePart, OutboundMessage)
                          .join(OutboundMessage)
                          .where((MessagePart.gateway == gateway) & (MessagePart.reference == reference)
                                 & (MessagePart.sent_at >= now - MATCH_WINDOW))
                          .order_by(MessagePart.sent_at.desc()))
            part = next((p for p in candidates if _same_number(p.message.recipient, number)), None)
            if part is None:
                self.keep(gateway, pdu_hex, reference=reference, number=number, status=status)
                return ReportResult(None)
            result = outcome(status)
            part_state = {"delivered": "delivered", "failed": "failed"}.get(result, part.state)
            (MessagePart.update(status=status, reported_at=now, state=part_state)
             .where(MessagePart.id == part.id).execute())
            message = part.message
            # only from Sent: a report never revives a message that ended otherwise
            if result == "failed":  # sent, but not delivered: a state of its own, as in Diafaan (301)
                self.queue.transition(message.id, MessageState.SENT, MessageState.UNDELIVERED,
                                      error_code=None, error_text=f"not delivered: {report_status_text(status)}")
            elif result == "delivered":
                undelivered = sum(p.state != "delivered" for p in parts_of(message))
                if undelivered == 0 and message.parts_total:
                    self.queue.transition(message.id, MessageState.SENT, MessageState.DELIVERED)
            updated = OutboundMessage.get_by_id(message.id)
            self.on_report(updated, report_status_text(status))
        return ReportResult(message.id, result, updated.state)

    def apply_provider(self, gateway: str, reference: str, delivered: bool, *, error_code: int | None = None,
                       error_text: str = "") -> ReportResult:
        """An HTTP provider's final report on the message it knows as ``reference``: Sent
        becomes Delivered, or Undelivered with the provider's code and text where a modem
        report's detail goes. A message no longer Sent (reported already) is left as it is."""
        with self.queue.database.atomic():
            row = self.queue.database.cursor().execute(_BY_REFERENCE, (reference, gateway)).fetchone()
            if row is None:
                return ReportResult(None)
            (message_id,) = row
            if delivered:
                result, detail = "delivered", report_status_text(0)
                self.queue.transition(message_id, MessageState.SENT, MessageState.DELIVERED)
            else:
                result, detail = "failed", error_text or "not delivered"
                self.queue.transition(message_id, MessageState.SENT, MessageState.UNDELIVERED,
                                      error_code=error_code, error_text=f"not delivered: {detail}")
            updated = OutboundMessage.get_by_id(message_id)
            self.on_report(updated, detail)
        return ReportResult(message_id, result, updated.state)

    def keep(self, gateway: str, pdu_hex: str, *, reference: int | None = None, number: str = "",
             status: int | None = None, decode_error: str = "") -> None:
        """Keep a report that names no part of ours (sent before a restore, or by other
        software on the same SIM) or that did not decode (``decode_error``), so that it is
        seen rather than lost. Committed when this returns; the same PDU read again from its
        slot is kept once."""
        raw = pdu_hex.strip().upper()
        with self.queue.database.atomic():
            if raw and UnmatchedReport.select().where((UnmatchedReport.gateway == gateway)
                                                      & (UnmatchedReport.pdu == raw)).exists():
                return
            UnmatchedReport.create(gateway=gateway, reference=reference, recipient=number, status=status,
                                   pdu=raw, decode_error=decode_error, received_at=self.queue.clock())


def unmatched_reports(limit: int) -> list[UnmatchedReport]:
    """The unmatched reports kept, newest first (for /api/v1/unmatched-reports)."""
    return list(UnmatchedReport.select()
                .order_by(UnmatchedReport.received_at.desc(), UnmatchedReport.id.desc()).limit(limit))
