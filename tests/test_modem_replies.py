"""Picking the lines a command asked for out of its reply by their shape (modem/replies.py)."""

import pytest

from appliance.modem import replies
from appliance.modem.at import Response

DELIVER = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
LENGTH = len(DELIVER) // 2 - 8  # without the SMSC part: its length octet and 7 octets


@pytest.mark.parametrize("line, length, pdu", [
    (DELIVER, LENGTH, DELIVER),
    (DELIVER + '"', LENGTH, DELIVER),
    ('"' + DELIVER + '"', None, DELIVER),
    (DELIVER + " 0", LENGTH, DELIVER),          # a shorter run of hex after it
    (DELIVER + "0F", LENGTH, DELIVER),          # hex junk: the header's length cuts it off
    (DELIVER + "0", None, DELIVER),             # without a length: whole octets only
    (DELIVER[:40] + '"', LENGTH, DELIVER[:40]),  # cut short: handed over as it is
    ("FF" + DELIVER[2:] + "00", LENGTH, "FF" + DELIVER[2:] + "00"),  # no SMSC length: no check
    ('"', LENGTH, None), ("", None, None), ("?", 5, None), ("A", 5, None),
])
def test_the_pdu_is_the_longest_hex_run_cut_to_the_headers_length(line, length, pdu):
    assert replies.pdu_hex(line, length) == pdu


@pytest.mark.parametrize("lines, model", [
    (["SIMCOM_SIM800L"], "SIMCOM_SIM800L"),
    (["RING", '+CLIP: "+4477",145', "PB DONE", "EC25"], "EC25"),
    (["^BOOT:1,0,0,0,75", "+CPIN: READY", "E3372"], "E3372"),
    (["+CGMM: L850"], "L850"), (['+CIEV: 2,3', '+CGMM: "L850 LTE Module"'], "L850 LTE Module"),
    (["RING"], None), ([], None),
])
def test_an_identity_is_the_line_that_does_not_look_unsolicited(lines, model):
    assert replies.information(Response("AT+CGMM", lines, "OK"), "+CGMM") == model


def test_a_read_is_the_header_and_the_line_after_it_with_unsolicited_lines_anywhere():
    lines = ["RING", f"+CMGR: 1,,{LENGTH}", "+CRING: VOICE", '+CLIP: "+4477",145', DELIVER + '"', "PB DONE"]
    ((header, pdu),) = replies.stored_pdus(lines, replies.CMGR)
    assert header.group(0) == f"+CMGR: 1,,{LENGTH}" and pdu == DELIVER


def test_a_listing_pairs_each_header_with_its_pdu_and_marks_the_unreadable():
    lines = [f"+CMGL: 1,0,,{LENGTH}", DELIVER, "+CGREG: 1", f"+CMGL: 3,1,,{LENGTH}", f"+CMGL: 4,1,,{LENGTH}",
             "^RSSI:18", DELIVER + "FF", f'+CMGL: 7,1,"",{LENGTH}', '"']
    listed = [(int(header.group(1)), pdu) for header, pdu in replies.stored_pdus(lines, replies.CMGL)]
    assert listed == [(1, DELIVER), (3, None), (4, DELIVER), (7, None)]
