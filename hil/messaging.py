"""The SMS service between the simulated network and the host.

Sending: a PDU the host submitted (AT+CMGS, AT+CMSS) is answered after the send latency
with ``+CMGS: <mr>`` (mr counts 0-255 and wraps), or with the failure a test queued, or
``+CMS ERROR: 330`` when neither the PDU nor the SIM names a service centre, or
``+CMS ERROR: 331`` without registration; if the SUBMIT asked for a status report
(TP-SRR), the network sends one back some time later.

Receiving: SMS-DELIVERs and status reports from the network are routed as AT+CNMI says
(27.005 §3.4.1): stored with ``+CMTI``/``+CDSI``, or shown directly with the two-line
``+CMT``/``+CDS``, which need ``AT+CNMA`` when AT+CSMS=1 (no ack in time: the modem turns
routing off, mt=ds=0, and the network delivers again). What the modem cannot take yet (not
ready, not registered, storage full) the network keeps and offers again later, as real
networks do (a full SIM gets no +CMTI until a slot is freed).
"""

from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.pdu import PDUError, Submit, decode
from hil import text_mode
from hil.at_commands import AtError, Later
from hil.status_report import DELIVERED, encode_status_report
from hil.storage import MemoryFull, Stat, StoredMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from hil.device import Device, TimerHandle

__all__ = ["HANG", "REBOOT", "Messaging", "SendFault", "SentPDU", "tpdu_length"]

# what a planned send meets: a +CMS ERROR code, no answer ever (until a reboot), or a reboot
# of the modem once the PDU is in
HANG, REBOOT = "hang", "reboot"
SendFault = int | str
_SEVERITY = {HANG: 0, REBOOT: 1}  # when two plans meet one send, the worse fault wins


@dataclass(frozen=True)
class _SendPlan:
    """A flaw the modem keeps, reboots included: ``fault`` on the ``every``-th send counted
    from ``start`` sends (on that one only, if ``once``)."""

    start: int
    every: int
    fault: SendFault
    once: bool

    def hits(self, sends: int) -> bool:
        n = sends - self.start
        return n > 0 and n % self.every == 0 and (not self.once or n == self.every)


@dataclass(frozen=True)
class SentPDU:
    """One PDU the modem accepted with AT+CMGS and answered ``+CMGS: <reference>``."""

    pdu: str  # upper-case hex, including the SMSC part
    length: int  # the <length> of AT+CMGS (TPDU octets)
    reference: int  # the message reference answered (+CMGS: <mr>), 0-255
    time: float  # time.time() when the modem answered


def tpdu_length(pdu_hex: str) -> int:
    """The TPDU length of a hex PDU that starts with its SMSC part (what AT+CMGS expects).

    The first octet is the SMSC length L (``00`` = use AT+CSCA), so the TPDU has
    ``octets - 1 - L`` octets. Raises :class:`ValueError` for non-hex, odd length, or an
    SMSC part that leaves no TPDU.
    """
    if not pdu_hex or len(pdu_hex) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", pdu_hex):
        raise ValueError("a PDU is a non-empty even number of hex digits")
    octets = len(pdu_hex) // 2
    smsc_length = int(pdu_hex[:2], 16)
    tpdu = octets - 1 - smsc_length
    if tpdu < 1:
        raise ValueError(f"SMSC length {smsc_length} leaves no TPDU in {octets} octets")
    return tpdu


@dataclass
class _Incoming:
    pdu: str
    length: int
    report: bool  # a status report (else an SMS-DELIVER)
    refused: bool = False  # the storage was full once already (its URC was shown)


class Messaging:
    """Sends and receives SMS for one :class:`~hil.device.Device`."""

    def __init__(self, device: Device, on_sent: Callable[[SentPDU], None]) -> None:
        self.device = device
        self.next_reference = device.options.first_reference
        self._on_sent = on_sent
        self._send_outcomes: collections.deque[int | None] = collections.deque()  # None: hang
        self._send_plans: list[_SendPlan] = []
        self.sends = 0  # PDUs submitted since the modem was made, across reboots
        self._report_plans: collections.deque[tuple[int, float | None]] = collections.deque()
        self._network_queue: list[_Incoming] = []  # what the network still has to deliver
        self._buffered: list[list[str]] = []  # CNMI <mode> 0: indications kept in the TA
        self._unacked: _Incoming | None = None  # a +CMT/+CDS waiting for AT+CNMA
        self._ack_timer: TimerHandle | None = None
        self._held: collections.deque[_Incoming] = collections.deque()  # behind the unacked

    # ----------------------------------------------------------------- sending

    def fail_next_send(self, cms_code: int) -> None:
        self._send_outcomes.append(cms_code)

    def hang_next_send(self) -> None:
        self._send_outcomes.append(None)

    def fault_sends(self, every: int, fault: SendFault, *, once: bool = False) -> None:
        """Every ``every``-th send from now on (only the ``every``-th, with ``once``) meets
        ``fault``: a modem that is flawed, not one that failed once."""
        self._send_plans.append(_SendPlan(self.sends, every, fault, once))

    def _planned(self) -> SendFault | None:
        faults = [plan.fault for plan in self._send_plans if plan.hits(self.sends)]
        return min(faults, key=lambda fault: _SEVERITY.get(str(fault), 2), default=None)

    @property
    def faults_pending(self) -> int:
        """The failures and hangs queued for sends that have not come yet."""
        return len(self._send_outcomes)

    def plan_report(self, status: int, delay: float | None) -> None:
        """The next send that asks for a report gets TP-ST ``status`` after ``delay``."""
        self._report_plans.append((status, delay))

    def submit(self, pdu: str, length: int, result: str = "+CMGS") -> Later:
        """The network's answer to a valid PDU: ``<result>: <mr>`` later, or an error."""
        failure: int | None = None
        self.sends += 1
        planned = self._planned()
        if planned == REBOOT:
            self.device.call_later(0.0, self.device.reset)  # the PDU is in: its fate unknown
            return Later(None, list)
        if planned == HANG:
            return Later(None, list)
        if isinstance(planned, int):
            failure = planned
        elif self._send_outcomes:
            failure = self._send_outcomes.popleft()
            if failure is None:  # hang_next_send()
                return Later(None, list)

        def produce() -> list[list[str]]:
            if failure is not None:
                raise AtError("CMS", failure)
            if pdu.startswith("00") and not self.device.settings.smsc[0]:
                raise AtError("CMS", 330)  # no SMSC in the PDU, and none on the SIM
            if not self.device.network.registered:
                raise AtError("CMS", 331)
            reference = self.next_reference
            self.next_reference = (reference + 1) % 256
            self._on_sent(SentPDU(pdu=pdu, length=length, reference=reference, time=time.time()))
            self._schedule_report(pdu, reference)
            return [[f"{result}: {reference}"]]

        return Later(self.device.options.send_latency, produce)

    def _schedule_report(self, pdu: str, reference: int) -> None:
        if not self.device.options.status_reports:
            return
        try:
            submit = decode(pdu)
        except PDUError:
            return  # the network would reject it; the simulator only reports on real ones
        if not isinstance(submit, Submit) or not submit.status_report_requested:
            return
        status, delay = self._report_plans.popleft() if self._report_plans else (DELIVERED, None)
        network = self.device.network
        submitted = network.now()

        def arrive() -> None:
            report, length = encode_status_report(
                reference=reference,
                recipient=submit.number,
                recipient_toa=submit.toa,
                status=status,
                submitted=submitted,
                discharged=network.now(),
                smsc=self.device.settings.smsc[0],
            )
            self.receive(report, length, report=True)

        self.device.call_later(self.device.options.report_delay if delay is None else delay, arrive)

    # ----------------------------------------------------------------- receiving

    def receive(self, pdu: str, length: int, *, report: bool = False) -> None:
        """The network delivers an SMS-DELIVER (or a status report) to the modem."""
        self._network_queue.append(_Incoming(pdu.upper(), length, report))
        self.retry()

    def retry(self) -> None:
        """Offer again what the network holds (after readiness, registration, a free slot)."""
        queue, self._network_queue = self._network_queue, []
        for message in queue:
            if not self._route(message):
                self._network_queue.append(message)

    def acknowledge(self) -> None:
        """AT+CNMA: the host took the last +CMT/+CDS (``+CMS ERROR: 340`` if none waits)."""
        if self._unacked is None:
            raise AtError("CMS", 340)
        self._unacked = None
        self._give_back(self._stop_waiting())

    def cnmi_changed(self) -> None:
        """AT+CNMI=<mode>,...,<bfr>: leaving mode 0 flushes (bfr 0) or drops (bfr 1) what
        the TA kept."""
        mode, bfr = self.device.settings.cnmi[0], self.device.settings.cnmi[4]
        if mode == 0 or not self._buffered:
            return
        buffered, self._buffered = self._buffered, []
        if bfr == 0:
            for lines in buffered:
                self.device.urc(lines)

    def power_off(self) -> None:
        """A reboot forgets the indications in the TA and the pending acknowledgement: the
        network delivers the unacknowledged message again once the modem is back."""
        self._buffered.clear()
        unacked = [self._unacked] if self._unacked is not None else []
        self._unacked = None
        self._network_queue[:0] = unacked + self._stop_waiting()

    def _route(self, message: _Incoming) -> bool:
        """Deliver to the host as CNMI says; ``False``: the network must keep it."""
        device = self.device
        if not device.sms_ready or not device.network.registered:
            return False
        _mode, mt, _bm, ds, _bfr = device.settings.cnmi
        if message.report:
            if ds == 1:
                self._direct(message)
            elif ds == 2:
                self._store(message, "SR", device.profile.cdsi_storage, "+CDSI")
            return True  # ds=0: the report is not routed to the host
        message_class = _message_class(message.pdu)
        if (mt == 2 and message_class != 2) or (mt == 3 and message_class == 3):
            self._direct(message)
            return True
        return self._store(message, device.settings.storages[2], None, "+CMTI" if mt else None)

    def _store(self, message: _Incoming, storage: str, label: str | None, urc: str | None) -> bool:
        device = self.device
        try:
            index = device.store[storage].put(
                StoredMessage(Stat.REC_UNREAD, message.pdu, message.length)
            )
        except MemoryFull:
            if message.report:
                return True  # a full SR loses the report
            if not message.refused and device.profile.memory_full_urc:
                device.urc([device.profile.memory_full_urc.format(storage=storage)])
            message.refused = True
            return False
        if urc:
            self._indicate([f'{urc}: "{label or storage}",{index}'])
        return True

    def _direct(self, message: _Incoming) -> None:
        """+CMT / +CDS: the PDU goes to the host, acknowledged with AT+CNMA when CSMS=1."""
        if self._unacked is not None:
            self._held.append(message)  # 27.005: no second +CMT/+CDS before the ack
            return
        settings = self.device.settings
        if settings.cmgf == 1:
            lines = text_mode.direct(message.pdu, message.report, settings)
        elif message.report:
            lines = [f"+CDS: {message.length}", message.pdu]
        else:
            lines = [f"+CMT: ,{message.length}", message.pdu]
        self._indicate(lines)
        if settings.csms == 1:
            self._unacked = message
            self._ack_timer = self.device.call_later(
                self.device.options.cnma_timeout, self._ack_timeout
            )

    def _ack_timeout(self) -> None:
        # 27.005 §3.4.4: without the ack the ME turns routing to the TE off (mt=ds=0);
        # the network, not acknowledged, delivers the message again.
        settings = self.device.settings
        mode, _mt, bm, _ds, bfr = settings.cnmi
        settings.cnmi = (mode, 0, bm, 0, bfr)
        assert self._unacked is not None
        unacked, self._unacked = self._unacked, None
        self._give_back([unacked, *self._stop_waiting()])

    def _stop_waiting(self) -> list[_Incoming]:
        """No more waiting for AT+CNMA: the messages held behind the unacknowledged one."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        held = list(self._held)
        self._held.clear()
        return held

    def _give_back(self, messages: list[_Incoming]) -> None:
        """Back to the front of the network's queue (they came first), offered again."""
        self._network_queue[:0] = messages
        self.retry()

    def _indicate(self, lines: list[str]) -> None:
        if self.device.settings.cnmi[0] == 0:
            self._buffered.append(lines)
        else:
            self.device.urc(lines)


def _message_class(pdu: str) -> int | None:
    try:
        return decode(pdu).message_class
    except PDUError:
        return None  # stored raw, as a real modem stores what the network sent
