"""The SMS PDU codec: known vectors, splitting rules, round trips, and hostile input.

Vectors marked "classic" are the widely published examples for GSM 03.40
(SMS-SUBMIT / SMS-DELIVER "hellohello"); the rest are built from the
standard's field layouts by hand, byte by byte, in the test itself.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from appliance.pdu import (
    Concat,
    Count,
    Deliver,
    Part,
    PDUError,
    StatusReport,
    Submit,
    _pdu,
    count,
    decode,
    encode_submit,
)

# Every character of the GSM 7-bit default alphabet (escape excluded) and of its extension table.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = "\f^{}\\[~]|€"

CLASSIC_SUBMIT = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
CLASSIC_DELIVER = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
# SMS-STATUS-REPORT as a modem prints it after +CDS (no SMSC part).
STATUS_REPORT = "06000B910221815716F2709021510121807090215101718000"
# SMS-DELIVER from alphanumeric sender "Google", time zone -06:00, "hellohello".
ALNUM_DELIVER = "07911326040000F0040BD0C7F7FBCC2E0300003150202134244A0AE8329BFD4697D9EC37"


def all_gsm_chars() -> str:
    return GSM_BASIC + GSM_EXT


# ------------------------------------------------------------------ C layer


class TestHex:
    def test_round_trip_upper_case(self):
        assert _pdu.hex_encode(bytes(range(256))) == bytes(range(256)).hex().upper()
        assert _pdu.hex_decode(bytes(range(256)).hex()) == bytes(range(256))
        assert _pdu.hex_decode(b"00aBfF") == b"\x00\xab\xff"
        assert _pdu.hex_encode(b"") == "" and _pdu.hex_decode("") == b""

    @pytest.mark.parametrize(
        "text, offset",
        [("0G", "offset 1"), ("ABC", "offset 2"), ("00 1", "offset 2"), ("é0", "offset 0"), (b"z0", "offset 0")],
    )
    def test_bad_hex_names_the_offset(self, text, offset):
        with pytest.raises(ValueError, match=offset):
            _pdu.hex_decode(text)

    def test_wrong_type(self):
        with pytest.raises(TypeError):
            _pdu.hex_decode(12)


class TestSeptets:
    def test_hellohello_packs_to_the_published_octets(self):
        septets = _pdu.gsm7_encode("hellohello")
        assert _pdu.hex_encode(_pdu.pack7(septets)) == "E8329BFD4697D9EC37"
        assert _pdu.unpack7(_pdu.hex_decode("E8329BFD4697D9EC37"), 10) == septets

    def test_fill_bits_shift_the_first_septet(self):
        # After a 6-octet concatenation header one fill bit aligns the text: 'a' (0x61) << 1.
        assert _pdu.pack7(b"\x61", 1) == b"\xc2"
        assert _pdu.unpack7(b"\xc2", 1, 1) == b"\x61"

    def test_pack_unpack_random_round_trip(self):
        rng = random.Random(1)
        for _ in range(500):
            septets = bytes(rng.randrange(128) for _ in range(rng.randrange(200)))
            fill = rng.randrange(7)
            packed = _pdu.pack7(septets, fill)
            assert len(packed) == (fill + 7 * len(septets) + 7) // 8
            assert _pdu.unpack7(packed, len(septets), fill) == septets

    def test_unpack_refuses_short_data(self):
        with pytest.raises(ValueError, match="need 2 octets"):
            _pdu.unpack7(b"\x00", 2)
        with pytest.raises(ValueError):
            _pdu.unpack7(b"\x00" * 7, 8, 1)  # 57 bits do not fit in 56
        assert len(_pdu.unpack7(b"\x00" * 7, 8, 0)) == 8

    @pytest.mark.parametrize(
        "call",
        [
            lambda: _pdu.pack7(b"\x80"),
            lambda: _pdu.pack7(b"", 7),
            lambda: _pdu.pack7(b"", -1),
            lambda: _pdu.unpack7(b"", -1),
            lambda: _pdu.unpack7(b"", 0, 7),
            lambda: _pdu.unpack7(b"\xff" * 10, 2**62),
            lambda: _pdu.gsm7_decode(b"a\x80"),
        ],
    )
    def test_bad_arguments_raise_value_error(self, call):
        with pytest.raises(ValueError):
            call()

    def test_random_unpack_arguments_never_crash(self):
        rng = random.Random(2)
        for _ in range(3000):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
            try:
                out = _pdu.unpack7(data, rng.randrange(-2, 30), rng.randrange(-1, 8))
            except ValueError:
                continue
            assert all(s < 128 for s in out)


class TestAlphabet:
    def test_every_character_round_trips(self):
        text = all_gsm_chars()
        septets = _pdu.gsm7_encode(text)
        assert len(septets) == len(GSM_BASIC) + 2 * len(GSM_EXT)
        assert _pdu.gsm7_decode(septets) == text
        assert _pdu.gsm7_encodable(text)

    def test_table_positions(self):
        assert _pdu.gsm7_encode("@£$") == b"\x00\x01\x02"
        assert _pdu.gsm7_encode("Δ") == b"\x10"
        assert _pdu.gsm7_encode("¤§¿à") == b"\x24\x5f\x60\x7f"
        assert _pdu.gsm7_encode("€") == b"\x1b\x65"
        assert _pdu.gsm7_encode("\f^{}\\[~]|") == bytes(
            b for c in (0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40) for b in (0x1B, c)
        )

    def test_every_septet_decodes(self):
        for s in range(128):
            if s != 0x1B:
                assert len(_pdu.gsm7_decode(bytes([s]))) == 1

    def test_undefined_extension_codes_fall_back_as_the_standard_says(self):
        assert _pdu.gsm7_decode(b"\x1b\x41") == "A"  # no ext char at 0x41: show the default-table char
        assert _pdu.gsm7_decode(b"\x1b\x1b") == " "  # reserved for a further table: a space
        assert _pdu.gsm7_decode(b"ab\x1b") == "ab "  # a lone trailing escape: a space

    def test_unencodable_character_is_named_with_its_index(self):
        with pytest.raises(ValueError, match=r"'ç' \(U\+00E7\) at index 3"):
            _pdu.gsm7_encode("abcç")
        with pytest.raises(ValueError, match=r"U\+1F600"):
            _pdu.gsm7_encode("😀")
        assert not _pdu.gsm7_encodable("abcç")
        assert not _pdu.gsm7_encodable("\ud800")
        assert _pdu.gsm7_encodable("")


# ------------------------------------------------------------ known vectors


class TestKnownVectors:
    def test_classic_submit_decodes(self):
        m = decode(CLASSIC_SUBMIT)
        assert isinstance(m, Submit)
        assert m.smsc is None
        assert m.number == "+46708251358"
        assert m.text == "hellohello"
        assert m.encoding == "gsm7"
        assert m.validity == timedelta(days=4)  # TP-VP 0xAA
        assert m.reference == 0
        assert m.concat is None and m.udh == []
        assert not m.status_report_requested

    def test_classic_submit_re_encodes_identically(self):
        m = decode(CLASSIC_SUBMIT)
        parts = encode_submit(m.number, m.text, validity=m.validity, reference=m.reference)
        assert parts == [Part(pdu=CLASSIC_SUBMIT, tpdu_length=len(CLASSIC_SUBMIT) // 2 - 1)]

    def test_classic_deliver(self):
        m = decode(CLASSIC_DELIVER)
        assert isinstance(m, Deliver)
        assert m.smsc == "+27381000015"
        assert m.number == "27838890001"  # type C8: not international, so no '+'
        assert m.text == "hellohello"
        assert m.timestamp == datetime(1999, 3, 29, 15, 16, 59, tzinfo=timezone(timedelta(hours=2)))
        assert m.timestamp.utcoffset() == timedelta(hours=2)

    def test_alphanumeric_sender_and_negative_time_zone(self):
        m = decode(ALNUM_DELIVER)
        assert m.number == "Google"
        assert m.smsc == "+31624000000"
        assert m.timestamp == datetime(2013, 5, 2, 12, 43, 42, tzinfo=timezone(timedelta(hours=-6)))

    def test_status_report(self):
        m = decode(STATUS_REPORT, smsc=False)
        assert isinstance(m, StatusReport)
        assert m.reference == 0
        assert m.number == "+20121875612"
        assert m.status == 0
        tz = timezone(timedelta(hours=2))
        assert m.timestamp == datetime(2007, 9, 12, 15, 10, 12, tzinfo=tz)
        assert m.discharge_time == datetime(2007, 9, 12, 15, 10, 17, tzinfo=tz)

    def test_status_report_with_optional_user_data(self):
        pdu = STATUS_REPORT + "07" + "00" + "00" + "05" + "E8329BFD06"  # TP-PI: PID, DCS, UDL; "hello"
        m = decode(pdu, smsc=False)
        assert (m.pid, m.dcs, m.text) == (0, 0, "hello")

    def test_ucs2_message(self):
        # "Привет" is U+041F 0440 0438 0432 0435 0442: DCS 08, UDL 12 octets, no VP (first octet 01).
        parts = encode_submit("+46708251358", "Привет")
        assert parts[0].pdu == "0001000B916407281553F80008" + "0C" + "041F04400438043204350442"
        m = decode(parts[0].pdu)
        assert m.encoding == "ucs2" and m.text == "Привет" and m.dcs == 0x08

    def test_emoji_is_a_surrogate_pair(self):
        parts = encode_submit("123", "😀")
        assert parts[0].pdu.endswith("0008" + "04" + "D83DDE00")
        assert decode(parts[0].pdu).text == "😀"

    def test_euro_costs_two_septets(self):
        assert count("€").remaining == 158
        assert count("€" * 80) == Count(parts=1, encoding="gsm7", per_part=160, remaining=0)
        assert count("€" * 80 + "a").parts == 2
        pdu = encode_submit("123", "€")[0].pdu
        assert pdu.endswith("0000" + "02" + _pdu.hex_encode(_pdu.pack7(b"\x1b\x65")))

    def test_smsc_encoding(self):
        part = encode_submit("+46708251358", "hellohello", smsc="+27381000015")[0]
        assert part.pdu.startswith("07917283010010F5")
        assert part.tpdu_length == len(part.pdu) // 2 - 8
        assert decode(part.pdu).smsc == "+27381000015"

    def test_national_number_star_and_hash(self):
        part = encode_submit("*100#", "x")[0]
        assert part.pdu.startswith("0001000581" + "1A" + "00" + "FB")  # 5 digits, type 81, then 1* 00 F#
        assert decode(part.pdu).number == "*100#"

    def test_options_set_the_right_bits(self):
        part = encode_submit(
            "123", "hi", status_report=True, reject_duplicates=True, message_class=0, reference=200
        )[0]
        tpdu = _pdu.hex_decode(part.pdu)[1:]
        assert tpdu[0] == 0x01 | 0x04 | 0x20  # SUBMIT, TP-RD, TP-SRR, no VP
        assert tpdu[1] == 200
        m = decode(part.pdu)
        assert m.status_report_requested and m.reject_duplicates
        assert m.message_class == 0 and m.dcs == 0x10 and m.reference == 200
        assert decode(encode_submit("123", "ж", message_class=2)[0].pdu).dcs == 0x1A

    def test_eight_bit_deliver(self):
        pdu = "00" + "04" + "0381" + "21F3" + "00" + "04" + "99309251619580" + "03" + "00FF10"
        m = decode(pdu)
        assert m.encoding == "8bit" and m.text is None and m.data == b"\x00\xff\x10"

    def test_sixteen_bit_concat_reference(self):
        udh = "06" + "08" + "04" + "1234" + "03" + "02"  # IEI 08: 16-bit ref, 3 parts, part 2
        ud = udh + "0061"  # UCS2 "a"
        pdu = "00" + "44" + "0381" + "21F3" + "00" + "08" + "99309251619580" + f"{len(ud) // 2:02X}" + ud
        m = decode(pdu)
        assert m.concat == Concat(reference=0x1234, total=3, sequence=2)
        assert m.udh == [(0x08, b"\x12\x34\x03\x02")]
        assert m.text == "a"

    def test_out_of_range_concat_sequence_is_ignored_as_the_standard_says(self):
        ud = "05" + "00" + "03" + "07" + "02" + "03" + "0061"  # sequence 3 of 2
        pdu = "00" + "44" + "0381" + "21F3" + "00" + "08" + "99309251619580" + f"{len(ud) // 2:02X}" + ud
        m = decode(pdu)
        assert m.concat is None and m.udh == [(0x00, b"\x07\x02\x03")]


class TestValidity:
    @pytest.mark.parametrize(
        "period, vp",
        [
            (timedelta(0), 0),
            (timedelta(minutes=5), 0),
            (timedelta(minutes=5, seconds=1), 1),
            (timedelta(hours=1), 11),
            (timedelta(hours=12), 143),
            (timedelta(hours=12, minutes=1), 144),
            (timedelta(hours=24), 167),
            (timedelta(hours=24, seconds=1), 168),
            (timedelta(days=4), 0xAA),
            (timedelta(days=30), 196),
            (timedelta(days=31), 197),
            (timedelta(weeks=63), 255),
            (timedelta(weeks=1000), 255),
        ],
    )
    def test_relative_rounds_up_and_caps(self, period, vp):
        part = encode_submit("123", "x", validity=period)[0]
        tpdu = _pdu.hex_decode(part.pdu)[1:]
        assert tpdu[0] & 0x18 == 0x10  # TP-VPF relative
        assert tpdu[8] == vp  # first, MR, DA (length, type, 2 octets), PID, DCS, then VP
        decoded = decode(part.pdu).validity
        assert decoded >= min(period, timedelta(weeks=63))

    def test_negative_validity_is_refused(self):
        with pytest.raises(PDUError, match="validity"):
            encode_submit("123", "x", validity=timedelta(seconds=-1))

    def test_absolute_validity_decodes_to_a_datetime(self):
        pdu = "00" + "19" + "00" + "0381" + "21F3" + "00" + "00" + "99309251619580" + "01" + "61"
        m = decode(pdu)
        assert m.validity == datetime(1999, 3, 29, 15, 16, 59, tzinfo=timezone(timedelta(hours=2)))
        assert m.text == "a"


# ---------------------------------------------------------------- splitting


class TestSplitting:
    @pytest.mark.parametrize(
        "text, parts, encoding",
        [
            ("a" * 160, 1, "gsm7"),
            ("a" * 161, 2, "gsm7"),
            ("a" * 306, 2, "gsm7"),
            ("a" * 307, 3, "gsm7"),
            ("ж" * 70, 1, "ucs2"),
            ("ж" * 71, 2, "ucs2"),
            ("ж" * 134, 2, "ucs2"),
            ("ж" * 135, 3, "ucs2"),
            ("", 1, "gsm7"),
        ],
    )
    def test_part_counts(self, text, parts, encoding):
        assert count(text).parts == parts
        assert count(text).encoding == encoding
        assert len(encode_submit("123", text)) == parts

    def test_count_remaining(self):
        assert count("") == Count(parts=1, encoding="gsm7", per_part=160, remaining=160)
        assert count("a" * 161) == Count(parts=2, encoding="gsm7", per_part=153, remaining=145)
        assert count("ж" * 71) == Count(parts=2, encoding="ucs2", per_part=67, remaining=63)
        assert count("😀") == Count(parts=1, encoding="ucs2", per_part=70, remaining=68)
        assert count("abc", encoding="ucs2").encoding == "ucs2"

    @pytest.mark.parametrize("prefix", range(148, 157))
    def test_escape_never_split_at_the_153_boundary(self, prefix):
        text = "a" * prefix + "€" * 10 + "b" * 5
        parts = encode_submit("123", text)
        decoded = [decode(p.pdu) for p in parts]
        for m in decoded:
            assert len(m.data) <= 153
            assert not m.data.endswith(b"\x1b")  # no part ends on a dangling escape
        assert "".join(m.text for m in decoded) == text
        if prefix == 152:  # 152 + 2 would be 154: the euro must move whole to part 2
            assert len(decoded[0].data) == 152
            assert decoded[1].text.startswith("€")

    @pytest.mark.parametrize("prefix", range(64, 70))
    def test_surrogate_pair_never_split_at_the_67_boundary(self, prefix):
        text = "ж" * prefix + "😀" * 5
        parts = encode_submit("123", text)
        decoded = [decode(p.pdu) for p in parts]
        for m in decoded:
            assert len(m.data) <= 134
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in m.text)
        assert "".join(m.text for m in decoded) == text

    def test_concatenation_header(self):
        parts = encode_submit("123", "a" * 400, reference=254)
        assert len(parts) == 3
        for i, part in enumerate(parts):
            m = decode(part.pdu)
            assert m.concat == Concat(reference=254, total=3, sequence=i + 1)
            assert m.udh == [(0x00, bytes([254, 3, i + 1]))]
            # Each part is its own SMS-SUBMIT: a distinct TP-MR so TP-RD cannot reject part 2.
            assert m.reference == (254 + i) & 0xFF
            tpdu = _pdu.hex_decode(part.pdu)[1:]
            assert tpdu[0] & 0x40  # TP-UDHI
            assert part.tpdu_length == len(tpdu)
        assert [len(decode(p.pdu).data) for p in parts] == [153, 153, 94]

    def test_explicit_concat_reference(self):
        parts = encode_submit("123", "ж" * 100, reference=5, concat_reference=99)
        assert {decode(p.pdu).concat.reference for p in parts} == {99}

    def test_gsm7_udl_counts_header_septets(self):
        part = encode_submit("123", "a" * 161)[0]
        tpdu = _pdu.hex_decode(part.pdu)[1:]
        udl_index = 2 + 4 + 2  # first, MR, DA (len, type, 2 octets), PID, DCS
        assert tpdu[udl_index] == 7 + 153  # 6-octet UDH = 48 bits + 1 fill bit = 7 septets
        assert len(tpdu) - udl_index - 1 == 140

    def test_too_many_parts(self):
        with pytest.raises(PDUError, match="255"):
            encode_submit("123", "a" * (153 * 255 + 1))


class TestRoundTrips:
    def _check(self, text: str, encoding: str = "auto") -> None:
        parts = encode_submit("+4915112345678", text, encoding=encoding, reference=42)
        assert len(parts) == count(text, encoding=encoding).parts
        texts = []
        for i, part in enumerate(parts):
            raw = _pdu.hex_decode(part.pdu)
            assert part.pdu == part.pdu.upper()
            assert part.tpdu_length == len(raw) - 1  # after the lone 00 SMSC octet
            m = decode(part.pdu)
            assert m.number == "+4915112345678"
            if len(parts) > 1:
                assert m.concat == Concat(42, len(parts), i + 1)
            texts.append(m.text)
        assert "".join(texts) == text

    def test_random_gsm_texts(self):
        rng = random.Random(1234)
        alphabet = all_gsm_chars()
        for _ in range(300):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 500)))
            assert count(text).encoding == "gsm7"
            self._check(text)

    def test_random_unicode_texts(self):
        rng = random.Random(5678)

        def char() -> str:
            while True:
                cp = rng.choice((rng.randrange(0x20, 0x800), rng.randrange(0x800, 0x10000),
                                 rng.randrange(0x10000, 0x110000)))
                if not 0xD800 <= cp <= 0xDFFF:
                    return chr(cp)

        for _ in range(300):
            text = "".join(char() for _ in range(rng.randrange(1, 300)))
            self._check(text)

    def test_gsm_text_forced_to_ucs2(self):
        self._check("hello [world] €", encoding="ucs2")
        assert decode(encode_submit("1", "hi", encoding="ucs2")[0].pdu).encoding == "ucs2"

    @pytest.mark.parametrize("units, text", [
        ("0068 0069", "hi"),  # ASCII
        ("00E9 00FF 0041", "éÿA"),  # Latin-1: the narrowest str
        ("0100 00E9", "Āé"),  # the first code point past Latin-1
        ("FFFF 0041", "\uffff" + "A"),  # the BMP's last
        ("D83D DE00 0041", "😀A"),  # a pair joined
        ("0041 D83D", "A\ud83d"),  # a high surrogate cut off at the end of the part
        ("DE00 0041", "\ude00" + "A"),  # a low surrogate without its partner
        ("D83D 0041", "\ud83d" + "A"),  # a high surrogate before a non-surrogate
    ])
    def test_ucs2_user_data_becomes_the_exact_str(self, units, text):
        body = bytes.fromhex(units.replace(" ", ""))
        header = bytes([0x04, 0x03, 0x91, 0x21, 0xF3, 0x00, 0x08, 0x62, 0x11, 0x22, 0x10, 0x30, 0x00, 0x00, len(body)])
        tpdu = header + body
        decoded = decode(tpdu, smsc=False)
        assert decoded.text == text and decoded.data == body
        assert decoded.text.isascii() == text.isascii()  # the same width as a str made in Python


# ----------------------------------------------------------- bad arguments


class TestBadArguments:
    @pytest.mark.parametrize("number", ["", "+", "12a4", "+44 7700", "+44-7700", "1" * 21, "++1", "١٢٣"])
    def test_bad_numbers_name_the_field(self, number):
        with pytest.raises(PDUError, match=r"^number: ") as info:
            encode_submit(number, "x")
        assert info.value.field == "number"

    def test_non_str_number(self):
        with pytest.raises(PDUError, match="number"):
            encode_submit(12345, "x")

    def test_bad_smsc(self):
        with pytest.raises(PDUError, match=r"^smsc: ") as info:
            encode_submit("123", "x", smsc="+44x")
        assert info.value.field == "smsc"

    def test_gsm7_forced_with_unencodable_text(self):
        with pytest.raises(PDUError, match=r"^text: .*U\+00E7.*index 2") as info:
            encode_submit("123", "abç", encoding="gsm7")
        assert info.value.field == "text"
        with pytest.raises(PDUError, match=r"^text: "):
            count("abç", encoding="gsm7")

    def test_lone_surrogate_text(self):
        with pytest.raises(PDUError, match=r"^text: lone surrogate"):
            encode_submit("123", "a\ud800")

    @pytest.mark.parametrize(
        "kwargs, field",
        [
            ({"reference": 256}, "reference"),
            ({"reference": -1}, "reference"),
            ({"concat_reference": 70000}, "concat_reference"),  # 16 bits at most
            ({"message_class": 4}, "message_class"),
            ({"encoding": "utf8"}, "encoding"),
            ({"validity": 5}, "validity"),
        ],
    )
    def test_bad_options(self, kwargs, field):
        with pytest.raises(PDUError, match=f"^{field}: ") as info:
            encode_submit("123", "x", **kwargs)
        assert info.value.field == field

    def test_pdu_error_is_a_value_error(self):
        assert issubclass(PDUError, ValueError)


# ------------------------------------------------------------ hostile input

VALID = [
    (CLASSIC_SUBMIT, True),
    (CLASSIC_DELIVER, True),
    (ALNUM_DELIVER, True),
    (STATUS_REPORT, False),
    (encode_submit("+123456789", "a" * 200, smsc="+4477", validity=timedelta(hours=3))[0].pdu, True),
    (encode_submit("+123456789", "ж😀" * 40, status_report=True)[1].pdu, True),
]


class TestMalformed:
    @pytest.mark.parametrize("pdu, smsc", VALID)
    def test_every_truncation_raises_pdu_error(self, pdu, smsc):
        decode(pdu, smsc=smsc)  # the whole thing is valid
        raw = _pdu.hex_decode(pdu)
        for n in range(len(raw)):
            with pytest.raises(PDUError):
                decode(raw[:n], smsc=smsc)
        for n in range(len(pdu)):
            with pytest.raises(PDUError):
                decode(pdu[:n], smsc=smsc)

    @pytest.mark.parametrize("pdu, smsc", VALID)
    def test_trailing_octets_are_refused(self, pdu, smsc):
        # A status report may end in an optional TP-PI; 00 announces nothing, so one more octet is junk.
        suffix = "0000" if pdu == STATUS_REPORT else "00"
        with pytest.raises(PDUError, match="unexpected"):
            decode(pdu + suffix, smsc=smsc)

    def test_truncation_error_names_the_offset(self):
        with pytest.raises(PDUError, match=r"^octet 15: truncated: TP-UD") as info:
            decode(CLASSIC_SUBMIT[:-4])
        assert info.value.offset == 15

    def test_bad_hex_names_the_octet(self):
        with pytest.raises(PDUError, match="character 'X' at character 5") as info:
            decode("00110X")
        assert info.value.offset == 2
        with pytest.raises(PDUError, match="odd length"):
            decode(CLASSIC_SUBMIT + "0")

    @pytest.mark.parametrize(
        "pdu, message",
        [
            ("00" + "04" + "0381" + "21F3" + "0000" + "99309251619580" + "A1" + "00" * 141, "exceeds 160 septets"),
            ("00" + "04" + "0381" + "21F3" + "0008" + "99309251619580" + "8D" + "00" * 141, "exceeds 140 octets"),
            ("00" + "04" + "0381" + "21F3" + "0008" + "99309251619580" + "03" + "004100", "odd number"),
            ("00" + "04" + "0381" + "21F3" + "0000" + "99139251619580" + "00", "TP-SCTS: invalid date"),
            ("00" + "04" + "0381" + "21F3" + "0000" + "993092516195F0" + "00", "time zone 0xF0 is not BCD"),
            ("00" + "04" + "15" + "81" + "00" * 11 + "0000" + "99309251619580" + "00", "exceeds 20"),
            ("00" + "04" + "0381" + "F1F3" + "0000" + "99309251619580" + "00", "filler nibble"),
            ("00" + "44" + "0381" + "21F3" + "0008" + "99309251619580" + "04" + "05000302", "overruns"),
            ("00" + "44" + "0381" + "21F3" + "0008" + "99309251619580" + "06" + "03000105" + "0061",
             "concatenation IE length 1"),
            ("0C" + "91" + "00" * 11 + "04", "SMSC length 12"),
        ],
    )
    def test_specific_malformations(self, pdu, message):
        with pytest.raises(PDUError, match=message):
            decode(pdu)

    def test_random_bytes_only_raise_pdu_error(self):
        rng = random.Random(99)
        for _ in range(5000):
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 180)))
            for smsc in (True, False):
                try:
                    m = decode(raw, smsc=smsc)
                except PDUError:
                    continue
                assert isinstance(m, (Deliver, Submit, StatusReport))

    def test_mutated_valid_pdus_only_raise_pdu_error(self):
        # Random bytes rarely get past the first fields; mutating real PDUs reaches the deep code.
        rng = random.Random(7)
        decoded = 0
        for _ in range(5000):
            pdu, smsc = rng.choice(VALID)
            raw = bytearray(_pdu.hex_decode(pdu))
            for _ in range(rng.randrange(1, 4)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            if rng.random() < 0.3:
                del raw[rng.randrange(len(raw)) :]
            try:
                m = decode(bytes(raw), smsc=smsc)
            except PDUError:
                continue
            decoded += 1
            assert isinstance(m, (Deliver, Submit, StatusReport))
        assert decoded > 100  # the mutations do reach the end of the decoder

    def test_wrong_input_type(self):
        with pytest.raises(PDUError):
            decode(12)
