"""A modem as a gateway: a message becomes PDUs, each sent with AT+CMGS in turn; what the
modem receives goes into the store (SMS into the inbox, delivery reports onto their parts)."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from datetime import timedelta

from .. import pdu
from ..messages.types import MESSAGE_TYPES
from ..modem.driver import ModemDriver, ModemHandlers, SendResult
from ..store.durability import bookkeeping
from ..store.inbox import Inbox
from ..store.models import OutboundMessage
from ..store.queue import PartToSend, Queue
from ..store.reports import ReportResult, Reports
from .base import Done, Gateway, Outcome

log = logging.getLogger(__name__)


def build_pdus(message: OutboundMessage, smsc: str | None, status_report: bool,
               now: float | None = None) -> list[tuple[str, int]]:
    """The PDUs of a message; built once and stored, so a resend repeats the same parts.

    A message with a validity period tells the network what is left of it (TP-VP, relative,
    rounded up to the format's next step), so the SMS centre too gives up on a recipient
    who stays unreachable, instead of delivering the message late.
    """
    kind = MESSAGE_TYPES[message.message_type]
    # a stable concatenation reference per message: parts resent after a restart still join
    concat_reference = zlib.crc32(message.id.encode()) & 0xFF
    validity = None
    if message.expires_at is not None:
        left = message.expires_at - (time.time() if now is None else now)
        validity = timedelta(seconds=max(left, 0.0))
    parts = pdu.encode_submit(message.recipient, message.text, smsc=smsc, encoding=kind.encoding,
                              message_class=kind.message_class, concat_reference=concat_reference,
                              status_report=status_report, validity=validity)
    return [(part.pdu, part.tpdu_length) for part in parts]


class ModemGateway(Gateway):
    def __init__(self, driver: ModemDriver, *, inbox: Inbox, reports: Reports,
                 delivery_reports: bool = True,
                 on_received: Callable[[list[str]], None] = lambda ids: None,
                 on_reported: Callable[[ReportResult], None] = lambda result: None) -> None:
        """``on_received`` hears of every stored PDU, with the ids of messages it completed;
        ``on_reported`` of every delivery report, once it is stored."""
        self.driver = driver
        self.name = driver.name
        self.inbox = inbox
        self.reports = reports
        self.delivery_reports = delivery_reports
        self.on_received = on_received
        self.on_reported = on_reported
        self._busy = False
        driver.handlers = ModemHandlers(on_sms=self._on_sms, on_report=self._on_report)

    @property
    def available(self) -> bool:
        return not self._busy and self.driver.ready

    @property
    def in_service(self) -> bool:
        return self.driver.in_service

    def status(self) -> dict:
        return self.driver.status()

    def _on_sms(self, pdu_hex: str) -> None:
        """Commit the SMS; only when this returns may the modem's copy be deleted."""
        self.on_received(self.inbox.store(self.name, pdu_hex))

    def _on_report(self, pdu_hex: str, has_smsc: bool) -> None:
        try:
            report = pdu.decode(pdu_hex, smsc=has_smsc)
        except pdu.PDUError as error:
            log.warning("%s: undecodable delivery report %s: %s", self.name, pdu_hex, error)
            return
        if not isinstance(report, pdu.StatusReport):
            log.warning("%s: a %s where a delivery report was expected", self.name, type(report).__name__)
            return
        result = self.reports.apply(self.name, report.reference, report.number, report.status)
        self.on_reported(result)
        if result.message_id is None:
            log.info("%s: delivery report for reference %d to %s matches no message of ours",
                     self.name, report.reference, report.number)

    def start(self) -> None:
        self.driver.start()

    def stop(self) -> None:
        self.driver.stop()

    def send(self, message: OutboundMessage, queue: Queue, done: Done) -> None:
        try:
            parts = queue.parts(message.id, lambda: build_pdus(message, self.driver.smsc, self.delivery_reports))
        except pdu.PDUError as error:
            done(Outcome(False, error_text=str(error), permanent=True))
            return
        self._busy = True

        def finish(outcome: Outcome) -> None:
            self._busy = False
            done(outcome)
        self._send_parts(message, parts, queue, finish)

    def _send_parts(self, message: OutboundMessage, parts: list[PartToSend], queue: Queue,
                    done: Callable[[Outcome], None], sent_count: int = 0) -> None:
        if not parts:
            done(Outcome(True, parts=sent_count))
            return
        part, rest = parts[0], parts[1:]

        def sent(result: SendResult) -> None:
            if not result.ok:
                # a part of unknown fate counts: it may have cost an SMS
                done(Outcome(False, result.error_code, result.error_text, result.permanent,
                             parts=sent_count + result.unknown_fate, refused=result.refused))
                return
            with bookkeeping(queue.durability):  # the reference and, after the last part, the outcome
                queue.part_sent(part.id, result.reference if result.reference is not None else -1, self.name)
                self._send_parts(message, rest, queue, done, sent_count + 1)
        self.driver.send(part.pdu, part.tpdu_length, sent)
