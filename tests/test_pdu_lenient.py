"""decode(strict=False): received PDUs with the faults real networks and modems produce.

Each case starts from a valid PDU and breaks it the way the field does. The strict decode
must still refuse it (what the appliance itself writes is held to 23.040); the lenient one
must read it, give the same fields as far as they are there, and say what it repaired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from appliance.pdu import Deliver, PDUError, StatusReport, _pdu, decode, encode_deliver

# SMS-DELIVER from 123 (national), PID 00, DCS 00, SCTS 1999-03-29 15:16:59 +02:00, "hellohello"
HEAD = "00" + "04" + "0381" + "21F3" + "0000"
SCTS = "99309251619580"
HELLO = "0A" + "E8329BFD4697D9EC37"
DELIVER = HEAD + SCTS + HELLO
PLUS_TWO = timezone(timedelta(hours=2))

# SMS-STATUS-REPORT (bare TPDU): reference 0 to +20121875612, delivered (TP-ST 00)
STATUS_REPORT = "06000B910221815716F2709021510121807090215101718000"


def lenient(pdu: str, *, smsc: bool = True) -> Deliver | StatusReport:
    """The lenient decode of a PDU that the strict one refuses."""
    with pytest.raises(PDUError):
        decode(pdu, smsc=smsc)
    message = decode(pdu, smsc=smsc, strict=False)
    assert message.repairs, "a repaired PDU says so"
    return message


def ucs2_deliver(text: str) -> str:
    (part,) = encode_deliver("+447700900123", text, encoding="ucs2",
                             timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    return part.pdu


class TestCleanPDUs:
    @pytest.mark.parametrize("pdu, smsc", [(DELIVER, True), (STATUS_REPORT, False),
                                           (ucs2_deliver("Привет"), True)])
    def test_a_valid_pdu_decodes_the_same_with_nothing_repaired(self, pdu, smsc):
        strict = decode(pdu, smsc=smsc)
        assert strict.repairs == ()
        assert decode(pdu, smsc=smsc, strict=False) == strict


class TestUserData:
    def test_octets_after_the_user_data_are_ignored(self):
        m = lenient(DELIVER + "FF00")
        assert m.text == "hellohello"
        assert m.repairs == ("2 octet(s) after the user data ignored",)

    def test_user_data_length_longer_than_the_septets_present(self):
        text = "x" * 100
        (part,) = encode_deliver("123", text, timestamp=datetime(2024, 5, 1, tzinfo=UTC))
        udl_at = len(part.pdu) - 2 * 88 - 2  # 100 septets pack into 88 octets
        assert part.pdu[udl_at:udl_at + 2] == "64"
        m = lenient(part.pdu[:udl_at] + "A0" + part.pdu[udl_at + 2:])
        assert m.text == text
        assert m.repairs == ("user data length 160 septets but only 100 present",)

    def test_ucs2_user_data_length_longer_than_the_octets_present(self):
        pdu = ucs2_deliver("Привет")  # 12 octets of UD
        m = lenient(pdu[:-4])  # the last character and its octets are gone
        assert m.text == "Приве"
        assert m.repairs == ("user data length 12 octets but only 10 present",)

    def test_a_user_data_length_beyond_the_maximum_is_capped(self):
        m = lenient(HEAD + SCTS + "A1" + "00" * 141)
        assert m.text == "@" * 160
        assert m.repairs == ("TP-UDL 161 exceeds 160 septets, read as 160",
                             "1 octet(s) after the user data ignored")

    def test_ucs2_odd_octet_count_drops_the_last_octet(self):
        m = lenient("00" + "04" + "0381" + "21F3" + "0008" + SCTS + "03" + "004100")
        assert m.text == "A"
        assert m.repairs == ("UCS2 user data has an odd number of octets (3), the last one ignored",)

    def test_empty_user_data_with_the_header_indicator_set(self):
        m = lenient("00" + "44" + "0381" + "21F3" + "0000" + SCTS + "00")
        assert (m.text, m.udh, m.concat) == ("", [], None)
        assert m.repairs == ("TP-UDHI set but the user data is empty",)

    def test_lone_surrogate_becomes_the_replacement_character(self):
        pdu = ucs2_deliver("ab")
        broken = pdu[:-4] + "D83D"  # "b" replaced by a high surrogate without its partner
        assert decode(broken).text == "a\ud83d"  # strict keeps it: parts may be rejoined
        m = decode(broken, strict=False)
        assert m.text == "a\ufffd"
        assert m.data == bytes.fromhex("0061D83D")  # the units as sent, to rejoin parts
        assert m.repairs == ("UCS2 text: 1 lone surrogate(s) replaced by U+FFFD, the first at unit 1",)

    def test_an_information_element_overrunning_the_header_is_dropped(self):
        # UDH of 5 octets: IE 0x70 of 2 octets, then IE 0x00 claiming 5 octets in 1
        m = lenient("00" + "44" + "0381" + "21F3" + "0008" + SCTS + "09" + "06700201020003" + "0061")
        assert m.udh == [(0x70, b"\x01\x02")]
        assert m.text == "a"
        assert m.repairs == ("UDH: IE 0x00 length 3 overruns the header, ignored with the rest",)

    def test_a_concatenation_element_of_the_wrong_length_is_not_read_as_one(self):
        m = lenient("00" + "44" + "0381" + "21F3" + "0008" + SCTS + "06" + "03000105" + "0061")
        assert (m.concat, m.udh, m.text) == (None, [(0, b"\x05")], "a")
        assert m.repairs == ("UDH: concatenation IE length 1, must be 3; not read as one",)

    def test_an_unsupported_national_language_falls_back_to_the_default_table(self):
        # a single shift IE naming language 13 (Urdu): 4 octets of UDH, so 5 septets, 3 fill bits
        body = _pdu.pack7(_pdu.gsm7_encode("hellohello"), 3).hex().upper()
        pdu = "00" + "44" + "0381" + "21F3" + "0000" + SCTS + "0F" + "0324010D" + body
        with pytest.raises(PDUError, match="national language 13"):
            decode(pdu)
        m = decode(pdu, strict=False)
        assert m.text == "hellohello"
        assert m.repairs == ("UDH: national language 13 (single shift table) is not supported; "
                             "the default table used, the text may be wrong",)


class TestTimestamps:
    def test_a_time_zone_that_is_not_bcd_reads_as_utc_and_the_time_is_kept(self):
        m = lenient(HEAD + "993092516195A0" + HELLO)
        assert m.timestamp == datetime(1999, 3, 29, 15, 16, 59, tzinfo=UTC)
        assert m.repairs == ("TP-SCTS: time zone 0xA0 is not BCD, read as UTC",)

    def test_a_digit_that_is_not_bcd_reads_as_zero(self):
        m = lenient(HEAD + "9930925161A580" + HELLO)  # seconds: the units digit is A
        assert m.timestamp == datetime(1999, 3, 29, 15, 16, 50, tzinfo=PLUS_TWO)
        assert m.repairs == ("TP-SCTS: 9930925161A5: a digit that is not BCD read as 0",)

    def test_an_impossible_date_gives_the_time_of_decoding(self):
        before = datetime.now(UTC)
        m = lenient(HEAD + "99139251619580" + HELLO)  # month 31
        after = datetime.now(UTC)
        assert before <= m.timestamp <= after
        assert m.text == "hellohello"
        assert m.repairs == ("TP-SCTS: 99139251619580 is not a valid time (month), "
                             "the time of decoding instead",)


class TestStatusReports:
    def test_missing_tp_pi_extension_octet(self):
        m = lenient(STATUS_REPORT + "80", smsc=False)
        assert (m.reference, m.number, m.status) == (0, "+20121875612", 0)
        assert m.repairs == ("TP-PI 0x80 announces a TP-PI extension octet but the PDU ends before it",)

    @pytest.mark.parametrize("pi, tail, field", [("07", "", "TP-PID"), ("07", "00", "TP-DCS"),
                                                 ("06", "00", "TP-UDL"), ("04", "", "TP-UDL")])
    def test_ending_early_after_the_mandatory_fields(self, pi, tail, field):
        m = lenient(STATUS_REPORT + pi + tail, smsc=False)
        assert (m.status, m.text) == (0, None)
        assert m.discharge_time == datetime(2007, 9, 12, 15, 10, 17, tzinfo=PLUS_TWO)
        assert m.repairs == (f"TP-PI 0x{pi} announces {field} but the PDU ends before it",)

    def test_reserved_bits_in_tp_pi_make_it_ignored(self):
        m = lenient(STATUS_REPORT + "7F" + "0000", smsc=False)
        assert (m.pid, m.dcs, m.status) == (None, None, 0)
        assert m.repairs == ("TP-PI 0x7F has reserved bits set; it and the 2 octet(s) after it ignored",)

    def test_octets_after_a_status_report_are_ignored(self):
        m = lenient(STATUS_REPORT + "00" + "00", smsc=False)
        assert m.repairs == ("1 octet(s) after the status report ignored",)


class TestAddresses:
    def test_a_filler_nibble_ends_the_number(self):
        m = lenient("00" + "04" + "0481" + "21F3" + "0000" + SCTS + HELLO)
        assert m.number == "123"
        assert m.repairs == ("TP-OA: filler nibble F at digit 4 of 4 ends the number",)


class TestStillUnreadable:
    @pytest.mark.parametrize("pdu, reason", [
        (DELIVER[:10], r"^octet 4: truncated: TP-OA needs 2 octets, only 1 left"),
        ("00" + "04" + "15" + "81" + "00" * 11 + "0000" + SCTS + "00", "TP-OA length 21 semi-octets exceeds 20"),
        ("00" + "44" + "0381" + "21F3" + "0008" + SCTS + "04" + "05000302", "UDH length 5 overruns"),
        ("0C" + "91" + "00" * 11 + "04", "SMSC length 12"),
        (STATUS_REPORT[:30], "truncated: TP-SCTS"),
    ])
    def test_what_cannot_be_read_raises_with_its_reason(self, pdu, reason):
        smsc = not pdu.startswith("06")
        with pytest.raises(PDUError, match=reason):
            decode(pdu, smsc=smsc, strict=False)
