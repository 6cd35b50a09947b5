"""Faults and readiness of the simulated modem, driven through its pty with exact bytes.

Reboots and readiness URCs, SIM PIN/PUK and SIM busy, lost registration, URCs at chosen
byte positions, garbage, chunked output, a vanishing port, vendor noise, USSD and the
per-model reply variants (docs/modems.md §1, §2, §5, §9).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import pdu
from hil.at_client import (
    assert_quiet,
    at,
    command,
    echo_off,
    exchange,
    expect,
    framed,
    open_port,
    read_until,
    send_pdu,
)
from hil.control import run_command
from hil.profiles import PROFILES
from hil.simulator import SimulatedModem, UrcPosition
from hil.trace import MODEM, read_trace
from hil.waiting import DEADLINE, wait_for

REPO = Path(__file__).resolve().parent.parent
SUBMIT = pdu.encode_submit("+4912345", "fault test")[0]


# --------------------------------------------------------------------------- reboot


READY_URCS = {
    "sim800": ("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
    "sim7600": ("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    "ec25": ("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    "huawei": ("^BOOT:40289571,0,0,0,75", "^SIMST: 1", "^SRVST: 2"),
}


@pytest.mark.parametrize("model", sorted(READY_URCS))
def test_reboot_restores_defaults_and_announces_readiness(model, simulated):
    modem, port = simulated(model=model)
    at(port, "AT+CMEE=2;+CMGF=1;+CNMI=1,1,0,0,0", b"\r\nOK\r\n")
    modem.reboot()
    expect(port, framed(*READY_URCS[model]))
    default_cnmi = ",".join(map(str, PROFILES[model].cnmi_default)).encode()
    exchange(port, b"AT+CMEE?;+CMGF?;+CNMI?\r", b"AT+CMEE?;+CMGF?;+CNMI?\r" + framed(
        "+CMEE: 0", "+CMGF: 0", "+CNMI: " + default_cnmi.decode()) + b"\r\nOK\r\n")


def test_boot_delay_then_sim_busy_then_sms_ready(simulated):
    modem, port = simulated()
    modem.reboot(boot_delay=0.3, sim_busy=0.4)
    port.write(b"AT\r")  # lost: no echo, no answer while booting
    expect(port, framed("RDY", "+CFUN: 1", "+CPIN: READY"))
    exchange(port, b"AT+CMEE=1\r", b"AT+CMEE=1\r\r\nOK\r\n")
    exchange(port, b"AT+CSCA?\r", b"AT+CSCA?\r\r\n+CME ERROR: 14\r\n")  # SIM busy
    exchange(port, b"AT+CMGL=4\r", b"AT+CMGL=4\r\r\nERROR\r\n")  # SMS not ready yet
    expect(port, framed("Call Ready", "SMS Ready"))
    exchange(port, b"AT+CMGL=4\r", b"AT+CMGL=4\r\r\nOK\r\n")
    # The AT written while booting never reached the command interpreter.
    assert modem.commands == ["ATE0", "AT+CMEE=1", "AT+CSCA?", "AT+CMGL=4", "AT+CMGL=4"]


def test_going_silent_while_booting_does_not_stop_the_boot(modem, port):
    modem.reboot(boot_delay=0.2)
    modem.set_silent(True)
    modem.set_silent(False)
    expect(port, framed(*READY_URCS["sim800"]))


def test_cfun_reads_the_sim_again_and_cfun_1_1_reboots(modem, port):
    echo_off(port)
    at(port, "AT+CREG=1", b"\r\nOK\r\n")
    at(port, "AT+CFUN=0", b"\r\nOK\r\n" + framed("+CREG: 0"))
    at(port, "AT+CMGL=4", b"\r\nERROR\r\n")
    at(port, "AT+CFUN?", b"\r\n+CFUN: 0\r\n\r\nOK\r\n")
    ready = framed("+CPIN: READY", "+CREG: 1", "Call Ready", "SMS Ready")
    at(port, "AT+CFUN=1", b"\r\nOK\r\n" + ready)
    at(port, "AT+CFUN=1,1", b"\r\nOK\r\n" + framed(*READY_URCS["sim800"]))
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")  # echo is on again


def test_a_send_that_never_answers_until_reboot(modem, port):
    echo_off(port)
    modem.hang_next_send()
    exchange(port, f"AT+CMGS={SUBMIT.tpdu_length}\r".encode(), b"\r\n> ")
    port.write(SUBMIT.pdu.encode() + b"\x1a")
    port.write(b"AT\r")
    wait_for(lambda: modem.send_faults_pending() == 0, what="the PDU taken by the hang")
    assert_quiet(port, 0.4)
    modem.reboot()
    read_until(port, b"SMS Ready\r\n")
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")  # the queued AT died with the reboot
    assert modem.sent == []


# --------------------------------------------------------------------------- SIM


def test_sim_pin_three_wrong_tries_then_puk(simulated):
    modem, port = simulated(pin="1234", puk="87654321")
    at(port, "AT+CMEE=1", b"\r\nOK\r\n")
    at(port, "AT+CPIN?", b"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n")
    at(port, "AT+CMGL=4", b"\r\n+CMS ERROR: 311\r\n")
    at(port, "AT+CIMI", b"\r\n+CME ERROR: 11\r\n")
    for _ in range(3):
        at(port, 'AT+CPIN="0000"', b"\r\n+CME ERROR: 16\r\n")
    at(port, "AT+CPIN?", b"\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n")
    at(port, 'AT+CPIN="1234"', b"\r\n+CME ERROR: 12\r\n")  # the PIN no longer helps
    at(port, "AT+CMGL=4", b"\r\n+CMS ERROR: 316\r\n")
    at(port, 'AT+CPIN="87654321","4321"', b"\r\nOK\r\n" + framed(
        "+CPIN: READY", "Call Ready", "SMS Ready"))
    at(port, "AT+CPIN?", b"\r\n+CPIN: READY\r\n\r\nOK\r\n")
    at(port, 'AT+CPIN="4321"', b"\r\n+CME ERROR: 3\r\n")  # no PIN asked for now
    modem.reboot()
    expect(port, framed("RDY", "+CFUN: 1", "+CPIN: SIM PIN"))  # the new PIN, at power-up
    exchange(port, b'AT+CPIN="4321"\r', b'AT+CPIN="4321"\r\r\nOK\r\n' + framed(
        "+CPIN: READY", "Call Ready", "SMS Ready"))


def test_right_pin_then_sim_busy(simulated):
    _, port = simulated(pin="1234", sim_busy=0.3)
    at(port, "AT+CMEE=1", b"\r\nOK\r\n")
    at(port, 'AT+CPIN="1234"', b"\r\nOK\r\n" + framed("+CPIN: READY"))
    at(port, "AT+CIMI", b"\r\n+CME ERROR: 14\r\n")
    expect(port, framed("Call Ready", "SMS Ready"))
    at(port, "AT+CIMI", b"\r\n001010123456789\r\n\r\nOK\r\n")


# --------------------------------------------------------------------------- network


def test_lost_registration_fails_sends_and_holds_incoming_sms(modem, port):
    echo_off(port)
    at(port, "AT+CREG=2;+CMEE=1", b"\r\nOK\r\n")
    modem.lose_network(2)
    expect(port, framed("+CREG: 2"))
    at(port, "AT+CREG?", b"\r\n+CREG: 2,2\r\n\r\nOK\r\n")
    at(port, "AT+COPS?", b"\r\n+COPS: 0\r\n\r\nOK\r\n")
    assert send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False) == framed("+CMS ERROR: 331")
    at(port, 'AT+CUSD=1,"*100#",15', b"\r\n+CME ERROR: 30\r\n")
    modem.deliver_sms("+491701234567", "while away")
    assert_quiet(port)
    modem.regain_network()
    expect(port, framed('+CREG: 1,"1A2B","3C4D"', '+CMTI: "SM",1'))
    sent = send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False)
    assert sent == framed("+CMGS: 0") + b"\r\nOK\r\n"
    assert [s.pdu for s in modem.sent] == [SUBMIT.pdu]


def test_lte_models_report_eps_registration(simulated):
    modem, port = simulated(model="ec25")
    at(port, "AT+CGREG?", b"\r\n+CGREG: 0,1\r\n\r\nOK\r\n")
    at(port, "AT+CEREG=2", b"\r\nOK\r\n")
    at(port, "AT+CEREG?", b'\r\n+CEREG: 2,1,"1A2B","01C3D4E5",7\r\n\r\nOK\r\n')
    modem.lose_network()
    expect(port, framed("+CEREG: 0"))


def test_an_lte_only_attach_shows_in_creg_not_in_cereg_and_sends_still_go(simulated):
    modem, port = simulated(model="sim7600")
    at(port, "AT+CREG=1;+CEREG=1", b"\r\nOK\r\n")
    modem.set_lte_only()
    expect(port, framed("+CREG: 0"))  # only the CS domain changed
    at(port, "AT+CREG?;+CEREG?", b"\r\n+CREG: 1,0\r\n\r\n+CEREG: 1,1\r\n\r\nOK\r\n")
    assert send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False) == framed("+CMGS: 0") + b"\r\nOK\r\n"
    modem.lose_network(2)
    expect(port, framed("+CEREG: 2"))
    modem.set_lte_only(False)
    expect(port, framed("+CREG: 2"))  # searching in both domains now
    modem.regain_network()
    expect(port, framed("+CREG: 1", "+CEREG: 1"))


def test_a_2g_model_knows_no_cereg_and_no_lte_only_attach(simulated):
    modem, port = simulated(model="sim800")
    at(port, "AT+CMEE=1", b"\r\nOK\r\n")
    at(port, "AT+CEREG?", b"\r\n+CME ERROR: 100\r\n")
    with pytest.raises(ValueError):
        modem.set_lte_only()


def test_a_sim_without_an_smsc_fails_sends_with_330_until_one_is_written(simulated):
    modem, port = simulated()
    modem.set_smsc(None)
    at(port, "AT+CSCA?", b'\r\n+CSCA: "",129\r\n\r\nOK\r\n')
    assert send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False) == framed("+CMS ERROR: 330")
    modem.reboot()  # the SIM still has none
    read_until(port, b"SMS Ready\r\n")
    echo_off(port)
    at(port, "AT+CSCA?", b'\r\n+CSCA: "",129\r\n\r\nOK\r\n')
    at(port, 'AT+CSCA="+447785016005",145', b"\r\nOK\r\n")
    assert send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False) == framed("+CMGS: 0") + b"\r\nOK\r\n"
    assert [s.pdu for s in modem.sent] == [SUBMIT.pdu]


def test_ussd_ok_first_then_the_answer(modem, port):
    echo_off(port)
    at(port, 'AT+CUSD=1,"*100#",15', b"\r\nOK\r\n")
    expect(port, framed('+CUSD: 0,"Balance 12.34",15'))
    modem.set_ussd_reply(" Vash balans 968.98 r.\nDlya", dcs=72)  # a bare LF inside quotes
    at(port, 'AT+CUSD=1,"*100#",15', b"\r\nOK\r\n")
    expect(port, b'\r\n+CUSD: 0," Vash balans 968.98 r.\nDlya",72\r\n')
    at(port, "AT+CUSD?", b"\r\n+CUSD: 1\r\n\r\nOK\r\n")


def test_network_time_and_operator(modem, port):
    echo_off(port)
    reply = command(port, "AT+CCLK?")
    clock = rb'\r\n\+CCLK: "\d\d/\d\d/\d\d,\d\d:\d\d:\d\d[+-]\d\d"\r\n\r\nOK\r\n'
    assert re.fullmatch(clock, reply)
    at(port, 'AT+CCLK="30/01/02,03:04:05+08"', b"\r\nOK\r\n")
    assert command(port, "AT+CCLK?").startswith(b'\r\n+CCLK: "30/01/02,03:04:0')  # +08 kept
    assert command(port, "AT+CCLK?").endswith(b'+08"\r\n\r\nOK\r\n')
    at(port, "AT+COPS=3,2;+COPS?", b'\r\n+COPS: 0,2,"00101"\r\n\r\nOK\r\n')
    operators = b'+COPS: (2,"Test PLMN 1-1","Test PLMN 1-1","00101"),,(0-4),(0-2)'
    at(port, "AT+COPS=?", b"\r\n" + operators + b"\r\n\r\nOK\r\n")
    at(port, "AT+CSQ", b"\r\n+CSQ: 21,0\r\n\r\nOK\r\n")


# --------------------------------------------------------------------------- output faults


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (UrcPosition.BEFORE_ECHO, b"\r\nURC\r\nAT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n"),
        (UrcPosition.BEFORE_REPLY, b"AT+CSQ\r\r\nURC\r\n\r\n+CSQ: 21,0\r\n\r\nOK\r\n"),
        (UrcPosition.BEFORE_FINAL, b"AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nURC\r\n\r\nOK\r\n"),
        (UrcPosition.AFTER_FINAL, b"AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n\r\nURC\r\n"),
    ],
    ids=lambda value: getattr(value, "value", ""),
)
def test_urc_at_a_chosen_position_in_a_reply(modem, port, position, expected):
    modem.inject_urc("URC", position=position)
    exchange(port, b"AT+CSQ\r", expected)
    assert_quiet(port)


@pytest.mark.parametrize(
    ("position", "before_body", "after_body"),
    [
        (UrcPosition.BEFORE_PROMPT, b'\r\n+CMTI: "SM",1\r\n\r\n> ', b"\r\n+CMGS: 0\r\n\r\nOK\r\n"),
        (UrcPosition.AFTER_PROMPT, b'\r\n> \r\n+CMTI: "SM",1\r\n', b"\r\n+CMGS: 0\r\n\r\nOK\r\n"),
        (UrcPosition.BEFORE_RESULT, b"\r\n> ", b'\r\n+CMTI: "SM",1\r\n\r\n+CMGS: 0\r\n\r\nOK\r\n'),
    ],
    ids=["before-prompt", "after-prompt", "before-result"],
)
def test_urc_around_the_prompt_and_the_send_result(modem, port, position, before_body, after_body):
    echo_off(port)
    modem.inject_urc('+CMTI: "SM",1', position=position)
    exchange(port, f"AT+CMGS={SUBMIT.tpdu_length}\r".encode(), before_body)
    exchange(port, SUBMIT.pdu.encode() + b"\x1a", after_body)


def test_a_burst_now_and_garbage(modem, port):
    modem.inject_urc('+CDSI: "SR",90', '+CDSI: "SR",91')
    expect(port, b'\r\n+CDSI: "SR",90\r\n\r\n+CDSI: "SR",91\r\n')
    assert modem.inject_garbage(b"\xff\x00AT\x7f") == b"\xff\x00AT\x7f"
    expect(port, b"\xff\x00AT\x7f")
    noise = modem.inject_garbage(length=40)
    assert len(noise) == 40 and b"\r" not in noise and b"\n" not in noise
    expect(port, noise)
    exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")


def test_chunked_output_arrives_intact_in_small_pieces(tmp_path):
    trace = tmp_path / "chunks.cbor"
    with SimulatedModem(chunked=True, trace=trace, seed=7) as modem, open_port(modem.path) as port:
        for n in range(6):
            modem.deliver_sms("+491701234567", f"message {n} " * 10)
        received = read_until(port, b'"SM",6\r\n') + command(port, "AT+CMGL=4")
    assert received.count(b"+CMGL:") == 6
    writes = [event.data for event in read_trace(trace).events if event.source == MODEM]
    assert b"".join(writes) == received  # nothing lost or reordered ...
    assert len(writes) > len(received) // 64 and max(map(len, writes)) <= 64  # ... only cut


def test_the_port_vanishes_and_comes_back_behind_the_same_link(tmp_path):
    link = tmp_path / "ttyGSM0"
    with SimulatedModem(link=link) as modem:
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            modem.vanish()
            assert not os.path.lexists(link)
            assert select.select([fd], [], [], DEADLINE)[0]
            try:
                assert os.read(fd, 64) == b""
            except OSError as error:
                assert error.errno == errno.EIO
        finally:
            os.close(fd)
        modem.reappear()
        assert os.readlink(link) == modem.device
        with open_port(str(link)) as port:
            exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")


@pytest.mark.asyncio
@pytest.mark.looptime
async def test_a_vanished_port_comes_back_by_itself_after_its_duration(tmp_path):
    link = tmp_path / "ttyGSM0"
    with SimulatedModem(link=link, loop=asyncio.get_running_loop()) as modem:
        modem.vanish(duration=30)
        await asyncio.sleep(29)  # the loop's time: a moment
        assert not os.path.lexists(link)
        await asyncio.sleep(2)
        assert os.readlink(link) == modem.device

        def client() -> None:
            with open_port(str(link)) as port:
                exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")

        await asyncio.to_thread(client)


def test_huawei_rssi_noise_until_curc_0(simulated):
    modem, port = simulated(model="huawei")
    modem.set_noise(0.05)
    expect(port, framed("^RSSI: 21", "^RSSI: 21"))
    port.write(b"AT^CURC=0\r")
    assert read_until(port, b"\r\nOK\r\n").replace(b"\r\n^RSSI: 21\r\n", b"") == b"\r\nOK\r\n"
    assert_quiet(port, 0.2)
    sim800, _ = simulated()
    with pytest.raises(ValueError):
        sim800.set_noise(1.0)  # a SIM800 has no periodic noise


def test_reply_syntax_variants(simulated):
    _, huawei = simulated(model="huawei")
    at(huawei, "AT+CSCA?", b'\r\n+CSCA: "+15555550100", 145\r\n\r\nOK\r\n')
    at(huawei, "AT+CREG=2;+CREG?", b"\r\n+CREG: 2,1, 1A2B, 3C4D\r\n\r\nOK\r\n")
    old_firmware = dataclasses.replace(PROFILES["huawei"], unknown_command_error="not-support")
    _, old = simulated(model=old_firmware)
    at(old, "AT+CLAC", b"\r\nCOMMAND NOT SUPPORT\r\n")
    _, ec25 = simulated(model="ec25")
    at(ec25, "AT+CMEE=1;+NOPE", b"\r\n+CME ERROR: 100\r\n")
    at(ec25, 'AT+CSCA="12', b"\r\nERROR\r\n")  # EC25: a syntax error stays plain


# --------------------------------------------------------------------------- control


def test_fault_commands_drive_the_api(modem, port):
    echo_off(port)
    run_command(modem, "deliver +491701234567 hello there")
    expect(port, framed('+CMTI: "SM",1'))
    run_command(modem, "urc +CREG: 0")
    expect(port, framed("+CREG: 0"))
    run_command(modem, "fail-send 38")
    assert send_pdu(port, SUBMIT.pdu, SUBMIT.tpdu_length, echo=False) == framed("+CMS ERROR: 38")
    run_command(modem, "smsc none")
    at(port, "AT+CSCA?", b'\r\n+CSCA: "",129\r\n\r\nOK\r\n')
    run_command(modem, "smsc +447785016005")
    at(port, "AT+CSCA?", b'\r\n+CSCA: "+447785016005",145\r\n\r\nOK\r\n')
    for bad in ("explode", "fail-send", "silent maybe", "lte-only on"):  # a SIM800 has no LTE
        with pytest.raises(ValueError):
            run_command(modem, bad)
    assert pdu.decode(modem.messages("SM")[0][2]).text == "hello there"


def test_cli_reads_fault_commands_from_stdin(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hil.simulator", "--commands", "--link", str(tmp_path / "m")],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None  # all PIPE
    try:
        path = proc.stdout.readline().decode().strip()
        with open_port(path) as port:
            proc.stdin.write(b"reboot\n")
            proc.stdin.flush()
            expect(port, framed(*READY_URCS["sim800"]))
            assert proc.stderr.readline() == b"ok\n"
            proc.stdin.write(b"nonsense\n")
            proc.stdin.flush()
            assert proc.stderr.readline().startswith(b"error: unknown command")
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
