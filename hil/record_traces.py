"""Record the appliance's ModemDriver against the simulator, one CBOR trace per scenario.

``python -m hil.record_traces [--out DIR] [NAME ...]`` runs each scenario's script: a
:class:`~hil.driver_session.DriverSession` (the real driver on its own event loop) talks to
a :class:`~hil.simulator.SimulatedModem` that records every byte (:mod:`hil.trace`), while
the script plays the network and the faults through the simulator's API and waits for
what the driver must do. ``hil/test_driver_replay.py`` runs the same scripts against
:class:`~hil.replay.ReplayModem`: there the modem's side is the recording, so the
simulator's API is stood in for by :class:`Replayed`, and the driver must write exactly
the recorded bytes and reach the same outcome (every script asserts its outcome, so a
trace is only written if the driver and the simulator behaved).

Determinism: the driver's own timers are long (:data:`~hil.driver_session.QUIET`), each
fault is injected only once the driver has settled (nothing pending or queued), and the
script acts on the driver again only once the fault's effect reached it (the state
entered, the SMS taken, the bytes read), so only the modem's bytes move the driver and a
replay takes the course of the recording. Waits count what happened rather than look at
the current state: a replay plays each modem write when the recording had it, however
fast its script is. Timeouts the scenarios rely on (the sync AT's 1 s, ``send_timeout``,
``restart_delay``, ``unregistered_interval``) are far from the recorded delays. Nothing
depends on the list of initialisation commands: after a change of it, re-running the
recorder is all the replay tests need.

The driver asks for ``+CMTI`` and ``+CDS``; the ``+CMT`` of the direct scenarios are
injected URCs (a modem routing by its own rules), and ``+CDSI`` comes from a modem told
to store reports (:meth:`~hil.simulator.SimulatedModem.store_reports`).

Limitation: a trace holds bytes, not the port's life. Where the port vanished (scenario
``port_vanishes``) the replay's pty stays; :meth:`Replayed.vanish` closes the driver's
port at that point instead, so the driver goes through the same restart (close, wait,
reopen, initialise) but not through noticing the loss itself (EIO on read), which the
simulator tests in ``hil/test_modem_faults.py`` cover.

Re-record after any change of what the driver writes: the traces hold its exact bytes.
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance import pdu
from appliance.modem.driver import ModemState
from hil.driver_session import DriverSession
from hil.faults import garbage
from hil.simulator import SimulatedModem

__all__ = ["SCENARIOS", "TRACES", "Replayed", "Scenario", "record"]

TRACES = Path(__file__).resolve().parent / "traces"
NUMBER = "+491701234567"
TO = "+447700900123"
WHEN = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
LONG = "Parts arrive out of order; reassemble by reference, never by index. " * 3  # 2 parts
UCS2 = "Сервер недоступен: db1 не отвечает, проверьте питание и сеть. " * 2  # 2 parts
LATENCY = {"latency": 0.02}  # every scenario's reply latency: short, but not zero


class Replayed:
    """The simulator's API during a replay: the recording holds the effects of its calls,
    so they do nothing, except :meth:`vanish`, which a recording cannot show."""

    def __init__(self, session: DriverSession) -> None:
        self._session = session

    def vanish(self, duration: float | None = None) -> None:
        """The port went away here: close the driver's port, as reading EIO does."""
        def lose() -> None:
            assert self._session.driver.channel is not None
            self._session.driver.channel.close("read failed: the port vanished (replayed)")

        self._session.call(lose)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


Script = Callable[[DriverSession, Any], None]  # (session, simulator or Replayed)


@dataclass(frozen=True)
class Scenario:
    script: Script
    modem: dict[str, Any] = field(default_factory=lambda: dict(LATENCY))  # SimulatedModem's
    driver: dict[str, Any] = field(default_factory=dict)  # DriverSession's: the PIN, the timings


def _ready(session: DriverSession) -> None:
    session.start()
    session.reached(ModemState.READY, what="the driver ready after initialisation")


def _received(session: DriverSession, count: int) -> None:
    session.until(lambda: len(session.sms) >= count and session.idle(), f"{count} SMS taken")


def _sent(session: DriverSession, text: str, **options: Any) -> list[int | None]:
    results = session.send(TO, text, **options)
    assert all(r.ok for r in results), results
    return [r.reference for r in results]


def _deleted(session: DriverSession) -> list[bytes]:
    """The AT+CMGD commands the driver wrote: it deletes only what it handed over."""
    return [line for line in bytes(session.written).split(b"\r") if line.startswith(b"AT+CMGD=")]


def _direct(number: str, text: str) -> list[str]:
    """The two-line ``+CMT`` URCs a modem shows an SMS with (CNMI <mt> 2), one per part."""
    parts = pdu.encode_deliver(number, text, smsc="+15555550100", timestamp=WHEN,
                               concat_reference=9)
    return [f"+CMT: ,{part.tpdu_length}\r\n{part.pdu}" for part in parts]


# ------------------------------------------------------------------------ initialisation


def init_echo_on(s: DriverSession, modem: Any) -> None:
    """A modem fresh from power-up: echo on until ATE0."""
    _ready(s)
    assert bytes(s.written).startswith(b"AT\rATE0\r")
    assert (s.driver.model, s.driver.dialect.name) == ("SIMCOM_SIM800L", "sim800")


def init_echo_off(s: DriverSession, modem: Any) -> None:
    """The service restarts: the modem still has echo off from the last initialisation."""
    _ready(s)
    s.call(s.driver.stop)
    s.call(s.driver.start)
    s.reached(ModemState.READY, 2, "ready again after the restart")
    assert s.states.count(ModemState.READY) == 2 and ModemState.STOPPED in s.states


def init_banners(s: DriverSession, modem: Any) -> None:
    """The modem is still booting when the driver starts: its first AT is lost, the boot
    banners land inside the pending AT, the second AT is answered."""
    modem.reboot(boot_delay=0.3, sim_busy=0.2)
    _ready(s)
    assert bytes(s.written).startswith(b"AT\r\x1bAT\rATE0\r")  # ESC: leave any PDU input


def init_pdu_input_left(s: DriverSession, modem: Any) -> None:
    """The service stopped between AT+CMGS and the PDU, so the modem still waits for a
    PDU when the driver starts again: the first AT is eaten, ESC ends the PDU input, and
    the modem's OK for that abort is not taken for the answer to the next AT."""
    _ready(s)
    part = pdu.encode_submit(TO, "never written")[0]

    async def send_and_stop() -> None:  # one turn of the loop: stopped before the prompt
        sending = s.driver.send(part.pdu, part.tpdu_length)  # AT+CMGS written at once
        s.driver.stop()
        assert (await sending).unknown_fate

    s.run(send_and_stop())
    assert s.written.endswith(b"AT+CMGS=%d\r" % part.tpdu_length)
    s.call(s.driver.start)
    s.reached(ModemState.READY, 2, "ready again, with the modem out of PDU input")
    assert ModemState.FAILED not in s.states  # no reply taken for another command's
    assert part.pdu.encode() not in s.written
    assert _sent(s, "written now") == [0]


def init_sim_pin(s: DriverSession, modem: Any) -> None:
    """The SIM asks for its PIN; the configured one is entered once."""
    _ready(s)
    assert bytes(s.written).count(b'AT+CPIN="1234"\r') == 1


# ------------------------------------------------------------------------ sending


def send_single(s: DriverSession, modem: Any) -> None:
    _ready(s)
    assert _sent(s, "Server down: db1") == [0]


def send_multipart(s: DriverSession, modem: Any) -> None:
    """A two-part message: each part goes out once the last one got its reference."""
    _ready(s)
    assert _sent(s, LONG) == [0, 1]


def send_error_transient(s: DriverSession, modem: Any) -> None:
    """+CMS ERROR: 42 (congestion) is worth another try, which then goes out."""
    _ready(s)
    modem.fail_next_send(42)
    (failed,) = s.send(TO, "retry me")
    assert (failed.ok, failed.error_code, failed.permanent, failed.unknown_fate) == (
        False, 42, False, False)
    assert _sent(s, "retry me") == [0]


def send_error_permanent(s: DriverSession, modem: Any) -> None:
    """+CMS ERROR: 28 (unidentified subscriber) fails the message for good."""
    _ready(s)
    modem.fail_next_send(28)
    (failed,) = s.send(TO, "to nobody")
    assert (failed.ok, failed.error_code, failed.permanent) == (False, 28, True)
    assert failed.error_text == "unidentified subscriber"


# ------------------------------------------------------------------------ receiving


def receive_stored_single_gsm7(s: DriverSession, modem: Any) -> None:
    """+CMTI: read the slot, hand the SMS over, then delete the slot."""
    _ready(s)
    modem.deliver_sms(NUMBER, "Hello from the network @ 12:00", timestamp=WHEN)
    _received(s, 1)
    assert s.texts() == ["Hello from the network @ 12:00"]
    assert pdu.decode(s.sms[0]).number == NUMBER
    assert _deleted(s) == [b"AT+CMGD=1"]


def receive_stored_multipart_ucs2(s: DriverSession, modem: Any) -> None:
    """Two UCS2 parts stored out of order: both handed over, both slots deleted."""
    _ready(s)
    modem.deliver_sms(NUMBER, UCS2, parts_order=[2, 1], timestamp=WHEN)
    _received(s, 2)
    assert s.texts() == [UCS2]
    assert _deleted(s) == [b"AT+CMGD=1", b"AT+CMGD=2"]


def receive_direct_single_ucs2(s: DriverSession, modem: Any) -> None:
    """+CMT: the PDU comes with the indication; nothing to read or delete."""
    _ready(s)
    modem.inject_urc(*_direct(NUMBER, "Привет, мир"))
    _received(s, 1)
    assert s.texts() == ["Привет, мир"] and _deleted(s) == []


def receive_direct_multipart_gsm7(s: DriverSession, modem: Any) -> None:
    """Two +CMT in one burst, second part first."""
    _ready(s)
    first, second = _direct(NUMBER, LONG)
    modem.inject_urc(second, first)
    _received(s, 2)
    assert s.texts() == [LONG] and _deleted(s) == []


def sweep(s: DriverSession, modem: Any) -> None:
    """SMS that came while nobody listened (their +CMTI lost) are found by the AT+CMGL=4
    sweep at start-up, handed over and deleted."""
    modem.set_silent(True)  # the indications go nowhere
    modem.deliver_sms(NUMBER, "while you were away", timestamp=WHEN)
    modem.deliver_sms(NUMBER, LONG, timestamp=WHEN)
    modem.set_silent(False)
    _ready(s)
    _received(s, 3)
    assert sorted(s.texts()) == sorted(["while you were away", LONG])
    assert b"AT+CMGL=4\r" in s.written
    assert _deleted(s) == [b"AT+CMGD=1", b"AT+CMGD=2", b"AT+CMGD=3"]


def storage_full(s: DriverSession, modem: Any) -> None:
    """The SIM is full, so the network holds a new SMS back: the driver sees the full
    storage, empties it, and the held SMS then arrives with +CMTI."""
    modem.fill_storage()
    modem.deliver_sms(NUMBER, "held by the network", timestamp=WHEN)
    _ready(s)
    _received(s, 21)
    assert s.texts().count("filler") == 20 and s.texts()[-1] == "held by the network"
    assert len(_deleted(s)) == 21


# ------------------------------------------------------------------------ delivery reports


def delivery_report_cds(s: DriverSession, modem: Any) -> None:
    """A send that asks for a report; it comes directly as +CDS."""
    _ready(s)
    (reference,) = _sent(s, "report me", status_report=True)
    s.until(lambda: s.reports and s.idle(), "the report")
    (report,) = [pdu.decode(r) for r in s.reports]
    assert isinstance(report, pdu.StatusReport)
    assert (report.reference, report.number, report.status) == (reference, TO, 0)


def delivery_report_cdsi(s: DriverSession, modem: Any) -> None:
    """The report is stored in SR and announced with +CDSI: read from SR, then deleted."""
    _ready(s)
    modem.store_reports()
    (reference,) = _sent(s, "report me", status_report=True)
    s.until(lambda: s.reports and s.idle(), "the report")
    (report,) = [pdu.decode(r) for r in s.reports]
    assert isinstance(report, pdu.StatusReport)
    assert (report.reference, report.status) == (reference, 0)
    assert b'AT+CPMS="SR"\r' in s.written and _deleted(s) == [b"AT+CMGD=0"]


# ------------------------------------------------------------------------ network and faults


def registration_lost(s: DriverSession, modem: Any) -> None:
    """+CREG: 2 pauses sending (nothing is written) and the driver polls the network more
    often; +CREG: 1 resumes sending."""
    _ready(s)
    modem.lose_network(2)
    s.reached(ModemState.NOT_REGISTERED)
    before = len(s.written)
    refused = s.send_part(pdu.encode_submit(TO, "wait for the network")[0])
    assert not refused.ok and refused.error_text == "modem not-registered"
    assert len(s.written) == before
    # the network comes back after a poll (unregistered_interval) that still says "searching"
    s.until(lambda: len(s.written) > before and s.idle(), "a poll while searching")
    modem.regain_network()
    s.reached(ModemState.READY, 2, "registered again")
    assert s.states[-2:] == [ModemState.NOT_REGISTERED, ModemState.READY]
    assert _sent(s, "wait for the network") == [0]


def silence(s: DriverSession, modem: Any) -> None:
    """The modem stops answering during a send: its fate is unknown, the driver starts
    over, and once the modem answers again the part goes out."""
    _ready(s)
    modem.set_silent(True)
    (lost,) = [s.send_part(part) for part in pdu.encode_submit(TO, "through the silence")]
    assert lost.unknown_fate and s.states[-1] == ModemState.FAILED
    assert s.written.endswith(b"\x1b")  # ESC: out of the PDU input, whatever the modem's state
    modem.set_silent(False)
    s.reached(ModemState.READY, 2, "ready after the restart")
    assert _sent(s, "through the silence") == [0]


def garbage_on_the_line(s: DriverSession, modem: Any) -> None:
    """Line noise before a reply and before a URC changes nothing."""
    rng = random.Random(4)

    def noise_read() -> None:
        noise = garbage(rng, 24)
        modem.inject_garbage(noise)
        # as in the recording: the noise first. A replay plays it at its recorded moment,
        # whatever the script is doing, and a reply may follow it at once.
        s.until(lambda: noise in s.read, "the noise read")
    _ready(s)
    noise_read()
    assert _sent(s, "noise before the prompt") == [0]
    noise_read()
    modem.deliver_sms(NUMBER, "noise before me", timestamp=WHEN)
    _received(s, 1)
    assert s.texts() == ["noise before me"]


def reboot(s: DriverSession, modem: Any) -> None:
    """The modem resets while a send waits for its result: the part's fate is unknown,
    the driver notices the boot banners, initialises again, and the part goes out."""
    _ready(s)
    part = pdu.encode_submit(TO, "in flight")[0]
    sending = s.begin(s.driver.send, part.pdu, part.tpdu_length)
    s.until(lambda: s.written.endswith(b"\x1a"), "the PDU written")
    modem.reboot(boot_delay=0.3, sim_busy=0.0)
    s.until(sending.done, "the send's result")
    assert sending.result().unknown_fate
    s.reached(ModemState.READY, 2, "ready after the reboot")
    assert s.written.count(b"ATE0\r") == 2
    assert _sent(s, "in flight") == [0]


def port_vanishes(s: DriverSession, modem: Any) -> None:
    """The USB port drops off and comes back; an SMS that arrived meanwhile (its +CMTI
    lost with the port) is found by the sweep after the new initialisation."""
    _ready(s)
    modem.vanish()
    s.until(lambda: ModemState.FAILED in s.states, "the port lost")
    modem.deliver_sms(NUMBER, "while the port was gone", timestamp=WHEN)
    modem.reappear()
    s.reached(ModemState.READY, 2, "ready on the port that came back")
    assert s.states[-2:] == [ModemState.INITIALISING, ModemState.READY]
    _received(s, 1)
    assert s.texts() == ["while the port was gone"]
    assert _sent(s, "after the port came back") == [0]


def ussd(s: DriverSession, modem: Any) -> None:
    """A balance request: AT+CUSD answered OK, the text comes later as +CUSD."""
    _ready(s)
    modem.set_ussd_reply("Balance: 5.00 EUR")
    asking = s.begin(s.driver.ussd, "*100#")
    s.until(lambda: asking.done() and s.idle(), "the USSD answer")
    assert asking.result() == "Balance: 5.00 EUR"


# ------------------------------------------------------------------------ dialects


def _dialect(name: str, noise: float | None = None) -> Script:
    def script(s: DriverSession, modem: Any) -> None:
        if noise is not None:
            modem.set_noise(noise)  # vendor URCs until the driver turns them off
        _ready(s)
        assert s.driver.dialect.name == name
        modem.deliver_sms(NUMBER, f"hello {name}", timestamp=WHEN)
        _received(s, 1)
        assert s.texts() == [f"hello {name}"]
        assert _sent(s, f"from {name}") == [0]

    script.__doc__ = f"Initialise a {name}, receive one SMS, send one." + (
        " Periodic vendor URCs until the initialisation stops them." if noise else "")
    return script


SCENARIOS: dict[str, Scenario] = {
    "init_echo_on": Scenario(init_echo_on),
    "init_echo_off": Scenario(init_echo_off),
    "init_banners": Scenario(init_banners),
    "init_pdu_input_left": Scenario(init_pdu_input_left),
    "init_sim_pin": Scenario(init_sim_pin, {**LATENCY, "pin": "1234"}, {"pin": "1234"}),
    "send_single": Scenario(send_single, {**LATENCY, "send_latency": 0.3}),
    "send_multipart": Scenario(send_multipart),
    "send_error_transient": Scenario(send_error_transient),
    "send_error_permanent": Scenario(send_error_permanent),
    "receive_stored_single_gsm7": Scenario(receive_stored_single_gsm7),
    "receive_stored_multipart_ucs2": Scenario(receive_stored_multipart_ucs2),
    "receive_direct_single_ucs2": Scenario(receive_direct_single_ucs2),
    "receive_direct_multipart_gsm7": Scenario(receive_direct_multipart_gsm7),
    "sweep": Scenario(sweep),
    "storage_full": Scenario(storage_full),
    "delivery_report_cds": Scenario(delivery_report_cds, {**LATENCY, "report_delay": 0.2}),
    "delivery_report_cdsi": Scenario(delivery_report_cdsi,
                                     {**LATENCY, "model": "sim7600", "report_delay": 0.2}),
    "registration_lost": Scenario(registration_lost, driver={"unregistered_interval": 0.3}),
    "silence": Scenario(silence, driver={"send_timeout": 0.5, "restart_delay": 0.5}),
    "garbage": Scenario(garbage_on_the_line),
    "reboot": Scenario(reboot, {**LATENCY, "send_latency": 1.0}, {"restart_delay": 0.5}),
    "port_vanishes": Scenario(port_vanishes, driver={"restart_delay": 0.5}),
    "ussd": Scenario(ussd, {**LATENCY, "ussd_delay": 0.2}),
    **{f"dialect_{model}": Scenario(_dialect(model), {**LATENCY, "model": model})
       for model in ("sim800", "sim7600", "ec25")},
    "dialect_huawei": Scenario(_dialect("huawei", noise=0.05), {**LATENCY, "model": "huawei"}),
}


def record(name: str, out: Path = TRACES) -> Path:
    """Run scenario ``name`` against a recording simulator; return the trace's path."""
    scenario = SCENARIOS[name]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.cbor"
    partial = path.with_suffix(".partial")
    try:
        # behind a link, as udev names a modem: a port that vanishes comes back there
        with (tempfile.TemporaryDirectory() as scratch,
              SimulatedModem(trace=partial, link=Path(scratch) / "modem", **scenario.modem) as modem,
              DriverSession(modem.path, **scenario.driver) as session):
            scenario.script(session, modem)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hil.record_traces", description=__doc__.split("\n")[0]
    )
    parser.add_argument("names", nargs="*", choices=[[], *SCENARIOS], metavar="NAME",
                        help=f"scenarios to record (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--out", type=Path, default=TRACES, help=f"directory (default {TRACES})")
    args = parser.parse_args(argv)
    for name in args.names or SCENARIOS:
        print(record(name, args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
