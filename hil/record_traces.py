"""Record the main scenarios of a modem session into CBOR traces (hil/traces/*.cbor).

``python -m hil.record_traces [--out DIR] [NAME ...]`` runs each scenario's client against
a :class:`~hil.simulator.SimulatedModem` that records a trace. The same client functions
replay against :class:`~hil.replay.ReplayModem` in the tests: there the network side
(deliveries, reboots) is already in the recording, so the simulator's API is stood in for
by :data:`REPLAYED`, which does nothing.

Every client checks the bytes it gets, so a recording is only written if the simulator
behaved, and a replay only passes if it is byte-exact.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial

from appliance import pdu
from hil.at_client import command, exchange, expect, open_port, read_until
from hil.simulator import SimulatedModem

__all__ = ["REPLAYED", "SCENARIOS", "Scenario", "record"]

TRACES = Path(__file__).resolve().parent / "traces"
NUMBER = "+491701234567"
LONG = "Parts arrive out of order; reassemble by reference, never by index. " * 5  # 3 parts
WHEN = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))


class _Replayed:
    """The simulator's API during a replay: the recording already holds its effects."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


REPLAYED: Any = _Replayed()
Client = Callable[[serial.Serial, Any], None]


@dataclass(frozen=True)
class Scenario:
    client: Client  # (port, simulator or REPLAYED)
    options: dict[str, Any] = field(default_factory=dict)  # SimulatedModem keyword arguments


def _init(port: serial.Serial) -> None:
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    exchange(port, b"AT+CMEE=1;+CMGF=0\r", b"\r\nOK\r\n")


def _submit(port: serial.Serial, part: pdu.Part, reference: int) -> None:
    exchange(port, f"AT+CMGS={part.tpdu_length}\r".encode(), b"\r\n> ")
    exchange(port, part.pdu.encode() + b"\x1a", f"\r\n+CMGS: {reference}\r\n\r\nOK\r\n".encode())


def send(port: serial.Serial, modem: Any) -> None:
    """Initialise, send one message, read the signal."""
    _init(port)
    _submit(port, pdu.encode_submit("+447700900123", "Server down: db1")[0], 0)
    exchange(port, b"AT+CSQ\r", b"\r\n+CSQ: 21,0\r\n\r\nOK\r\n")


def receive_multipart(port: serial.Serial, modem: Any) -> None:
    """Three parts arrive out of order (2, 3, 1); list, then delete them all."""
    _init(port)
    modem.deliver_sms(NUMBER, LONG, parts_order=[2, 3, 1], timestamp=WHEN)
    expect(port, b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n\r\n+CMTI: "SM",3\r\n')
    lines = command(port, "AT+CMGL=4").decode().split("\r\n")
    parts = [pdu.decode(lines[i + 1]) for i, line in enumerate(lines) if line.startswith("+CMGL:")]
    numbers = [p.concat.sequence if p.concat else 0 for p in parts]
    assert numbers == [2, 3, 1]
    in_order = sorted(zip(numbers, parts, strict=True), key=lambda pair: pair[0])
    assert "".join(p.text or "" for _, p in in_order) == LONG
    exchange(port, b"AT+CMGD=1,4\r", b"\r\nOK\r\n")


def delivery_report(port: serial.Serial, modem: Any) -> None:
    """A send that asks for a report; the report comes as +CDS."""
    _init(port)
    exchange(port, b"AT+CNMI=2,1,0,1,0\r", b"\r\nOK\r\n")
    _submit(port, pdu.encode_submit("+4912345", "report me", status_report=True)[0], 0)
    header = read_until(port, b"\r\n") + read_until(port, b"\r\n")
    report = pdu.decode(read_until(port, b"\r\n")[:-2].decode())
    assert header.startswith(b"\r\n+CDS: ") and isinstance(report, pdu.StatusReport)
    assert (report.reference, report.number, report.status) == (0, "+4912345", 0)


def reboot(port: serial.Serial, modem: Any) -> None:
    """The modem resets mid-session: lost command, readiness URCs, SIM busy, echo back on."""
    _init(port)
    modem.reboot(boot_delay=0.3, sim_busy=0.3)
    port.write(b"AT\r")  # lost while booting
    expect(port, b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n")
    exchange(port, b"AT+CSCA?\r", b"AT+CSCA?\r\r\nERROR\r\n")  # SIM busy; CMEE is 0 again
    expect(port, b"\r\nCall Ready\r\n\r\nSMS Ready\r\n")
    exchange(port, b"AT+CSCA?\r", b'AT+CSCA?\r\r\n+CSCA: "+15555550100",145\r\n\r\nOK\r\n')


SCENARIOS: dict[str, Scenario] = {
    "send": Scenario(send, {"latency": 0.05, "send_latency": 0.4}),
    "receive_multipart": Scenario(receive_multipart, {"latency": 0.05}),
    "delivery_report": Scenario(delivery_report, {"latency": 0.05, "send_latency": 0.3,
                                                  "report_delay": 0.5}),
    "reboot": Scenario(reboot, {"latency": 0.05}),
}


def record(name: str, out: Path = TRACES) -> Path:
    """Run scenario ``name`` against a recording simulator; return the trace's path."""
    scenario = SCENARIOS[name]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.cbor"
    partial = path.with_suffix(".partial")
    try:
        with SimulatedModem(trace=partial, **scenario.options) as modem:
            with open_port(modem.path) as port:
                scenario.client(port, modem)
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
