"""Receiving on the simulated modem: storages, AT+CNMI routing, AT+CNMA, status reports.

Driven through the pty with exact bytes, as docs/modems.md §4 describes real modems.
"""

from __future__ import annotations

import datetime
from typing import TypeVar

import pytest

from appliance import pdu
from hil.at_client import (
    assert_quiet,
    at,
    command,
    echo_off,
    exchange,
    expect,
    open_port,
    read_until,
)
from hil.control import run_command
from hil.messaging import tpdu_length
from hil.profiles import PROFILES
from hil.waiting import wait_for

NUMBER = "+491701234567"
ZONE = datetime.timezone(datetime.timedelta(hours=2))
WHEN = datetime.datetime(2024, 5, 1, 12, 0, 5, tzinfo=ZONE)
LONG = "The quick brown fox jumps over the lazy dog. " * 8  # 360 characters: 3 parts
Kind = TypeVar("Kind", pdu.Deliver, pdu.Submit, pdu.StatusReport)


def decode_as(pdu_hex: str, kind: type[Kind]) -> Kind:
    """The PDU decoded, and of the kind the test expects."""
    message = pdu.decode(pdu_hex)
    assert isinstance(message, kind), message
    return message


def ok(port, line: str) -> None:
    at(port, line, b"\r\nOK\r\n")


@pytest.fixture
def port(modem):  # overrides the shared fixture: echo off, CMEE=1
    with open_port(modem.path) as opened:
        echo_off(opened)
        ok(opened, "AT+CMEE=1")
        yield opened


def send_with_report(port, text: str = "report me") -> bytes:
    """AT+CMGS of a SUBMIT with TP-SRR; returns the result bytes."""
    part = pdu.encode_submit("+4912345", text, status_report=True)[0]
    exchange(port, f"AT+CMGS={part.tpdu_length}\r".encode(), b"\r\n> ")
    port.write(part.pdu.encode() + b"\x1a")
    return read_until(port, b"OK\r\n")


# --------------------------------------------------------------------------- storing


def test_a_delivered_sms_is_stored_announced_listed_and_marked_read(modem, port):
    (stored,) = modem.deliver_sms(NUMBER, "hello", timestamp=WHEN)
    n = tpdu_length(stored)
    expect(port, b'\r\n+CMTI: "SM",1\r\n')
    at(port, "AT+CPMS?", b'\r\n+CPMS: "SM",1,20,"SM",1,20,"SM",1,20\r\n\r\nOK\r\n')
    listing = f"\r\n+CMGL: 1,0,,{n}\r\n{stored}\r\n\r\nOK\r\n".encode()
    at(port, "AT+CMGL=4", listing)
    at(port, "AT+CMGL=0", b"\r\nOK\r\n")  # listing marked it read
    at(port, "AT+CMGL=1", listing.replace(b"1,0,,", b"1,1,,"))
    decoded = decode_as(stored, pdu.Deliver)
    assert (decoded.number, decoded.text, decoded.timestamp, decoded.smsc) == (
        NUMBER, "hello", WHEN, "+15555550100"
    )


def test_cmgr_shows_unread_once_then_read_and_simcom_mode_1_keeps_it(modem, port):
    (stored,) = modem.deliver_sms(NUMBER, "read me")
    expect(port, b'\r\n+CMTI: "SM",1\r\n')
    n = tpdu_length(stored)
    at(port, "AT+CMGR=1,1", f"\r\n+CMGR: 0,,{n}\r\n{stored}\r\n\r\nOK\r\n".encode())
    at(port, "AT+CMGR=1", f"\r\n+CMGR: 0,,{n}\r\n{stored}\r\n\r\nOK\r\n".encode())
    at(port, "AT+CMGR=1", f"\r\n+CMGR: 1,,{n}\r\n{stored}\r\n\r\nOK\r\n".encode())


@pytest.mark.parametrize(
    ("model", "storage", "first", "empty_read"),
    [
        ("sim800", "SM", 1, b"\r\nOK\r\n"),
        ("sim7600", "SM", 0, b"\r\n+CMS ERROR: 321\r\n"),
        ("ec25", "ME", 0, b"\r\nOK\r\n"),
        ("huawei", "SM", 0, b"\r\n+CMS ERROR: 500\r\n"),
    ],
)
def test_index_base_and_empty_slot_read_per_model(model, storage, first, empty_read, simulated):
    size = PROFILES[model].storage_size(storage)
    modem, port = simulated(model=model)
    ok(port, "AT+CMEE=1;+CNMI=2,1,0,0,0")  # Huawei's default is 0,0,0,0,0
    modem.deliver_sms(NUMBER, "first")
    expect(port, f'\r\n+CMTI: "{storage}",{first}\r\n'.encode())
    at(port, f"AT+CMGR={first + 1}", empty_read)  # in range, empty
    at(port, f"AT+CMGR={first + size}", b"\r\n+CMS ERROR: 321\r\n")  # out of range
    at(port, f"AT+CMGD={first + size}", b"\r\n+CMS ERROR: 321\r\n")
    if first:
        at(port, "AT+CMGR=0", b"\r\n+CMS ERROR: 321\r\n")
    assert_quiet(port)


def test_cpms_selects_storages_with_the_reply_shapes_of_27005(modem, port):
    at(port, "AT+CPMS=?", b'\r\n+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")\r\n\r\nOK\r\n')
    at(port, 'AT+CPMS="ME","ME","ME"', b"\r\n+CPMS: 0,20,0,20,0,20\r\n\r\nOK\r\n")
    modem.deliver_sms(NUMBER, "into ME")
    expect(port, b'\r\n+CMTI: "ME",1\r\n')
    at(port, 'AT+CPMS="SM"', b"\r\n+CPMS: 0,20,1,20,1,20\r\n\r\nOK\r\n")
    at(port, "AT+CPMS?", b'\r\n+CPMS: "SM",0,20,"ME",1,20,"ME",1,20\r\n\r\nOK\r\n')
    at(port, 'AT+CPMS="SR"', b"\r\n+CMS ERROR: 302\r\n")  # the SIM800 has no SR
    assert [index for index, _, _ in modem.messages("ME")] == [1]


def test_status_report_storage_is_for_reading_only(simulated):
    _, port = simulated(model="ec25")
    at(port, "AT+CPMS=?", b'\r\n+CPMS: ("ME","SM","SR"),("ME","SM"),("ME","SM")\r\n\r\nOK\r\n')
    at(port, 'AT+CPMS="SR","SR"', b"\r\n+CMS ERROR: 302\r\n")
    at(port, 'AT+CPMS="SR"', b"\r\n+CPMS: 0,20,0,255,0,255\r\n\r\nOK\r\n")


def test_cmgl_by_stat_and_cmgd_delete_flags(modem, port):
    for text in ("one", "two", "three"):
        modem.deliver_sms(NUMBER, text)
    expect(port, b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n\r\n+CMTI: "SM",3\r\n')
    port.write(b"AT+CMGR=2\r")
    read_until(port, b"OK\r\n")  # 2 is read now
    draft = pdu.encode_submit("+4912345", "draft")[0]
    exchange(port, f"AT+CMGW={draft.tpdu_length}\r".encode(), b"\r\n> ")
    exchange(port, draft.pdu.encode() + b"\x1a", b"\r\n+CMGW: 4\r\n\r\nOK\r\n")
    assert [(i, stat) for i, stat, _ in modem.messages("SM")] == [(1, 0), (2, 1), (3, 0), (4, 2)]
    listed = command(port, "AT+CMGL=0")
    assert listed.count(b"+CMGL:") == 2 and b"+CMGL: 1,0,," in listed and b"+CMGL: 3,0,," in listed
    ok(port, "AT+CMGD=1,1")  # read ones (1 and 3 were just listed, 2 was read)
    assert [(i, stat) for i, stat, _ in modem.messages("SM")] == [(4, 2)]
    ok(port, "AT+CMGD=1,2")  # read and sent: the unsent draft stays
    assert [i for i, _, _ in modem.messages("SM")] == [4]
    ok(port, "AT+CMGD=1,3")  # unsent too
    assert modem.messages("SM") == []
    modem.deliver_sms(NUMBER, "four")
    expect(port, b'\r\n+CMTI: "SM",1\r\n')
    ok(port, "AT+CMGD=7")  # an empty slot in range
    ok(port, "AT+CMGD=0,4")  # everything (the index is ignored)
    assert modem.messages("SM") == []
    at(port, "AT+CMGD=?", b"\r\n+CMGD: (),(0-4)\r\n\r\nOK\r\n")


def test_cmgw_then_cmss_sends_from_storage(modem, port):
    draft = pdu.encode_submit("+4912345", "stored, then sent")[0]
    exchange(port, f"AT+CMGW={draft.tpdu_length},2\r".encode(), b"\r\n> ")
    exchange(port, draft.pdu.encode() + b"\x1a", b"\r\n+CMGW: 1\r\n\r\nOK\r\n")
    at(port, "AT+CMSS=1", b"\r\n+CMSS: 0\r\n\r\nOK\r\n")
    assert modem.messages("SM") == [(1, 3, draft.pdu)]  # STO SENT now
    assert [s.pdu for s in modem.sent] == [draft.pdu]
    at(port, "AT+CMSS=2", b"\r\n+CMS ERROR: 321\r\n")


# --------------------------------------------------------------------------- routing


def test_cnmi_mt2_pushes_two_line_cmt_and_csms1_needs_cnma(modem, port):
    ok(port, "AT+CNMI=2,2,0,0,0")
    at(port, "AT+CSMS=1", b"\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n")
    first, second = (modem.deliver_sms(NUMBER, text)[0] for text in ("first", "second"))
    expect(port, f"\r\n+CMT: ,{tpdu_length(first)}\r\n{first}\r\n".encode())
    assert_quiet(port)  # 27.005: no second +CMT before the first is acknowledged
    ok(port, "AT+CNMA")
    expect(port, f"\r\n+CMT: ,{tpdu_length(second)}\r\n{second}\r\n".encode())
    ok(port, "AT+CNMA")
    at(port, "AT+CNMA", b"\r\n+CMS ERROR: 340\r\n")  # nothing to acknowledge
    assert modem.messages("SM") == []  # shown, not stored


def test_a_cmt_never_acknowledged_turns_routing_off_and_lands_in_storage(simulated):
    modem, port = simulated(cnma_timeout=0.2)
    ok(port, "AT+CNMI=2,2,0,1,0")
    at(port, "AT+CSMS=1", b"\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n")
    (message,) = modem.deliver_sms(NUMBER, "ack me")
    expect(port, f"\r\n+CMT: ,{tpdu_length(message)}\r\n{message}\r\n".encode())
    wait_for(lambda: modem.messages("SM"), what="the unacknowledged SMS stored")  # its timer is the modem's
    assert_quiet(port, 0.4)  # the network's retry is stored silently (mt=0)
    at(port, "AT+CNMI?", b"\r\n+CNMI: 2,0,0,0,0\r\n\r\nOK\r\n")
    assert modem.messages("SM") == [(1, 0, message)]


def test_cnmi_mode_0_keeps_indications_until_the_mode_changes(modem, port):
    ok(port, "AT+CNMI=0,1,0,0,0")
    modem.deliver_sms(NUMBER, "buffered")
    assert_quiet(port)
    at(port, "AT+CNMI=2,1,0,0,0", b'\r\nOK\r\n\r\n+CMTI: "SM",1\r\n')


def test_multipart_parts_arrive_out_of_order_with_a_gap(modem, port):
    delivered = modem.deliver_sms(NUMBER, LONG, parts_order=[3, 1, 2], drop_parts=[2])
    expect(port, b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n')
    concats = [decode_as(p, pdu.Deliver).concat for _, _, p in modem.messages("SM")]
    assert concats[0] is not None
    reference = concats[0].reference
    assert concats == [pdu.Concat(reference, 3, 3), pdu.Concat(reference, 3, 1)]
    assert delivered == [stored for _, _, stored in modem.messages("SM")]
    with pytest.raises(ValueError):
        modem.deliver_sms(NUMBER, LONG, parts_order=[1, 2])


def test_ucs2_and_raw_pdus_are_delivered_as_given(modem, port):
    (ucs2,) = modem.deliver_sms(NUMBER, "Привет, мир")
    assert pdu.decode(ucs2).encoding == "ucs2" and pdu.decode(ucs2).text == "Привет, мир"
    modem.deliver_pdu("00FFEE")  # malformed: stored raw, as a modem stores what came
    expect(port, b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n')
    at(port, "AT+CMGR=2", b"\r\n+CMGR: 0,,2\r\n00FFEE\r\n\r\nOK\r\n")


def test_a_full_storage_stores_nothing_until_a_slot_is_freed(modem, port):
    assert modem.fill_storage() == 20
    (message,) = modem.deliver_sms(NUMBER, "knocking")
    assert_quiet(port)  # no +CMTI: the network keeps it
    draft = pdu.encode_submit("+4912345", "draft")[0]
    exchange(port, f"AT+CMGW={draft.tpdu_length}\r".encode(), b"\r\n> ")
    exchange(port, draft.pdu.encode() + b"\x1a", b"\r\n+CMS ERROR: 322\r\n")
    at(port, "AT+CMGD=5", b'\r\nOK\r\n\r\n+CMTI: "SM",5\r\n')  # delivered once there is room
    assert modem.messages("SM")[4] == (5, 0, message)


def test_huawei_announces_a_full_storage(simulated):
    modem, port = simulated(model="huawei")
    ok(port, "AT+CNMI=2,1,0,0,0")
    modem.fill_storage()
    modem.deliver_sms(NUMBER, "no room")
    expect(port, b'\r\n^SMMEMFULL: "SM"\r\n')
    assert_quiet(port)


# --------------------------------------------------------------------------- status reports


def test_status_report_comes_as_cds_with_the_send_reference(simulated):
    modem, port = simulated(report_delay=0.05, first_reference=41)
    ok(port, "AT+CNMI=2,1,0,1,0")
    assert send_with_report(port) == b"\r\n+CMGS: 41\r\n\r\nOK\r\n"
    header = read_until(port, b"\r\n") + read_until(port, b"\r\n")
    report = read_until(port, b"\r\n")[:-2].decode()
    assert header == f"\r\n+CDS: {tpdu_length(report)}\r\n".encode()
    decoded = pdu.decode(report)
    assert isinstance(decoded, pdu.StatusReport)
    assert (decoded.reference, decoded.number, decoded.status) == (41, "+4912345", 0)
    assert decoded.discharge_time >= decoded.timestamp
    modem.set_next_report(0x40)  # permanent failure
    assert send_with_report(port) == b"\r\n+CMGS: 42\r\n\r\nOK\r\n"
    read_until(port, b"\r\n")
    read_until(port, b"\r\n")
    assert decode_as(read_until(port, b"\r\n")[:-2].decode(), pdu.StatusReport).status == 0x40


def test_no_report_without_tp_srr_with_ds0_or_from_a_network_that_sends_none(simulated):
    _, port = simulated(report_delay=0.05)
    plain = pdu.encode_submit("+4912345", "no report")[0]
    exchange(port, f"AT+CMGS={plain.tpdu_length}\r".encode(), b"\r\n> ")
    exchange(port, plain.pdu.encode() + b"\x1a", b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
    send_with_report(port)  # CNMI ds is 0 by default: the report is not routed
    assert_quiet(port, 0.3)
    _, port = simulated(report_delay=0.05, status_reports=False)
    ok(port, "AT+CNMI=2,1,0,1,0")
    send_with_report(port)
    assert_quiet(port, 0.3)


@pytest.mark.parametrize(
    ("model", "label", "sr_size", "mem_size"),
    [("sim7600", "SR", 20, 20), ("ec25", "SM", 20, 255), ("huawei", "SR", 100, 20)],
)
def test_status_report_stored_in_sr_with_cdsi(model, label, sr_size, mem_size, simulated):
    modem, port = simulated(model=model, report_delay=0.05)
    ok(port, "AT+CNMI=2,1,0,2,0")
    send_with_report(port)
    expect(port, f'\r\n+CDSI: "{label}",0\r\n'.encode())  # EC25 names the wrong storage
    [(index, stat, report)] = modem.messages("SR")
    assert (index, stat) == (0, 0) and decode_as(report, pdu.StatusReport).reference == 0
    if label == "SM":  # reading where EC25 said: nothing there, a bare OK
        at(port, 'AT+CPMS="SM";+CMGR=0', b"\r\n+CPMS: 0,20,0,255,0,255\r\n\r\nOK\r\n")
    counts = f"1,{sr_size},0,{mem_size},0,{mem_size}"
    at(port, 'AT+CPMS="SR"', f"\r\n+CPMS: {counts}\r\n\r\nOK\r\n".encode())
    stored = f"+CMGR: 0,,{tpdu_length(report)}\r\n{report}"
    at(port, "AT+CMGR=0", f"\r\n{stored}\r\n\r\nOK\r\n".encode())


def test_a_modem_told_to_store_reports_announces_them_with_cdsi_until_cnmi_says_otherwise(
    simulated,
):
    modem, port = simulated(model="sim7600", report_delay=0.05)
    ok(port, "AT+CNMI=2,1,0,1,0")
    run_command(modem, "store-reports")  # the host asked for +CDS, the modem stores
    send_with_report(port)
    expect(port, b'\r\n+CDSI: "SR",0\r\n')
    assert [index for index, _, _ in modem.messages("SR")] == [0]
    ok(port, "AT+CNMI=2,1,0,1,0")
    send_with_report(port)
    assert read_until(port, b"\r\n+CDS: ") == b"\r\n+CDS: "  # directly again


# --------------------------------------------------------------------------- text mode


def test_text_mode_lists_each_part_on_its_own_without_udh(modem, port):
    modem.deliver_sms(NUMBER, LONG, timestamp=WHEN)
    read_until(port, b'"SM",3\r\n')
    ok(port, "AT+CMGF=1")
    listed = command(port, 'AT+CMGL="ALL"').decode()
    heads = [line for line in listed.split("\r\n") if line.startswith("+CMGL:")]
    assert heads == [
        f'+CMGL: {i},"REC UNREAD","{NUMBER}","","24/05/01,12:00:05+08"' for i in (1, 2, 3)
    ]
    texts = [line for line in listed.split("\r\n") if line and not line.startswith(("+CMGL", "OK"))]
    assert "".join(texts) == LONG and len(texts[0]) == 153  # cut mid-word, no UDH shown
    ok(port, "AT+CSDH=1")
    at(port, "AT+CMGR=3", (
        f'\r\n+CMGR: "REC READ","{NUMBER}","","24/05/01,12:00:05+08",145,68,0,0,'
        f'"+15555550100",145,{len(LONG) - 306}\r\n{LONG[306:]}\r\n\r\nOK\r\n'
    ).encode())


def test_text_mode_cmt_and_send(simulated):
    modem, port = simulated(report_delay=0.05)
    ok(port, "AT+CMGF=1;+CNMI=2,2,0,1,0;+CSMP=49,167,0,0")
    modem.deliver_sms(NUMBER, "Grüße", timestamp=WHEN)
    cmt = f'\r\n+CMT: "{NUMBER}","","24/05/01,12:00:05+08"\r\nGrüße\r\n'
    expect(port, cmt.encode("latin-1"))
    exchange(port, b'AT+CMGS="+4912345"\r', b"\r\n> ")
    exchange(port, b"hello text\x1a", b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
    (sent,) = modem.sent
    submit = decode_as(sent.pdu, pdu.Submit)
    assert (submit.number, submit.text, submit.status_report_requested) == (
        "+4912345", "hello text", True
    )
    line = read_until(port, b"\r\n") + read_until(port, b"\r\n")
    assert line.startswith(b'\r\n+CDS: 6,0,"+4912345",145,"') and line.endswith(b'",0\r\n')
