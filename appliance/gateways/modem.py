"""A modem as a gateway: a message becomes PDUs, each sent with AT+CMGS in turn (a task on
the event loop per message); what the modem receives goes into the store (SMS into the
inbox, delivery reports onto their parts)."""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import timedelta

from .. import pdu
from ..messages.types import MESSAGE_TYPES
from ..modem import errors
from ..modem.driver import ModemDriver, ModemHandlers, SendResult
from ..store.durability import bookkeeping
from ..store.inbox import Inbox
from ..store.models import OutboundMessage
from ..store.queue import PartToSend, Queue
from ..store.reports import ReportResult, Reports
from ..store.transactions import transaction
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
        self._sending: asyncio.Task[None] | None = None  # the message being sent
        self._reports_waiting: list[tuple[str, bool, bool]] = []  # came in during that send
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

    def _on_report(self, pdu_hex: str, has_smsc: bool, stored: bool) -> None:
        if self._sending is not None and not self._sending.done():
            # the send's +CMGS answer can come in the same read just before this report, and
            # its reference is stored only once the send's coroutine resumes: match after it.
            # A direct one goes into the send's last commit (_apply_reports_in_outcome); the
            # rest when the send is over (a report read from a slot is then matched after its
            # slot is deleted: a crash in that moment loses a delivery report, never a message)
            if not self._reports_waiting:
                self._sending.add_done_callback(lambda _: self._apply_reports_waiting())
            self._reports_waiting.append((pdu_hex, has_smsc, stored))
            return
        self._apply_report(pdu_hex, has_smsc, stored)

    def _apply_reports_waiting(self) -> None:
        waiting, self._reports_waiting = self._reports_waiting, []
        for pdu_hex, has_smsc, stored in waiting:
            self._apply_report(pdu_hex, has_smsc, stored)

    def _apply_reports_in_outcome(self) -> None:
        """The direct reports that came in during the send, inside its last (relaxed)
        commit: with a modem busy sending, nearly every report comes in during a send, and
        a commit of its own rewrote pages the outcome's commit writes anyway (bench/RESULTS.md,
        ``make bench-sd``). Each in a savepoint of its own (Reports), so that a fault in one
        loses that report alone, as it would have in a commit of its own, not the outcome."""
        waiting, self._reports_waiting = self._reports_waiting, []
        for pdu_hex, has_smsc, stored in waiting:
            if stored:
                self._reports_waiting.append((pdu_hex, has_smsc, stored))  # durable, after the send
                continue
            try:
                self._record_report(pdu_hex, has_smsc)
            except Exception:
                log.exception("%s: a delivery report could not be recorded: %s", self.name, pdu_hex)

    def _apply_report(self, pdu_hex: str, has_smsc: bool, stored: bool) -> None:
        """Commit the report, or keep it as unmatched if it names no part or does not
        decode. A report read from a slot is on the disk before the slot is deleted; one
        the modem gave directly (+CDS) commits with the sender's bookkeeping, its fsync
        shared within 100 ms (store/durability.py): there is no copy to delete, so only a
        power cut in those 100 ms could lose it, as one a moment earlier would have lost it
        on its way from the modem, and its own fsync cost the SD card 4 KB and the event
        loop the card's time per report (bench/RESULTS.md, ``make bench-sd``)."""
        with nullcontext() if stored else bookkeeping(self.reports.queue.durability):
            self._record_report(pdu_hex, has_smsc)

    def _record_report(self, pdu_hex: str, has_smsc: bool) -> None:
        try:
            report = pdu.decode(pdu_hex, smsc=has_smsc, strict=False)
            if not isinstance(report, pdu.StatusReport):
                raise pdu.PDUError(f"{type(report).__name__} where a delivery report was expected")
        except pdu.PDUError as error:
            log.warning("%s: undecodable delivery report kept: %s: %s", self.name, error, pdu_hex)
            self.reports.keep(self.name, pdu_hex, decode_error=str(error))
            return
        result = self.reports.apply(self.name, report.reference, report.number, report.status, pdu_hex=pdu_hex)
        self.on_reported(result)
        if result.message_id is None:
            log.info("%s: delivery report for reference %d to %s matches no message of ours: kept",
                     self.name, report.reference, report.number)

    def start(self) -> None:
        self.driver.start()

    def stop(self) -> None:
        self.driver.stop()

    def send(self, message: OutboundMessage, queue: Queue, done: Done) -> None:
        try:
            parts = queue.parts(message.id, lambda: build_pdus(message, self.driver.config.smsc,
                                                               self.delivery_reports))
        except pdu.PDUError as error:
            done(Outcome(False, error_text=str(error), permanent=True))
            return
        if not parts:
            done(Outcome(True))  # every part went out before a restart
            return
        self._busy = True
        first = self.driver.send(parts[0].pdu, parts[0].tpdu_length)  # out in this turn of the loop
        self._sending = self.driver.loop.create_task(self._send_parts(first, parts, queue, done))

    async def _send_parts(self, first: Awaitable[SendResult], parts: list[PartToSend], queue: Queue,
                          done: Done) -> None:
        """Each part in turn (the ``first`` one already handed to the modem), once the one
        before it has its reference; then ``done``, once."""
        outcome = Outcome(True, parts=len(parts))
        last: tuple[int, int] | None = None  # the last part's id and reference, kept with the outcome
        try:
            for number, part in enumerate(parts, start=1):
                result = await (first if number == 1 else self.driver.send(part.pdu, part.tpdu_length))
                if not result.ok:
                    # a part of unknown fate counts: it may have cost an SMS
                    outcome = Outcome(False, result.error_code, result.error_text, result.permanent,
                                      parts=number - 1 + result.unknown_fate, refused=result.refused,
                                      temporary=errors.is_temporary(result.error_code))
                    break
                reference = result.reference if result.reference is not None else -1
                if number < len(parts):
                    with bookkeeping(queue.durability):
                        queue.part_sent(part.id, reference, self.name)
                else:
                    last = (part.id, reference)
        except Exception as error:  # a broken store, say: the router tries again, a part may go twice
            log.exception("%s: sending failed", self.name)
            outcome = Outcome(False, error_text=f"internal error: {error}")
        finally:
            self._busy = False
        # the last reference, the outcome and the reports that came meanwhile: one relaxed commit
        with bookkeeping(queue.durability), transaction(queue.database):
            if last is not None:
                queue.part_sent(*last, self.name)
            done(outcome)
            self._apply_reports_in_outcome()
