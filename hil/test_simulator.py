"""Tests of the simulated modem, driven through its pty as a real driver would."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from appliance import pdu
from hil.at_client import (
    assert_quiet,
    echo_off,
    exchange,
    expect,
    framed,
    open_port,
    read_until,
    send_pdu,
)
from hil.at_parser import AtSyntaxError, Form, parse_line
from hil.device import ModemOptions
from hil.engine import ModemEngine, Out
from hil.messaging import SentPDU, tpdu_length
from hil.profiles import PROFILES, luhn_imei
from hil.simulator import SimulatedModem
from hil.trace import HOST, MODEM, read_trace
from hil.waiting import wait_for

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# SMS-SUBMIT to +441234567890 (international), GSM 7-bit "hello": 18 TPDU octets.
TPDU = "01000C914421436587090000" + "05E8329BFD06"
PDU = "00" + TPDU  # SMSC part "00": use the AT+CSCA number
PDU_WITH_SMSC = "07919471060040F0" + TPDU  # SMSC part of 1 + 7 octets
N = 18


# --------------------------------------------------------------------------- framing


def test_echo_on_after_power_up(port):
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    assert_quiet(port)


def test_ate0_turns_echo_off(port):
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")  # the ATE0 itself is still echoed
    exchange(port, b"AT\r", b"\r\nOK\r\n")
    exchange(port, b"ATE1\r", b"\r\nOK\r\n")
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    assert_quiet(port)


def test_crlf_lower_case_and_lone_lf(port, modem):
    exchange(port, b"at\r\n", b"at\r\r\nOK\r\n")  # the LF is ignored, not echoed
    exchange(port, b"\nat+cmgf?\r", b"at+cmgf?\r\r\n+CMGF: 0\r\n\r\nOK\r\n")
    exchange(port, b"\r", b"\r")  # an empty line: echoed, no answer
    assert_quiet(port)
    assert modem.commands == ["at", "at+cmgf?"]


def test_compound_line_gets_one_merged_reply(port):
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    exchange(port, b"AT+CMGF=0;+CMEE=1\r", b"\r\nOK\r\n")
    exchange(port, b"AT+CSQ;+CMEE?\r", b"\r\n+CSQ: 21,0\r\n\r\n+CMEE: 1\r\n\r\nOK\r\n")
    # The first failing command ends the line; later ones are not executed.
    exchange(port, b"AT+CSQ;+FOO;+CMEE=0\r", b"\r\n+CSQ: 21,0\r\n\r\n+CME ERROR: 100\r\n")
    exchange(port, b"ATE1V1Q0\r", b"\r\nOK\r\n")
    assert_quiet(port)


QUERIES = [
    (b"AT+CPIN?", b"+CPIN: READY"),
    (b"AT+CSQ", b"+CSQ: 21,0"),
    (b"AT+CMEE?", b"+CMEE: 0"),
    (b"AT+CMGF?", b"+CMGF: 0"),
    (b"AT+CREG?", b"+CREG: 0,1"),
    (b"AT+COPS?", b'+COPS: 0,0,"Test PLMN 1-1"'),
    (b"AT+CSCA?", b'+CSCA: "+15555550100",145'),
    (b"AT+CNMI?", b"+CNMI: 2,1,0,0,0"),
    (b"AT+CNMI=?", b"+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)"),
    (b"AT+CPMS?", b'+CPMS: "SM",0,20,"SM",0,20,"SM",0,20'),
    (b"AT+CPMS=?", b'+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")'),
    (b'AT+CPMS="ME","SM"', b"+CPMS: 0,20,0,20,0,20"),
    (b"AT+CSMS=0", b"+CSMS: 1,1,1"),
    (b"AT+CSMS?", b"+CSMS: 0,1,1,1"),
    (b"AT+CSCS?", b'+CSCS: "IRA"'),
    (b"AT+CGMI", b"SIMCOM_Ltd"),
    (b"AT+CGMR", b"Revision:1418B04SIM800L24"),
    (b"AT+CGSN", PROFILES["sim800"].imei.encode()),
    (b"AT+CIMI", b"001010123456789"),
    (b"ATI", b"SIM800 R14.18"),
]


@pytest.mark.parametrize(("command", "line"), QUERIES, ids=[q[0].decode() for q in QUERIES])
def test_information_commands(port, command, line):
    exchange(port, command + b"\r", command + b"\r\r\n" + line + b"\r\n\r\nOK\r\n")


def test_settings_commands(port):
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    for command in (
        b'AT+CSCA="+491710760000",145',
        b"AT+CNMI=2,1,0,1,0",
        b"AT+CREG=2",
        b'AT+CSCS="GSM"',
        b"AT+CMGL=4",  # empty store
        b"AT+CMGD=1",
        b"AT+CMGD=1,4",
    ):
        exchange(port, command + b"\r", b"\r\nOK\r\n")
    exchange(port, b"AT+CSCA?\r", b'\r\n+CSCA: "+491710760000",145\r\n\r\nOK\r\n')
    exchange(port, b"AT+CNMI?\r", b"\r\n+CNMI: 2,1,0,1,0\r\n\r\nOK\r\n")
    exchange(port, b"AT+CREG?\r", b'\r\n+CREG: 2,1,"1A2B","3C4D"\r\n\r\nOK\r\n')
    exchange(port, b"AT+CSCS?\r", b'\r\n+CSCS: "GSM"\r\n\r\nOK\r\n')
    exchange(port, b"AT+CMEE=1\r", b"\r\nOK\r\n")
    exchange(port, b"AT+CNMI=2,1,0,2,0\r", b"\r\n+CME ERROR: 50\r\n")  # SIM800 refuses ds=2
    exchange(port, b"AT+CMGD=0\r", b"\r\n+CMS ERROR: 321\r\n")  # SIM800 indexes start at 1
    exchange(port, b"AT+CMGF=2\r", b"\r\n+CME ERROR: 50\r\n")
    assert_quiet(port)


@pytest.mark.parametrize(
    ("model", "cgmm", "cgmi"),
    [
        ("sim800", b"SIMCOM_SIM800L", b"SIMCOM_Ltd"),
        ("sim7600", b"SIMCOM_SIM7600E-H", b"SIMCOM INCORPORATED"),
        ("ec25", b"EC25", b"Quectel"),
        ("huawei", b"E3372", b"huawei"),
    ],
)
def test_identity_per_model(model, cgmm, cgmi):
    with SimulatedModem(model=model) as modem, open_port(modem.path) as port:
        exchange(port, b"AT+CGMM\r", b"AT+CGMM\r\r\n" + cgmm + b"\r\n\r\nOK\r\n")
        exchange(port, b"AT+CGMI\r", b"AT+CGMI\r\r\n" + cgmi + b"\r\n\r\nOK\r\n")


def test_ati_multi_line_on_ec25():
    with SimulatedModem(model="ec25") as modem, open_port(modem.path) as port:
        exchange(
            port,
            b"ATI\r",
            b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
        )


def test_atz_and_at_f_restore_defaults(port):
    exchange(port, b"AT+CMEE=2;+CMGF=1\r", b"AT+CMEE=2;+CMGF=1\r\r\nOK\r\n")
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    exchange(port, b"ATZ\r", b"\r\nOK\r\n")  # echo is back after ATZ ...
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")  # ... so this ATE0 is echoed
    exchange(port, b"AT+CMEE?;+CMGF?\r", b"\r\n+CMEE: 0\r\n\r\n+CMGF: 0\r\n\r\nOK\r\n")
    exchange(port, b"AT+CMEE=1;+CMGF=1\r", b"\r\nOK\r\n")
    exchange(port, b"AT&F\r", b"\r\nOK\r\n")
    exchange(port, b"AT+CMEE?\r", b"AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n")


@pytest.mark.parametrize(
    ("cmee", "error"),
    [(0, b"ERROR"), (1, b"+CME ERROR: 100"), (2, b"+CME ERROR: unknown")],
)
def test_unknown_command_per_cmee(port, cmee, error):
    exchange(port, f"AT+CMEE={cmee}\r".encode(), f"AT+CMEE={cmee}\r\r\nOK\r\n".encode())
    exchange(port, b"AT+NOPE\r", b"AT+NOPE\r\r\n" + error + b"\r\n")
    exchange(port, b"AT+CGMM?\r", b"AT+CGMM?\r\r\n" + error + b"\r\n")  # unsupported form
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    exchange(port, b'AT+CSCA="12\r', b"\r\n" + error + b"\r\n")  # syntax error
    exchange(port, b"noise AT\r", b"\r\nOK\r\n")  # bytes before "AT" are skipped
    assert_quiet(port)


# --------------------------------------------------------------------------- sending


def test_send_exact_bytes_and_record(port, modem):
    exchange(port, f"AT+CMGS={N}\r".encode(), f"AT+CMGS={N}\r\r\n> ".encode())
    body = PDU.lower().encode() + b"\x1a"
    exchange(port, body, body + b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
    assert_quiet(port)
    [sent] = modem.sent
    assert isinstance(sent, SentPDU)
    assert (sent.pdu, sent.length, sent.reference) == (PDU.upper(), N, 0)
    assert abs(sent.time - time.time()) < 5


def test_send_without_echo_and_with_smsc_part(port, modem):
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")
    exchange(port, f"AT+CMGS={N}\r".encode(), b"\r\n> ")
    exchange(port, PDU_WITH_SMSC.encode() + b"\x1a", b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
    assert modem.wait_sent(1)[0].pdu == PDU_WITH_SMSC


def test_message_reference_increments_and_wraps():
    with SimulatedModem(first_reference=254) as modem, open_port(modem.path) as port:
        results = [send_pdu(port, PDU, N) for _ in range(3)]
        assert results == [b"\r\n+CMGS: %d\r\n\r\nOK\r\n" % mr for mr in (254, 255, 0)]
        assert [s.reference for s in modem.wait_sent(3)] == [254, 255, 0]


@pytest.mark.parametrize(
    ("pdu", "n"),
    [
        (PDU, N - 1),  # one short
        (PDU, N + 1),  # one long
        (PDU_WITH_SMSC, N + 8),  # SMSC octets counted in
        (PDU[:-1], N),  # odd number of hex digits
        (PDU[:-2] + "XY", N),  # not hex
        ("", N),  # empty
    ],
    ids=["short", "long", "smsc-counted", "odd", "non-hex", "empty"],
)
def test_bad_pdu_gets_cms_304_and_is_not_recorded(port, modem, pdu, n):
    assert send_pdu(port, pdu, n) == b"\r\n+CMS ERROR: 304\r\n"
    assert modem.sent == []
    assert send_pdu(port, PDU, N) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"  # mr not used up


def test_cmgs_refused_before_prompt(port, modem):
    exchange(port, b"AT+CMGS=0\r", b"AT+CMGS=0\r\r\n+CMS ERROR: 304\r\n")
    exchange(port, b"AT+CMGS=abc\r", b"AT+CMGS=abc\r\r\n+CMS ERROR: 304\r\n")
    exchange(port, b"AT+CMGF=1\r", b"AT+CMGF=1\r\r\nOK\r\n")
    exchange(port, b"AT+CMGS=18\r", b"AT+CMGS=18\r\r\n+CMS ERROR: 305\r\n")  # text: "<da>"
    assert_quiet(port)
    assert modem.sent == []


def test_escape_aborts_the_send(port, modem):
    exchange(port, f"AT+CMGS={N}\r".encode(), f"AT+CMGS={N}\r\r\n> ".encode())
    exchange(port, PDU[:10].encode() + b"\x1b", PDU[:10].encode() + b"\r\nOK\r\n")
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    assert modem.sent == []
    assert send_pdu(port, PDU, N) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


def test_fail_next_send(port, modem):
    modem.fail_next_send(38)
    assert send_pdu(port, PDU, N) == b"\r\n+CMS ERROR: 38\r\n"
    assert modem.sent == []
    assert send_pdu(port, PDU, N) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"  # only the next one
    exchange(port, b"AT+CMEE=2\r", b"AT+CMEE=2\r\r\nOK\r\n")
    modem.fail_next_send(38)
    assert send_pdu(port, PDU, N) == b"\r\n+CMS ERROR: network out of order\r\n"
    assert [s.reference for s in modem.sent] == [0]


def test_silent_modem_answers_nothing(port, modem):
    exchange(port, f"AT+CMGS={N}\r".encode(), f"AT+CMGS={N}\r\r\n> ".encode())
    exchange(port, PDU[:6].encode(), PDU[:6].encode())
    modem.set_silent(True)
    port.write(PDU[6:].encode() + b"\x1a")
    port.write(b"AT\r")
    assert_quiet(port, 0.4)
    modem.set_silent(False)
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")  # recovered, in command mode
    assert modem.sent == []
    assert modem.commands == [f"AT+CMGS={N}", "AT"]


def test_wait_sent_times_out(modem):
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        modem.wait_sent(1, timeout=0.2)
    assert time.monotonic() - start < 2


# --------------------------------------------------------------------------- latency


def test_latency_delays_replies_and_prompt():
    latency, send_latency = 0.3, 0.6
    with SimulatedModem(latency=latency, send_latency=send_latency) as modem, open_port(modem.path) as port:
        start = time.monotonic()
        port.write(b"AT\r")
        assert port.read(3) == b"AT\r"  # echo is immediate ...
        assert read_until(port, b"OK\r\n") == b"\r\nOK\r\n"
        assert time.monotonic() - start >= latency - 0.01  # ... the reply is not

        start = time.monotonic()
        exchange(port, f"AT+CMGS={N}\r".encode(), f"AT+CMGS={N}\r\r\n> ".encode())
        assert time.monotonic() - start >= latency - 0.01

        body = PDU.encode() + b"\x1a"
        start = time.monotonic()
        exchange(port, body, body + b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
        elapsed = time.monotonic() - start
        assert send_latency - 0.01 <= elapsed < send_latency + 5


def test_commands_written_early_wait_for_the_reply():
    with SimulatedModem(latency=0.2) as modem, open_port(modem.path) as port:
        port.write(b"AT\rATE0\rAT\r")  # a bad driver does not wait for OK
        expected = b"AT\r\r\nOK\r\nATE0\r\r\nOK\r\n\r\nOK\r\n"
        assert port.read(len(expected)) == expected
        assert modem.commands == ["AT", "ATE0", "AT"]


# --------------------------------------------------------------------------- port handling


def test_record_file_is_readable_while_running(tmp_path):
    record = tmp_path / "sent.jsonl"
    with SimulatedModem(record=record, first_reference=7) as modem:
        with open_port(modem.path) as port:
            send_pdu(port, PDU, N)
            send_pdu(port, PDU_WITH_SMSC, N)
        lines = record.read_text().splitlines()  # before stop(): already flushed
        assert len(lines) == 2
        entries = [json.loads(line) for line in lines]
        assert list(entries[0]) == ["time", "length", "reference", "pdu"]
        assert [(e["pdu"], e["length"], e["reference"]) for e in entries] == [
            (PDU, N, 7),
            (PDU_WITH_SMSC, N, 8),
        ]
        assert [e["time"] for e in entries] == [s.time for s in modem.sent]


def test_close_and_reopen_keeps_working(modem):
    for _ in range(3):
        with open_port(modem.path) as port:
            exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    # A raw os.open client, as a C driver would use it.
    fd = os.open(modem.path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"AT+CSQ\r")
        expected = b"AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n"
        got = bytearray()

        def answered() -> bool:
            if select.select([fd], [], [], 0.1)[0]:
                got.extend(os.read(fd, 256))
            return len(got) >= len(expected)
        wait_for(answered, what="the answer to AT+CSQ")
        assert got == expected
    finally:
        os.close(fd)
    with open_port(modem.path) as port:
        assert send_pdu(port, PDU, N) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


def test_link_points_to_the_pty_and_is_removed(tmp_path):
    link = tmp_path / "ttyGSM0"
    link.symlink_to("/nonexistent")  # a stale link from an earlier run is replaced
    modem = SimulatedModem(link=link).start()
    try:
        assert modem.path == str(link)
        assert os.readlink(link) == modem.device
        with open_port(modem.path) as port:
            exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
    finally:
        modem.stop()
    assert not os.path.lexists(link)
    modem.stop()  # idempotent


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_serves_until_signal(tmp_path, sig):
    record = tmp_path / "sent.jsonl"
    link = tmp_path / "modem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hil.simulator", "--model", "ec25", "--latency-ms", "10",
         "--send-latency-ms", "20", "--record", str(record), "--link", str(link)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both PIPE
    try:
        assert select.select([proc.stdout], [], [], 10)[0], "no path printed"
        path = proc.stdout.readline().decode().rstrip("\n")
        assert path == str(link)
        with open_port(path) as port:
            exchange(port, b"AT+CGMM\r", b"AT+CGMM\r\r\nEC25\r\n\r\nOK\r\n")
            assert send_pdu(port, PDU, N) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
        assert json.loads(record.read_text())["pdu"] == PDU
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
        assert proc.stdout.read() == b""  # only the path was printed
        assert not os.path.lexists(link)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


# --------------------------------------------------------------------------- on a given loop


def in_thread(function: Callable[[], T]) -> asyncio.Future[T]:
    """``function()`` on a thread of its own, as a future of the running loop. A plain
    thread, not ``asyncio.to_thread``: looptime moves a loop that waits for its executor
    in real-time steps, and these tests want its clock to jump."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def target() -> None:
        try:
            result = function()
        except BaseException as error:
            loop.call_soon_threadsafe(future.set_exception, error)
        else:
            loop.call_soon_threadsafe(future.set_result, result)

    threading.Thread(target=target, daemon=True).start()
    return future


def test_on_a_given_loop_calls_run_inline_there_and_are_handed_over_from_threads():
    loop = asyncio.new_event_loop()
    first, second = SimulatedModem(loop=loop), SimulatedModem(loop=loop, first_reference=9)
    threads = threading.active_count()
    first.start()  # the loop does not run yet: at once, on this thread
    second.start()
    assert threading.active_count() == threads  # no thread of their own

    def client(modem: SimulatedModem) -> None:
        with open_port(modem.path) as port:
            echo_off(port)
            assert send_pdu(port, PDU, N, echo=False) == b"\r\n+CMS ERROR: 38\r\n"
            modem.deliver_sms("+491701234567", "handed over")  # returns once it is done:
            assert [stat for _, stat, _ in modem.messages("SM")] == [0]  # stored, unread
            expect(port, framed('+CMTI: "SM",1'))
            reference = 9 if modem is second else 0
            assert send_pdu(port, PDU, N, echo=False) == b"\r\n+CMGS: %d\r\n\r\nOK\r\n" % reference
            assert [s.pdu for s in modem.wait_sent(1)] == [PDU]

    async def scenario() -> None:
        for modem in (first, second):
            # on the loop's thread: at once (handed over, it would wait for this very
            # thread and time out)
            modem.fail_next_send(38)
            with pytest.raises(RuntimeError, match="would block"):
                modem.wait_sent(1)  # nothing can be sent while the loop waits
        await asyncio.gather(in_thread(lambda: client(first)), in_thread(lambda: client(second)))
        assert [s.reference for s in first.wait_sent(1) + second.wait_sent(1)] == [0, 9]
        first.stop()  # on the loop: it stops serving, the loop goes on
        await asyncio.sleep(0)
        assert loop.is_running() and not os.path.exists(first.device)
        with open_port(second.path) as port:  # the other modem still served
            await in_thread(lambda: exchange(port, b"AT\r", b"\r\nOK\r\n"))  # echo is off

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        second.stop()  # the loop does not run: at once
        first.stop()  # idempotent
        loop.close()


@pytest.mark.asyncio
@pytest.mark.looptime
async def test_on_a_given_loop_every_delay_is_a_timer_on_that_loop_s_clock(tmp_path):
    """On a fast-forwarding loop (looptime) two hours of the modem's delays pass in
    moments: latency, send latency, the status report, a reboot's boot and SIM busy time."""
    path = tmp_path / "slow.cbor"
    submit = pdu.encode_submit("+4912345", "timed", status_report=True)[0]
    modem = SimulatedModem(loop=asyncio.get_running_loop(), latency=30, send_latency=60,
                           report_delay=3600, trace=path)

    def client() -> None:
        with open_port(modem.path) as port:
            echo_off(port)
            exchange(port, b"AT+CNMI=2,1,0,1,0\r", b"\r\nOK\r\n")
            assert send_pdu(port, submit.pdu, submit.tpdu_length, echo=False) == framed("+CMGS: 0") + b"\r\nOK\r\n"
            read_until(port, b"\r\n+CDS: ")
            read_until(port, b"\r\n")
            read_until(port, b"\r\n")  # the report's PDU
            modem.reboot(boot_delay=120, sim_busy=300)
            expect(port, framed("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"))

    started = time.monotonic()
    with modem:
        await in_thread(client)
    assert time.monotonic() - started < 30  # far less than the simulated delays (2 h)
    events = read_trace(path).events
    modem_writes = {e.data[:6]: e.time for e in events if e.source == MODEM}
    host_writes = {e.data[:6]: e.time for e in events if e.source == HOST}
    # the trace is on the loop's clock: every delay is exact, whatever the machine's load
    assert modem_writes[b"\r\n> "] - host_writes[b"AT+CMG"] == pytest.approx(30)
    assert modem_writes[b"\r\n+CMG"] - host_writes[submit.pdu.encode()[:6]] == pytest.approx(60)
    assert modem_writes[b"\r\n+CDS"] - modem_writes[b"\r\n+CMG"] == pytest.approx(3600)
    assert modem_writes[b"\r\nRDY\r"] - host_writes[submit.pdu.encode()[:6]] > 3660  # reboot
    assert modem_writes[b"\r\nSMS "] - modem_writes[b"\r\nRDY\r"] == pytest.approx(300)


@pytest.mark.asyncio
@pytest.mark.looptime
async def test_a_client_on_the_modem_s_own_loop_needs_no_thread_at_all():
    """The appliance under --simulate: its driver and its simulated modems on one loop,
    the pty's two ends each served by that loop."""
    loop = asyncio.get_running_loop()
    with SimulatedModem(loop=loop, latency=5, send_latency=10) as modem:
        fd = os.open(modem.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        reader = asyncio.StreamReader()
        read_side, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0))
        writer, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(os.dup(fd), "wb", buffering=0))
        try:
            started = loop.time()
            writer.write(f"AT+CMGS={N}\r".encode())
            assert await reader.readexactly(len(f"AT+CMGS={N}\r\r\n> ")) == f"AT+CMGS={N}\r\r\n> ".encode()
            writer.write(PDU.encode() + b"\x1a")
            reply = await reader.readuntil(b"OK\r\n")
            assert reply == PDU.encode() + b"\x1a\r\n+CMGS: 0\r\n\r\nOK\r\n"
            assert loop.time() - started == pytest.approx(15)  # the prompt's 5 s, the send's 10 s
            assert [s.pdu for s in modem.wait_sent(1)] == [PDU]  # there already: no wait
        finally:
            read_side.close()
            writer.close()


@pytest.mark.asyncio
@pytest.mark.looptime
async def test_stopped_on_a_given_loop_nothing_of_it_fires_any_more(tmp_path):
    """The loop is its owner's and runs on; of two ports due to come back, the one whose
    modem was stopped stays gone."""
    loop = asyncio.get_running_loop()
    kept = SimulatedModem(loop=loop, link=tmp_path / "kept")
    stopped = SimulatedModem(loop=loop, link=tmp_path / "stopped")
    with kept, stopped:
        kept.vanish(duration=50)
        stopped.vanish(duration=50)
        stopped.stop()
        await asyncio.sleep(100)  # the loop's time: a moment
        assert os.path.lexists(tmp_path / "kept") and not os.path.lexists(tmp_path / "stopped")


# --------------------------------------------------------------------------- units


def test_parse_line():
    commands = parse_line('at+csca="+49;1",145;+CMGF=?;E0V1&F;+cmee?')
    assert [(c.name, c.form, c.args) for c in commands] == [
        ("+CSCA", Form.SET, ('"+49;1"', "145")),
        ("+CMGF", Form.TEST, ()),
        ("E", Form.EXEC, ("0",)),
        ("V", Form.EXEC, ("1",)),
        ("&F", Form.EXEC, ()),
        ("+CMEE", Form.READ, ()),
    ]
    assert parse_line("AT+CNMI=2,,0")[0].args == ("2", None, "0")
    assert parse_line("AT") == []
    with pytest.raises(AtSyntaxError):
        parse_line('AT+CSCA="12')


def test_tpdu_length_and_imei():
    assert tpdu_length(PDU) == N
    assert tpdu_length(PDU_WITH_SMSC) == N
    for bad in ("", "0", "0G", "05AA"):
        with pytest.raises(ValueError):
            tpdu_length(bad)
    assert luhn_imei("49015420323751") == "490154203237518"


def test_engine_runs_without_a_pty():
    """The engine is a plain state machine: drive it with a fake clock and scheduler."""
    output: list[tuple[Out, bytes]] = []
    timers: list = []

    class Handle:
        def cancel(self) -> None:
            pass

    def call_later(delay, callback):
        timers.append((delay, callback))
        return Handle()

    def run_timers():
        while timers:
            timers.pop(0)[1]()

    sent: list[SentPDU] = []
    options = ModemOptions(latency=0.1, send_latency=2.0, first_reference=42)
    engine = ModemEngine(PROFILES["huawei"], emit=lambda k, d: output.append((k, d)),
                         call_later=call_later, on_sent=sent.append, options=options)
    engine.feed(f"AT+CMGS={N}\r".encode())
    assert timers[0][0] == 0.1
    run_timers()
    engine.feed(PDU.encode() + b"\x1a")
    assert timers[0][0] == 2.0
    run_timers()
    assert [kind for kind, _ in output] == [Out.ECHO, Out.PROMPT, Out.ECHO, Out.SEND_RESULT]
    assert output[-1][1] == b"\r\n+CMGS: 42\r\n\r\nOK\r\n"
    assert sent[0].reference == 42 and engine.device.messaging.next_reference == 43
