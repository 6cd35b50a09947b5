"""A simulated GSM modem on a pseudo-terminal, speaking AT like a SIM800/SIM7600/EC25/Huawei.

Clients (the appliance's driver, pyserial, minicom, gammu) open :attr:`SimulatedModem.path`
like a real serial port.

Layout:

* :class:`~hil.engine.ModemEngine` is the modem's byte behaviour (echo, framing, prompt,
  timing, URCs) over a :class:`~hil.device.Device` (settings, SIM, network, message store,
  SMS service) whose commands live in :mod:`hil.at_commands`, :mod:`hil.sim`,
  :mod:`hil.network` and :mod:`hil.sms_commands`. None of it does I/O.
* :class:`SimulatedModem` (here) puts an engine on a :class:`~hil.pty_port.PtyPort` served
  on an asyncio loop by a :class:`~hil.pty_server.PtyServer` (``loop.add_reader`` on the
  pty master, the loop's ``call_later`` for every delay), keeps the record of sent PDUs
  and the CBOR trace (:mod:`hil.trace`), and is the Python API of the faults
  (:mod:`hil.faults`) and of the network side: delivering SMS, status report outcomes,
  registration.

Every output byte passes through :meth:`SimulatedModem._emit` tagged with an
:class:`~hil.engine.Out` kind: that is where URCs are injected at a chosen position.

Two ways to run it (:mod:`hil.loop_host`):

* **standalone** (``SimulatedModem()``, the default): :meth:`~SimulatedModem.start` makes
  an asyncio loop and runs it on a thread of its own until :meth:`~SimulatedModem.stop`.
  For callers without a loop: tests that talk to the pty with pyserial, several modems in
  one test, a driver under test on a loop of its own.
* **on a given loop** (``SimulatedModem(loop=loop)``): served on that loop, no thread of
  its own. The appliance started with ``--simulate N`` runs its simulated modems on its
  own loop this way, and ``python -m hil.simulator`` on the main thread's loop. The loop
  is its owner's: :meth:`~SimulatedModem.stop` stops serving, it does not stop the loop.

Either way the engine is only ever touched on the loop's thread. Every method may be
called from any thread and returns once its effect is done: called on the loop's thread
(from a callback or coroutine of that loop), or while the loop is not running yet, it runs
at once; from another thread it is handed over with ``call_soon_threadsafe`` and waited
for, so the loop's thread must never wait for a thread that is calling the simulator.
:meth:`~SimulatedModem.wait_sent` blocks: on the loop's own thread it only returns what is
there already (it raises :class:`RuntimeError` if it would have to wait).

Run ``python -m hil.simulator --help`` for the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from appliance.pdu import encode_deliver
from hil.device import ModemOptions
from hil.engine import ModemEngine, Out, frame
from hil.faults import RandomPacer, UrcInjector, UrcPosition, garbage
from hil.messaging import HANG, REBOOT, SendFault, SentPDU, tpdu_length
from hil.network import DENIED, HOME, NOT_REGISTERED, SEARCHING
from hil.profiles import PROFILES, ModemProfile, get_profile
from hil.pty_port import PtyPort
from hil.pty_server import PtyServer
from hil.storage import Stat, StoredMessage
from hil.trace import HOST, MODEM, TraceWriter
from hil.waiting import DEADLINE

# SentPDU is what SimulatedModem.sent and wait_sent() return, so it is importable from here.
__all__ = ["HANG", "REBOOT", "SentPDU", "SimulatedModem", "UrcPosition", "main"]

log = logging.getLogger("hil.simulator")


class SimulatedModem:
    """A simulated modem on a pty, served on an asyncio loop: ``loop``, or one of its own
    on a thread of its own (see the module's documentation).

    >>> with SimulatedModem(model="sim800") as modem:   # doctest: +SKIP
    ...     port = serial.Serial(modem.path, 115200, timeout=1)
    ...     port.write(b"AT\\r"); port.read(9)           # b'AT\\r\\r\\nOK\\r\\n'

    Timing and SIM options are those of :class:`~hil.device.ModemOptions` (``latency``,
    ``send_latency``, ``first_reference``, ``pin``, ``puk``, ``sim_busy``,
    ``report_delay``, ``status_reports``, ``cnma_timeout``, ``ussd_delay``). ``record``
    names a file that gets one JSON line per sent PDU, flushed at once; ``trace`` a CBOR
    trace of every byte (:mod:`hil.trace`). ``link`` names a symlink to the pty created on
    start and removed on stop (and kept pointing at the pty when the port vanishes and
    comes back). ``chunked`` cuts output into random chunks from the start; ``seed`` seeds
    the random chunking and garbage. ``ring`` is the RI line: called (on the loop's
    thread) with every ``+CMTI``/``+CMT`` the modem raises, as real modems pulse RI low for
    ~120 ms on a new SMS; it is pulsed even when the URC itself is lost (:meth:`lose_urcs`).

    Every method may be called from any thread; it returns once its effect is done.
    Every delay (latency, boot, SIM busy, status reports, paced output, a port that comes
    back) is a timer of the loop, and the trace's times are read from the loop's clock (a
    loop of its own: :func:`time.monotonic`), so a test that moves the loop's time moves
    the modem's.
    """

    def __init__(
        self,
        *,
        model: str | ModemProfile = "sim800",
        latency: float = 0.0,
        send_latency: float | None = None,
        first_reference: int = 0,
        pin: str | None = None,
        puk: str = "12345678",
        sim_busy: float = 0.0,
        report_delay: float = 6.0,
        status_reports: bool = True,
        cnma_timeout: float = 15.0,
        ussd_delay: float = 0.2,
        record: str | os.PathLike[str] | None = None,
        trace: str | os.PathLike[str] | None = None,
        link: str | os.PathLike[str] | None = None,
        chunked: bool = False,
        seed: int | None = None,
        ring: Callable[[], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.profile = get_profile(model)
        options = ModemOptions(
            latency=latency,
            send_latency=send_latency,
            first_reference=first_reference,
            pin=pin,
            puk=puk,
            sim_busy=sim_busy,
            report_delay=report_delay,
            status_reports=status_reports,
            cnma_timeout=cnma_timeout,
            ussd_delay=ussd_delay,
        )
        self._record_path = os.fspath(record) if record is not None else None
        self._trace_path = os.fspath(trace) if trace is not None else None
        self._cond = threading.Condition()  # guards _sent and _commands, read by any thread
        self._sent: list[SentPDU] = []
        self._commands: list[str] = []
        self._silent = False
        self._urcs_lost = False
        self._injector = UrcInjector()
        self._rng = random.Random(seed)
        self._concat_reference = 0
        self._port = PtyPort(link)
        self._server = PtyServer(
            self._port,
            name=f"hil-modem-{self.profile.key}",
            on_input=self._on_input,
            on_written=self._on_written,
            loop=loop,
        )
        if chunked:
            self._server.pacer = RandomPacer(self._rng)
        self._engine = ModemEngine(
            self.profile,
            emit=self._emit,
            call_later=self._server.call_later,
            on_sent=self._record_sent,
            on_command=self._record_command,
            on_ring=ring,
            options=options,
        )
        self._record_file: TextIO | None = None
        self._trace: TraceWriter | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def path(self) -> str:
        """The device clients open: the link if one was given, else the pty slave."""
        if not self._server.started:
            raise RuntimeError("the simulated modem is not started")
        return self._port.path

    @property
    def device(self) -> str:
        """The pty slave device itself (``/dev/pts/N``), or the last one while vanished."""
        if self._port.last_device is None:
            raise RuntimeError("the simulated modem is not started")
        return self._port.last_device

    def start(self) -> SimulatedModem:
        if self._server.started:
            raise RuntimeError("the simulated modem was already started")
        try:
            self._port.open()
            if self._record_path is not None:
                self._record_file = open(self._record_path, "a", encoding="utf-8")  # noqa: SIM115
            if self._trace_path is not None:
                self._trace = TraceWriter(self._trace_path, model=self.profile.key,
                                          clock=self._server.time)
            self._server.start()
        except BaseException:
            self._release()
            raise
        return self

    def stop(self) -> None:
        """Stop serving (and a loop of its own, joining its thread), close the pty, the
        record and the trace, remove the link. Idempotent."""
        if not self._server.started or self._server.stopped:
            return
        self._server.stop()
        self._release()
        with self._cond:
            self._cond.notify_all()  # wait_sent() gives up at once

    def __enter__(self) -> SimulatedModem:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._port.device or "not started"
        return f"<SimulatedModem {self.profile.key} {where}>"

    # ----------------------------------------------------------------- what happened

    @property
    def sent(self) -> list[SentPDU]:
        """A snapshot of every PDU accepted so far, in order."""
        with self._cond:
            return list(self._sent)

    @property
    def commands(self) -> list[str]:
        """A snapshot of every AT command line received so far, without its terminator."""
        with self._cond:
            return list(self._commands)

    def messages(self, storage: str) -> list[tuple[int, int, str]]:
        """A snapshot of one storage: ``(index, stat, pdu)`` per stored message."""
        store = self._engine.device.store
        return self._server.run(
            lambda: [(i, int(m.stat), m.pdu) for i, m in store[storage].messages()]
        )

    def wait_sent(self, count: int, timeout: float = DEADLINE) -> list[SentPDU]:
        """Wait until at least ``count`` PDUs were sent; return them all (a snapshot).
        On the loop's own thread nothing can be sent while it waits: there it raises
        :class:`RuntimeError` instead of waiting."""
        on_loop = self._server.host.on_loop()
        with self._cond:
            done = self._cond.wait_for(
                lambda: len(self._sent) >= count
                or self._server.failure is not None
                or self._server.stopped,
                0.0 if on_loop else timeout,
            )
            if self._server.failure is not None:
                raise RuntimeError("the simulated modem failed") from self._server.failure
            if not done and on_loop:
                raise RuntimeError(f"{len(self._sent)} PDU(s) sent, {count} expected: waiting "
                                   "on the simulator's own loop would block it")
            if not done or len(self._sent) < count:
                raise TimeoutError(
                    f"{len(self._sent)} PDU(s) sent, {count} expected within {timeout} s"
                )
            return list(self._sent)

    # ----------------------------------------------------------------- the network side

    def deliver_pdu(self, pdu_hex: str, tpdu_octets: int | None = None) -> None:
        """The network delivers one SMS-DELIVER (hex, SMSC part first): stored with
        ``+CMTI`` or shown with ``+CMT`` as AT+CNMI says, or kept by the network until the
        modem can take it (not ready, not registered, storage full). ``tpdu_octets`` is the
        length the modem announces, for a PDU too broken to measure (an odd digit count)."""
        length = tpdu_length(pdu_hex) if tpdu_octets is None else tpdu_octets
        self._server.run(lambda: self._engine.device.messaging.receive(pdu_hex, length))

    def deliver_sms(
        self,
        number: str,
        text: str,
        *,
        encoding: str = "auto",
        parts_order: Sequence[int] | None = None,
        drop_parts: Iterable[int] = (),
        timestamp: datetime.datetime | None = None,
    ) -> list[str]:
        """Deliver ``text`` from ``number``, in as many parts as it takes.

        ``parts_order`` (1-based part numbers, a permutation) delivers the parts out of
        order, ``drop_parts`` never delivers some (docs/modems.md §6); ``timestamp``
        (aware; default now) is every part's TP-SCTS. Returns the PDUs delivered, in order.
        """
        moment = timestamp or datetime.datetime.now(datetime.UTC).astimezone()
        device = self._engine.device

        def deliver() -> list[str]:
            self._concat_reference = self._concat_reference % 255 + 1
            parts = encode_deliver(
                number, text, smsc=device.settings.smsc[0] or None, timestamp=moment,
                encoding=encoding, concat_reference=self._concat_reference,
            )
            numbers = list(range(1, len(parts) + 1))
            order = list(parts_order) if parts_order is not None else numbers
            dropped = set(drop_parts)
            if sorted(order) != numbers or not dropped <= set(numbers):
                raise ValueError(f"parts are numbered 1..{len(parts)}: bad order or drop")
            delivered = [parts[n - 1] for n in order if n not in dropped]
            for part in delivered:
                device.messaging.receive(part.pdu, part.tpdu_length)
            return [part.pdu for part in delivered]

        return self._server.run(deliver)

    def set_next_report(self, status: int, *, delay: float | None = None) -> None:
        """The next send that asks for a status report gets TP-ST ``status`` (e.g. 0x40,
        permanent failure) after ``delay`` s (default: ``report_delay``). Queued per call."""
        if not 0 <= status <= 255 or (delay is not None and delay < 0):
            raise ValueError("status is an octet and delay >= 0")
        self._server.run(lambda: self._engine.device.messaging.plan_report(status, delay))

    def lose_network(self, status: int = NOT_REGISTERED) -> None:
        """Registration is lost (``status`` 0 not searching, 2 searching, 3 denied):
        ``+CREG: <status>`` URCs as enabled, sends answer ``+CMS ERROR: 331``."""
        if status not in (NOT_REGISTERED, SEARCHING, DENIED):
            raise ValueError("a lost registration is status 0, 2 or 3")
        self._registration(status)

    def regain_network(self) -> None:
        """Registered at home again; what the network held is delivered."""
        self._registration(HOME)

    def _registration(self, status: int) -> None:
        self._server.run(lambda: self._engine.device.set_registration(status))

    def set_lte_only(self, lte_only: bool = True) -> None:
        """Attached on LTE only (an LTE model on a network without 2G/3G fallback): +CREG
        says not registered (0) while +CEREG says registered, and sends go through."""
        if not self.profile.eps:
            raise ValueError(f"{self.profile.key} has no LTE")
        self._server.run(lambda: self._engine.device.set_cs_attached(not lte_only))

    def set_smsc(self, number: str | None) -> None:
        """The SMS centre number the SIM holds: AT+CSCA? shows it, a PDU without one of its
        own goes there. ``None``: the SIM has none (``+CSCA: "",129``) and such sends
        answer ``+CMS ERROR: 330`` until AT+CSCA writes one; a reboot keeps it."""
        value = ("", 129) if not number else (number, 145 if number.startswith("+") else 129)
        settings = self._engine.device.settings
        self._server.run(lambda: setattr(settings, "smsc", value))

    def set_ussd_reply(self, text: str, *, status: int = 0, dcs: int = 15) -> None:
        """What the network answers the next USSD requests (``+CUSD: <status>,"<text>",<dcs>``);
        ``text`` may hold a bare ``\\n`` as real networks send."""
        network = self._engine.device.network
        self._server.run(lambda: setattr(network, "ussd_reply", (status, text, dcs)))

    # ----------------------------------------------------------------- faults

    def fail_next_send(self, cms_code: int) -> None:
        """Answer the next send (after its PDU and Ctrl-Z) ``+CMS ERROR: <cms_code>``.

        Nothing is recorded and no message reference is used. Each call queues one failure.
        """
        if not isinstance(cms_code, int) or cms_code < 0:
            raise ValueError("cms_code must be a non-negative int")
        self._server.run(lambda: self._engine.device.messaging.fail_next_send(cms_code))

    def fault_sends(self, every: int, fault: SendFault, *, once: bool = False) -> None:
        """A flawed modem: every ``every``-th send from now on (only the ``every``-th, with
        ``once``), counted across reboots, meets ``fault``: a ``+CMS ERROR`` code, ``HANG``
        (no answer until a reboot or a reset) or ``REBOOT`` (a spontaneous reboot once the
        PDU is in). Where plans meet one send, a hang beats a reboot beats an error."""
        if not isinstance(every, int) or every < 1:
            raise ValueError("every must be a positive int")
        if fault not in (HANG, REBOOT) and not (isinstance(fault, int) and fault >= 0):
            raise ValueError("fault must be a non-negative +CMS ERROR code, HANG or REBOOT")
        self._server.run(lambda: self._engine.device.messaging.fault_sends(every, fault, once=once))

    def store_reports(self) -> None:
        """From now on status reports are stored in SR and announced with ``+CDSI``, as
        AT+CNMI <ds> 2 asks: a setting another program left, or firmware that keeps its own
        routing. The host's next AT+CNMI decides again."""
        settings = self._engine.device.settings

        def change() -> None:
            mode, mt, bm, _ds, bfr = settings.cnmi
            settings.cnmi = (mode, mt, bm, 2, bfr)

        self._server.run(change)

    def hang_next_send(self) -> None:
        """Never answer the next send (after its Ctrl-Z), as a module that locks up in a
        send does; only reboot() or set_silent() end the wait. Nothing is recorded."""
        self._server.run(self._engine.device.messaging.hang_next_send)

    def send_faults_pending(self) -> int:
        """How many of the faults fail_next_send() and hang_next_send() queued still wait
        for their send. The host having written a PDU does not mean the modem has read it:
        a test that must act after the fault met its send waits for 0."""
        messaging = self._engine.device.messaging
        return self._server.run(lambda: messaging.faults_pending)

    def set_silent(self, silent: bool) -> None:
        """A hung modem: swallow all input and answer nothing.

        Going silent drops whatever was in progress (a scheduled reply, a half-written PDU,
        output not yet delivered), as a modem that locks up would; nothing is recorded.
        """
        def change() -> None:
            self._silent = bool(silent)
            if self._silent:
                self._engine.hang()
                self._server.discard_output()

        self._server.run(change)

    def lose_urcs(self, lost: bool) -> None:
        """Unsolicited result codes never reach the host (``+CMTI``, ``+CDS``, ``+CREG``,
        boot banners ...), as with indications that are lost on the line or switched off
        behind the host's back; the RI line still pulses. Injected URCs still go out."""
        self._server.run(lambda: setattr(self, "_urcs_lost", bool(lost)))

    def reboot(self, *, boot_delay: float = 0.0, sim_busy: float | None = None) -> None:
        """A spontaneous reset: what was in progress is lost; for ``boot_delay`` s bytes get
        no answer (no echo either); then the profile's readiness URCs (``RDY``,
        ``+CPIN: READY``, ...), ``sim_busy`` s of ``+CME ERROR: 14`` (default: the
        constructor's), and ``SMS Ready`` / ``SMS DONE``. Echo, CMEE, CMGF, CNMI are back at
        their power-up values; stored messages survive."""
        if boot_delay < 0 or (sim_busy is not None and sim_busy < 0):
            raise ValueError("delays must be >= 0")
        def reset() -> None:
            self._engine.reboot(boot_delay, sim_busy)
            self._server.discard_output()

        self._server.run(reset)

    def fill_storage(self, storage: str | None = None) -> int:
        """Fill every free slot of ``storage`` (default: where new SMS go, AT+CPMS <mem3>)
        with read messages: new SMS are then not stored and get no +CMTI until the host
        deletes some; AT+CMGW answers 322. Returns how many messages were added."""
        device = self._engine.device

        def fill() -> int:
            name = storage or device.settings.storages[2]
            filler = encode_deliver(
                "+15555550199",
                "filler",
                smsc=device.settings.smsc[0] or None,
                timestamp=datetime.datetime.now(datetime.UTC),
            )[0]
            added = 0
            while not device.store[name].full:
                device.store[name].put(StoredMessage(Stat.REC_READ, filler.pdu, filler.tpdu_length))
                added += 1
            return added

        return self._server.run(fill)

    def inject_urc(self, *urcs: str, position: UrcPosition = UrcPosition.NOW) -> None:
        """Emit URCs (each framed ``\\r\\n<urc>\\r\\n``; a two-line one holds ``\\r\\n``)
        now, or at ``position`` in the next output of the matching kind; several at once
        make a burst."""
        data = b"".join(frame([[urc]], None) for urc in urcs)

        def inject() -> None:
            if position is not UrcPosition.NOW:
                self._injector.add(position, data)
            elif not self._silent:
                self._server.write(data)

        self._server.run(inject)

    def inject_garbage(self, data: bytes | None = None, *, length: int = 16) -> bytes:
        """Write line noise now (``data``, or ``length`` random bytes); returns it."""
        noise = data if data is not None else garbage(self._rng, length)
        self._server.run(lambda: None if self._silent else self._server.write(noise))
        return noise

    def set_pdu_junk(self, junk: str) -> None:
        """Write ``junk`` (a stray ``"``, say) right after each PDU that AT+CMGR and
        AT+CMGL show, on the same line, as some firmware does; ``""`` stops it."""
        device = self._engine.device
        self._server.run(lambda: setattr(device, "pdu_junk", junk))

    def set_chunked(self, enabled: bool, *, max_chunk: int = 64, max_gap: float = 0.020) -> None:
        """Deliver output in random chunks of 1..``max_chunk`` bytes with pauses of
        0..``max_gap`` s, as a UART/USB stack fragments it."""
        pacer = RandomPacer(self._rng, max_chunk, max_gap) if enabled else None
        self._server.run(lambda: setattr(self._server, "pacer", pacer))

    def set_noise(self, interval: float | None) -> None:
        """Emit the profile's periodic vendor URCs (Huawei ``^RSSI:``) every ``interval`` s
        until AT^CURC=0 (``None`` stops them); ValueError for a model without any."""
        self._server.run(lambda: self._engine.device.set_noise(interval))

    def vanish(self, duration: float | None = None) -> None:
        """The port disappears (a USB modem dropping off the bus): the pty and the link go
        away, clients reading get EOF/EIO; what was in progress is lost. It comes back after
        ``duration`` s (``None``: when :meth:`reappear` is called) as a new pty behind the
        same link."""

        def gone() -> None:
            self._server.close_port()
            self._engine.hang()
            if duration is not None:
                self._server.call_later(duration, self._server.reopen)

        self._server.run(gone)

    def reappear(self) -> None:
        """The vanished port is back: a new pty, the link pointing at it."""
        self._server.run(self._server.reopen)

    # ----------------------------------------------------------------- hooks (the loop's thread)

    def _emit(self, kind: Out, data: bytes) -> None:
        """Every byte the modem sends passes here, tagged with what it is."""
        if self._silent or (kind is Out.URC and self._urcs_lost):
            return
        self._server.write(self._injector.shape(kind, data))

    def _on_input(self, data: bytes) -> None:
        if self._trace is not None:
            self._trace.record(HOST, data)
        if not self._silent:
            self._engine.feed(data)

    def _on_written(self, data: bytes) -> None:
        if self._trace is not None:
            self._trace.record(MODEM, data)

    def _record_command(self, line: str) -> None:
        with self._cond:
            self._commands.append(line)

    def _record_sent(self, sent: SentPDU) -> None:
        if self._record_file is not None:
            line = {"time": sent.time, "length": sent.length,
                    "reference": sent.reference, "pdu": sent.pdu}
            self._record_file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._record_file.flush()
        with self._cond:
            self._sent.append(sent)
            self._cond.notify_all()

    def _release(self) -> None:
        self._port.close()
        for name in ("_record_file", "_trace"):
            handle = getattr(self, name)
            if handle is not None:
                setattr(self, name, None)
                handle.close()


# --------------------------------------------------------------------------- command line


async def _serve_until_signal(modem: SimulatedModem, *, commands: bool) -> None:
    """Serve ``modem`` on the running loop until SIGINT or SIGTERM; print its path first,
    and read fault commands from stdin if asked."""
    from hil.control import serve_commands

    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopped.set)
    with modem:
        print(modem.path, flush=True)
        if commands:
            threading.Thread(
                target=serve_commands, args=(modem, sys.stdin, sys.stderr), daemon=True
            ).start()
        await stopped.wait()


def main(argv: list[str] | None = None) -> int:
    from hil.control import CONTROL_HELP

    parser = argparse.ArgumentParser(
        prog="python -m hil.simulator",
        description="Serve a simulated GSM modem on a pty; print its device path, serve "
        "until SIGINT/SIGTERM.",
    )
    parser.add_argument("--model", choices=sorted(PROFILES), default="sim800")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay of every reply and of the AT+CMGS prompt (default 0)")
    parser.add_argument("--send-latency-ms", type=float, default=None,
                        help="delay of the +CMGS result after Ctrl-Z (default: --latency-ms)")
    parser.add_argument("--report-delay-ms", type=float, default=6000.0,
                        help="delay of a requested status report after +CMGS (default 6000)")
    parser.add_argument("--no-reports", action="store_true",
                        help="the network ignores TP-SRR: no status reports at all")
    parser.add_argument("--record", metavar="FILE",
                        help="append one JSON line per sent PDU to FILE")
    parser.add_argument("--trace", metavar="FILE",
                        help="record every byte of the session to FILE (CBOR, see hil.trace)")
    parser.add_argument("--link", metavar="PATH",
                        help="create a symlink PATH to the pty (removed on exit)")
    parser.add_argument("--first-reference", type=int, default=0, metavar="MR",
                        help="first +CMGS message reference (0-255, default 0)")
    parser.add_argument("--pin", help="the SIM asks for this PIN (4-8 digits)")
    parser.add_argument("--sim-busy-ms", type=float, default=0.0,
                        help="+CME ERROR: 14 for this long after PIN, boot and CFUN=1")
    parser.add_argument("--chunked", action="store_true",
                        help="deliver output in random 1-64 byte chunks, 0-20 ms apart")
    parser.add_argument("--noise", type=float, metavar="SECONDS",
                        help="periodic vendor URCs (huawei: ^RSSI) every SECONDS")
    parser.add_argument("--commands", action="store_true",
                        help="read fault commands from stdin, one a line: " + CONTROL_HELP)
    args = parser.parse_args(argv)
    if min(args.latency_ms, args.report_delay_ms, args.sim_busy_ms) < 0 or (
        args.send_latency_ms is not None and args.send_latency_ms < 0
    ):
        parser.error("latencies and delays must be >= 0")
    if not 0 <= args.first_reference <= 255:
        parser.error("--first-reference must be within 0-255")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(name)s: %(levelname)s: %(message)s")

    # The modem runs on this thread's loop; fault commands come from a thread of their
    # own and are handed over to it like any other caller's.
    loop = asyncio.new_event_loop()
    try:
        try:
            send_latency_ms = args.send_latency_ms
            modem = SimulatedModem(
                model=args.model,
                latency=args.latency_ms / 1000.0,
                send_latency=None if send_latency_ms is None else send_latency_ms / 1000.0,
                report_delay=args.report_delay_ms / 1000.0,
                status_reports=not args.no_reports,
                sim_busy=args.sim_busy_ms / 1000.0,
                record=args.record,
                trace=args.trace,
                link=args.link,
                first_reference=args.first_reference,
                pin=args.pin,
                chunked=args.chunked,
                loop=loop,
            )
            if args.noise is not None:
                modem.set_noise(args.noise)
        except ValueError as error:
            parser.error(str(error))
        loop.run_until_complete(_serve_until_signal(modem, commands=args.commands))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
